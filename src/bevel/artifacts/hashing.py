"""The content hash of an artifact folder: ``"sha256:<hex>"``.

Defined over the folder's files only, never their modification times or absolute location, so
the same bytes give the same hash on any machine (the cache key and deduplication rely on it)::

    sha256( for each file, in sorted order of its relative posix path:
              path (utf-8) + b"\\0" + size (decimal ascii) + b"\\0" + the file's bytes )

Hashing while reading: a materializer that reads one file of known layout (``.npy``) reads it
with :func:`read_hashed`, which hashes each chunk as the object is filled from it; loading then
compares that hash with the recorded one instead of reading the folder twice (once to verify,
once to load). The integrity check is the same: the bytes the object was made of hash to the
recorded content hash, or loading raises :class:`~bevel.errors.ArtifactCorrupted`.

Files are read in 4 MiB chunks into one reused buffer: hashing a 100 MiB array costs about as
much as sha256 itself (~0.05 s on a modern CPU), far less than writing it.

Hashing while writing: a materializer whose output is one file of known bytes (``.npy``: a
header and the array's buffer) writes it with :func:`write_hashed`, which hashes each chunk as
it goes to the file; :func:`hash_saved` then returns that hash for the folder, provided the
folder still holds only that file with the size and modification time it was written with, and
re-hashes it otherwise. Same recipe, same hash; one pass over the bytes instead of two.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from bevel.artifacts._paths import local_files
from bevel.errors import ArtifactCorrupted, ArtifactError

PREFIX = "sha256:"
CHUNK = 4 << 20
T = TypeVar("T")


def hash_folder(folder: str) -> tuple[str, int]:
    """``("sha256:<hex>", total size in bytes)`` of the files under ``folder``."""
    return _hash_files(folder, local_files(folder))


# folder (absolute) -> (file name, size, mtime in ns, "sha256:<hex>") of a write_hashed file
_written: dict[str, tuple[str, int, int, str]] = {}
_written_lock = threading.Lock()


def write_hashed(folder: str, name: str, parts: Sequence[Any]) -> None:
    """Write the buffers ``parts`` (bytes, C-contiguous arrays) one after another as the file
    ``folder/name``, hashing them on the way for :func:`hash_saved`."""
    views = [memoryview(part).cast("B") for part in parts]
    size = sum(view.nbytes for view in views)
    digest = hashlib.sha256(b"%s\0%d\0" % (name.encode("utf-8"), size))
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        for view in views:
            for start in range(0, view.nbytes, CHUNK):
                chunk = view[start : start + CHUNK]
                digest.update(chunk)
                f.write(chunk)
        f.flush()
        stat = os.fstat(f.fileno())
    with _written_lock:
        _written[os.path.abspath(folder)] = (
            name, stat.st_size, stat.st_mtime_ns, PREFIX + digest.hexdigest()
        )  # fmt: skip


def hash_saved(folder: str) -> tuple[str, int]:
    """:func:`hash_folder` of a folder a materializer just wrote, reusing the hash
    :func:`write_hashed` computed when the folder holds just that file, unchanged since."""
    with _written_lock:
        entry = _written.pop(os.path.abspath(folder), None)
    if entry is not None:
        name, size, mtime_ns, content_hash = entry
        if local_files(folder) == [name]:
            stat = os.stat(os.path.join(folder, name))
            if (stat.st_size, stat.st_mtime_ns) == (size, mtime_ns):
                return content_hash, size
    return hash_folder(folder)


def _hash_files(folder: str, names: list[str]) -> tuple[str, int]:
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    total = 0
    for name in names:
        with open(os.path.join(folder, *name.split("/")), "rb", buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            digest.update(b"%s\0%d\0" % (name.encode("utf-8"), size))
            seen = 0
            while count := f.readinto(view):
                digest.update(view[:count])
                seen += count
        if seen != size:
            raise ArtifactError(
                f"{name} in {folder} changed size while it was being hashed",
                hint="do not modify an artifact's files while bevel saves or loads it",
            )
        total += size
    return PREFIX + digest.hexdigest(), total


class HashingReader:
    """A binary file whose every byte read goes into the folder hash (see :func:`read_hashed`)."""

    def __init__(self, raw: Any, digest: Any) -> None:
        self._raw = raw
        self._digest = digest
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._raw.read(size)
        self._digest.update(data)
        self.count += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` (a writable buffer: an array's memory) from the file, in chunks;
        returns how many bytes were read (fewer only at the end of the file)."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < view.nbytes:
            count = self._raw.readinto(view[filled : filled + CHUNK])
            if not count:
                break
            self._digest.update(view[filled : filled + count])
            filled += count
        self.count += filled
        return filled

    def drain(self) -> None:
        """Read (and hash) the rest of the file."""
        while self.read(CHUNK):
            pass


def read_hashed(folder: str, name: str, read: Callable[[HashingReader], T]) -> tuple[T, str] | None:
    """``(read(file), folder hash)`` for a folder holding only the file ``name``, the hash
    computed from the bytes ``read`` consumed plus any it left (one pass over the file); None
    when the folder holds other files (the caller hashes it whole).

    When ``read`` fails (a truncated or damaged file), the rest is still hashed: a file that no
    longer matches its recorded hash is reported as corrupted (:func:`check_hash`), not as the
    error reading it gave.
    """
    if local_files(folder) != [name]:
        return None
    with open(os.path.join(folder, name), "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        digest = hashlib.sha256(b"%s\0%d\0" % (name.encode("utf-8"), size))
        reader = HashingReader(f, digest)
        try:
            result = read(reader)
        except Exception as exc:
            reader.drain()
            raise HashedReadError(PREFIX + digest.hexdigest()) from exc
        reader.drain()
    if reader.count != size:
        raise ArtifactError(
            f"{name} in {folder} changed size while it was being read",
            hint="do not modify an artifact's files while bevel saves or loads it",
        )
    return result, PREFIX + digest.hexdigest()


class HashedReadError(Exception):
    """``read`` failed in :func:`read_hashed`; ``content_hash`` is what the file hashes to (the
    cause is the reader's own error)."""

    def __init__(self, content_hash: str) -> None:
        super().__init__(content_hash)
        self.content_hash = content_hash


def hex_of(content_hash: str) -> str:
    """The hex digest of ``"sha256:<hex>"`` (used in content-addressed paths)."""
    return content_hash.partition(":")[2] or content_hash


RERUN_HINT = (
    "re-create it by re-running the step that produced it with caching off "
    "(`bevel run <pipeline> --no-cache`)"
)


def verify_folder(folder: str, *, uri: str, content_hash: str, name: str) -> None:
    """Raise ArtifactCorrupted (naming the artifact and where it is) when ``folder`` no longer
    hashes to ``content_hash``."""
    check_hash(hash_folder(folder)[0], uri=uri, content_hash=content_hash, name=name)


def check_hash(actual: str, *, uri: str, content_hash: str, name: str) -> None:
    """Raise ArtifactCorrupted when an artifact's files hash to ``actual``, not the recorded
    ``content_hash``."""
    if actual != content_hash:
        raise ArtifactCorrupted(
            f"artifact {name!r} at {uri} is corrupted: its files hash to {actual}, "
            f"not the recorded {content_hash}",
            hint=f"its files were modified after it was saved; {RERUN_HINT}",
        )


def fingerprint_path(path: str, check: str = "content") -> str:
    """The cache-key fingerprint of an external file or folder (``bevel.ExternalPath``).

    ``"content"``: ``"sha256:<hex>"`` of a file's bytes (the same recipe as :func:`hash_folder`
    applied to the file alone), or :func:`hash_folder` of a folder. ``"mtime"``:
    ``"mtime:<hex>"``, SHA-256 of each file's relative name, size and modification time in
    nanoseconds, reading no data. ``"missing"`` when nothing is there.
    """
    if not os.path.exists(path):
        return "missing"
    if check == "mtime":
        digest = hashlib.sha256()
        if os.path.isdir(path):
            names = [(n, os.path.join(path, *n.split("/"))) for n in local_files(path)]
        else:
            names = [(os.path.basename(path), path)]
        for name, full in names:
            st = os.stat(full)
            digest.update(b"%s\0%d\0%d\0" % (name.encode("utf-8"), st.st_size, st.st_mtime_ns))
        return "mtime:" + digest.hexdigest()
    if os.path.isdir(path):
        return hash_folder(path)[0]
    folder, name = os.path.split(os.path.abspath(path))
    return _hash_files(folder, [name])[0]
