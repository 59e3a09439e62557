"""Small path helpers shared by the stores (no third-party imports)."""

from __future__ import annotations

import errno
import os
import posixpath
from typing import TYPE_CHECKING

from bevel.errors import ArtifactError

if TYPE_CHECKING:
    from bevel.artifacts.base import ArtifactStore


def clean_relative(path: str) -> str:
    """Normalise a store-relative path (``""`` is the root); refuse paths that leave the root."""
    if _is_clean(path):  # what bevel itself passes (data/<hh>/<hex>, logs/<run>/...): as it is
        return path
    norm = posixpath.normpath(path.replace("\\", "/").lstrip("/")) if path else "."
    if norm == ".." or norm.startswith("../"):
        raise ArtifactError(
            f"artifact store path {path!r} points outside the store root",
            hint="paths given to an artifact store are relative to its root",
        )
    return "" if norm == "." else norm


def _is_clean(path: str) -> bool:
    """Whether ``posixpath.normpath`` leaves ``path`` as it is and it stays inside the root: no
    backslash, no empty, ``.`` or ``..`` part, no leading or trailing slash (checked with a
    few ``in`` tests instead of normpath's loop over the parts; anything else is normalised)."""
    return (
        bool(path)
        and path[0] not in "/."
        and path[-1] != "/"
        and "\\" not in path
        and "//" not in path
        and "/." not in path
    )


def child(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def local_rename(src: str, dst: str) -> None:
    """Atomic move on one local filesystem. A file replaces ``dst``; a folder never merges into
    or replaces an existing non-empty folder (FileExistsError), which is what lets two
    processes publish the same content-addressed folder at once. ``dst``'s parent is made
    when it is missing (tried first: one system call when it exists, the usual case)."""
    # POSIX rename(2) does both (a file replaces a file; a folder only an empty folder);
    # Windows needs replace() for files and refuses to replace folders either way.
    move = os.rename if os.name != "nt" or os.path.isdir(src) else os.replace
    try:
        try:
            move(src, dst)
        except FileNotFoundError:
            if not os.path.lexists(src):
                raise
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            move(src, dst)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) or not os.path.isdir(src):
            raise
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) or os.path.isdir(dst):
            raise FileExistsError(errno.EEXIST, "destination folder exists", dst) from exc
        raise


def local_files(folder: str) -> list[str]:
    """Relative posix paths of every file under ``folder``, sorted (symlinks followed); none
    when ``folder`` is not a folder.

    A flat folder (what small artifacts are: checked on every save and cache hit) is listed
    with one ``scandir``; one with subfolders is walked."""
    try:
        with os.scandir(folder) as scan:
            entries = list(scan)
    except OSError:  # missing, or not a folder: os.walk would list nothing either
        return []
    if not any(_is_dir(entry) for entry in entries):
        return sorted(entry.name for entry in entries)
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames.sort()
        rel = os.path.relpath(dirpath, folder)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found.extend(prefix + name for name in filenames)
    found.sort()
    return found


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """Whether os.walk (following links) would descend into ``entry``."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def artifact_path(store: ArtifactStore, uri: str) -> str:
    """The path of ``uri`` relative to the store root (a relative path is returned as is)."""
    roots = [store.uri("")]
    local_root = store.local_path("")
    if local_root is not None:
        roots += [local_root, "file://" + local_root]
    for root in roots:
        root = root.rstrip("/").rstrip(os.sep)
        if uri == root:
            return ""
        for sep in {"/", os.sep}:
            if uri.startswith(root + sep):
                return clean_relative(uri[len(root) + 1 :])
    if "://" not in uri and not os.path.isabs(uri):
        return clean_relative(uri)
    raise ArtifactError(
        f"artifact {uri} is not in this artifact store ({store.uri('')})",
        hint="use the stack whose artifact store holds it (the one the run was recorded with)",
    )
