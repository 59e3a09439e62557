"""Hashing while writing: one pass over an artifact's bytes, the same file and hash as before."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from numpy_artifacts import load_array, saved_array

from bevel.artifacts import hashing
from bevel.artifacts.hashing import hash_folder, hash_saved, write_hashed
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers import registry
from bevel.artifacts.materializers.numpy_array import FILENAME, NumpyMaterializer
from bevel.artifacts.publish import load_artifact, save_artifact
from bevel.errors import ArtifactCorrupted, ArtifactError

ARRAYS = {
    "c order": np.arange(12.0).reshape(3, 4),
    "fortran order": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "scalar": np.array(5),
    "empty": np.zeros((3, 0)),
    "big-endian": np.arange(6, dtype=">i4"),
    "structured": np.zeros(4, dtype=[("a", "i4"), ("b", "f8")]),
    "strings": np.array(["a", "bcd"]),
    "format 2.0 header": np.zeros(2, dtype=[(f"field_{i:05d}", "i1") for i in range(5000)]),
    "strided": np.arange(20.0)[::2],
}


def assert_saved_as_np_save_writes(array: np.ndarray, folder: Path) -> bytes:
    """Saves ``array`` into ``folder``: the file holds np.save's bytes (returned), its hash is
    the folder's, and it loads back equal."""
    NumpyMaterializer().save(array, str(folder))
    expected = io.BytesIO()
    np.save(expected, array, allow_pickle=False)
    assert (folder / FILENAME).read_bytes() == expected.getvalue()
    assert hash_saved(str(folder)) == hash_folder(str(folder))
    np.testing.assert_array_equal(NumpyMaterializer().load(str(folder), None), array)
    return expected.getvalue()


@pytest.mark.filterwarnings("ignore:Stored array in format 2.0")
@pytest.mark.parametrize("name", list(ARRAYS))
def test_the_npy_file_is_what_np_save_writes_and_its_hash_the_folder_hash(
    tmp_path: Path, name: str
) -> None:
    array = ARRAYS[name]
    assert_saved_as_np_save_writes(array, tmp_path)


@pytest.mark.filterwarnings("ignore:Stored array in format 2.0")
def test_a_structured_array_with_a_header_over_10_kb_loads_back(tmp_path: Path) -> None:
    """np.load refuses .npy headers over 10 kB unless told otherwise (``max_header_size``): a
    structured array with many fields was saved, then could not be loaded or previewed."""
    wide = np.zeros(3, dtype=[(f"feature_{i:04d}", "f4") for i in range(1000)])
    wide["feature_0999"] = [1.5, 2.5, 3.5]
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = save_artifact(store, wide, registry.NUMPY_MATERIALIZER)
    folder = store.local_path(saved.path)
    assert folder is not None
    assert os.path.getsize(os.path.join(folder, FILENAME)) > 10_000 + wide.nbytes
    loaded = load_artifact(
        store, uri=saved.uri, materializer=registry.NUMPY_MATERIALIZER, type_ref="",
        content_hash=saved.content_hash, name="wide v1",
    )  # fmt: skip
    np.testing.assert_array_equal(loaded, wide)
    assert loaded.dtype == wide.dtype
    preview = NumpyMaterializer().preview(folder, None)
    assert preview is not None and "shape (3,)" in preview


def test_a_file_changed_after_writing_is_hashed_again(tmp_path: Path) -> None:
    write_hashed(str(tmp_path), "a.bin", [b"12345"])
    (tmp_path / "a.bin").chmod(0o644)
    with open(tmp_path / "a.bin", "r+b") as f:  # same size, other bytes, a later mtime
        f.write(b"x")
    os.utime(tmp_path / "a.bin", ns=(0, 0))
    assert hash_saved(str(tmp_path)) == hash_folder(str(tmp_path))
    (tmp_path / "extra").write_text("more")  # another file beside it: the folder is re-hashed
    write_hashed(str(tmp_path), "a.bin", [b"12345"])
    assert hash_saved(str(tmp_path)) == hash_folder(str(tmp_path))


def test_saving_an_array_reads_nothing_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's save path takes the hash computed while writing (counted, not timed)."""
    rehashed: list[str] = []
    real = hashing.hash_folder

    def counting(folder: str) -> tuple[str, int]:
        rehashed.append(folder)
        return real(folder)

    monkeypatch.setattr(hashing, "hash_folder", counting)
    store = LocalArtifactStore(str(tmp_path / "store"))
    array = np.random.default_rng(0).random((256, 256))
    saved = save_artifact(store, array, registry.NUMPY_MATERIALIZER)
    assert rehashed == []
    folder = store.local_path(saved.path)
    assert folder is not None
    assert saved.content_hash == real(folder)[0]
    assert saved.size == os.path.getsize(os.path.join(folder, FILENAME))


@pytest.mark.filterwarnings("ignore:Stored array in format 2.0")
@pytest.mark.parametrize("name", list(ARRAYS))
def test_loading_an_array_verifies_it_in_the_same_pass_that_reads_it(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder is not hashed before loading (counted): the bytes are hashed as they fill
    the array, and the array is exactly what np.load gives, layout included."""
    store, saved, folder = saved_array(tmp_path, ARRAYS[name])
    rehashed: list[str] = []
    real = hashing.hash_folder
    monkeypatch.setattr(hashing, "hash_folder", lambda f: rehashed.append(f) or real(f))
    loaded = load_array(store, saved)
    assert rehashed == []
    expected = np.load(os.path.join(folder, FILENAME), max_header_size=10**6)
    np.testing.assert_array_equal(loaded, expected)
    assert loaded.dtype == expected.dtype and loaded.shape == expected.shape
    assert loaded.flags.c_contiguous == expected.flags.c_contiguous
    assert loaded.flags.f_contiguous == expected.flags.f_contiguous
    assert loaded.flags.writeable


@pytest.mark.parametrize("damage", ["flip a data byte", "truncate", "append", "another file"])
def test_a_corrupted_array_is_detected_on_load(tmp_path: Path, damage: str) -> None:
    """Issue 6's guarantee holds on the one-pass path: changed bytes, a shorter or longer file,
    or a file added beside it, each raise ArtifactCorrupted naming the artifact."""
    store, saved, folder = saved_array(tmp_path, np.arange(100_000.0))
    path = os.path.join(folder, FILENAME)
    os.chmod(path, 0o644)
    data = bytearray(Path(path).read_bytes())
    if damage == "flip a data byte":
        data[-10] ^= 0xFF
    elif damage == "truncate":
        del data[-100:]
    elif damage == "append":
        data += b"\0" * 8
    else:
        Path(folder, "extra.txt").write_text("x")
    Path(path).write_bytes(bytes(data))
    with pytest.raises(ArtifactCorrupted, match=r"arr v1.*is corrupted"):
        load_array(store, saved)


def test_a_damaged_header_with_the_right_hash_is_not_reported_as_corruption(
    tmp_path: Path,
) -> None:
    """A file that cannot be read but still hashes to its record (written that way) is an error
    reading it, not corruption: the reader's own error is reported."""
    store = LocalArtifactStore(str(tmp_path / "store"))
    saved = save_artifact(store, np.arange(3), registry.NUMPY_MATERIALIZER)
    folder = store.local_path(saved.path)
    assert folder is not None
    path = os.path.join(folder, FILENAME)
    os.chmod(path, 0o644)
    Path(path).write_bytes(b"not an npy file")
    os.chmod(folder, 0o755)
    content_hash = hash_folder(folder)[0]
    with pytest.raises(ArtifactError) as err:
        load_artifact(
            store, uri=saved.uri, materializer=registry.NUMPY_MATERIALIZER, type_ref="",
            content_hash=content_hash, name="arr v1",
        )  # fmt: skip
    assert not isinstance(err.value, ArtifactCorrupted)
    assert "cannot load artifact 'arr v1'" in err.value.message


def _big_array() -> np.ndarray:
    return np.random.default_rng(7).random(hashing.THREAD_MIN // 8 + 1000)  # hashed on a thread


def test_a_big_file_is_reserved_before_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its blocks are reserved in one call, as np.save does (fallocate, keeping the size), then
    filled: same bytes, same hash, same size as without."""
    real = hashing._reserver()
    if real is None:
        pytest.skip("no fallocate on this platform")
    calls: list[tuple[int, int, int]] = []

    def recording(fd: int, mode: int, offset: int, length: int) -> int:
        calls.append((mode, offset, length))
        return real(fd, mode, offset, length)

    monkeypatch.setattr(hashing, "_reserver", lambda: recording)
    written = assert_saved_as_np_save_writes(_big_array(), tmp_path)
    assert calls == [(hashing._FALLOC_FL_KEEP_SIZE, 0, len(written))]
    small = tmp_path / "small"
    small.mkdir()
    NumpyMaterializer().save(np.arange(10.0), str(small))
    assert len(calls) == 1  # a small file is written as it comes


def test_reserving_allocates_the_blocks_and_keeps_the_size(tmp_path: Path) -> None:
    """The real call on this file system: a reader never sees a file longer than what was
    written (unlike posix_fallocate, whose fallback on NFSv3 or FUSE writes into every block)."""
    reserve = hashing._reserver()
    if reserve is None:
        pytest.skip("no fallocate on this platform")
    with open(tmp_path / "f", "wb") as f:
        if reserve(f.fileno(), hashing._FALLOC_FL_KEEP_SIZE, 0, 16 << 20) != 0:
            pytest.skip("this file system cannot reserve blocks")
        reserved = os.fstat(f.fileno())
    assert reserved.st_size == 0
    assert reserved.st_blocks * 512 >= 16 << 20


@pytest.mark.parametrize("platform", ["cannot reserve", "no fallocate"])
def test_a_big_file_is_written_whole_where_blocks_cannot_be_reserved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    """A file system that refuses (EOPNOTSUPP) or a platform without fallocate (macOS): the
    file is written as it comes."""
    if platform == "no fallocate":
        monkeypatch.setattr(hashing, "_reserver", lambda: None)
    else:

        def refusing(fd: int, mode: int, offset: int, length: int) -> int:
            return -1  # what libc returns, errno EOPNOTSUPP

        monkeypatch.setattr(hashing, "_reserver", lambda: refusing)
    assert_saved_as_np_save_writes(_big_array(), tmp_path)
