"""The queries garbage collection needs: what the records point at (no writes)."""

from __future__ import annotations

from collections.abc import Sequence

from bevel.metadata.base import References
from bevel.metadata.sql.db import Conn
from bevel.metadata.sql.dialect import prefix_pattern

_CHUNK = 500  # bound parameters per query, under every database's limit


def references(conn: Conn, prefix: str, uris: Sequence[str] | None) -> References:
    """Artifact uris under ``prefix`` (among ``uris`` when given) and every run id."""
    found: set[str] = set()
    if uris is None:
        # LIKE narrows it down (SQLite's ignores ASCII case): startswith decides.
        found.update(
            uri
            for uri in conn.scalars(
                "SELECT DISTINCT uri FROM artifacts WHERE uri LIKE :prefix ESCAPE '/'",
                prefix=prefix_pattern(prefix),
            )
            if uri.startswith(prefix)
        )
    else:
        wanted = sorted(set(uris))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            found.update(
                conn.scalars("SELECT DISTINCT uri FROM artifacts WHERE uri IN (:uris)", uris=chunk)
            )
    run_ids = frozenset(conn.scalars("SELECT id FROM runs"))
    return References(uris=frozenset(found), run_ids=run_ids)
