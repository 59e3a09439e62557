"""Reading artifact visualizations for the browser, from whichever artifact store holds them.

The dashboard of a team server must show visualizations whatever the store (zenml-dashboard
#565: none from a local store): the server builds the artifact stores it knows, the
``artifact_store`` components of the definitions it keeps (secrets resolved with the server's
``$BEVEL_SECRETS_KEY``) plus the built-in ``local-artifacts`` of its own project and the roots
named with ``bevel server start --artifacts PATH_OR_URL``, and reads a visualization through the
one whose root holds its recorded uri.

Only what a record names is served, and only from inside ``viz/`` of a known root: the uri is
split into a known root and a relative path, which must be a plain ``viz/<hex>/<file>`` path (no
``..``, no empty or dot segments, no backslashes or NUL) and, on a local disk, must still be
inside the root once symbolic links are resolved. Anything else is refused, so a forged record
(``/etc/passwd``, ``../../``) cannot read the server's files.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from dataclasses import field
from typing import Any

from bevel._dataclass import dataclass
from bevel.artifacts.local import LocalArtifactStore
from bevel.errors import ArtifactError, BevelError, NotFound
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.settings import Settings

MAX_VIZ_BYTES = 64 * 1024 * 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]+$")


class UnsafePath(ArtifactError):
    """A recorded uri that does not name a file inside a known store's ``viz/`` folder."""


@dataclass
class _Known:
    stores: list[tuple[str, Any]] = field(default_factory=list)  # (root, ArtifactStore)
    problems: dict[str, str] = field(default_factory=dict)  # component -> why it is not built


def safe_relative(rel: str, folder: str = "viz") -> str:
    """``rel`` if it is a plain path under ``folder/`` (``viz``, or ``logs`` for step logs);
    UnsafePath otherwise."""
    parts = rel.split("/")
    if (
        len(parts) < 2
        or parts[0] != folder
        or any(p in ("", ".", "..") or not _SEGMENT.match(p) for p in parts)
    ):
        raise UnsafePath(f"refusing to serve {rel!r}: not a file under {folder}/ of the store")
    return rel


class ArtifactReader:
    """The artifact stores this server can read, built on first use (and again when a uri
    matches none of them: a component may have been registered since)."""

    def __init__(
        self, store: SqlMetadataStore, settings: Settings, roots: Sequence[str] = ()
    ) -> None:
        self._store = store
        self._settings = settings
        self._roots = tuple(roots)
        self._known: _Known | None = None
        self._lock = threading.Lock()

    def _build(self) -> _Known:
        # imported here: building stacks is needed only when a visualization is asked for
        from bevel.stack.definitions import Definitions
        from bevel.stack.loader import build_component
        from bevel.stack.object_stores import fsspec_artifact_store

        known = _Known()
        for root in self._roots:
            if "://" in root and not root.startswith("file://"):
                built: Any = fsspec_artifact_store(path=root, storage_options={})
            else:
                built = LocalArtifactStore(root.removeprefix("file://"))
            known.stores.append((str(built.root).rstrip("/"), built))
        defs = Definitions(self._settings, store=self._store)
        for record in defs.list_components("artifact_store"):
            try:
                built = build_component(record, self._settings, defs.secrets)
            except BevelError as err:
                known.problems[record.name] = err.message
                continue
            known.stores.append((str(built.root).rstrip("/"), built))
        return known

    def _stores(self, refresh: bool) -> _Known:
        with self._lock:
            if self._known is None or refresh:
                self._known = self._build()
            return self._known

    def locate(self, uri: str, folder: str = "viz") -> tuple[Any, str]:
        """The store holding ``uri`` and the (checked) path inside it, under ``folder/``."""
        for refresh in (False, True):
            known = self._stores(refresh)
            for root, store in sorted(known.stores, key=lambda s: -len(s[0])):
                if uri.startswith(root + "/"):
                    rel = safe_relative(uri[len(root) + 1 :], folder)
                    _check_inside(store, rel)
                    return store, rel
        problems = "; ".join(f"{k}: {v}" for k, v in sorted(self._stores(False).problems.items()))
        raise NotFound(
            f"this server cannot read the artifact store holding {uri!r}"
            + (f" (components it could not build: {problems})" if problems else ""),
            hint="register that store as an artifact_store component on this server (with its "
            "credentials), or start the server with --artifacts <its root>; from a machine that "
            "can read it: bevel artifacts show ID",
        )

    def read(self, uri: str) -> bytes:
        store, rel = self.locate(uri)
        try:
            with store.open(rel, "rb") as f:
                data: bytes = f.read(MAX_VIZ_BYTES + 1)
        except FileNotFoundError:
            raise NotFound(
                f"the visualization file {uri!r} is gone from its artifact store",
                hint="run the step again to re-create it (bevel run ... --no-cache)",
            ) from None
        if len(data) > MAX_VIZ_BYTES:
            raise ArtifactError(f"the visualization {uri!r} is larger than 64 MiB")
        return data

    def read_log(self, uri: str, offset: int, limit: int) -> tuple[bytes, int, int]:
        """Up to ``limit`` bytes of a step's log (``logs/...`` of a known store) from
        ``offset`` (negative: the last ``-offset`` bytes), the offset they start at and the
        log's size so far. A log not written yet (a step that printed nothing, an object store
        that uploads at the end) reads as empty."""
        store, rel = self.locate(uri, "logs")
        try:
            with store.open(rel, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                start = max(0, size + offset) if offset < 0 else min(offset, size)
                f.seek(start)
                data: bytes = f.read(limit)
        except FileNotFoundError:
            return b"", 0, 0
        return data, start, size


def _check_inside(store: Any, rel: str) -> None:
    """On a local disk, the resolved file must still be inside the store's root."""
    local = store.local_path(rel) if hasattr(store, "local_path") else None
    if local is None:
        return
    root = os.path.realpath(store.local_path(""))
    target = os.path.realpath(local)
    if os.path.commonpath([root, target]) != root:
        raise UnsafePath(f"refusing to serve {rel!r}: it leads outside the store's root")
