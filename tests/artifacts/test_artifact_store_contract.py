"""Every artifact store bevel ships passes the same contract."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.artifacts.local import LocalArtifactStore
from bevel.testing.artifact_store_contract import ArtifactStoreContract


class TestLocalArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> ArtifactStore:
        return LocalArtifactStore(str(tmp_path / "store"))


class TestFsspecMemoryStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[ArtifactStore]:
        store = FsspecArtifactStore(f"memory://bevel-tests/{uuid.uuid4().hex}")
        yield store
        if store.exists(""):
            store.rm("", recursive=True)


class TestFsspecLocalStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> ArtifactStore:
        return FsspecArtifactStore(f"file://{tmp_path / 'store'}")


def test_memory_store_is_not_local() -> None:
    store = FsspecArtifactStore("memory://bevel-tests/x")
    assert store.local_path("a") is None
    assert store.uri("a/b") == "memory:///bevel-tests/x/a/b"
    assert store.root == "memory:///bevel-tests/x"


def test_file_store_is_local(tmp_path: Path) -> None:
    store = FsspecArtifactStore(f"file://{tmp_path}")
    assert store.local_path("a/b") == f"{tmp_path}/a/b"


def test_local_store_paths(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path / "s"))
    assert store.uri("") == str(tmp_path / "s")
    assert store.local_path("a/b") == str(tmp_path / "s" / "a" / "b")
    assert not (tmp_path / "s").exists()  # nothing is created before the first write


@pytest.mark.parametrize("bad", ["../x", "a/../../x"])
def test_paths_cannot_leave_the_root(tmp_path: Path, bad: str) -> None:
    from bevel.errors import ArtifactError

    with pytest.raises(ArtifactError, match="outside the store root"):
        LocalArtifactStore(str(tmp_path)).exists(bad)
