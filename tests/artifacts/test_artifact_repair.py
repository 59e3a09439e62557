"""An existing content-addressed folder is trusted only after a check, and repaired on a mismatch.

Saving content that is stored already used to keep whatever sat at ``data/<hash>``, so a
corrupted folder stayed corrupted through every re-run. These tests corrupt a stored folder in
the ways a user or a crash can (bytes rewritten in place, a file truncated, added or removed, a
crash before the completion marker) and check that saving the same value again repairs it.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bevel.artifacts import marker
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.registry import NUMPY_MATERIALIZER
from bevel.artifacts.publish import SavedArtifact, is_intact, load_artifact, save_artifact
from bevel.errors import ArtifactCorrupted

ARRAY = np.arange(1000, dtype=np.int64)


def _load(store: ArtifactStore, saved: SavedArtifact, cache: Path | None = None) -> Any:
    return load_artifact(
        store,
        uri=saved.uri,
        materializer=NUMPY_MATERIALIZER,
        type_ref="numpy:ndarray",
        content_hash=saved.content_hash,
        name="p.make.output v1",
        cache_dir=str(cache) if cache else None,
    )


def _rewrite(store: ArtifactStore, path: str, data: bytes) -> None:
    local = store.local_path(path)
    if local is not None:
        if os.path.exists(local):  # stored files are read-only; a user can still force it
            os.chmod(local, 0o644)
        Path(local).write_bytes(data)
        return
    with store.open(path, "wb") as fh:
        fh.write(data)


def _read(store: ArtifactStore, path: str) -> bytes:
    with store.open(path, "rb") as fh:
        return fh.read()


def flip_last_byte(store: ArtifactStore, saved: SavedArtifact) -> None:
    """Same size, different bytes: what an in-place write into the artifact does."""
    path = f"{saved.path}/array.npy"
    data = _read(store, path)
    _rewrite(store, path, data[:-1] + bytes([data[-1] ^ 0xFF]))


def truncate(store: ArtifactStore, saved: SavedArtifact) -> None:
    path = f"{saved.path}/array.npy"
    _rewrite(store, path, _read(store, path)[:100])


def add_a_file(store: ArtifactStore, saved: SavedArtifact) -> None:
    _rewrite(store, f"{saved.path}/notes.txt", b"written by user code")


def remove_the_file(store: ArtifactStore, saved: SavedArtifact) -> None:
    store.rm(f"{saved.path}/array.npy")


CORRUPTIONS = [flip_last_byte, truncate, add_a_file, remove_the_file]


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param == "local":
        yield LocalArtifactStore(str(tmp_path / "artifacts"))
        return
    remote = FsspecArtifactStore(f"memory://bevel-{uuid.uuid4().hex}/artifacts")
    yield remote
    remote.rm("", recursive=True)


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
def test_saving_the_same_content_again_repairs_a_corrupted_folder(
    store: ArtifactStore, corrupt: Callable[[ArtifactStore, SavedArtifact], None], tmp_path: Path
) -> None:
    saved = save_artifact(store, ARRAY, NUMPY_MATERIALIZER)
    assert is_intact(store, saved.uri)
    corrupt(store, saved)
    assert not is_intact(store, saved.uri)  # the cheap check notices, reading no data
    with pytest.raises(ArtifactCorrupted):
        _load(store, saved, tmp_path / "cache-1")
    again = save_artifact(store, ARRAY.copy(), NUMPY_MATERIALIZER)
    assert again.uri == saved.uri and again.content_hash == saved.content_hash
    assert is_intact(store, saved.uri)
    np.testing.assert_array_equal(_load(store, saved, tmp_path / "cache-2"), ARRAY)
    if store.local_path("") is not None:
        assert os.listdir(store.local_path(".tmp") or "") == []  # the bad copy went too


def test_a_folder_without_its_marker_is_rehashed_before_it_is_trusted(tmp_path: Path) -> None:
    """A crash between the rename and the marker (or a store written by an older bevel)."""
    store = LocalArtifactStore(str(tmp_path))
    saved = save_artifact(store, ARRAY, NUMPY_MATERIALIZER)
    store.rm(marker.marker_path(saved.path))
    assert is_intact(store, saved.uri)  # re-hashed: the bytes are right
    assert marker.read(store, saved.path) is not None  # and the marker is back
    store.rm(marker.marker_path(saved.path))
    flip_last_byte(store, saved)
    assert not is_intact(store, saved.uri)
    save_artifact(store, ARRAY, NUMPY_MATERIALIZER)
    np.testing.assert_array_equal(_load(store, saved), ARRAY)


def test_the_marker_holds_a_manifest_and_when_the_content_was_last_used(
    store: ArtifactStore,
) -> None:
    saved = save_artifact(store, ARRAY, NUMPY_MATERIALIZER)
    found = marker.read(store, saved.path)
    assert found is not None and found.content_hash == saved.content_hash
    assert found.files is not None and set(found.files) == {"array.npy"}
    assert found.files["array.npy"][0] == saved.size
    raw = json.loads(_read(store, marker.marker_path(saved.path)))
    assert raw["format"] == 1
    raw["used"] = 1.0  # long ago
    _rewrite(store, marker.marker_path(saved.path), json.dumps(raw).encode())
    save_artifact(store, ARRAY, NUMPY_MATERIALIZER)  # found again: in use again
    refreshed = marker.read(store, saved.path)
    assert refreshed is not None and refreshed.used > 1.0
    assert refreshed.files == found.files


def test_local_stored_files_are_read_only(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = save_artifact(store, ARRAY, NUMPY_MATERIALIZER)
    mode = os.stat(Path(saved.uri) / "array.npy").st_mode
    assert mode & 0o222 == 0
    shutil.rmtree(saved.uri)  # and still deletable (the folders stay writable)


def test_an_old_one_line_marker_is_trusted_and_upgraded() -> None:
    store = FsspecArtifactStore(f"memory://bevel-{uuid.uuid4().hex}/artifacts")
    saved = save_artifact(store, ARRAY, NUMPY_MATERIALIZER)
    _rewrite(store, marker.marker_path(saved.path), b"complete\n")
    assert is_intact(store, saved.uri)
    save_artifact(store, ARRAY, NUMPY_MATERIALIZER)
    upgraded = marker.read(store, saved.path)
    assert upgraded is not None and upgraded.files is not None
    store.rm("", recursive=True)
