"""A verified load of a big DataFrame or Series hashes its files on a thread while pyarrow
decodes them, with the guarantee of hashing first: damaged files raise ArtifactCorrupted naming
the artifact, never a frame or pyarrow's own error.

``THREAD_MIN`` is lowered so that frames of a few kB take that path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from bevel.artifacts import hashing
from bevel.artifacts.hashing import hash_folder
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers import registry
from bevel.artifacts.materializers.pandas_parquet import FILENAME, SERIES_FILENAME
from bevel.artifacts.materializers.refs import type_ref
from bevel.artifacts.publish import SavedArtifact, load_artifact, save_artifact
from bevel.errors import ArtifactCorrupted, ArtifactError


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(hashing, "THREAD_MIN", 1000)
    yield
    left = [t for t in threading.enumerate() if t.name == "bevel-hash"]
    for thread in left:
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in left), "a hashing thread was left running"


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(str(tmp_path / "store"))


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.random(5000), "n": np.arange(5000), "s": ["ab", "c"] * 2500})


def _save(store: LocalArtifactStore, obj: Any, ref: str) -> tuple[SavedArtifact, str]:
    saved = save_artifact(store, obj, ref)
    folder = store.local_path(saved.path)
    assert folder is not None
    return saved, folder


def _load(store: LocalArtifactStore, saved: SavedArtifact, ref: str, type_: type) -> Any:
    return load_artifact(
        store, uri=saved.uri, materializer=ref, type_ref=type_ref(type_),
        content_hash=saved.content_hash, name="frame v1",
    )  # fmt: skip


def test_the_frame_is_hashed_on_a_thread_while_it_is_decoded(
    store: LocalArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame()
    saved, _folder = _save(store, frame, registry.DATAFRAME_MATERIALIZER)
    threads: list[str] = []
    real = hashing._hash_files

    def counting(folder: str, names: list[str]) -> tuple[str, int]:
        threads.append(threading.current_thread().name)
        return real(folder, names)

    monkeypatch.setattr(hashing, "_hash_files", counting)
    loaded = _load(store, saved, registry.DATAFRAME_MATERIALIZER, pd.DataFrame)
    pd.testing.assert_frame_equal(loaded, frame)
    assert threads == ["bevel-hash"]  # hashed once, beside the decoding, not before it


def test_a_small_frame_is_still_hashed_before_it_is_decoded(
    store: LocalArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "THREAD_MIN", 1 << 30)
    saved, folder = _save(store, _frame(), registry.DATAFRAME_MATERIALIZER)
    os.chmod(os.path.join(folder, FILENAME), 0o644)
    with open(os.path.join(folder, FILENAME), "r+b") as f:
        f.write(b"XXXX")  # the magic number: pyarrow would refuse the file
    with pytest.raises(ArtifactCorrupted, match=r"'frame v1'.*is corrupted"):
        _load(store, saved, registry.DATAFRAME_MATERIALIZER, pd.DataFrame)


def _damage(path: str, how: str) -> None:
    os.chmod(path, 0o644)
    data = bytearray(Path(path).read_bytes())
    if how == "a data byte":
        data[len(data) // 3] ^= 0x01  # inside column x's values: still decodes, other numbers
    elif how == "the footer":
        data[-12] ^= 0xFF
    elif how == "truncated":
        del data[len(data) // 2 :]
    elif how == "appended":
        data += b"\0" * 16
    Path(path).write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["a data byte", "the footer", "truncated", "appended"])
def test_a_damaged_big_frame_is_reported_as_corrupted(store: LocalArtifactStore, how: str) -> None:
    saved, folder = _save(store, _frame(), registry.DATAFRAME_MATERIALIZER)
    _damage(os.path.join(folder, FILENAME), how)
    with pytest.raises(ArtifactCorrupted, match=r"'frame v1'.*is corrupted"):
        _load(store, saved, registry.DATAFRAME_MATERIALIZER, pd.DataFrame)


def test_a_file_added_beside_a_frame_is_corruption(store: LocalArtifactStore) -> None:
    saved, folder = _save(store, _frame(), registry.DATAFRAME_MATERIALIZER)
    Path(folder, "extra.txt").write_text("x")
    with pytest.raises(ArtifactCorrupted):
        _load(store, saved, registry.DATAFRAME_MATERIALIZER, pd.DataFrame)


def test_a_series_and_its_name_file_are_verified_beside_the_decoding(
    store: LocalArtifactStore,
) -> None:
    series = pd.Series(np.arange(5000.0), name="price")
    saved, folder = _save(store, series, registry.SERIES_MATERIALIZER)
    pd.testing.assert_series_equal(
        _load(store, saved, registry.SERIES_MATERIALIZER, pd.Series), series
    )
    name_file = Path(folder, SERIES_FILENAME)
    name_file.chmod(0o644)
    name_file.write_text('{"name": "cost"}')  # a renamed Series is a changed artifact
    with pytest.raises(ArtifactCorrupted):
        _load(store, saved, registry.SERIES_MATERIALIZER, pd.Series)


def test_an_unreadable_file_with_the_right_hash_is_the_readers_error(
    store: LocalArtifactStore,
) -> None:
    """Not every failure is corruption: a file written unreadable (its record says so) is
    reported with pyarrow's error, naming the artifact."""
    saved, folder = _save(store, _frame(), registry.DATAFRAME_MATERIALIZER)
    path = Path(folder, FILENAME)
    path.chmod(0o644)
    path.write_bytes(b"not parquet" * 200)
    recorded = hash_folder(folder)[0]
    with pytest.raises(ArtifactError) as err:
        load_artifact(
            store, uri=saved.uri, materializer=registry.DATAFRAME_MATERIALIZER,
            type_ref=type_ref(pd.DataFrame), content_hash=recorded, name="frame v1",
        )  # fmt: skip
    assert not isinstance(err.value, ArtifactCorrupted)
    assert "cannot load artifact 'frame v1'" in err.value.message
