"""Hashing, deduplication, atomic publish and load errors."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import blake3
import numpy as np
import pytest

from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.artifacts.hashing import hash_folder
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.registry import (
    BYTES_MATERIALIZER,
    DATAFRAME_MATERIALIZER,
    JSON_MATERIALIZER,
    NUMPY_MATERIALIZER,
)
from bevel.artifacts.publish import (
    artifact_path,
    delete_artifact_files,
    load_artifact,
    save_artifact,
)
from bevel.errors import ArtifactCorrupted, ArtifactError, ArtifactMissing

KNOWN_BLAKE3 = "ee353b2de88fc2dedbea44babf89c839a853deda89994566f3e019198d83a419"


def _load(store: Any, saved: Any, materializer: str, **kwargs: Any) -> Any:
    return load_artifact(
        store,
        uri=saved.uri,
        materializer=materializer,
        type_ref=kwargs.pop("type_ref", ""),
        content_hash=saved.content_hash,
        name="train.model.output",
        **kwargs,
    )


def test_hash_ignores_mtime_and_location(tmp_path: Path) -> None:
    one = tmp_path / "one"
    (one / "sub").mkdir(parents=True)
    (one / "a.bin").write_bytes(b"a" * 10)
    (one / "sub" / "b.bin").write_bytes(b"b")
    two = tmp_path / "elsewhere" / "two"
    shutil.copytree(one, two)
    os.utime(two / "a.bin", (0, 0))
    assert hash_folder(str(one)) == hash_folder(str(two))
    assert hash_folder(str(one))[1] == 11
    (two / "sub" / "b.bin").rename(two / "sub" / "c.bin")  # names are part of the content
    assert hash_folder(str(one))[0] != hash_folder(str(two))[0]


def test_hash_of_known_content(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"abc")
    # BLAKE3 of b"x\x003\x00abc" (name, size, bytes): written out, so that a change of recipe
    # (which would give every stored artifact a new address) cannot pass unnoticed
    expected = "blake3:" + blake3.blake3(b"x\x003\x00abc").hexdigest()
    assert expected == "blake3:" + KNOWN_BLAKE3
    assert hash_folder(str(tmp_path)) == (expected, 3)
    sha = "sha256:" + hashlib.sha256(b"x\x003\x00abc").hexdigest()
    assert hash_folder(str(tmp_path), "sha256") == (sha, 3)


def test_local_save_leaves_no_temp_and_dedups(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    first = save_artifact(store, {"a": 1}, JSON_MATERIALIZER)
    second = save_artifact(store, {"a": 1}, JSON_MATERIALIZER)
    assert first == second
    assert os.listdir(tmp_path / ".tmp") == []
    assert Path(first.uri).is_dir()
    assert artifact_path(store, first.uri) == first.path


def test_failed_save_cleans_its_temp_folder(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    with pytest.raises(ArtifactError, match=r"artifact 'x\.y' with materializer"):
        save_artifact(store, "not bytes", BYTES_MATERIALIZER, name="x.y")
    assert os.listdir(tmp_path / ".tmp") == []


def test_visualizations_are_stored_once_per_content(tmp_path: Path) -> None:
    import pandas as pd

    store = LocalArtifactStore(str(tmp_path))
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    first = save_artifact(store, frame, DATAFRAME_MATERIALIZER)
    second = save_artifact(store, frame.copy(), DATAFRAME_MATERIALIZER)
    assert first.visualizations == second.visualizations
    uri = first.visualizations["statistics"]
    assert artifact_path(store, uri).startswith(f"viz/{first.content_hash[7:]}/")
    delete_artifact_files(store, first.uri)
    assert not Path(uri).exists()
    assert not Path(first.uri).exists()


def test_missing_message(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = save_artifact(store, [1], JSON_MATERIALIZER)
    shutil.rmtree(saved.uri)
    with pytest.raises(ArtifactMissing) as info:
        _load(store, saved, JSON_MATERIALIZER)
    err = info.value
    assert err.message == (
        f"artifact 'train.model.output' is missing from the artifact store: nothing at {saved.uri}"
    )
    assert err.hint is not None and "bevel run <pipeline> --no-cache" in err.hint


def test_corrupted_message_and_skip_verify(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = save_artifact(store, np.arange(4), NUMPY_MATERIALIZER)
    with open(Path(saved.uri) / "array.npy", "r+b") as f:
        f.seek(-1, os.SEEK_END)
        f.write(b"\x7f")
    with pytest.raises(ArtifactCorrupted) as info:
        _load(store, saved, NUMPY_MATERIALIZER)
    err = info.value
    assert f"artifact 'train.model.output' at {saved.uri} is corrupted" in err.message
    assert saved.content_hash in err.message
    assert err.hint is not None and "--no-cache" in err.hint
    assert _load(store, saved, NUMPY_MATERIALIZER, verify=False)[-1] != 3


def test_materializer_failure_on_load_names_the_artifact(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = save_artifact(store, [1], JSON_MATERIALIZER)
    with pytest.raises(ArtifactError) as info:
        _load(store, saved, NUMPY_MATERIALIZER, verify=False)
    assert "cannot load artifact 'train.model.output'" in str(info.value)
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_uri_from_another_store(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "a"))
    with pytest.raises(ArtifactError, match="not in this artifact store"):
        artifact_path(store, str(tmp_path / "b" / "data" / "x"))


def test_remote_store_downloads_once_into_the_cache(tmp_path: Path) -> None:
    store = FsspecArtifactStore(f"memory://bevel-tests/{uuid.uuid4().hex}")
    array = np.arange(10.0)
    saved = save_artifact(store, array, NUMPY_MATERIALIZER)
    assert saved.uri.startswith("memory://")
    cache = tmp_path / "cache"
    loaded = _load(store, saved, NUMPY_MATERIALIZER, cache_dir=str(cache))
    np.testing.assert_array_equal(loaded, array)
    assert os.listdir(cache) == [saved.content_hash[7:]]
    # a second save of the same bytes uploads nothing and publishes nothing new
    assert save_artifact(store, array.copy(), NUMPY_MATERIALIZER) == saved
    assert not store.exists(".tmp") or store.ls(".tmp") == []
    # a damaged cache entry is fetched again when verifying
    (cache / saved.content_hash[7:] / "array.npy").write_bytes(b"junk")
    np.testing.assert_array_equal(
        _load(store, saved, NUMPY_MATERIALIZER, cache_dir=str(cache)), array
    )
    store.rm("", recursive=True)


def _save_many(root: str, rounds: int, barrier: Any, results: Any) -> None:
    store = LocalArtifactStore(root)
    hashes = []
    for i in range(rounds):
        barrier.wait()
        hashes.append(
            save_artifact(store, {"round": i, "blob": "x" * 50_000}, JSON_MATERIALIZER).uri
        )
    results.put(hashes)


def test_concurrent_identical_saves_both_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    workers, rounds = 3, 20
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_save_many, args=(str(tmp_path), rounds, barrier, results))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    outputs = [results.get(timeout=60) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(set(outputs[0])) == rounds
    assert os.listdir(tmp_path / ".tmp") == []
    store = LocalArtifactStore(str(tmp_path))
    for uri in outputs[0]:
        assert artifact_path(store, uri).startswith("data/")
