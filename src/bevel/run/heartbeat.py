"""Signs of life of a running run, and signals that end it.

The process driving a run tells the metadata store every :data:`HEARTBEAT_SECONDS` that it is
alive; readers that see a run silent for much longer (``bevel.client.liveness``) may mark it
failed. The store refuses heartbeats for a run that is no longer RUNNING, which is how the
driver learns that another process ended its run (a reaper, ``bevel runs cancel``): the
refusal is handed to the engine through :attr:`Heartbeat.lost`, a future the engine waits on
beside its steps.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime

from bevel.errors import MetadataError, NotFound, StatusConflict
from bevel.metadata.base import MetadataStore
from bevel.run.interrupts import Terminated

HEARTBEAT_SECONDS = 30.0
_JOIN_SECONDS = 30.0  # at most this long for a beat in flight when the run ends


class Heartbeat:
    """A daemon thread beating for one run while the ``with`` block lasts.

    ``interval`` is read when the thread starts (tests shorten it). Exiting stops the thread
    and waits for a beat in flight, so nothing writes for this run once the block is left.
    """

    def __init__(self, store: MetadataStore, run_id: str, interval: float) -> None:
        self.lost: Future[MetadataError] = Future()
        self._store = store
        self._run_id = run_id
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="bevel-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._store.heartbeat(self._run_id, datetime.now(UTC))
            except (StatusConflict, NotFound) as refused:
                self.lost.set_result(refused)  # ended (or deleted) by another process
                return
            except Exception:  # a missed beat is harmless; the next one retries
                continue

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(_JOIN_SECONDS)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler or `kill` stopping the run) unwinds like Ctrl-C: the run is
    recorded as cancelled ("terminated by SIGTERM") instead of being left "running"."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
