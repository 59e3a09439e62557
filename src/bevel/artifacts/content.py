"""Placing a hashed folder at its content-addressed path, and checking what is there already.

:mod:`bevel.artifacts.publish` materializes and hashes; this module decides what to do with the
path ``data/<hh>/<hex>`` (see its docstring for the rules, and :mod:`bevel.artifacts.marker` for
the completion marker and the cheap check).
"""

from __future__ import annotations

import contextlib
import os
import stat
import zlib
from collections.abc import Mapping

from bevel._system import hostname
from bevel.artifacts import marker
from bevel.artifacts._paths import local_files
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.hashing import algorithm_of, hash_folder, hex_of
from bevel.artifacts.marker import Check

DATA_DIR = "data"
VIZ_DIR = "viz"
TMP_DIR = ".tmp"


def data_path(content_hash: str) -> str:
    """The content-addressed folder of ``content_hash``, relative to the store root."""
    hex_digest = hex_of(content_hash)
    return f"{DATA_DIR}/{hex_digest[:2]}/{hex_digest}"


def host_tag() -> str:
    """A short, path-safe tag of this machine (in temporary names, so that a sweep can tell
    which of them belong to processes on this host)."""
    return f"{zlib.crc32(hostname().encode('utf-8', 'replace')):08x}"


def tmp_name() -> str:
    """A fresh path under ``.tmp/``: ``<pid>-<host tag>-<random>``.

    The pid and host let :func:`bevel.artifacts.gc.sweep_tmp` remove the leftovers of a killed
    process on this host as soon as that process is gone, and leave a live one's alone.
    """
    return f"{TMP_DIR}/{os.getpid()}-{host_tag()}-{os.urandom(8).hex()}"


def discard(store: ArtifactStore, path: str) -> None:
    with contextlib.suppress(OSError):  # already gone (or never written): nothing to clean
        store.rm(path, recursive=True)


def make_read_only(folder: str) -> dict[str, marker.FileStat]:
    """Drop the write bits of every file under ``folder`` (the folders stay writable, so the
    content can still be moved aside and deleted). User code that opens a stored file for
    writing then fails loudly instead of corrupting the store; root ignores the bits, which is
    why loads also hand out private copies and every check looks at the bytes' manifest.

    Returns the folder's manifest (see :mod:`bevel.artifacts.marker`), from the same ``stat``:
    a rename keeps sizes and modification times, so it is the published folder's manifest too.
    """
    manifest: dict[str, marker.FileStat] = {}
    for name in local_files(folder):
        full = os.path.join(folder, *name.split("/"))
        st = os.stat(full)
        os.chmod(full, stat.S_IMODE(st.st_mode) & ~0o222)
        manifest[name] = (st.st_size, str(st.st_mtime_ns))
    return manifest


def publish_local(store: ArtifactStore, tmp: str, path: str, content_hash: str) -> None:
    """Put the hashed folder ``tmp`` (inside the local store) at ``path``, checking what is
    there; ``tmp`` is gone afterwards (renamed, or dropped as a duplicate)."""
    work = store.local_path(tmp)
    assert work is not None
    _place(store, tmp, path, content_hash, make_read_only(work))


def publish_files(
    store: ArtifactStore, path: str, content_hash: str, files: Mapping[str, bytes]
) -> None:
    """Put small content held in memory (``files``: relative name -> bytes, hashed already) at
    ``path`` in a local store.

    When that content is there and intact nothing is written at all (its marker's ``used`` is
    refreshed when stale). Otherwise the files are written once, read-only from the start, into
    a fresh folder under ``.tmp/`` that one rename puts in place, marker last: the same
    guarantees as :func:`publish_local` (readers see the whole folder or none; a crash leaves a
    folder without a marker, which nothing trusts without re-hashing) at a fraction of the
    system calls, since nothing is read back, listed or removed.
    """
    state, found = _checked(store, path, content_hash)
    if state is Check.OK:
        marker.touch(store, path, found)
        return
    tmp, manifest = _write_tmp(store, files)
    _place(store, tmp, path, content_hash, manifest, state)


def _write_tmp(
    store: ArtifactStore, files: Mapping[str, bytes]
) -> tuple[str, dict[str, marker.FileStat]]:
    """Write ``files`` into a new folder under ``.tmp/``; its path and manifest."""
    tmp = tmp_name()
    folder = store.local_path(tmp)
    assert folder is not None
    try:
        os.mkdir(folder)
    except FileNotFoundError:  # the store's first save: .tmp/ (or the root) is made once
        os.makedirs(folder)
    manifest: dict[str, marker.FileStat] = {}
    try:
        for name, data in files.items():
            full = os.path.join(folder, *name.split("/"))
            if "/" in name:
                os.makedirs(os.path.dirname(full), exist_ok=True)
            # Created read-only (the mode applies to later opens; this one may write).
            fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o444)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                st = os.fstat(fd)
            finally:
                os.close(fd)
            manifest[name] = (st.st_size, str(st.st_mtime_ns))
    except BaseException:
        discard(store, tmp)
        raise
    return tmp, manifest


_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def _place(
    store: ArtifactStore,
    tmp: str,
    path: str,
    content_hash: str,
    manifest: dict[str, marker.FileStat],
    state: Check | None = None,
) -> None:
    """Rename the sealed folder ``tmp`` (its ``manifest`` taken) to ``path``, unless the same
    content is there already; ``state`` is what a check of ``path`` just found, if one did."""
    for _ in range(3):  # a concurrent publisher or repairer can change what is there; settle
        if state is None:
            state, found = _checked(store, path, content_hash)
            if state is Check.OK:
                marker.touch(store, path, found)  # in use again: garbage collection must wait
                _drop(store, tmp, manifest)
                return
        if state is Check.MISMATCH:
            _move_aside(store, path)
        try:
            store.rename(tmp, path)  # makes data/<hh>/ when it is missing
        except FileExistsError:
            state = None
            continue  # another process put the same content there first: check it
        marker.write(store, path, content_hash, manifest)
        return
    _drop(store, tmp, manifest)
    raise FileExistsError(f"cannot publish {path}: it keeps changing under concurrent writers")


def _drop(store: ArtifactStore, tmp: str, manifest: Mapping[str, marker.FileStat]) -> None:
    """Remove the folder ``tmp`` whose files are ``manifest``'s: a file removal each and one
    ``rmdir`` when it is that flat (what small artifacts are), else the whole tree."""
    folder = store.local_path(tmp)
    if folder is None or any("/" in name for name in manifest):
        discard(store, tmp)
        return
    try:
        for name in manifest:
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)
    except OSError:  # something else in there: remove whatever it holds
        discard(store, tmp)


def _move_aside(store: ArtifactStore, path: str) -> None:
    """Rename the bad folder out of the way (one rename: readers never see it half deleted)."""
    aside = tmp_name() + ".bad"
    try:
        store.rename(path, aside)
    except FileNotFoundError:
        return  # someone moved it already
    discard(store, aside)


def publish_remote(store: ArtifactStore, work: str, path: str, content_hash: str) -> None:
    """Upload the hashed local folder ``work`` to ``path`` on an object store, marker last.

    Object stores make each object appear whole and have no cheap rename, so the files go
    straight to ``path``. What is there is checked first: a complete, matching folder is kept
    (its marker refreshed); anything else is removed, marker first, and uploaded again.
    """
    found = marker.read(store, path)
    if found is not None:
        state = marker.check(store, path, found)
        if state is Check.OK:
            marker.write(store, path, content_hash, found.files or _listing(store, path, work))
            return
        discard(store, marker.marker_path(path))
    if store.exists(path):
        discard(store, path)  # a half upload, or a folder that no longer matches
    store.put(work, path, recursive=True)
    marker.write(store, path, content_hash, _listing(store, path, work))


def _listing(store: ArtifactStore, path: str, work: str) -> dict[str, marker.FileStat]:
    """The manifest of an uploaded folder, from the store's own listing when it gives one."""
    stats = marker.stat_tree(store, path)
    if stats is not None:
        return stats
    return {name: (size, "") for name, (size, _) in marker.local_stat_tree(work).items()}


def _state(store: ArtifactStore, path: str, content_hash: str) -> Check:
    """The cheap check, with a re-hash where it cannot tell (no marker); a folder that re-hashes
    right gets its marker (re)written."""
    return _checked(store, path, content_hash)[0]


def _checked(
    store: ArtifactStore, path: str, content_hash: str
) -> tuple[Check, marker.Marker | None]:
    """:func:`_state`, and the marker it read (None when there was none, or a new one was
    just written: it is fresh)."""
    state, found = marker.read_and_check(store, path)
    if state is not Check.UNKNOWN:
        return state, found
    folder = store.local_path(path)
    if folder is None or hash_folder(folder, algorithm_of(content_hash))[0] != content_hash:
        return Check.MISMATCH, found
    marker.write(store, path, content_hash, marker.local_stat_tree(folder))
    return Check.OK, None


def is_intact(store: ArtifactStore, path: str, content_hash: str) -> bool:
    """Whether the content at ``path`` can be trusted without reading it (what a cache hit
    checks before reusing an artifact). Local folders without a marker are re-hashed once."""
    if store.local_path("") is not None:
        return _state(store, path, content_hash) is Check.OK
    return marker.check(store, path) is Check.OK


def delete_content(store: ArtifactStore, path: str) -> None:
    """Delete a content folder, then its marker, then its visualizations.

    The folder goes before its marker: a save that refreshes the marker in between then finds
    the folder gone and uploads it again, instead of trusting a marker whose folder is gone.
    """
    viz = f"{VIZ_DIR}/{path.rpartition('/')[2]}"
    for target in (path, marker.marker_path(path), viz):
        if target and store.exists(target):
            store.rm(target, recursive=True)
