"""Counting the work bevel does, for tests that guard its cost by counting instead of timing.

``counting()`` counts, while it is open and in every thread of this process: SQLite
transactions (``sqlite write transaction``, ``sqlite read transaction``) and statements
(``statement``), file-system calls (``open for writing``, ``open for reading``, ``os.mkdir``,
``os.rename``, ``os.remove``, ``os.rmdir``, ``shutil.rmtree``, ``os.chmod``, ``os.scandir``,
``os.listdir``, ``stat``) and threads started (``thread``)::

    with counting() as work:
        my_pipeline()
    assert work["sqlite write transaction"] <= 2 * steps

File calls come from Python's audit events (``sys.audit``), so they include what the standard
library does on bevel's behalf (``os.makedirs`` is its ``os.mkdir`` calls); ``stat`` counts
``os.stat`` and ``os.lstat`` (which have no audit event), so also ``os.path.exists`` and
friends.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bevel.metadata.sql import sqlite
from bevel.metadata.sql.db import trace_statements

_FILE_EVENTS = frozenset(
    {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "shutil.rmtree", "os.chmod",
     "os.scandir", "os.listdir"}
)  # fmt: skip
_active: list[Counter[str]] = []
_hooked = False
_lock = threading.Lock()
_REAL_STAT, _REAL_LSTAT = os.stat, os.lstat
_REAL_START = threading.Thread.start
_REAL_TRANSACTION = sqlite.SqliteDatabase.transaction


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _active:
        return
    if event == "open":
        mode = str(args[1]) if len(args) > 1 and args[1] is not None else "r"
        flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
        writing = any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR)
        _count("open for writing" if writing else "open for reading")
    elif event in _FILE_EVENTS:
        _count(event)


def _count(name: str) -> None:
    for counts in _active:
        counts[name] += 1


def _stat(*args: Any, **kwargs: Any) -> Any:
    _count("stat")
    return _REAL_STAT(*args, **kwargs)


def _lstat(*args: Any, **kwargs: Any) -> Any:
    _count("stat")
    return _REAL_LSTAT(*args, **kwargs)


def _start(self: threading.Thread) -> None:
    _count("thread")
    _REAL_START(self)


def _transaction(self: Any, *, write: bool) -> Any:
    _count("sqlite write transaction" if write else "sqlite read transaction")
    return _REAL_TRANSACTION(self, write=write)


def _patch(on: bool) -> None:
    os.stat, os.lstat = (_stat, _lstat) if on else (_REAL_STAT, _REAL_LSTAT)  # type: ignore[assignment]
    threading.Thread.start = _start if on else _REAL_START  # type: ignore[method-assign]
    sqlite.SqliteDatabase.transaction = _transaction if on else _REAL_TRANSACTION  # type: ignore[method-assign,assignment]


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """A ``Counter`` of the work done while the block runs (see the module docstring). Blocks
    may nest; each counts what ran inside it."""
    global _hooked
    counts: Counter[str] = Counter()
    with _lock:
        if not _hooked:  # audit hooks cannot be removed: one, inert while nothing counts
            sys.addaudithook(_audit)
            _hooked = True
        if not _active:
            _patch(True)
        _active.append(counts)
    try:
        with trace_statements() as statements:
            yield counts
            counts["statement"] = len(statements)
    finally:
        with _lock:
            _active.remove(counts)
            if not _active:
                _patch(False)
