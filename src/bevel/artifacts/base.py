"""The ArtifactStore protocol: bytes and paths only; fsspec underneath.

Content hashing, deduplication and atomic publish are done once, above the store, in
:mod:`bevel.artifacts.publish`. A store only moves bytes.
"""

from __future__ import annotations

from typing import IO, Protocol, runtime_checkable


@runtime_checkable
class ArtifactStore(Protocol):
    """A place for artifact files, addressed by paths relative to its root.

    ``uri(path)`` gives the absolute location (``/home/me/.bevel/artifacts/ab/cd...`` or
    ``s3://bucket/prefix/ab/cd...``) that is recorded in the metadata store.
    """

    root: str

    def open(self, path: str, mode: str = "rb") -> IO[bytes]: ...

    def exists(self, path: str) -> bool: ...

    def ls(self, path: str) -> list[str]:
        """Paths (relative to the root) of the entries directly under ``path``."""
        ...

    def rm(self, path: str, recursive: bool = False) -> None: ...

    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst``; atomic on local disks, best effort elsewhere."""
        ...

    def makedirs(self, path: str) -> None: ...

    def uri(self, path: str) -> str: ...

    def local_path(self, path: str) -> str | None:
        """A local filesystem path to ``path`` when the store is local (lets materializers write
        in place and lets consumers mmap), else ``None``."""
        ...

    def put(self, local_path: str, path: str, recursive: bool = False) -> None:
        """Upload a local file or folder."""
        ...

    def get(self, path: str, local_path: str, recursive: bool = False) -> None:
        """Download to a local file or folder."""
        ...


# Optional, outside the protocol (stores without it still work): a store that is not local may
# offer ``stat_tree(path) -> dict[str, dict]``, the details of every file under ``path`` by
# relative name, at least ``"size"`` and whatever changes when a file is rewritten ("ETag",
# "mtime", ...). With it, a published folder is checked against its manifest from one listing
# (see bevel.artifacts.marker); without it, only the presence of the completion marker is.
