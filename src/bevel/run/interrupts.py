"""Why a run stopped early: Ctrl-C, or a signal such as SIGTERM from a scheduler or `kill`.

Both unwind the run the same way (a ``KeyboardInterrupt``, so every ``finally`` runs and the
run is recorded as cancelled), but the record and the terminal must say which it was: a job
killed by its scheduler was not "cancelled by the user".

A ``KeyboardInterrupt`` can surface at any line of the main thread, including between two
statements that must go together (a step handed to a pool, and the engine noting its future).
:func:`deferred` holds Ctrl-C and SIGTERM back for such a short stretch and raises them when it
ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

#: The signals that unwind a run (:mod:`bevel.run.heartbeat` turns SIGTERM into Terminated).
_HELD = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """The process received a termination signal (SIGTERM, SIGHUP) while a run was going on."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum

    @property
    def signal_name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


def describe(interrupt: BaseException) -> str:
    """``"terminated by SIGTERM"`` or ``"cancelled by the user (Ctrl-C)"``, for records and output."""
    if isinstance(interrupt, Terminated):
        return f"terminated by {interrupt.signal_name}"
    return "cancelled by the user (Ctrl-C)"


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Ctrl-C or SIGTERM that arrive inside the block take effect when it ends, as they would
    have (the handlers in place before the block run, a default disposition applies).

    For short bookkeeping only, never around user code or a step that runs inline: the block
    cannot be interrupted. Outside the main thread (where Python delivers no signal) it does
    nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, frame: object) -> None:
        caught.append(signum)

    previous = {signum: signal.signal(signum, hold) for signum in _HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for held in dict.fromkeys(caught):  # each held signal once, in the order it came
            signal.raise_signal(held)
