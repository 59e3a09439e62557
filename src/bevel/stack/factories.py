"""Implementations of the built-in local and SQL flavors: config fields in, component out.

Kept apart from :mod:`bevel.stack.object_stores`, whose fsspec import (~70 ms) the local and SQL
flavors do not need.
"""

from __future__ import annotations

from bevel.artifacts.local import LocalArtifactStore
from bevel.metadata.sql.store import SqlMetadataStore


def local_artifact_store(*, path: str) -> LocalArtifactStore:
    """Flavor ``artifact_store/local`` (``path`` is already resolved against the project)."""
    return LocalArtifactStore(path)


def sql_metadata_store(
    *,
    url: str | None = None,
    path: str | None = None,
    connect_timeout: float = 10.0,
    name: str | None = None,
) -> SqlMetadataStore:
    """Flavors ``metadata_store/sqlite``, ``postgresql`` and ``mysql``: one SQL store for all."""
    target = url if url is not None else f"sqlite:///{path}"
    return SqlMetadataStore(target, connect_timeout=connect_timeout, name=name)
