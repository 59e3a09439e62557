"""Why a run stopped early: Ctrl-C, or a signal such as SIGTERM from a scheduler or `kill`.

Both unwind the run the same way (a ``KeyboardInterrupt``, so every ``finally`` runs and the
run is recorded as cancelled), but the record and the terminal must say which it was: a job
killed by its scheduler was not "cancelled by the user".
"""

from __future__ import annotations

import signal


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
