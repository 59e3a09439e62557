"""Garbage collection of an artifact store: what no record points at, and what killed saves left.

Deleting a run deletes its *records* at once; its files can only go once nothing can still be
using them. A run that is saving an output has stored (or found) its files but not recorded them
yet, so for a while they look unreferenced. Two things protect such files:

* every save that stores or finds a content folder refreshes the ``used`` time in its marker
  (:mod:`bevel.artifacts.marker`), and a sweep leaves alone what was used within its *grace
  period* (one hour unless told otherwise), re-reading the marker right before deleting;
* the run checks its outputs once more after recording them and saves again any that a sweep
  removed in between (:func:`bevel.artifacts.publish.ensure_stored`).

Temporary folders (``.tmp/<pid>-<host>-<random>``) of saves that were killed are removed by a
sweep, and by the first save of each process: at once when the process that made one is gone
from this host, after the grace period otherwise (another host, or a name without a pid).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Collection
from dataclasses import field

from bevel._dataclass import dataclass
from bevel.artifacts import marker
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.content import DATA_DIR, TMP_DIR, VIZ_DIR, delete_content, discard, host_tag

GRACE_SECONDS = 3600.0
LOGS_DIR = "logs"

_swept: set[str] = set()


@dataclass(frozen=True)
class Garbage:
    """One thing a sweep removes (or, in a dry run, would remove)."""

    path: str  # relative to the store root
    size: int  # bytes
    reason: str  # "unreferenced artifact", "interrupted save", ...


@dataclass
class Sweep:
    """What a sweep found: removed (or would remove), and what it left because it is recent."""

    removed: list[Garbage] = field(default_factory=list)
    kept_recent: list[Garbage] = field(default_factory=list)

    @property
    def freed(self) -> int:
        return sum(g.size for g in self.removed)


# -- temporary folders -------------------------------------------------------------------------


def sweep_tmp_once(store: ArtifactStore, grace: float = GRACE_SECONDS) -> None:
    """:func:`sweep_tmp` the first time this process saves into ``store``; errors are ignored
    (cleaning up after others must never fail a save)."""
    if store.root in _swept:
        return
    _swept.add(store.root)
    with contextlib.suppress(OSError):
        sweep_tmp(store, grace=grace)


def sweep_tmp(
    store: ArtifactStore, *, grace: float = GRACE_SECONDS, dry_run: bool = False
) -> Sweep:
    """Remove what killed saves left under ``.tmp/`` (see the module docstring for when)."""
    result = Sweep()
    if not store.exists(TMP_DIR):
        return result
    now = time.time()
    for entry in store.ls(TMP_DIR):
        size, newest = _size_and_newest(store, entry)
        item = Garbage(entry, size, "interrupted save")
        owner = _owner_alive(entry.rpartition("/")[2])
        if owner is True or (owner is None and newest is not None and newest > now - grace):
            result.kept_recent.append(item)
            continue
        if not dry_run:
            discard(store, entry)
        result.removed.append(item)
    return result


def _owner_alive(name: str) -> bool | None:
    """Whether the process that named a temporary entry ``<pid>-<host>-...`` is alive; None when
    that cannot be told here (another host, or a name without a pid)."""
    parts = name.split("-", 2)
    if len(parts) < 3 or not parts[0].isdigit() or parts[1] != host_tag():
        return None
    try:
        os.kill(int(parts[0]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except (OverflowError, OSError):
        return None
    return True


def _size_and_newest(store: ArtifactStore, path: str) -> tuple[int, float | None]:
    """Total size of the files under ``path`` and the newest modification time among them."""
    local = store.local_path(path)
    if local is not None:
        return _local_size_and_newest(local)
    infos = marker.file_infos(store, path)
    if infos is None:
        return 0, None
    times = [t for t in (marker.info_time(i) for i in infos.values()) if t is not None]
    return sum(int(i.get("size") or 0) for i in infos.values()), (max(times) if times else None)


def _local_size_and_newest(folder: str) -> tuple[int, float | None]:
    if not os.path.isdir(folder):
        st = os.stat(folder)
        return st.st_size, st.st_mtime
    size, newest = 0, os.stat(folder).st_mtime
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            st = os.stat(os.path.join(dirpath, name))
            size += st.st_size
            newest = max(newest, st.st_mtime)
    return size, newest


# -- unreferenced content ----------------------------------------------------------------------


def content_folders(store: ArtifactStore) -> list[str]:
    """Every ``data/<hh>/<hex>`` folder and orphan marker of the store (relative paths)."""
    if not store.exists(DATA_DIR):
        return []
    found: set[str] = set()
    for shard in store.ls(DATA_DIR):
        for entry in store.ls(shard):
            found.add(entry.removesuffix(marker.SUFFIX))
    return sorted(found)


def sweep_unreferenced(
    store: ArtifactStore,
    referenced: Collection[str],
    *,
    grace: float = GRACE_SECONDS,
    dry_run: bool = False,
    only: Collection[str] | None = None,
    now: float | None = None,
) -> Sweep:
    """Delete content folders whose uri no record names (``referenced``: uris), unless their
    marker says they were used within ``grace`` seconds.

    ``only`` limits the sweep to these paths (what deleting one run freed); ``now`` is when the
    grace period ends (default: when the sweep starts). Each marker is read
    right before its folder is deleted, not in a first pass, so a save that finds the content
    while a long sweep runs keeps it.
    """
    result = Sweep()
    started = time.time() if now is None else now
    paths = sorted(only) if only is not None else content_folders(store)
    for path in paths:
        if store.uri(path) in referenced:
            continue
        item = Garbage(path, _content_size(store, path), "unreferenced artifact")
        if _recent(store, path, started - grace):
            result.kept_recent.append(item)
            continue
        if not dry_run:
            delete_content(store, path)
        result.removed.append(item)
    return result


def _recent(store: ArtifactStore, path: str, since: float) -> bool:
    """Whether the content at ``path`` was used after ``since`` (by its marker; a folder
    without one by its files' times, so an upload still in progress is left alone)."""
    found = marker.read(store, path)
    if found is not None and found.used:
        return found.used > since
    _, newest = _size_and_newest(store, path) if store.exists(path) else (0, None)
    return newest is None or newest > since


def _content_size(store: ArtifactStore, path: str) -> int:
    found = marker.read(store, path)
    if found is not None and found.files is not None:
        return sum(size for size, _ in found.files.values())
    return _size_and_newest(store, path)[0] if store.exists(path) else 0


def sweep_orphans(
    store: ArtifactStore,
    live_hashes: Collection[str],
    live_runs: Collection[str],
    *,
    dry_run: bool = False,
    grace: float = GRACE_SECONDS,
) -> Sweep:
    """Visualizations of content that is gone (those of content a sweep removes go with it),
    and log folders of runs that no longer exist (and were not written within ``grace``
    seconds: a run created after ``live_runs`` was read is not lost)."""
    result = Sweep()
    since = time.time() - grace
    for parent, alive, reason in (
        (VIZ_DIR, live_hashes, "visualizations of deleted content"),
        (LOGS_DIR, live_runs, "logs of a deleted run"),
    ):
        if not store.exists(parent):
            continue
        for entry in store.ls(parent):
            key = entry.rpartition("/")[2]
            if key in alive:
                continue
            if parent == VIZ_DIR and store.exists(_data_of(key)):
                continue
            size, newest = _size_and_newest(store, entry)
            item = Garbage(entry, size, reason)
            if parent == LOGS_DIR and (newest is None or newest > since):
                result.kept_recent.append(item)
                continue
            if not dry_run:
                discard(store, entry)
            result.removed.append(item)
    return result


def _data_of(hex_digest: str) -> str:
    return f"{DATA_DIR}/{hex_digest[:2]}/{hex_digest}"
