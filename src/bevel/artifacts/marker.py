"""Completion markers: what says that a content-addressed folder is whole, untouched and in use.

Every published folder ``data/<hh>/<hex>/`` gets a marker object beside it (not inside: it is not
part of the content), ``data/<hh>/<hex>.complete``, written *after* the folder is complete::

    {"format": 1, "content_hash": "blake3:<hex>", "used": 1767225600.0,
     "files": {"array.npy": [8388736, "1767225600123456789"]}}

``files`` is the folder's *manifest*: every file's size and a change stamp taken from the store
right after publishing (the modification time in nanoseconds on a local disk; on object stores
whatever the listing offers that changes when an object is rewritten: ETag, generation, mtime).
It makes the cheap check possible: :func:`check` compares a fresh listing with the manifest, so a
file that was added, removed, truncated or rewritten in place is noticed without reading any
data. Only a write that keeps the size *and* forges the stamp (``os.utime`` back to the old
time) gets past it; loading re-hashes the bytes anyway (``verify=True``), and local files are
read-only.

``used`` is when a save last found (or wrote) this content: garbage collection leaves folders
used within its grace period alone, because a run that saved them may not have recorded them
yet (see :mod:`bevel.artifacts.gc`).

A folder without a marker is a save that crashed before its end (or one written by a bevel
from before markers): it is never trusted without re-hashing (local stores) or re-uploading
(object stores). A marker in the old one-line format (``complete``) has no manifest: it is
trusted as before, and upgraded the next time the content is saved.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from enum import Enum
from typing import Any

from bevel._dataclass import dataclass
from bevel._json import encoder
from bevel.artifacts._paths import local_files
from bevel.artifacts.base import ArtifactStore

MARKER_FORMAT = 1
SUFFIX = ".complete"

# Keys of an fsspec ``info()`` dict that change when an object is rewritten, in the order they
# go into a stamp: S3 (ETag, LastModified), GCS (generation, md5Hash, updated), Azure (etag,
# last_modified), local and memory filesystems (mtime, created).
_STAMP_KEYS = (
    "ETag",
    "etag",
    "generation",
    "md5Hash",
    "crc32c",
    "LastModified",
    "last_modified",
    "updated",
    "mtime",
    "created",
)
_TIME_KEYS = ("LastModified", "last_modified", "updated", "mtime", "created")

FileStat = tuple[int, str]  # (size in bytes, change stamp)
_ENCODE = encoder()  # one encoder, not one per marker (bevel._json)


class Check(Enum):
    """What :func:`check` found out about a published folder."""

    OK = "ok"  # the marker's manifest matches the files
    MISMATCH = "mismatch"  # files added, removed, resized or rewritten since it was published
    ABSENT = "absent"  # no folder
    UNKNOWN = "unknown"  # a folder without a usable manifest: only re-hashing can tell


@dataclass(frozen=True)
class Marker:
    content_hash: str
    files: dict[str, FileStat] | None  # None: an old marker without a manifest
    used: float  # seconds since the epoch


def marker_path(path: str) -> str:
    """The marker of the folder ``path`` (beside it, so it is not part of the content)."""
    return f"{path}{SUFFIX}"


def read(store: ArtifactStore, path: str) -> Marker | None:
    """The marker of ``path``, or None when there is none."""
    try:
        with store.open(marker_path(path), "rb") as fh:
            raw = fh.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
        files = {str(k): (int(v[0]), str(v[1])) for k, v in data["files"].items()}
        return Marker(str(data["content_hash"]), files, float(data.get("used", 0.0)))
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return Marker("", None, 0.0)  # the one-line marker of earlier versions


def write(
    store: ArtifactStore, path: str, content_hash: str, files: Mapping[str, FileStat]
) -> None:
    """Write (or refresh) the marker of ``path``; ``used`` becomes now.

    Atomic: on a local disk through a temporary file and a rename, on an object store because a
    PUT makes the whole object appear at once.
    """
    data = {
        "format": MARKER_FORMAT,
        "content_hash": content_hash,
        "used": time.time(),
        "files": {name: [size, stamp] for name, (size, stamp) in sorted(files.items())},
    }
    payload = _ENCODE(data).encode("utf-8")
    target = marker_path(path)
    if store.local_path("") is None:
        with store.open(target, "wb") as fh:
            fh.write(payload)
        return
    tmp = f"{target}.{os.urandom(8).hex()}.tmp"
    with store.open(tmp, "wb") as fh:
        fh.write(payload)
    store.rename(tmp, target)


def stat_tree(store: ArtifactStore, path: str) -> dict[str, FileStat] | None:
    """Size and change stamp of every file under the folder ``path`` (relative posix names).

    ``{}`` when the folder has no files or does not exist; None when the store cannot list file
    details (a third-party store without ``stat_tree``), in which case only re-hashing can
    check a folder.
    """
    local = store.local_path(path)
    if local is not None:
        return local_stat_tree(local)
    infos = file_infos(store, path)
    if infos is None:
        return None
    return {name: info_stat(info) for name, info in infos.items()}


def file_infos(store: ArtifactStore, path: str) -> dict[str, Mapping[str, Any]] | None:
    """The store's own details (fsspec ``info()`` dicts) of every file under ``path``, from the
    optional ``stat_tree`` method of a store; None when the store has none."""
    method = getattr(store, "stat_tree", None)
    if method is None:
        return None
    result: dict[str, Mapping[str, Any]] = method(path)
    return result


def local_stat_tree(folder: str) -> dict[str, FileStat]:
    """:func:`stat_tree` of a local folder: sizes and modification times in nanoseconds
    (``{}`` when it is no folder: listing it finds nothing)."""
    stats: dict[str, FileStat] = {}
    for name in local_files(folder):
        st = os.stat(os.path.join(folder, *name.split("/")))
        stats[name] = (st.st_size, str(st.st_mtime_ns))
    return stats


def info_stat(info: Mapping[str, Any]) -> FileStat:
    """The :data:`FileStat` of one fsspec ``info()`` entry."""
    stamp = "|".join(f"{key}={info[key]}" for key in _STAMP_KEYS if info.get(key) is not None)
    return int(info.get("size") or 0), stamp


def info_time(info: Mapping[str, Any]) -> float | None:
    """When an fsspec ``info()`` entry was last modified (seconds since the epoch), if known."""
    for key in _TIME_KEYS:
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, int | float):
            return float(value)
        timestamp = getattr(value, "timestamp", None)  # a datetime
        if callable(timestamp):
            return float(timestamp())
    return None


#: A marker whose ``used`` is younger than this is not rewritten when its content is found in
#: use again: a run re-saving the same small outputs every few milliseconds would otherwise
#: rewrite the marker (a file and a rename) on every save. The protection it gives is barely
#: shorter: a sweep keeps what was used within its grace period (an hour by default), and what
#: a sweep with a grace period under a minute removes in between is put back by
#: :func:`bevel.artifacts.publish.ensure_stored` after the record is written.
FRESH_FOR = 60.0


def touch(store: ArtifactStore, path: str, found: Marker | None = None) -> None:
    """Record that the content at ``path`` was just found in use (its marker's ``used``),
    unless it was so within :data:`FRESH_FOR` seconds. Pass ``found`` when it was read already.
    """
    if found is None:
        found = read(store, path)
    if found is None or found.files is None or found.used > time.time() - FRESH_FOR:
        return
    write(store, path, found.content_hash, found.files)


def check(store: ArtifactStore, path: str, marker: Marker | None = None) -> Check:
    """Compare the folder ``path`` with its marker's manifest, listing it once (no data read).

    Pass ``marker`` when it was read already.
    """
    if marker is None:
        return read_and_check(store, path)[0]
    return _compare(store, path, marker)


def read_and_check(store: ArtifactStore, path: str) -> tuple[Check, Marker | None]:
    """:func:`check`, reading the marker once; also returns the marker (None: there is none)."""
    marker = read(store, path)
    return _compare(store, path, marker), marker


def _compare(store: ArtifactStore, path: str, marker: Marker | None) -> Check:
    stats = stat_tree(store, path)
    if stats is None:  # the store cannot list details: only the marker's presence is known
        if not store.exists(path):
            return Check.ABSENT
        return Check.OK if marker is not None else Check.UNKNOWN
    if not stats and not store.exists(path):
        return Check.ABSENT
    if marker is None:
        return Check.UNKNOWN
    if marker.files is None:  # an old marker: its folder is trusted as before
        return Check.OK
    return Check.OK if stats == marker.files else Check.MISMATCH
