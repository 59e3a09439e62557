"""Signs of life of a running run, and signals that end it.

The process driving a run tells the metadata store every :data:`HEARTBEAT_SECONDS` that it is
alive; a reaper (a run that starts, ``bevel runs reap``: ``bevel.client.liveness``) records a
run silent for much longer as failed. The store refuses heartbeats for a run that is no longer RUNNING, which is how the
driver learns that another process ended its run (a reaper, ``bevel runs cancel``): the
refusal is handed to the engine through :attr:`Heartbeat.lost`, a future the engine waits on
beside its steps.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime

from bevel.errors import MetadataError, NotFound, StatusConflict
from bevel.metadata.base import MetadataStore
from bevel.metadata.records import RunStatus
from bevel.run.interrupts import Terminated

HEARTBEAT_SECONDS = 30.0
#: How often the driver reads its run's status, to notice soon that another process ended it
#: (``bevel runs cancel``): one small read, between beats.
WATCH_SECONDS = 2.0
_JOIN_SECONDS = 30.0  # at most this long for a beat in flight when the run ends


class Heartbeat:
    """A daemon thread beating for one run while the ``with`` block lasts, and reading the
    run's status every ``watch`` seconds between beats.

    ``interval`` is read when the thread starts (tests shorten it). Exiting stops the thread
    and waits for a beat in flight, so nothing writes for this run once the block is left.
    """

    def __init__(
        self,
        store: MetadataStore,
        run_id: str,
        interval: float,
        watch: float = WATCH_SECONDS,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.lost: Future[MetadataError] = Future()
        self._store = store
        self._run_id = run_id
        self._interval = interval
        self._watch = min(watch, interval)
        self._on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="bevel-heartbeat", daemon=True)

    def _beat(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self._watch):
            try:
                if time.monotonic() - last >= self._interval:
                    last = time.monotonic()
                    self._store.heartbeat(self._run_id, datetime.now(UTC))
                else:
                    self._check()
            except (StatusConflict, NotFound) as refused:
                self.lost.set_result(refused)  # ended (or deleted) by another process
                if self._on_lost is not None:
                    self._on_lost()
                return
            except Exception:  # a missed beat is harmless; the next one retries
                continue

    def _check(self) -> None:
        """Raise StatusConflict when the run was ended elsewhere (a cancel), as a beat would."""
        run = self._store.get_run(self._run_id)
        if run.status is not RunStatus.RUNNING:
            raise StatusConflict(
                f"run {run.name} was ended as {run.status.value} by another process",
                entity="run",
                id=run.id,
                current=run.status.value,
                error=run.error,
            )

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


@contextlib.contextmanager
def sigint_as_interrupt() -> Iterator[None]:
    """SIGINT raises ``KeyboardInterrupt`` in the main thread while the block lasts, even in a
    process started with SIGINT ignored (a background job, a daemon's child: Python then
    installs no handler). The engine interrupts a step running inline in the main thread that
    way when the run is cancelled from elsewhere (``bevel runs cancel``); without a handler the
    step would go on to its end."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    ):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
