"""Small artifacts (JSON builtins, text, bytes) are hashed in memory and written once.

Their materializers say which bytes ``save`` would write (``encode``), so the content hash is
known before anything touches the disk: stored content is found without writing a file, and new
content is written straight into a fresh folder that one rename puts in place, marker last. The
guarantees of the folder path hold: the same hash, read-only files, a manifest in the marker,
repair of a damaged folder, nothing trusted without a marker. Work is counted, not timed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bevel.artifacts import content, hashing, marker
from bevel.artifacts.hashing import hash_bytes, hash_folder
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.registry import BYTES_MATERIALIZER, JSON_MATERIALIZER
from bevel.artifacts.publish import SavedArtifact, is_intact, load_artifact, save_artifact
from bevel.artifacts.text_types import MarkdownString
from bevel.errors import ArtifactCorrupted
from bevel.testing.work import counting

TEXT_MATERIALIZER = "bevel.artifacts.materializers.text:TextMaterializer"


@pytest.fixture
def calls() -> Iterator[Counter[str]]:
    with counting() as work:
        yield work


def _load(store: LocalArtifactStore, saved: SavedArtifact, materializer: str) -> Any:
    return load_artifact(
        store, uri=saved.uri, materializer=materializer, type_ref="",
        content_hash=saved.content_hash, name="p.s.output v1",
    )  # fmt: skip


SMALL = [
    pytest.param(JSON_MATERIALIZER, {"a": [1, 2.5, "é"]}, "data.json", id="json"),
    pytest.param(TEXT_MATERIALIZER, MarkdownString("# héllo\r\n"), "text.md", id="text"),
    pytest.param(BYTES_MATERIALIZER, b"\x00\xffbytes", "data.bin", id="bytes"),
]


@pytest.mark.parametrize(("materializer", "value", "filename"), SMALL)
def test_the_hash_made_in_memory_is_the_hash_of_the_stored_folder(
    tmp_path: Path, materializer: str, value: Any, filename: str
) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = save_artifact(store, value, materializer)
    folder = Path(saved.uri)
    assert os.listdir(folder) == [filename]
    assert hash_folder(str(folder)) == (saved.content_hash, saved.size)
    assert _load(store, saved, materializer) == value
    assert os.stat(folder / filename).st_mode & 0o222 == 0  # read-only, as every stored file
    found = marker.read(store, saved.path)
    assert found is not None and found.content_hash == saved.content_hash
    assert found.files == marker.local_stat_tree(str(folder))  # the manifest is the real one
    assert os.listdir(tmp_path / ".tmp") == []


def test_new_small_content_is_written_once_and_never_read_back(
    tmp_path: Path, calls: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalArtifactStore(str(tmp_path))
    save_artifact(store, 0, JSON_MATERIALIZER)  # the store's folders exist from here on
    rehashed: list[str] = []
    for module in (hashing, content):
        monkeypatch.setattr(module, "hash_folder", rehashed.append)
    calls.clear()
    save_artifact(store, 1, JSON_MATERIALIZER)
    assert rehashed == []
    # The folder (renamed into place), the file in it and the marker (written, then renamed).
    assert calls["os.mkdir"] <= 2  # + data/<hh>/ when this is the first content there
    assert calls["open for writing"] == 2
    assert calls["os.rename"] <= 3  # + a retry after making data/<hh>/
    assert calls["shutil.rmtree"] == calls["os.remove"] == calls["os.rmdir"] == 0
    assert calls["os.chmod"] == 0  # created read-only
    assert calls["open for reading"] <= 1  # looking for a marker that is not there


def test_stored_small_content_is_found_without_writing_anything(
    tmp_path: Path, calls: Counter[str]
) -> None:
    store = LocalArtifactStore(str(tmp_path))
    first = save_artifact(store, {"x": 1}, JSON_MATERIALIZER)
    calls.clear()
    again = save_artifact(store, {"x": 1}, JSON_MATERIALIZER)
    assert again == first
    assert calls["open for writing"] == calls["os.mkdir"] == calls["os.rename"] == 0
    assert calls["shutil.rmtree"] == calls["os.remove"] == 0
    # The cheap check: the marker read, the folder listed, its file's size and time compared.
    assert calls["open for reading"] == 1 and calls["os.scandir"] <= 2


def test_a_stale_marker_is_refreshed_and_a_fresh_one_is_left_alone(tmp_path: Path) -> None:
    """``used`` protects content from garbage collection; a save refreshes it when it is older
    than ``marker.FRESH_FOR`` (re-writing it on every save would cost a file and a rename)."""
    store = LocalArtifactStore(str(tmp_path))
    saved = save_artifact(store, [1, 2], JSON_MATERIALIZER)
    path = Path(store.local_path(marker.marker_path(saved.path)) or "")
    before = path.stat()
    save_artifact(store, [1, 2], JSON_MATERIALIZER)
    assert path.stat().st_ino == before.st_ino  # fresh: not rewritten
    raw = json.loads(path.read_text())
    raw["used"] = 1.0  # long ago
    path.write_text(json.dumps(raw))
    save_artifact(store, [1, 2], JSON_MATERIALIZER)
    refreshed = marker.read(store, saved.path)
    assert refreshed is not None and refreshed.used > 1.0
    assert refreshed.files == raw_files(raw)


def raw_files(raw: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {name: (int(size), str(stamp)) for name, (size, stamp) in raw["files"].items()}


def _force_write(path: Path, data: bytes) -> None:
    if path.exists():
        os.chmod(path, 0o644)
    path.write_bytes(data)


def rewrite(folder: Path) -> None:
    data = (folder / "data.json").read_bytes()
    _force_write(folder / "data.json", data[:-1] + b"0")


def truncate(folder: Path) -> None:
    _force_write(folder / "data.json", b"[")


def add_a_file(folder: Path) -> None:
    (folder / "notes.txt").write_text("written by user code")


def remove_the_file(folder: Path) -> None:
    (folder / "data.json").unlink()


def drop_the_marker_and_rewrite(folder: Path) -> None:
    """A crash between the rename and the marker, and then the bytes changed."""
    os.remove(f"{folder}{marker.SUFFIX}")
    rewrite(folder)


@pytest.mark.parametrize(
    "corrupt",
    [rewrite, truncate, add_a_file, remove_the_file, drop_the_marker_and_rewrite],
    ids=lambda f: f.__name__,
)
def test_saving_small_content_again_repairs_a_damaged_folder(
    tmp_path: Path, corrupt: Callable[[Path], None]
) -> None:
    store = LocalArtifactStore(str(tmp_path))
    value = [10, 20, 30]
    saved = save_artifact(store, value, JSON_MATERIALIZER)
    corrupt(Path(saved.uri))
    assert not is_intact(store, saved.uri)
    with pytest.raises(ArtifactCorrupted):
        _load(store, saved, JSON_MATERIALIZER)
    again = save_artifact(store, list(value), JSON_MATERIALIZER)
    assert again.uri == saved.uri
    assert is_intact(store, saved.uri)
    assert _load(store, saved, JSON_MATERIALIZER) == value
    assert os.listdir(tmp_path / ".tmp") == []  # the bad copy went too


def test_a_folder_without_its_marker_is_rehashed_then_trusted(tmp_path: Path) -> None:
    """A crash between the rename and the marker leaves right bytes and no marker: the next
    save of that content re-hashes the folder once and writes the marker."""
    store = LocalArtifactStore(str(tmp_path))
    saved = save_artifact(store, "abc", JSON_MATERIALIZER)
    os.remove(f"{saved.uri}{marker.SUFFIX}")
    save_artifact(store, "abc", JSON_MATERIALIZER)
    assert marker.read(store, saved.path) is not None
    assert is_intact(store, saved.uri)


@pytest.mark.parametrize("size", [0, 1, (1 << 16) - 1, 1 << 16, (1 << 16) + 1, (5 << 20) + 3])
def test_hashing_files_small_and_large_follows_one_recipe(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "a.bin").write_bytes(data)
    (tmp_path / "b.txt").write_bytes(b"x")
    assert hash_folder(str(tmp_path)) == hash_bytes({"b.txt": b"x", "a.bin": data})
