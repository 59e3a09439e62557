"""Naming the component when a remote artifact store fails, and saying whether to retry.

An object store's errors (botocore's "Could not connect to the endpoint URL", a 403 from a
wrong key) say nothing about which bevel component or setting is at fault. Artifact stores
built from a stack definition (other than the ``local`` flavor) are wrapped in
:class:`GuardedArtifactStore`, which re-raises such errors naming the component and its
address, with the cause chained, sorted by what the caller can do: a failure that may pass by
itself (a connection refused or reset, a timeout, "slow down": see
:func:`~bevel.errors.transient_kind`) becomes :class:`~bevel.errors.ArtifactStoreUnavailable`,
which step retries retry; anything else (a wrong key, a missing bucket) a permanent
:class:`~bevel.errors.StackError`. The "not there" errors that callers rely on
(``FileNotFoundError``, ``FileExistsError``...) pass through unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import IO, Any, TypeVar

from bevel.artifacts.base import ArtifactStore
from bevel.errors import ArtifactStoreUnavailable, BevelError, StackError, transient_kind
from bevel.redaction import holds_secret

T = TypeVar("T")
_PASS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, BevelError)


class GuardedArtifactStore:
    """An :class:`~bevel.artifacts.base.ArtifactStore` whose failures name the component."""

    def __init__(self, inner: ArtifactStore, *, component: str, address: str) -> None:
        self.inner = inner
        self.root = inner.root
        self.component = component
        self.address = address

    def __repr__(self) -> str:
        return f"GuardedArtifactStore({self.component!r}, {self.inner!r})"

    def __getattr__(self, name: str) -> Any:  # e.g. FsspecArtifactStore.fs
        if name == "inner" or name.startswith("__"):  # not set yet (unpickling, copy)
            raise AttributeError(name)
        return getattr(self.inner, name)

    def _call(self, action: str, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except _PASS:
            raise
        except Exception as err:
            reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
            message = (
                f"artifact store {self.component!r} ({self.address}): {action} failed: "
                f"{type(err).__name__}" + (f": {reason}" if reason else "")
            )
            check = (
                "check that the endpoint is reachable and the credentials are right "
                f"(bevel component describe {self.component})"
            )
            kind = transient_kind(err)
            if kind is not None:
                raise ArtifactStoreUnavailable(
                    message,
                    kind=kind,
                    hint=f"this may pass by itself ({kind}): steps with retries=N try again; "
                    f"if it persists, {check}",
                ) from (None if holds_secret(err) else err)  # its text may quote a credential
            raise StackError(message, hint=check) from (None if holds_secret(err) else err)

    def probe(self) -> None:
        """One cheap request, so an unreachable endpoint fails before a run is recorded.

        A listing, not ``exists``: s3fs answers ``exists`` on a bucket with False, rather than
        an error, when it cannot connect. An empty or missing root is fine (first use).
        """
        with contextlib.suppress(FileNotFoundError):
            self._call("connecting", self.inner.ls, "")

    def open(self, path: str, mode: str = "rb") -> IO[bytes]:
        return self._call(f"opening {path!r}", self.inner.open, path, mode)

    def exists(self, path: str) -> bool:
        return self._call(f"checking {path!r}", self.inner.exists, path)

    def ls(self, path: str) -> list[str]:
        return self._call(f"listing {path!r}", self.inner.ls, path)

    def rm(self, path: str, recursive: bool = False) -> None:
        self._call(f"removing {path!r}", self.inner.rm, path, recursive)

    def rename(self, src: str, dst: str) -> None:
        self._call(f"moving {src!r}", self.inner.rename, src, dst)

    def makedirs(self, path: str) -> None:
        self._call(f"creating {path!r}", self.inner.makedirs, path)

    def uri(self, path: str) -> str:
        return self.inner.uri(path)

    def local_path(self, path: str) -> str | None:
        return self.inner.local_path(path)

    def put(self, local_path: str, path: str, recursive: bool = False) -> None:
        self._call(f"uploading to {path!r}", self.inner.put, local_path, path, recursive)

    def get(self, path: str, local_path: str, recursive: bool = False) -> None:
        self._call(f"downloading {path!r}", self.inner.get, path, local_path, recursive)
