"""An object store that fails its first uploads: the implementation of ``artifact_store/flaky``.

It keeps the files in a local folder but behaves like a remote store (no local paths, so bevel
uploads with ``put`` and downloads with ``get``, as it does for S3), and its first ``failures``
uploads raise the error an object store raises when the network or the service has a bad
moment (``reset``, ``timeout``, ``slowdown``) or when access is refused (``denied``).
"""

from __future__ import annotations

from typing import IO

from bevel.artifacts.local import LocalArtifactStore


class SlowDown(Exception):
    """Shaped like botocore's ``ClientError`` for S3's "SlowDown" (HTTP 503) answer."""

    def __init__(self) -> None:
        super().__init__("An error occurred (SlowDown) when calling the PutObject operation")
        self.response = {
            "Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
            "ResponseMetadata": {"HTTPStatusCode": 503},
        }


def _error(kind: str) -> Exception:
    if kind == "reset":
        return ConnectionResetError(104, "Connection reset by peer")
    if kind == "timeout":
        return TimeoutError("The write operation timed out")
    if kind == "slowdown":
        return SlowDown()
    if kind == "denied":
        return PermissionError(13, "Access Denied")
    raise ValueError(f"unknown error kind {kind!r}")


class FlakyStore:
    def __init__(self, *, path: str, failures: int = 1, error: str = "reset") -> None:
        self._inner = LocalArtifactStore(path)
        self.root = self._inner.root
        self.failures = failures
        self.error = error
        _error(error)  # an unknown kind fails when the component is built
        self.uploads = 0

    def put(self, local_path: str, path: str, recursive: bool = False) -> None:
        self.uploads += 1
        if self.uploads <= self.failures:
            raise _error(self.error)
        self._inner.put(local_path, path, recursive)

    def local_path(self, path: str) -> str | None:
        return None  # like an object store: files go up with put() and come down with get()

    def get(self, path: str, local_path: str, recursive: bool = False) -> None:
        self._inner.get(path, local_path, recursive)

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        return self._inner.open(path, mode)

    def exists(self, path: str) -> bool:
        return self._inner.exists(path)

    def ls(self, path: str) -> list[str]:
        return self._inner.ls(path)

    def rm(self, path: str, recursive: bool = False) -> None:
        self._inner.rm(path, recursive)

    def rename(self, src: str, dst: str) -> None:
        self._inner.rename(src, dst)

    def makedirs(self, path: str) -> None:
        self._inner.makedirs(path)

    def uri(self, path: str) -> str:
        return self._inner.uri(path)
