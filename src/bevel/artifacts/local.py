"""The default artifact store: a folder on the local disk, with plain ``os`` and ``shutil``.

It does not go through fsspec, whose import alone costs more than the rest of a local run's
artifact handling; :mod:`bevel.artifacts.fsspec_store` covers every other filesystem.
"""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Any, cast

from bevel._lazy import lazy_module
from bevel.artifacts._paths import child, clean_relative, local_files, local_rename

if TYPE_CHECKING:
    import shutil
else:  # copying and removing folders; reading runs (the Client builds this store) never does
    shutil = lazy_module("shutil")


class LocalArtifactStore:
    """Artifacts under a local ``root`` folder (created on first write).

    ``uri()`` and ``local_path()`` are the real absolute paths, so materializers write in place
    and readers can mmap.
    """

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.path.expanduser(os.fspath(root)))

    def __repr__(self) -> str:
        return f"LocalArtifactStore({self.root!r})"

    def _full(self, path: str) -> str:
        if not path:  # local_path(""): how callers ask whether the store is local
            return self.root
        rel = clean_relative(path)
        if not rel:
            return self.root
        if os.sep == "/":  # os.path.join of the parts of a clean relative path, by hand
            root = self.root
            return root + rel if root.endswith("/") else f"{root}/{rel}"
        return os.path.join(self.root, *rel.split("/"))

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        full = self._full(path)
        if "b" not in mode:
            mode += "b"
        try:
            return cast(IO[bytes], open(full, mode))  # the caller closes it
        except FileNotFoundError:
            if not any(flag in mode for flag in "wax+"):
                raise
        os.makedirs(os.path.dirname(full), exist_ok=True)  # only when missing: one open a write
        return cast(IO[bytes], open(full, mode))

    def exists(self, path: str) -> bool:
        return os.path.exists(self._full(path))

    def ls(self, path: str) -> list[str]:
        rel = clean_relative(path)
        return [child(rel, name) for name in sorted(os.listdir(self._full(rel)))]

    def rm(self, path: str, recursive: bool = False) -> None:
        full = self._full(path)
        if os.path.isdir(full) and not os.path.islink(full):
            if recursive:
                shutil.rmtree(full)
            else:
                os.rmdir(full)
        else:
            os.remove(full)

    def rename(self, src: str, dst: str) -> None:
        local_rename(self._full(src), self._full(dst))

    def stat_tree(self, path: str) -> dict[str, dict[str, Any]]:
        """Size and modification time of every file under the folder ``path`` (see
        :mod:`bevel.artifacts.base`); ``{}`` when there is none."""
        full = self._full(path)
        if not os.path.isdir(full):
            return {}
        found: dict[str, dict[str, Any]] = {}
        for name in local_files(full):
            st = os.stat(os.path.join(full, *name.split("/")))
            found[name] = {"size": st.st_size, "mtime": st.st_mtime_ns / 1e9}
        return found

    def makedirs(self, path: str) -> None:
        os.makedirs(self._full(path), exist_ok=True)

    def uri(self, path: str) -> str:
        return self._full(path)

    def local_path(self, path: str) -> str | None:
        return self._full(path)

    def put(self, local_path: str, path: str, recursive: bool = False) -> None:
        _copy(local_path, self._full(path), recursive)

    def get(self, path: str, local_path: str, recursive: bool = False) -> None:
        _copy(self._full(path), local_path, recursive)


def _copy(src: str, dst: str, recursive: bool) -> None:
    """Copy a file, or with ``recursive`` a folder's contents into ``dst`` (merging)."""
    if os.path.isdir(src):
        if not recursive:
            raise IsADirectoryError(f"{src} is a folder: pass recursive=True")
        shutil.copytree(src, dst, dirs_exist_ok=True, copy_function=shutil.copyfile)
        return
    parent = os.path.dirname(dst)
    if parent:
        os.makedirs(parent, exist_ok=True)
    shutil.copyfile(src, dst)
