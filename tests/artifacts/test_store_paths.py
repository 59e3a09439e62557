"""Store-relative paths: clean_relative's quick answer for paths already clean is normpath's,
and the local store's full paths are os.path.join's (they are built on every save and check)."""

from __future__ import annotations

import os
import posixpath

import pytest

from bevel.artifacts._paths import clean_relative
from bevel.artifacts.local import LocalArtifactStore
from bevel.errors import ArtifactError

PATHS = [
    "data/ab/abcdef0123456789",
    "data/ab/abcdef0123456789.complete",
    "logs/run/step-01234567.log",
    ".tmp/x-y",
    ".viz/abc",
    "a",
    "a.b",
    "a/b.",
    "a/b..c",
    "a/.b",
    "a//b",
    "/a/b",
    "a/b/",
    "./a",
    "a/./b",
    "a/../b",
    "a\\b",
    "...",
    "a/...",
    "",
    ".",
]


def _reference(path: str) -> str:
    """clean_relative as it was: always through normpath."""
    norm = posixpath.normpath(path.replace("\\", "/").lstrip("/")) if path else "."
    if norm == ".." or norm.startswith("../"):
        raise ArtifactError("outside")
    return "" if norm == "." else norm


@pytest.mark.parametrize("path", PATHS)
def test_clean_relative_is_normpaths_answer(path: str) -> None:
    assert clean_relative(path) == _reference(path)


@pytest.mark.parametrize("path", ["..", "../a", "a/../..", "/../a", "a\\..\\.."])
def test_paths_that_leave_the_root_are_refused(path: str) -> None:
    with pytest.raises(ArtifactError, match="outside the store root"):
        clean_relative(path)


@pytest.mark.parametrize("root", ["store", "/"])
@pytest.mark.parametrize("path", PATHS)
def test_local_full_paths_are_os_path_join(tmp_path: object, root: str, path: str) -> None:
    base = os.path.join(str(tmp_path), root) if root != "/" else "/"
    store = LocalArtifactStore(base)
    rel = _reference(path)
    expected = os.path.join(store.root, *rel.split("/")) if rel else store.root
    assert store.local_path(path) == store.uri(path) == expected
