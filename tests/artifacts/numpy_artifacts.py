"""What the numpy artifact tests share (imported by name: ``from numpy_artifacts import ...``):
a local store holding one saved array, and the verified load of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers import registry
from bevel.artifacts.publish import load_artifact, save_artifact


def saved_array(tmp_path: Path, array: np.ndarray) -> tuple[LocalArtifactStore, Any, str]:
    """A local store under ``tmp_path`` holding ``array``: the store, the saved record, its folder."""
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = save_artifact(store, array, registry.NUMPY_MATERIALIZER)
    folder = store.local_path(saved.path)
    assert folder is not None
    return store, saved, folder


def load_array(store: LocalArtifactStore, saved: Any) -> Any:
    """Load ``saved`` back, verified against its content hash, as a step's input would be."""
    return load_artifact(
        store, uri=saved.uri, materializer=registry.NUMPY_MATERIALIZER, type_ref="",
        content_hash=saved.content_hash, name="arr v1",
    )  # fmt: skip
