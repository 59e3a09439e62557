"""Big files are hashed on a thread beside their I/O: the same recipe and the same hashes as
hashing inline, the bytes hashed are the bytes read or written, and no thread is left behind.

The thresholds are lowered (``CHUNK``, ``THREAD_MIN``) so that files of a few kB take the
threaded paths with many chunks; one test keeps the real ones with a 20 MiB array.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import blake3
import numpy as np
import pytest
from numpy_artifacts import load_array, saved_array

from bevel.artifacts import hashing
from bevel.artifacts.hashing import hash_folder, hash_saved, read_hashed, write_hashed
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.numpy_array import FILENAME, NumpyMaterializer
from bevel.artifacts.publish import save_artifact
from bevel.errors import ArtifactCorrupted, ArtifactError

SMALL_CHUNK = 1000
_blake3 = blake3.blake3


def reference_hash(folder: Path, algorithm: str = "blake3") -> str:
    """The recipe of the module docstring, written out plainly (with ``algorithm``: the recipe
    of content recorded before bevel switched to BLAKE3)."""
    digest = _blake3() if algorithm == "blake3" else hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        name = path.relative_to(folder).as_posix().encode()
        digest.update(name + b"\0" + str(len(data)).encode() + b"\0" + data)
    return f"{algorithm}:{digest.hexdigest()}"


class Recorder:
    """Stands in for blake3.blake3: counts the bytes each thread hashed."""

    def __init__(self) -> None:
        self.by_thread: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, data: bytes = b"") -> Any:
        recorder = self
        real = _blake3(data)

        class Digest:
            def update(self, chunk: Any) -> None:
                with recorder.lock:
                    name = threading.current_thread().name
                    recorder.by_thread[name] = (
                        recorder.by_thread.get(name, 0) + memoryview(chunk).nbytes
                    )
                real.update(chunk)

            def hexdigest(self) -> str:
                return real.hexdigest()

        return Digest()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashing, "CHUNK", SMALL_CHUNK)
    monkeypatch.setattr(hashing, "THREAD_MIN", 3 * SMALL_CHUNK)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    found = Recorder()
    monkeypatch.setattr(hashing, "blake3", SimpleNamespace(blake3=found))  # what hashing.py calls
    return found


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    yield
    left = [t for t in threading.enumerate() if t.name == "bevel-hash"]
    for thread in left:
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in left), "a hashing thread was left running"


SIZES = [0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 3 * SMALL_CHUNK, 7 * SMALL_CHUNK + 3]


@pytest.mark.parametrize("size", SIZES)
def test_hashing_a_folder_gives_the_recipe_whatever_the_size(
    tmp_path: Path, size: int, small_chunks: None
) -> None:
    rng = np.random.default_rng(size)
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(rng.bytes(size))
    (tmp_path / "sub" / "b.bin").write_bytes(rng.bytes(size // 2 + 5))
    (tmp_path / "z.txt").write_bytes(b"tail")
    assert hash_folder(str(tmp_path)) == (
        reference_hash(tmp_path),
        size + size // 2 + 5 + 4,
    )
    # content recorded before the switch to BLAKE3 is verified with the recipe it was made by
    assert hash_folder(str(tmp_path), "sha256") == (
        reference_hash(tmp_path, "sha256"),
        size + size // 2 + 5 + 4,
    )


def test_a_big_file_is_hashed_on_the_thread_beside_the_reading(
    tmp_path: Path, small_chunks: None, recorder: Recorder
) -> None:
    big = np.random.default_rng(0).bytes(10 * SMALL_CHUNK + 7)
    (tmp_path / "big.bin").write_bytes(big)
    (tmp_path / "small.bin").write_bytes(b"x" * 100)
    content_hash, _ = hash_folder(str(tmp_path))
    assert recorder.by_thread["bevel-hash"] == len(big)  # all of the big file's bytes
    assert content_hash == reference_hash(tmp_path)


@pytest.mark.parametrize("size", SIZES)
def test_writing_hashed_gives_the_folder_hash(
    tmp_path: Path, size: int, small_chunks: None
) -> None:
    data = np.random.default_rng(size).bytes(size)
    write_hashed(str(tmp_path), "f.bin", [b"head", np.frombuffer(data, np.uint8)])
    assert (tmp_path / "f.bin").read_bytes() == b"head" + data
    assert hash_saved(str(tmp_path)) == (reference_hash(tmp_path), size + 4)


def test_a_big_write_is_hashed_on_the_thread_beside_the_writing(
    tmp_path: Path, small_chunks: None, recorder: Recorder
) -> None:
    data = np.random.default_rng(1).bytes(9 * SMALL_CHUNK)
    write_hashed(str(tmp_path), "f.bin", [data])
    assert hash_saved(str(tmp_path))[0] == reference_hash(tmp_path)
    assert recorder.by_thread["bevel-hash"] == len(data)


@pytest.mark.parametrize("size", SIZES)
def test_reading_hashed_hashes_what_was_read_and_what_was_left(
    tmp_path: Path, size: int, small_chunks: None
) -> None:
    data = np.random.default_rng(size).bytes(size)
    (tmp_path / "f.bin").write_bytes(data)

    def read(f: hashing.HashingReader) -> bytes:
        head = f.read(min(size, 5))
        body = bytearray(size // 2)
        assert f.readinto(body) == len(body)
        return head + bytes(body)

    done = read_hashed(str(tmp_path), "f.bin", read)
    assert done is not None
    got, content_hash = done
    assert got == data[: min(size, 5)] + data[min(size, 5) : min(size, 5) + size // 2]
    assert content_hash == reference_hash(tmp_path)


def test_a_failing_read_still_reports_the_hash_and_stops_the_thread(
    tmp_path: Path, small_chunks: None, recorder: Recorder
) -> None:
    (tmp_path / "f.bin").write_bytes(np.random.default_rng(2).bytes(8 * SMALL_CHUNK))

    def read(f: hashing.HashingReader) -> None:
        f.readinto(bytearray(2 * SMALL_CHUNK))
        raise ValueError("bad header")

    with pytest.raises(hashing.HashedReadError) as err:
        read_hashed(str(tmp_path), "f.bin", read)
    assert err.value.content_hash == reference_hash(tmp_path)
    assert isinstance(err.value.__cause__, ValueError)
    assert recorder.by_thread["bevel-hash"] == 8 * SMALL_CHUNK


def test_an_interrupted_read_leaves_no_thread(tmp_path: Path, small_chunks: None) -> None:
    (tmp_path / "f.bin").write_bytes(b"x" * 8 * SMALL_CHUNK)

    def read(f: hashing.HashingReader) -> None:
        f.readinto(bytearray(SMALL_CHUNK))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        read_hashed(str(tmp_path), "f.bin", read)
    # the autouse fixture checks that the hashing thread ended


def test_a_20_mib_array_is_saved_and_loaded_with_the_hash_on_a_thread(
    tmp_path: Path, recorder: Recorder
) -> None:
    """The real thresholds: a 20 MiB array is hashed beside its write and beside its read."""
    array = np.random.default_rng(3).random(20 * 2**20 // 8)
    store, saved, folder = saved_array(tmp_path, array)
    size = os.path.getsize(os.path.join(folder, FILENAME))
    assert recorder.by_thread.get("bevel-hash", 0) == size  # the header and the data
    assert saved.content_hash == reference_hash(Path(folder))
    recorder.by_thread.clear()
    loaded = load_array(store, saved)
    np.testing.assert_array_equal(loaded, array)
    assert recorder.by_thread.get("bevel-hash", 0) == size


@pytest.mark.parametrize("damage", ["first chunk", "middle chunk", "last byte", "truncate"])
def test_corruption_anywhere_in_a_multi_chunk_array_is_detected(
    tmp_path: Path, damage: str, small_chunks: None
) -> None:
    store, saved, folder = saved_array(tmp_path, np.arange(5_000.0))  # 40 chunks
    path = os.path.join(folder, FILENAME)
    os.chmod(path, 0o644)
    data = bytearray(Path(path).read_bytes())
    if damage == "truncate":
        del data[-3 * SMALL_CHUNK :]
    else:
        at = {"first chunk": 200, "middle chunk": len(data) // 2, "last byte": -1}[damage]
        data[at] ^= 0x01
    Path(path).write_bytes(bytes(data))
    with pytest.raises(ArtifactCorrupted, match=r"arr v1.*is corrupted"):
        load_array(store, saved)


def test_a_file_growing_while_it_is_hashed_is_an_error(
    tmp_path: Path, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size went into the hash first: bytes appended meanwhile cannot be hashed silently."""
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 5 * SMALL_CHUNK)
    real = hashing._hash_file

    def grow_then_hash(f: Any, hasher: Any) -> int:
        with open(path, "ab") as out:
            out.write(b"more")
        return real(f, hasher)

    monkeypatch.setattr(hashing, "_hash_file", grow_then_hash)
    with pytest.raises(ArtifactError, match="changed size while it was being hashed"):
        hash_folder(str(tmp_path))


def test_the_npy_bytes_and_hash_are_the_same_with_and_without_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    array = np.random.default_rng(4).random((300, 200))
    hashes = []
    for threaded, sub in ((False, "inline"), (True, "threaded")):
        monkeypatch.setattr(hashing, "THREAD_MIN", 0 if threaded else 1 << 40)
        monkeypatch.setattr(hashing, "CHUNK", 4096)
        (tmp_path / sub).mkdir()
        NumpyMaterializer().save(array, str(tmp_path / sub))
        hashes.append(hash_saved(str(tmp_path / sub)))
        assert hashes[-1][0] == reference_hash(tmp_path / sub)
    assert hashes[0] == hashes[1]
    assert (tmp_path / "inline" / FILENAME).read_bytes() == (
        tmp_path / "threaded" / FILENAME
    ).read_bytes()


class _TwoFiles:
    """Writes two files (no write_hashed): saving hashes the folder after save()."""

    version = "1"
    started = threading.Event()

    def save(self, obj: Any, directory: str) -> None:
        Path(directory, "a.bin").write_bytes(obj)
        Path(directory, "b.txt").write_text("b")

    def load(self, directory: str, type_: type | None) -> Any:
        return Path(directory, "a.bin").read_bytes()

    def visualizations(self, obj: Any) -> dict[str, str]:
        _TwoFiles.started.set()
        assert _TwoFiles.hashing.wait(10), "the folder was not being hashed meanwhile"
        return {"size": f"<p>{len(obj)} bytes</p>"}

    hashing = threading.Event()


def test_a_big_folder_is_hashed_while_its_visualizations_are_computed(
    tmp_path: Path, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overlap, not timing: the hash waits for the visualizations to have started and they wait
    for the hash to be under way, which only passes when both run at once."""
    real = hashing._hash_files

    def hash_once_viz_started(folder: str, names: list[str]) -> tuple[str, int]:
        _TwoFiles.hashing.set()
        assert _TwoFiles.started.wait(10)
        return real(folder, names)

    monkeypatch.setattr(hashing, "_hash_files", hash_once_viz_started)
    ref = f"{__name__}:_TwoFiles"
    data = np.random.default_rng(5).bytes(5 * SMALL_CHUNK)
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = save_artifact(store, data, ref)
    folder = store.local_path(saved.path)
    assert folder is not None
    assert saved.content_hash == reference_hash(Path(folder))
    assert set(saved.visualizations) == {"size"}


def test_a_failure_of_the_hashing_thread_fails_the_save_cleanly(
    tmp_path: Path, small_chunks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(folder: str, names: list[str]) -> tuple[str, int]:
        assert threading.current_thread().name == "bevel-hash"
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(hashing, "_hash_files", failing)
    monkeypatch.setattr(_TwoFiles, "visualizations", lambda self, obj: {})
    store = LocalArtifactStore(str(tmp_path / "store"))
    with pytest.raises(OSError, match="Input/output error"):
        save_artifact(store, b"x" * 5 * SMALL_CHUNK, f"{__name__}:_TwoFiles")
    assert not list((tmp_path / "store" / ".tmp").iterdir())  # the temp folder was removed
    assert not (tmp_path / "store" / "data").exists()


def test_draining_a_file_read_to_its_end_allocates_no_chunk_buffer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading a big array reads it whole; what is left to hash after it is nothing, and was
    read through three fresh 4 MiB buffers (12 MiB zeroed per load)."""
    (tmp_path / "f.bin").write_bytes(b"x" * (hashing.THREAD_MIN + 10))
    sizes: list[int] = []
    real_bytearray = bytearray

    def recording(size: int = 0) -> bytearray:
        sizes.append(size)
        return real_bytearray(size)

    monkeypatch.setattr(hashing, "bytearray", recording, raising=False)

    def read_all(f: hashing.HashingReader) -> int:
        return f.readinto(real_bytearray(hashing.THREAD_MIN + 10))

    done = read_hashed(str(tmp_path), "f.bin", read_all)
    assert done is not None and done[0] == hashing.THREAD_MIN + 10
    assert done[1] == reference_hash(tmp_path)
    assert sizes and max(sizes) <= 1
