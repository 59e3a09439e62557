"""How a run ends: wind down after Ctrl-C, SIGTERM or a crash, then write its final status.

Winding down stops submitting, cancels what has not started and waits for what runs (a second
Ctrl-C stops waiting), so that every step's real outcome is recorded before the run's final
status; a step that did not finish or did not start is recorded as such under the step run id
the engine gave it (no duplicate when its worker reported after all). When another process
ended the run (:attr:`Driver.lost`), nothing more is recorded.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bevel._dataclass import dataclass
from bevel.errors import MetadataError, NotFound, StatusConflict, StepFailed, StepInterrupted
from bevel.metadata.records import RunRecord, RunStatus, StepStatus
from bevel.redaction import redact
from bevel.run.interrupts import deferred
from bevel.run.task import StepOutcome

if TYPE_CHECKING:
    from bevel.run.driver import Driver


@dataclass(frozen=True)
class RunResult:
    run: RunRecord  # as recorded (when ``lost``: as the other process left it)
    errors: dict[str, BaseException]  # step id -> what it raised (chained into RunFailed)
    #: Set when another process ended (or deleted) the run while this one drove it: what the
    #: store answered. Nothing this process did after that is recorded.
    lost: MetadataError | None = None


def now() -> datetime:
    return datetime.now(UTC)


def describe(exc: BaseException) -> str:
    return redact(f"{type(exc).__name__}: {exc}")  # recorded: never with a secret in it


def wind_down(
    driver: Driver, because: str, not_finished: StepStatus, not_run: StepStatus | None = None
) -> None:
    """Stop submitting; cancel what has not started; wait for what runs (a second Ctrl-C
    stops waiting); then record every step that did not finish (``not_finished``) or did
    not start (``not_run``, default the same), unless the run ended elsewhere: then nothing
    more may be recorded."""
    not_run = not_run or not_finished
    for future in list(driver.running):
        if future.cancel():
            driver.running.pop(future)
    try:
        while driver.running and driver.lost is None:
            finished, _ = wait(list(driver.running), return_when=FIRST_COMPLETED)
            for future in finished:
                _settle(driver, future)
    except KeyboardInterrupt:
        pass  # stop waiting: what still runs is recorded as not finished, below
    if driver.lost is None and driver.beat.lost.done():
        driver.lost = driver.beat.lost.result()
    if driver.lost is not None:
        return
    still_running = {spec.id for spec in driver.running.values()}
    try:
        for spec_id, task in list(driver.submitted.items()):
            spec = driver.sched.specs[spec_id]
            if spec_id in still_running:
                status, what = not_finished, "not finished"
            else:  # cancelled before it started, or its worker failed to report
                status, what = (
                    (not_finished, "not finished")
                    if spec_id in driver.tried
                    else (
                        not_run,
                        "not run",
                    )
                )
            driver.sched.record_not_run(spec, task.step_run_id, status, f"{what}: {because}")
        driver.sched.skip(set(driver.sched.pending), because=because, status=not_run)
    except (StatusConflict, NotFound) as exc:
        driver.lost = exc


def _settle(driver: Driver, future: Future[StepOutcome]) -> None:
    """Collect a step that ended while the run winds down; what it raised is not raised
    again (the step is recorded as not finished by wind_down)."""
    if future.exception() is None:
        driver.collect(future)
        return
    spec = driver.running.pop(future)
    exc = future.exception()
    if isinstance(exc, StepInterrupted | StepFailed) and driver.lost is None:
        driver.interrupted(spec, exc, retry=False)  # its worker died: say so, not "not finished"
        return
    driver.tried.add(spec.id)
    if isinstance(exc, StatusConflict | NotFound):
        driver.lost = exc


def finish(driver: Driver, status: RunStatus, error: str | None) -> RunResult:
    """Write the run's final status (unless it ended elsewhere: then read how it was left)."""
    store = driver.stack.metadata_store
    final = replace(driver.run, status=status, ended=now(), error=error)
    if driver.lost is None:
        try:
            with deferred():  # one more Ctrl-C must not leave the run "running"
                store.finish_run(driver.run.id, status, ended=final.ended or now(), error=error)
        except (StatusConflict, NotFound) as exc:
            driver.lost = exc
    if driver.lost is not None:
        try:
            final = store.get_run(driver.run.id)
        except NotFound:
            final = replace(final, status=RunStatus.FAILED, error=str(driver.lost.message))
    driver.listener.on_run_end(final)
    return RunResult(final, driver.sched.errors, driver.lost)
