"""The queries garbage collection needs: what the records point at (no writes)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.engine import Connection

from bevel.metadata.base import References
from bevel.metadata.sql.schema import artifacts, runs

_CHUNK = 500  # bound parameters per query, under every database's limit


def references(conn: Connection, prefix: str, uris: Sequence[str] | None) -> References:
    """Artifact uris under ``prefix`` (among ``uris`` when given) and every run id."""
    under = artifacts.c.uri.startswith(prefix, autoescape=True)
    found: set[str] = set()
    if uris is None:
        found.update(conn.execute(select(artifacts.c.uri).where(under).distinct()).scalars())
    else:
        wanted = sorted(set(uris))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            query = select(artifacts.c.uri).where(artifacts.c.uri.in_(chunk)).distinct()
            found.update(conn.execute(query).scalars())
    run_ids = frozenset(conn.execute(select(runs.c.id)).scalars())
    return References(uris=frozenset(found), run_ids=run_ids)
