"""The contract every :class:`~bevel.artifacts.base.ArtifactStore` passes, ours and yours.

Subclass it in a test module and provide the ``store`` fixture (an empty store)::

    import pytest
    from bevel.testing.artifact_store_contract import ArtifactStoreContract

    class TestMyStore(ArtifactStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            return MyStore(...)

The tests only use builtin materializers (JSON and bytes), so they need no optional library.
"""

from __future__ import annotations

import os
from typing import Any

import pytest  # bevel.testing is for test suites: pytest is there

from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.materializers.registry import BYTES_MATERIALIZER, JSON_MATERIALIZER
from bevel.artifacts.publish import (
    artifact_path,
    delete_artifact_files,
    is_intact,
    load_artifact,
    save_artifact,
)
from bevel.errors import ArtifactCorrupted, ArtifactMissing


def _write(store: ArtifactStore, path: str, data: bytes) -> None:
    with store.open(path, "wb") as f:
        f.write(data)


def _overwrite(store: ArtifactStore, path: str, data: bytes) -> None:
    """Replace a stored file (stored files may be read-only: remove, then write)."""
    store.rm(path)
    _write(store, path, data)


def _read(store: ArtifactStore, path: str) -> bytes:
    with store.open(path, "rb") as f:
        return f.read()


class ArtifactStoreContract:
    """Behaviour that :mod:`bevel.artifacts.publish` and the rest of bevel rely on."""

    @pytest.fixture
    def store(self) -> ArtifactStore:
        raise NotImplementedError("provide a `store` fixture returning an empty store")

    # -- bytes and paths -------------------------------------------------------------------

    def test_is_an_artifact_store(self, store: ArtifactStore) -> None:
        assert isinstance(store, ArtifactStore)

    def test_open_write_creates_parents_and_reads_back(self, store: ArtifactStore) -> None:
        _write(store, "a/b/c.bin", b"hello")
        assert store.exists("a/b/c.bin")
        assert store.exists("a/b")
        assert _read(store, "a/b/c.bin") == b"hello"

    def test_exists_is_false_for_missing(self, store: ArtifactStore) -> None:
        assert not store.exists("nope")
        assert not store.exists("nope/deeper.txt")

    def test_ls_lists_relative_paths_sorted(self, store: ArtifactStore) -> None:
        _write(store, "d/y.txt", b"y")
        _write(store, "d/x.txt", b"x")
        _write(store, "d/sub/z.txt", b"z")
        assert store.ls("d") == ["d/sub", "d/x.txt", "d/y.txt"]

    def test_ls_missing_raises(self, store: ArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.ls("missing")

    def test_rm_file_and_folder(self, store: ArtifactStore) -> None:
        _write(store, "f.txt", b"1")
        _write(store, "dir/a/b.txt", b"2")
        store.rm("f.txt")
        store.rm("dir", recursive=True)
        assert not store.exists("f.txt")
        assert not store.exists("dir/a/b.txt")
        assert not store.exists("dir")

    def test_rm_missing_raises(self, store: ArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.rm("missing.txt")

    def test_rename_file_replaces(self, store: ArtifactStore) -> None:
        _write(store, "src.txt", b"new")
        _write(store, "dst.txt", b"old")
        store.rename("src.txt", "dst.txt")
        assert not store.exists("src.txt")
        assert _read(store, "dst.txt") == b"new"

    def test_rename_folder(self, store: ArtifactStore) -> None:
        _write(store, "tmp/x/a.txt", b"a")
        _write(store, "tmp/x/sub/b.txt", b"b")
        store.rename("tmp/x", "final/y")
        assert not store.exists("tmp/x/a.txt")
        assert _read(store, "final/y/a.txt") == b"a"
        assert _read(store, "final/y/sub/b.txt") == b"b"

    def test_rename_folder_onto_existing_folder_refuses_to_merge(
        self, store: ArtifactStore
    ) -> None:
        _write(store, "one/a.txt", b"1")
        _write(store, "two/b.txt", b"2")
        with pytest.raises(OSError):
            store.rename("one", "two")
        assert store.ls("two") == ["two/b.txt"]

    def test_makedirs_is_idempotent(self, store: ArtifactStore) -> None:
        store.makedirs("m/n")
        store.makedirs("m/n")
        _write(store, "m/n/f", b"")
        assert store.exists("m/n/f")

    def test_uri_is_absolute_and_under_root(self, store: ArtifactStore) -> None:
        uri = store.uri("x/y.txt")
        assert uri.endswith("x/y.txt")
        assert uri.startswith(store.uri("").rstrip("/"))
        assert artifact_path(store, uri) == "x/y.txt"

    def test_local_path_when_local(self, store: ArtifactStore) -> None:
        _write(store, "p/q.txt", b"q")
        local = store.local_path("p/q.txt")
        if local is not None:
            with open(local, "rb") as f:
                assert f.read() == b"q"

    def test_put_and_get_file(self, store: ArtifactStore, tmp_path: Any) -> None:
        source = tmp_path / "in.txt"
        source.write_bytes(b"payload")
        store.put(str(source), "up/in.txt")
        assert _read(store, "up/in.txt") == b"payload"
        target = tmp_path / "out" / "back.txt"
        store.get("up/in.txt", str(target))
        assert target.read_bytes() == b"payload"

    def test_put_and_get_folder(self, store: ArtifactStore, tmp_path: Any) -> None:
        source = tmp_path / "src"
        (source / "sub").mkdir(parents=True)
        (source / "a.txt").write_bytes(b"a")
        (source / "sub" / "b.txt").write_bytes(b"b")
        store.put(str(source), "tree", recursive=True)
        assert _read(store, "tree/a.txt") == b"a"
        assert _read(store, "tree/sub/b.txt") == b"b"
        target = tmp_path / "back"
        store.get("tree", str(target), recursive=True)
        assert (target / "a.txt").read_bytes() == b"a"
        assert (target / "sub" / "b.txt").read_bytes() == b"b"

    # -- artifacts on top of the store -----------------------------------------------------

    def test_save_and_load_round_trip(self, store: ArtifactStore, tmp_path: Any) -> None:
        value = {"accuracy": 0.93, "labels": ["a", "b"], "n": 3}
        saved = save_artifact(store, value, JSON_MATERIALIZER)
        assert saved.content_hash.startswith("blake3:")
        assert saved.path == f"data/{saved.content_hash[7:9]}/{saved.content_hash[7:]}"
        assert saved.uri == store.uri(saved.path)
        assert saved.size > 0
        assert saved.python_version is None
        loaded = load_artifact(
            store,
            uri=saved.uri,
            materializer=JSON_MATERIALIZER,
            type_ref="builtins:dict",
            content_hash=saved.content_hash,
            name="metrics",
            cache_dir=str(tmp_path / "cache"),
        )
        assert loaded == value

    def test_identical_content_is_stored_once(self, store: ArtifactStore) -> None:
        first = save_artifact(store, b"same bytes", BYTES_MATERIALIZER)
        second = save_artifact(store, b"same bytes", BYTES_MATERIALIZER)
        other = save_artifact(store, b"other bytes", BYTES_MATERIALIZER)
        assert first == second
        assert other.content_hash != first.content_hash
        assert len(store.ls(f"data/{first.content_hash[7:9]}")) >= 1
        assert not store.exists(".tmp") or store.ls(".tmp") == []

    def test_missing_artifact(self, store: ArtifactStore, tmp_path: Any) -> None:
        saved = save_artifact(store, [1, 2, 3], JSON_MATERIALIZER)
        delete_artifact_files(store, saved.uri)
        assert not store.exists(saved.path)
        with pytest.raises(ArtifactMissing) as info:
            self._load_list(store, saved.uri, saved.content_hash, tmp_path)
        text = str(info.value)
        assert "'training.split.output'" in text
        assert saved.uri in text
        assert "--no-cache" in text

    def test_corrupted_artifact(self, store: ArtifactStore, tmp_path: Any) -> None:
        saved = save_artifact(store, [1, 2, 3], JSON_MATERIALIZER)
        _overwrite(store, f"{saved.path}/data.json", b"[1,2,4]")
        with pytest.raises(ArtifactCorrupted) as info:
            self._load_list(store, saved.uri, saved.content_hash, tmp_path)
        text = str(info.value)
        assert "'training.split.output'" in text
        assert saved.uri in text
        assert saved.content_hash in text
        assert "--no-cache" in text
        unverified = self._load_list(
            store, saved.uri, saved.content_hash, tmp_path / "other", verify=False
        )
        assert unverified == [1, 2, 4]

    def test_stat_tree_lists_sizes_and_notices_rewrites(self, store: ArtifactStore) -> None:
        if not hasattr(store, "stat_tree"):
            pytest.skip("the store has no stat_tree (optional): only markers are checked")
        _write(store, "t/a.bin", b"12345")
        _write(store, "t/sub/b.bin", b"")
        before = store.stat_tree("t")
        assert set(before) == {"a.bin", "sub/b.bin"}
        assert before["a.bin"]["size"] == 5
        assert store.stat_tree("nothing-here") == {}
        _overwrite(store, "t/a.bin", b"54321")
        after = store.stat_tree("t")
        assert after["a.bin"]["size"] == 5 and after["a.bin"] != before["a.bin"]

    def test_saving_again_repairs_a_corrupted_artifact(
        self, store: ArtifactStore, tmp_path: Any
    ) -> None:
        if store.local_path("") is None and not hasattr(store, "stat_tree"):
            pytest.skip("without stat_tree, a rewritten object cannot be noticed cheaply")
        saved = save_artifact(store, [1, 2, 3], JSON_MATERIALIZER)
        assert is_intact(store, saved.uri)
        _overwrite(store, f"{saved.path}/data.json", b"[1,2,4]")
        assert not is_intact(store, saved.uri)
        assert save_artifact(store, [1, 2, 3], JSON_MATERIALIZER) == saved
        assert is_intact(store, saved.uri)
        assert self._load_list(store, saved.uri, saved.content_hash, tmp_path) == [1, 2, 3]

    @staticmethod
    def _load_list(
        store: ArtifactStore, uri: str, content_hash: str, tmp_path: Any, verify: bool = True
    ) -> Any:
        return load_artifact(
            store,
            uri=uri,
            materializer=JSON_MATERIALIZER,
            type_ref="builtins:list",
            content_hash=content_hash,
            name="training.split.output",
            verify=verify,
            cache_dir=os.path.join(str(tmp_path), "cache"),
        )
