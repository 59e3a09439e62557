"""The dead-run reaper: the server, not its readers, records runs whose driver died.

Clients are read-only (reads do not write), so a run whose driver was killed would stay
RUNNING forever unless someone with write access reaps it. The server does, on a timer: one
query for the running runs, then one conditional write per dead run (a run that beats again
in between is left alone): :func:`bevel.client.liveness.reap_dead_runs`, what ``bevel runs
reap`` does.
"""

from __future__ import annotations

import logging
import threading

from bevel.client.liveness import reap_dead_runs
from bevel.metadata.base import MetadataStore

log = logging.getLogger("bevel.server")


def reap_once(store: MetadataStore) -> int:
    """One pass; how many runs it recorded as failed."""
    return len(reap_dead_runs(store))


class Reaper:
    """A daemon thread calling :func:`reap_once` every ``every`` seconds until stopped."""

    def __init__(self, store: MetadataStore, every: float) -> None:
        self._store = store
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bevel-reaper", daemon=True)
        self.passes = 0

    def start(self) -> None:
        """One pass now, before the server answers (its first page already shows dead runs as
        failed), then one every ``every`` seconds on the thread."""
        self._pass()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _pass(self) -> None:
        try:
            reaped = reap_once(self._store)
            if reaped:
                log.info("reaper: recorded %d run(s) whose driver is gone as failed", reaped)
        except Exception:  # keep reaping: a database hiccup must not end the thread
            log.exception("reaper: a pass failed")
        self.passes += 1

    def _loop(self) -> None:
        while not self._stop.wait(self._every):
            self._pass()
