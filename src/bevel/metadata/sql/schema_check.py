"""Is the database at the schema revision this bevel writes? The cheap part of migrating.

Pure: no SQLAlchemy, no Alembic. Every process checks once, on first use, with one query on
``alembic_version``; only a new database (created from the committed DDL on SQLite, by Alembic
on servers) or an older revision (Alembic) needs more. A revision this bevel does not know (a
newer bevel wrote it) is :class:`SchemaTooNew`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from bevel.errors import SchemaTooNew
from bevel.metadata.sql.revision import HEAD, KNOWN_REVISIONS

LOCK_WAIT_S = 300


def is_current(found: tuple[str, ...] | None, url: str) -> bool:
    """True when at head; False when it needs creating or upgrading; raises when too new."""
    if found == (HEAD,):
        return True
    unknown = [rev for rev in found or () if rev not in KNOWN_REVISIONS]
    if unknown:
        raise SchemaTooNew(
            f"metadata database {url} has schema revision {', '.join(map(repr, unknown))}, which"
            f" this bevel does not know (it knows {', '.join(map(repr, KNOWN_REVISIONS))};"
            f" head {HEAD!r}): a newer bevel wrote it",
            hint="upgrade bevel (pip install -U bevel) in this environment",
        )
    return False


@contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if needed), blocking until it is free."""
    with open(path, "a+b") as fh:
        _lock(fh)
        try:
            yield
        finally:
            _unlock(fh)


if sys.platform == "win32":
    import msvcrt
    import time

    def _lock(fh: IO[bytes]) -> None:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _unlock(fh: IO[bytes]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)

    def _unlock(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
