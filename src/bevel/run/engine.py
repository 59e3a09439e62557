"""Running a pipeline: record the run, then drive it through the one scheduling loop.

The pieces, each in its own module:

- here: the run's record (:func:`new_run`, its name from :mod:`bevel.run.names`), the code
  shipped to an orchestrator whose workers import it (:mod:`bevel.run.shipping`) and
  :func:`execute`, which records the run and hands it to the driver;
- :mod:`bevel.run.driver`: the scheduling loop (submit ready steps, chain them on Dask,
  collect outcomes, retries after a lost worker, fail fast);
- :mod:`bevel.run.scheduler`: the run's state (pending, done, failed steps, mapped steps
  expanded, live objects);
- :mod:`bevel.run.ending`: winding down after Ctrl-C, SIGTERM or a crash, and the final status;
- :mod:`bevel.run.inprocess`: what an in-process executor runs (``run_step`` with the live
  stack);
- :mod:`bevel.run.events`: the listener the CLI's progress display is, guarded so that a
  broken one fails the run without stopping its record.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bevel._lazy import lazy_module
from bevel._system import hostname
from bevel.dag.compile import Compiled
from bevel.dag.plan import Plan
from bevel.metadata.base import RunFilter
from bevel.metadata.records import RunRecord, RunStatus
from bevel.run import names
from bevel.run.driver import Driver
from bevel.run.ending import RunResult
from bevel.run.events import GuardedListener, NullListener, RunListener
from bevel.run.heartbeat import HEARTBEAT_SECONDS
from bevel.run.notify import with_components
from bevel.run.task import new_id
from bevel.settings import Settings, load_settings
from bevel.stack.stack import Stack

if TYPE_CHECKING:
    from bevel.run import resume, shipping
else:  # resuming, and shipping code to remote workers: not what most runs do
    resume = lazy_module("bevel.run.resume")
    shipping = lazy_module("bevel.run.shipping")

__all__ = ["HEARTBEAT_SECONDS", "RunResult", "default_run_name", "execute", "new_run"]


def _now() -> datetime:
    return datetime.now(UTC)


def default_run_name(plan: Plan, run_id: str, at: datetime) -> str:
    return names.default_run_name(plan.pipeline, run_id, at.astimezone())


def new_run(plan: Plan, stack: Stack, run_name: str | None = None) -> RunRecord:
    """The record of a new run; its name from ``run_name`` or the plan's template (made unique
    against the store, see :mod:`bevel.run.names`), else generated."""
    run_id = new_id()
    created = _now()
    template = run_name or plan.run_name
    name = (
        names.render(
            template,
            pipeline=plan.pipeline,
            run_id=run_id,
            at=created.astimezone(),
            existing=lambda prefix: [
                r.name for r in stack.metadata_store.list_runs(RunFilter(name=prefix, limit=0))
            ],
        )
        if template
        else default_run_name(plan, run_id, created)
    )
    return RunRecord(
        id=run_id,
        pipeline=plan.pipeline,
        name=name,
        status=RunStatus.RUNNING,
        created=created,
        params=plan.params,
        config=plan.config,
        plan=plan.to_dict(),
        code_fingerprint=plan.code_fingerprint,
        stack=stack.name,
        host=f"{hostname()}:{os.getpid()}",
        heartbeat=created,
    )


def execute(
    compiled: Compiled,
    stack: Stack,
    *,
    run: RunRecord,
    listener: RunListener | None = None,
    settings: Settings | None = None,
    resumes: RunRecord | None = None,
) -> RunResult:
    """Record ``run`` and run ``compiled`` on ``stack``; return how it ended.

    ``resumes`` is a failed or cancelled run that this one continues: its completed steps
    are reused (:mod:`bevel.run.resume`) and the link is recorded (run metadata
    ``resumed_from``).

    ``settings`` are those the stack was built with: an out-of-process orchestrator's workers
    rebuild the stack from its name and them (default: this process's settings). Ctrl-C and
    SIGTERM record the run as cancelled and re-raise ``KeyboardInterrupt``; any other error
    records it as failed and is re-raised.
    """
    code = _ship_code(stack, settings, compiled.plan)  # before recording: too big is refused
    stack.metadata_store.create_run(run)
    # The stack's alerter and experiment tracker hear the run's end (bevel.run.notify), even
    # after the caller's listener broke.
    guarded = with_components(stack, GuardedListener(listener or NullListener()))
    driver = Driver(compiled, stack, run, guarded, settings, HEARTBEAT_SECONDS)
    notes: dict[str, str] = {}
    if code is not None:
        driver.code = code
        notes["code.archive"] = code.digest
    if resumes is not None:
        driver.reuse = resume.completed_steps(stack.metadata_store, resumes.id)
        notes["resumed_from"] = resumes.id
    driver.notes = notes
    return driver.execute()


def _ship_code(stack: Stack, settings: Settings | None, plan: Plan) -> shipping.CodeRef | None:
    """Upload the project's source for an orchestrator whose workers import it from there."""
    orchestrator = stack.orchestrator
    if not getattr(orchestrator, "ships_code", False):
        return None
    project = (settings or load_settings(create=False)).project_root
    root = shipping.code_root(project, plan.file)
    limit = int(getattr(orchestrator, "code_size_limit", shipping.DEFAULT_LIMIT))
    return shipping.ship(stack.artifact_store, root, limit)
