"""Progress of a running pipeline, as :class:`~bevel.run.events.RunListener` implementations.

On a terminal, :class:`LiveProgress` shows a live bar (steps done / total, the steps running now,
elapsed time) and prints one line per finished step above it. In a pipe or a log file,
:class:`PlainProgress` prints just those lines, one per finished step, nothing animated.
Listeners must be quick and must not raise; both only format records they are given.

While the live bar is on screen, everything else that reaches the terminal must go through it,
or the bar's line is left glued to the first log line. Prints already do (rich redirects
``sys.stdout``/``sys.stderr`` while it is live); logging does not, because handlers keep the
stream they were made with. So :class:`_ThroughDisplay` points every handler that writes to the
terminal at the display for as long as it runs, and, when the root logger has no handler (where
bevel's step-log handler itself would print records), adds one that does; both are undone when
the display stops.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any

from bevel._lazy import lazy_module
from bevel.cli import output
from bevel.cli.output import Screen
from bevel.cli.plain import Styled
from bevel.client import format as fmt
from bevel.dag.plan import Plan
from bevel.metadata.records import RunRecord, StepRunRecord, StepStatus
from bevel.run.logs import LOG_FORMAT

if TYPE_CHECKING:
    from rich import progress as rich_progress
    from rich import text as rich_text
    from rich.console import Console
    from rich.progress import TaskID
    from rich.text import Text
else:  # the live bar is rich's; a pipe gets plain lines, printed without rich
    rich_progress = lazy_module("rich.progress")
    rich_text = lazy_module("rich.text")


def step_pieces(step_run: StepRunRecord, width: int = 0) -> list[Styled]:
    """``✓ train       1.23s`` / ``↺ load  cached (from 1a2b3c4d)`` / ``✗ eval  failed: ...``,
    as pieces of text, each with its style on a terminal."""
    status = StepStatus(step_run.status).value
    style = output.STATUS_STYLES.get(status, "")
    pieces = [
        Styled(f"{output.STATUS_ICONS.get(status, '?')} ", style),
        Styled(step_run.step_id.ljust(width)),
        Styled("  "),
        Styled(status, style),
    ]
    seconds = fmt.seconds_between(step_run.started, step_run.ended)
    if status != StepStatus.SKIPPED.value:
        pieces.append(Styled(f"  {fmt.duration(seconds)}"))
    if step_run.cached_from:
        pieces.append(Styled(f"  (from {fmt.short_id(step_run.cached_from)})", "dim"))
    if step_run.attempts > 1:
        pieces.append(Styled(f"  after {step_run.attempts} attempts", "dim"))
    if step_run.error and status == StepStatus.FAILED.value:
        pieces.append(Styled(f"  {fmt.first_line(step_run.error)}", "red"))
    return pieces


def step_line(step_run: StepRunRecord, width: int = 0) -> Text:
    """:func:`step_pieces` as one rich ``Text`` (the live bar prints it)."""
    return rich_text.Text.assemble(*((p.text, p.style) for p in step_pieces(step_run, width)))


class PlainProgress:
    """One plain line per finished step: for pipes, CI logs and CliRunner."""

    def __init__(self, console: Screen | Console) -> None:
        self.console = console
        self._width = 0

    def on_run_start(self, run: RunRecord, plan: Plan) -> None:
        self._width = max((len(s.id) for s in plan.steps), default=0)
        self._print(Styled(f"run {run.name} of pipeline {run.pipeline}: {len(plan.steps)} steps"))

    def on_step_start(self, step_id: str, step_name: str) -> None:
        pass

    def on_step_end(self, step_run: StepRunRecord) -> None:
        self._print(step_pieces(step_run, self._width))

    def _print(self, line: Styled | list[Styled]) -> None:
        if isinstance(self.console, Screen):
            self.console.print(line)
        else:
            output.print_to(self.console, line)

    def on_run_end(self, run: RunRecord) -> None:
        pass

    def close(self) -> None:
        pass


class _ThroughDisplay:
    """Route logging to the terminal through the live display while it runs (see module doc)."""

    def __init__(self) -> None:
        self._moved: list[tuple[logging.StreamHandler[Any], IO[str]]] = []
        self._added: logging.Handler | None = None

    def start(self, terminal: tuple[object, ...]) -> None:
        """``terminal``: the streams that were the terminal before the display redirected
        ``sys.stdout``/``sys.stderr`` (now rich's proxies, which print above the bar)."""
        through = sys.stderr
        root = logging.getLogger()
        loggers = [root, *logging.Logger.manager.loggerDict.values()]
        for logger in loggers:
            for handler in getattr(logger, "handlers", ()):
                stream = getattr(handler, "stream", None)
                if (
                    isinstance(handler, logging.StreamHandler)
                    and not isinstance(handler, logging.FileHandler)
                    and any(stream is s for s in terminal)
                ):
                    self._moved.append((handler, handler.setStream(through)))  # type: ignore[arg-type]
        if not root.handlers:
            self._added = logging.StreamHandler(through)
            self._added.setFormatter(logging.Formatter(LOG_FORMAT))
            root.addHandler(self._added)

    def stop(self) -> None:
        for handler, stream in self._moved:
            handler.setStream(stream)
        self._moved.clear()
        if self._added is not None:
            logging.getLogger().removeHandler(self._added)
            self._added = None


class LiveProgress:
    """A live bar on a terminal; finished steps scroll above it, the bar vanishes at the end."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress = rich_progress.Progress(
            rich_progress.SpinnerColumn(),
            rich_progress.TextColumn("{task.description}"),
            rich_progress.BarColumn(),
            rich_progress.MofNCompleteColumn(),
            rich_progress.TextColumn("{task.fields[cached]}", style="cyan"),
            rich_progress.TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._running: dict[str, float] = {}
        self._cached = 0
        self._width = 0
        self._lock = threading.Lock()
        self._logging = _ThroughDisplay()

    def on_run_start(self, run: RunRecord, plan: Plan) -> None:
        self._width = max((len(s.id) for s in plan.steps), default=0)
        self.console.print(
            rich_text.Text.assemble(
                ("run ", ""), (run.name, "bold"), f" of pipeline {run.pipeline}"
            )
        )
        terminal = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__, self.console.file)
        self._progress.start()
        self._logging.start(terminal)
        self._task = self._progress.add_task("starting", total=len(plan.steps), cached="")

    def on_step_start(self, step_id: str, step_name: str) -> None:
        with self._lock:
            self._running[step_id] = time.monotonic()
            self._update()

    def on_step_end(self, step_run: StepRunRecord) -> None:
        with self._lock:
            self._running.pop(step_run.step_id, None)
            if step_run.status == StepStatus.CACHED:
                self._cached += 1
            if self._task is not None:
                self._progress.advance(self._task)
            self._update()
        self._progress.console.print(step_line(step_run, self._width))

    def on_run_end(self, run: RunRecord) -> None:
        self.close()

    def close(self) -> None:
        """Stop the live display (also on errors and Ctrl-C, so the terminal is left clean) and
        give logging its streams back."""
        self._progress.stop()
        self._logging.stop()

    def _update(self) -> None:
        if self._task is None:
            return
        running = f"running {', '.join(self._running)}" if self._running else "waiting"
        cached = f"{self._cached} cached" if self._cached else ""
        self._progress.update(self._task, description=running, cached=cached)
