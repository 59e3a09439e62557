"""Content recorded before bevel switched its content hash from SHA-256 to BLAKE3.

Such a store holds folders at ``data/<hh>/<sha256 hex>`` with markers and records saying
``"sha256:<hex>"``. They must stay what they were: loadable, verified with SHA-256 (corruption
still named), trusted by a cache hit's cheap check; new content is hashed with BLAKE3.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bevel.artifacts import marker
from bevel.artifacts.content import data_path, make_read_only
from bevel.artifacts.hashing import THREAD_MIN, algorithm_of
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.registry import (
    JSON_MATERIALIZER,
    NUMPY_MATERIALIZER,
    get_materializer,
)
from bevel.artifacts.publish import is_intact, load_artifact, save_artifact
from bevel.errors import ArtifactCorrupted, ArtifactError


def sha256_recipe(folder: Path) -> str:
    """The recipe bevel hashed content with before BLAKE3, written out plainly."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        name = path.relative_to(folder).as_posix().encode()
        digest.update(name + b"\0" + str(len(data)).encode() + b"\0" + data)
    return "sha256:" + digest.hexdigest()


def publish_as_before(store: LocalArtifactStore, obj: Any, materializer: str, work: Path) -> str:
    """What a bevel from before the switch left in the store for ``obj``: the materialized
    folder at its SHA-256 address, read-only, with its marker. Returns its content hash."""
    work.mkdir()
    get_materializer(materializer).save(obj, str(work))
    content_hash = sha256_recipe(work)
    path = data_path(content_hash)
    target = store.local_path(path)
    assert target is not None
    os.makedirs(os.path.dirname(target), exist_ok=True)
    manifest = make_read_only(str(work))
    shutil.move(str(work), target)
    marker.write(store, path, content_hash, manifest)
    return content_hash


def load(store: LocalArtifactStore, content_hash: str, materializer: str) -> Any:
    return load_artifact(
        store,
        uri=store.uri(data_path(content_hash)),
        materializer=materializer,
        type_ref="",
        content_hash=content_hash,
        name="make.output",
    )


BIG = np.arange(THREAD_MIN // 8 + 1000, dtype=np.float64)  # hashed on a thread when loaded


@pytest.mark.parametrize(
    ("obj", "materializer"),
    [({"a": [1, 2]}, JSON_MATERIALIZER), (BIG, NUMPY_MATERIALIZER)],
    ids=["json", "big array"],
)
def test_content_hashed_with_sha256_loads_verified_and_is_trusted(
    tmp_path: Path, obj: Any, materializer: str
) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    old = publish_as_before(store, obj, materializer, tmp_path / "work")
    assert algorithm_of(old) == "sha256"
    np.testing.assert_equal(load(store, old, materializer), obj)
    assert is_intact(store, store.uri(data_path(old)), old)  # what a cache hit checks

    # the same object saved now: a BLAKE3 address of its own, the old content untouched
    new = save_artifact(store, obj, materializer)
    assert algorithm_of(new.content_hash) == "blake3" and new.path != data_path(old)
    np.testing.assert_equal(load(store, new.content_hash, materializer), obj)
    np.testing.assert_equal(load(store, old, materializer), obj)


def test_corrupted_sha256_content_is_named_corrupted(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    old = publish_as_before(store, BIG, NUMPY_MATERIALIZER, tmp_path / "work")
    folder = store.local_path(data_path(old))
    assert folder is not None
    (npy,) = Path(folder).iterdir()
    npy.chmod(0o644)
    with open(npy, "r+b") as f:  # bit rot: same size, same mtime as far as the marker knows
        stat = os.fstat(f.fileno())
        f.seek(-3, os.SEEK_END)
        f.write(b"\xff\xff\xff")
    os.utime(npy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ArtifactCorrupted) as err:
        load(store, old, NUMPY_MATERIALIZER)
    assert f"not the recorded {old}" in err.value.message
    assert "its files hash to sha256:" in err.value.message  # compared with the same recipe


def test_a_hash_of_an_unknown_function_says_to_upgrade(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = save_artifact(store, {"a": 1}, JSON_MATERIALIZER)
    future = "blake9:" + saved.content_hash.partition(":")[2]
    with pytest.raises(ArtifactError) as err:
        load(store, future, JSON_MATERIALIZER)
    assert "'blake9:" in err.value.message and "names no hash function" in err.value.message
    assert err.value.hint is not None and "upgrade bevel" in err.value.hint
