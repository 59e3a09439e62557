"""An artifact store on any fsspec filesystem: ``s3://``, ``gs://``, ``memory://``, ``file://``...

fsspec is imported at the top of this module and nowhere on the default local path. Folder
copies are done with explicit file lists (``put``/``get``/``copy`` with two lists) so that
fsspec's "does the target exist? then nest inside it" rules never apply.
"""

from __future__ import annotations

import os
import posixpath
from typing import IO, Any, cast

import fsspec
from fsspec.implementations.local import LocalFileSystem

from bevel.artifacts._paths import child, clean_relative, local_files, local_rename

# Object stores have no real folders: creating "parent folders" there is a wasted request.
_FLAT_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory", "oss"})
# botocore's legacy retry mode (5 attempts, exponential backoff) takes ~7 s to report an
# unreachable endpoint; AWS's "standard" mode with 3 attempts reports it in ~2 s per request and
# still retries throttling and transient errors. Used unless the caller or the environment says.
_S3_RETRIES = {"mode": "standard", "max_attempts": 3}


class FsspecArtifactStore:
    """Artifacts under an fsspec URL; ``storage_options`` go to the filesystem (credentials,
    ``endpoint_url``...). ``local_path()`` is ``None`` unless the URL is a local one."""

    def __init__(self, root: str, **storage_options: Any) -> None:
        if fsspec.core.split_protocol(root)[0] in ("s3", "s3a"):
            storage_options = _s3_options(storage_options)
        fs, path = fsspec.core.url_to_fs(root, **storage_options)
        self.fs: fsspec.AbstractFileSystem = fs
        self._base = path.rstrip("/")
        self.root: str = fs.unstrip_protocol(self._base or "/")
        self._local = isinstance(fs, LocalFileSystem)
        protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
        self._needs_dirs = not protocols & _FLAT_PROTOCOLS

    def __repr__(self) -> str:
        return f"FsspecArtifactStore({self.root!r})"

    def _full(self, path: str) -> str:
        rel = clean_relative(path)
        if not rel:
            return self._base or "/"
        return f"{self._base}/{rel}"

    def _parent_dirs(self, full_paths: list[str]) -> None:
        if self._needs_dirs:
            for parent in sorted({posixpath.dirname(p) for p in full_paths}):
                self.fs.makedirs(parent, exist_ok=True)

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        full = self._full(path)
        if "b" not in mode:
            mode += "b"
        if any(flag in mode for flag in "wax+"):
            self._parent_dirs([full])
        return cast(IO[bytes], self.fs.open(full, mode))

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(self._full(path)))

    def ls(self, path: str) -> list[str]:
        rel = clean_relative(path)
        names = self.fs.ls(self._full(rel), detail=False)
        return sorted(child(rel, posixpath.basename(str(n).rstrip("/"))) for n in names)

    def rm(self, path: str, recursive: bool = False) -> None:
        full = self._full(path)
        if not self.fs.exists(full):
            raise FileNotFoundError(full)
        self.fs.rm(full, recursive=recursive)

    def rename(self, src: str, dst: str) -> None:
        """Atomic on a local filesystem; elsewhere copy-then-delete, refusing (best effort, not
        atomically) to merge a folder into an existing one."""
        full_src, full_dst = self._full(src), self._full(dst)
        if self._local:
            local_rename(full_src, full_dst)
            return
        if not self.fs.isdir(full_src):
            self.fs.mv(full_src, full_dst)
            return
        if self.fs.exists(full_dst):
            raise FileExistsError(full_dst)
        sources = [str(p) for p in self.fs.find(full_src)]
        targets = [full_dst + p[len(full_src) :] for p in sources]
        self._parent_dirs(targets)
        if sources:
            self.fs.copy(sources, targets)
        self.fs.rm(full_src, recursive=True)

    def stat_tree(self, path: str) -> dict[str, dict[str, Any]]:
        """The filesystem's details (size, ETag, modification time...) of every file under the
        folder ``path``, by relative posix name; ``{}`` when there is none. Optional in the
        ArtifactStore protocol: it lets a published folder be checked against its manifest,
        and its age be known, from one listing, without reading data."""
        full = self._full(path)
        self.fs.invalidate_cache(full)  # another process may have changed it: list afresh
        try:
            found = self.fs.find(full, detail=True)
        except FileNotFoundError:
            return {}
        prefix = full.rstrip("/") + "/"
        return {
            str(name)[len(prefix) :]: dict(info)
            for name, info in found.items()
            if str(name).startswith(prefix) and info.get("type") != "directory"
        }

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(self._full(path), exist_ok=True)

    def uri(self, path: str) -> str:
        return str(self.fs.unstrip_protocol(self._full(path)))

    def local_path(self, path: str) -> str | None:
        return self._full(path) if self._local else None

    def put(self, local_path: str, path: str, recursive: bool = False) -> None:
        full = self._full(path)
        if not os.path.isdir(local_path):
            self._parent_dirs([full])
            self.fs.put_file(local_path, full)
            return
        if not recursive:
            raise IsADirectoryError(f"{local_path} is a folder: pass recursive=True")
        names = local_files(local_path)
        targets = [f"{full}/{name}" for name in names]
        self._parent_dirs(targets)
        if names:
            self.fs.put([os.path.join(local_path, *n.split("/")) for n in names], targets)

    def get(self, path: str, local_path: str, recursive: bool = False) -> None:
        full = self._full(path)
        if not self.fs.isdir(full):
            os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
            self.fs.get_file(full, local_path)
            return
        if not recursive:
            raise IsADirectoryError(f"{full} is a folder: pass recursive=True")
        sources = [str(p) for p in self.fs.find(full)]
        targets = [os.path.join(local_path, *p[len(full) + 1 :].split("/")) for p in sources]
        for parent in {os.path.dirname(t) for t in targets} | {local_path}:
            os.makedirs(parent, exist_ok=True)
        if sources:
            self.fs.get(sources, targets)


def _s3_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with bevel's default botocore retry policy, unless one is set already."""
    config = dict(options.get("config_kwargs") or {})
    if (
        "retries" in config
        or os.environ.get("AWS_RETRY_MODE")
        or os.environ.get("AWS_MAX_ATTEMPTS")
    ):
        return options
    config["retries"] = dict(_S3_RETRIES)
    return {**options, "config_kwargs": config}
