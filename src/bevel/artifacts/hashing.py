"""The content hash of an artifact folder: ``"blake3:<hex>"``.

Defined over the folder's files only, never their modification times or absolute location, so
the same bytes give the same hash on any machine (the cache key and deduplication rely on it)::

    blake3( for each file, in sorted order of its relative posix path:
              path (utf-8) + b"\\0" + size (decimal ascii) + b"\\0" + the file's bytes )

The prefix names the hash function (:data:`ALGORITHM` for everything hashed now). Content
recorded before bevel switched to BLAKE3 carries ``"sha256:<hex>"``, the same recipe over
SHA-256: it is still verified with SHA-256 (:func:`algorithm_of`, and the ``algorithm``
argument of the functions below), so every stored artifact stays valid. BLAKE3 is the recipe because it hashes
about four times as fast as SHA-256 with the CPU's SHA extensions (15 ms against 60 ms per
100 MiB on one core here), and the hash is on the critical path of every big save and verified
load.

Hashing while reading: a materializer that reads one file of known layout (``.npy``) reads it
with :func:`read_hashed`, which hashes each chunk as the object is filled from it; loading then
compares that hash with the recorded one instead of reading the folder twice (once to verify,
once to load). The integrity check is the same: the bytes the object was made of hash to the
recorded content hash, or loading raises :class:`~bevel.errors.ArtifactCorrupted`.

Files are read in 4 MiB chunks. From :data:`THREAD_MIN` bytes on, the hashing runs on a thread
of its own beside the reading or writing (:class:`_Hasher`: hashlib releases the GIL while it
hashes a buffer), fed the chunks in order, so hashing a big file costs about as much wall time
as the slower of SHA-256 and the I/O instead of their sum. The thread hashes the very bytes
read or written (no copy is made for it), and a reused read buffer is not overwritten before
the thread has hashed it.

Hashing while writing: a materializer whose output is one file of known bytes (``.npy``: a
header and the array's buffer) writes it with :func:`write_hashed`, which hashes each chunk as
it goes to the file; :func:`hash_saved` then returns that hash for the folder, provided the
folder still holds only that file with the size and modification time it was written with, and
re-hashes it otherwise. Same recipe, same hash; one pass over the bytes instead of two.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from bevel._lazy import lazy_module
from bevel.artifacts._paths import local_files
from bevel.errors import ArtifactCorrupted, ArtifactError

if TYPE_CHECKING:
    import queue

    import blake3
else:  # the hashing thread's queues: big artifacts only
    queue = lazy_module("queue")
    blake3 = lazy_module("blake3")  # imported when something is hashed (~1 ms)

#: The hash function content is hashed with now, and the prefix of every hash it gives.
ALGORITHM = "blake3"
PREFIX = ALGORITHM + ":"
#: Every hash function a stored content hash may name: the current one, then older ones
#: (content recorded before the switch), verified with the function that made them.
ALGORITHMS = (ALGORITHM, "sha256")
CHUNK = 4 << 20
#: From this many bytes on, a file is hashed on a thread beside its I/O; below, starting the
#: thread (~0.1 ms) would cost more than the overlap saves.
THREAD_MIN = 8 << 20
T = TypeVar("T")


class _Hasher:
    """Feeds ``digest`` the buffers given to :meth:`update`, in that order: on a thread of its
    own when ``threaded``, else at once. :meth:`join` waits until all of them are hashed; until
    then nothing else may touch ``digest``.

    The thread holds each buffer until it has hashed it, so the caller must not change a buffer
    it gave. One given with ``back`` is put on that queue once hashed: a reading loop takes its
    next buffer from there, so a reused buffer is never overwritten before it was hashed.
    """

    def __init__(self, digest: Any, *, threaded: bool, algorithm: str = ALGORITHM) -> None:
        self.digest = digest
        self.algorithm = algorithm  # the prefix of content_hash()
        self._queue: queue.SimpleQueue[Any] | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.threaded = threaded
        if threaded:
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._run, name="bevel-hash", daemon=True)
            self._thread.start()

    def update(
        self, data: Any, back: queue.SimpleQueue[Any] | None = None, token: Any = None
    ) -> None:
        """Hash ``data`` (after everything given before); then put ``token`` on ``back``."""
        if self._queue is None:
            self.join()  # after finish(): the thread first hashes what it has
            self.digest.update(data)
            if back is not None:
                back.put(token)
        else:
            self._queue.put((data, back, token))

    def _run(self) -> None:
        assert self._queue is not None
        items = self._queue  # finish() drops the attribute; the thread keeps the queue
        while (item := items.get()) is not None:
            data, back, token = item
            if self._error is None:
                try:
                    self.digest.update(data)
                except BaseException as exc:  # re-raised by join(); buffers still go back
                    self._error = exc
            if back is not None:
                back.put(token)

    def finish(self) -> None:
        """No more buffers: the thread ends once it has hashed those it has (no waiting)."""
        if self._queue is not None:
            self._queue.put(None)
            self._queue = None

    def join(self) -> Any:
        """The digest, once every buffer given has gone into it."""
        self.finish()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return self.digest

    def content_hash(self) -> str:
        return f"{self.algorithm}:{self.join().hexdigest()}"


def _prefix(name: str, size: int) -> bytes:
    return b"%s\0%d\0" % (name.encode("utf-8"), size)


def new_digest(algorithm: str = ALGORITHM, data: bytes = b"") -> Any:
    """A fresh hash object of ``algorithm`` (one of :data:`ALGORITHMS`) fed ``data``: the
    ``update`` / ``hexdigest`` interface of hashlib (both release the GIL on big buffers)."""
    if algorithm == "blake3":
        return blake3.blake3(data)
    if algorithm == "sha256":
        return hashlib.sha256(data)
    raise ValueError(f"unknown content hash algorithm {algorithm!r}")


def algorithm_of(content_hash: str) -> str:
    """The hash function a recorded ``content_hash`` names (its prefix): what verifying the
    content must use. An unknown one is an error saying so (a store written by a newer bevel)."""
    algorithm, colon, _ = content_hash.partition(":")
    if not colon or algorithm not in ALGORITHMS:
        raise ArtifactError(
            f"content hash {content_hash!r} names no hash function this bevel knows "
            f"(it knows {', '.join(ALGORITHMS)})",
            hint="the store was written by a newer bevel: upgrade bevel (`pip install -U bevel`)",
        )
    return algorithm


def hash_folder(folder: str, algorithm: str = ALGORITHM) -> tuple[str, int]:
    """``("blake3:<hex>", total size in bytes)`` of the files under ``folder`` (with another
    of :data:`ALGORITHMS`, that one's prefix and digest)."""
    return _hash_files(folder, local_files(folder), algorithm)


# folder (absolute) -> (file name, size, mtime in ns, its hash, maybe still being computed)
_written: dict[str, tuple[str, int, int, _Hasher]] = {}
_written_lock = threading.Lock()


def write_hashed(folder: str, name: str, parts: Sequence[Any]) -> None:
    """Write the buffers ``parts`` (bytes, C-contiguous arrays) one after another as the file
    ``folder/name``, hashing them on the way for :func:`hash_saved`.

    A big file is hashed on a thread beside the writing, which may still be hashing when this
    returns: the buffers must not change until :func:`hash_saved` has returned (an output being
    saved is changed by no one)."""
    views = [memoryview(part).cast("B") for part in parts]
    size = sum(view.nbytes for view in views)
    hasher = _Hasher(new_digest(ALGORITHM, _prefix(name, size)), threaded=size >= THREAD_MIN)
    path = os.path.join(folder, name)
    try:
        with open(path, "wb") as f:
            if size >= THREAD_MIN:
                _preallocate(f.fileno(), size)
            for view in views:
                for start in range(0, view.nbytes, CHUNK):
                    chunk = view[start : start + CHUNK]
                    hasher.update(chunk)
                    f.write(chunk)
            f.flush()
            stat = os.fstat(f.fileno())
    finally:
        hasher.finish()
    with _written_lock:
        _written[os.path.abspath(folder)] = (name, stat.st_size, stat.st_mtime_ns, hasher)


def _preallocate(fd: int, size: int) -> None:
    """Reserve the blocks of a file about to be written with ``size`` bytes from its start.

    On ext4 a 100 MiB write then takes 18 ms instead of 30: the file system allocates its
    extents once, not page by page as the writes arrive. This is what ``np.save`` does: Linux's
    ``fallocate`` with ``FALLOC_FL_KEEP_SIZE``, so the file's size still grows only as it is
    written. Where it is refused (a file system without it) or missing (not Linux), the file is
    written as it comes. Not ``os.posix_fallocate``: where the file system cannot reserve,
    glibc emulates it by writing a byte into every block first (NFSv3, FUSE), slower than
    not reserving at all."""
    reserve = _reserver()
    if reserve is not None:
        reserve(fd, _FALLOC_FL_KEEP_SIZE, 0, size)  # its result is ignored: a hint, not a need


_FALLOC_FL_KEEP_SIZE = 1


@functools.cache
def _reserver() -> Callable[[int, int, int, int], int] | None:
    """libc's ``fallocate(fd, mode, offset, len)`` on Linux, else None (looked up once)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # numpy imports it already; only files of THREAD_MIN bytes get here

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, "fallocate64", None) or libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    function.restype = ctypes.c_int
    return cast(Callable[[int, int, int, int], int], function)


def hash_saved(folder: str) -> tuple[str, int]:
    """:func:`hash_folder` of a folder a materializer just wrote, reusing the hash
    :func:`write_hashed` computed when the folder holds just that file, unchanged since."""
    with _written_lock:
        entry = _written.pop(os.path.abspath(folder), None)
    if entry is not None:
        name, size, mtime_ns, hasher = entry
        content_hash = hasher.content_hash()
        if local_files(folder) == [name]:
            stat = os.stat(os.path.join(folder, name))
            if (stat.st_size, stat.st_mtime_ns) == (size, mtime_ns):
                return content_hash, size
    return hash_folder(folder)


class PendingHash:
    """:func:`hash_saved` of a folder, computed on a thread while the caller does something
    else (saving computes the object's metadata and visualizations meanwhile): a folder of
    :data:`THREAD_MIN` bytes or more, or one whose :func:`write_hashed` thread is still hashing.
    A smaller folder is hashed at once. :meth:`result` waits for the hash."""

    def __init__(self, folder: str) -> None:
        self._folder = folder
        self._outcome: tuple[str, int] | BaseException | None = None
        self._thread: threading.Thread | None = None
        with _written_lock:
            written = os.path.abspath(folder) in _written
        if written:  # hashed already, or being hashed beside the write: result() takes it
            return
        names = local_files(folder)
        if sum(os.path.getsize(os.path.join(folder, *n.split("/"))) for n in names) < THREAD_MIN:
            self._outcome = _hash_files(folder, names)
            return
        self._thread = threading.Thread(
            target=self._run, args=(names,), name="bevel-hash", daemon=True
        )
        self._thread.start()

    def _run(self, names: list[str]) -> None:
        try:
            self._outcome = _hash_files(self._folder, names)
        except BaseException as exc:  # re-raised by result()
            self._outcome = exc

    def wait(self) -> None:
        """Until the thread (if any) has hashed the folder."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def result(self) -> tuple[str, int]:
        """``("blake3:<hex>", size)`` of the folder (raises what hashing it raised)."""
        self.wait()
        if self._outcome is None:
            self._outcome = hash_saved(self._folder)
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


def _hash_files(folder: str, names: list[str], algorithm: str = ALGORITHM) -> tuple[str, int]:
    digest = new_digest(algorithm)
    total = 0
    for name in names:
        with open(os.path.join(folder, *name.split("/")), "rb", buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            digest.update(_prefix(name, size))
            if size < CHUNK:  # one read; no 4 MiB buffer to allocate for a small file
                data = f.readall()
                digest.update(data)
                seen = len(data)
            else:
                seen = _hash_file(f, _Hasher(digest, threaded=size >= THREAD_MIN))
        if seen != size:
            raise ArtifactError(
                f"{name} in {folder} changed size while it was being hashed",
                hint="do not modify an artifact's files while bevel saves or loads it",
            )
        total += size
    return f"{algorithm}:{digest.hexdigest()}", total


def _hash_file(f: Any, hasher: _Hasher) -> int:
    """Feed the rest of ``f`` to ``hasher`` and wait for it; returns how many bytes were read.
    Three buffers rotate when more than a chunk is left and a thread hashes: one being read
    into while the thread hashes the others. Buffers are no bigger than what is left (+1: the
    read that finds the end), so draining a file read to its end allocates nothing big."""
    free: queue.SimpleQueue[Any] = queue.SimpleQueue()
    left = os.fstat(f.fileno()).st_size - f.tell()
    for _ in range(3 if hasher.threaded and left > CHUNK else 1):
        free.put(memoryview(bytearray(max(1, min(CHUNK, left + 1)))))
    seen = 0
    try:
        while True:
            view = free.get()
            count = f.readinto(view)
            if not count:
                break
            hasher.update(view[:count], back=free, token=view)
            seen += count
    finally:
        hasher.join()
    return seen


class HashingReader:
    """A binary file whose every byte read goes into the folder hash (see :func:`read_hashed`)."""

    def __init__(self, raw: Any, hasher: _Hasher) -> None:
        self._raw = raw
        self._hasher = hasher
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._raw.read(size)
        self._hasher.update(data)
        self.count += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` (a writable buffer: an array's memory) from the file, in chunks;
        returns how many bytes were read (fewer only at the end of the file). The hash of each
        chunk may run on a thread beside the reading of the next: the caller must not change
        ``buffer`` until :func:`read_hashed` has returned."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < view.nbytes:
            count = self._raw.readinto(view[filled : filled + CHUNK])
            if not count:
                break
            self._hasher.update(view[filled : filled + count])
            filled += count
        self.count += filled
        return filled

    def drain(self) -> None:
        """Read (and hash) the rest of the file."""
        self.count += _hash_file(self._raw, self._hasher)


def read_hashed(
    folder: str, name: str, read: Callable[[HashingReader], T], algorithm: str = ALGORITHM
) -> tuple[T, str] | None:
    """``(read(file), folder hash)`` for a folder holding only the file ``name``, the hash
    computed from the bytes ``read`` consumed plus any it left (one pass over the file; a big
    file is hashed on a thread beside the reading); None when the folder holds other files (the
    caller hashes it whole).

    When ``read`` fails (a truncated or damaged file), the rest is still hashed: a file that no
    longer matches its recorded hash is reported as corrupted (:func:`check_hash`), not as the
    error reading it gave.
    """
    if local_files(folder) != [name]:
        return None
    with open(os.path.join(folder, name), "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        hasher = _Hasher(
            new_digest(algorithm, _prefix(name, size)),
            threaded=size >= THREAD_MIN,
            algorithm=algorithm,
        )
        reader = HashingReader(f, hasher)
        try:
            try:
                result = read(reader)
            except Exception as exc:
                reader.drain()
                raise HashedReadError(hasher.content_hash()) from exc
            reader.drain()
        finally:
            hasher.finish()  # whatever happened, the thread ends
    if reader.count != size:
        raise ArtifactError(
            f"{name} in {folder} changed size while it was being read",
            hint="do not modify an artifact's files while bevel saves or loads it",
        )
    return result, hasher.content_hash()


def hash_beside(folder: str, load: Callable[[], T]) -> tuple[T, str] | None:
    """``(load(), hash of folder)`` with the folder hashed on a thread while ``load`` reads it
    (a materializer's ``load``, for formats whose parser is safe on any bytes: Parquet); None
    for a folder under :data:`THREAD_MIN` bytes, where the caller hashes first, then loads.

    The guarantee is the one of hashing first: the files hashed are the files loaded, and a
    mismatch with the record discards what was loaded (:func:`check_hash`). When ``load``
    fails, the hash still comes (:class:`HashedReadError`), so damaged files are reported as
    corrupted rather than as the parser's error.
    """
    names = local_files(folder)
    if sum(os.path.getsize(os.path.join(folder, *n.split("/"))) for n in names) < THREAD_MIN:
        return None
    outcome: list[tuple[str, int] | BaseException] = []

    def run() -> None:
        try:
            outcome.append(_hash_files(folder, names))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=run, name="bevel-hash", daemon=True)
    thread.start()
    try:
        try:
            result = load()
        except Exception as exc:
            thread.join()
            if isinstance(outcome[0], BaseException):
                raise outcome[0] from exc
            raise HashedReadError(outcome[0][0]) from exc
    finally:
        thread.join()  # whatever happened: no thread left behind
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return result, outcome[0][0]


class HashedReadError(Exception):
    """``read`` failed in :func:`read_hashed`; ``content_hash`` is what the file hashes to (the
    cause is the reader's own error)."""

    def __init__(self, content_hash: str) -> None:
        super().__init__(content_hash)
        self.content_hash = content_hash


def hex_of(content_hash: str) -> str:
    """The hex digest of ``"blake3:<hex>"`` (used in content-addressed paths: the digests of
    all :data:`ALGORITHMS` are 64 hex digits, so content of either kind has the same layout,
    and two digests of different functions meet only by a 256-bit collision)."""
    return content_hash.partition(":")[2] or content_hash


RERUN_HINT = (
    "re-create it by re-running the step that produced it with caching off "
    "(`bevel run <pipeline> --no-cache`)"
)


def verify_folder(folder: str, *, uri: str, content_hash: str, name: str) -> None:
    """Raise ArtifactCorrupted (naming the artifact and where it is) when ``folder`` no longer
    hashes to ``content_hash`` (with the hash function it names)."""
    actual = hash_folder(folder, algorithm_of(content_hash))[0]
    check_hash(actual, uri=uri, content_hash=content_hash, name=name)


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

    ``"content"``: ``"blake3:<hex>"`` of a file's bytes (the same recipe as :func:`hash_folder`
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


def hash_bytes(files: Mapping[str, bytes]) -> tuple[str, int]:
    """:func:`hash_folder` of a folder holding ``files`` (relative posix name -> bytes), in
    memory: what a small artifact hashes to before any of it is written."""
    digest = new_digest(ALGORITHM)
    total = 0
    for name in sorted(files):
        data = files[name]
        digest.update(b"%s\0%d\0" % (name.encode("utf-8"), len(data)))
        digest.update(data)
        total += len(data)
    return PREFIX + digest.hexdigest(), total
