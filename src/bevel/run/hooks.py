"""Calling a step's ``on_success`` / ``on_failure`` hook, after its outcome is recorded.

A hook is called with keyword arguments only (forward compatible: ``def notify(*, step, error,
**_)``), with ``bevel.current`` set (run and step ids, ``logger``, ``log_metadata``) and its
output captured into the step's log. A hook that raises does not change the step's recorded
status, but it is never silent: a :class:`~bevel.errors.BevelWarning` naming the hook and the
run, its traceback in the step's log, and the step run's metadata key :data:`HOOK_ERROR`
(which ``bevel runs show`` prints).
"""

from __future__ import annotations

import traceback
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bevel.artifacts.materializers.registry import import_ref
from bevel.dag.plan import StepSpec
from bevel.errors import BevelWarning
from bevel.metadata.records import HOOK_ERROR, MetadataEntry, RunRecord, StepStatus
from bevel.redaction import redact
from bevel.run.context import _CURRENT, StepContext
from bevel.run.logs import StepLog, capture_to
from bevel.stack.stack import Stack

if TYPE_CHECKING:
    from bevel.run.task import StepOutcome

__all__ = ["HOOK_ERROR", "hook_due", "run_hook"]


def hook_due(spec: StepSpec, status: StepStatus) -> bool:
    """Whether a hook will run after a step ending in ``status`` (cached steps run none)."""
    if status is StepStatus.CACHED:
        return False
    ok = status is StepStatus.COMPLETED
    return getattr(spec.options, "on_success" if ok else "on_failure") is not None


def run_hook(
    spec: StepSpec,
    run: RunRecord,
    outcome: StepOutcome,
    config: Any,
    *,
    stack: Stack,
    ctx: StepContext,
    log: StepLog,
) -> None:
    """Call the hook for ``outcome`` (if any) and record what it logged or how it failed."""
    if not hook_due(spec, outcome.step_run.status):
        return
    which = "on_success" if outcome.ok else "on_failure"
    ref = getattr(spec.options, which)
    kwargs: dict[str, Any] = {
        "step": spec.id,
        "step_name": spec.name,
        "run_id": run.id,
        "run_name": run.name,
        "pipeline": run.pipeline,
        "params": spec.params,
    }
    if outcome.ok:
        kwargs["outputs"] = outcome.outputs
    else:
        kwargs["error"] = outcome.error
    hook_ctx = replace(ctx, metrics=[], metadata={}, run_metadata={}, artifact_metadata={})
    hook_ctx.hook = which
    token = _CURRENT.set(hook_ctx)
    failure: dict[str, str] | None = None
    try:
        with capture_to(log):
            try:
                hook = getattr(config, which, None) or import_ref(ref)
                hook(**kwargs)
            except Exception as exc:
                log.write(f"--- the {which} hook {ref} failed ---\n{traceback.format_exc()}")
                failure = {"hook": which, "function": ref, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        _CURRENT.reset(token)
    if failure is not None:  # warned outside the capture: the log holds the traceback already
        warnings.warn(
            f"the {which} hook {ref} of step '{spec.id}' in run {run.name} raised "
            f"{failure['error']} (the traceback is in: bevel logs {run.name} {spec.id})",
            BevelWarning,
            stacklevel=1,
        )
    _record(stack, run, outcome, hook_ctx, failure)


def _record(
    stack: Stack,
    run: RunRecord,
    outcome: StepOutcome,
    ctx: StepContext,
    failure: dict[str, str] | None,
) -> None:
    now = datetime.now(UTC)
    step_run_id = outcome.step_run.id
    entries = [MetadataEntry("step_run", step_run_id, k, v, now) for k, v in ctx.metadata.items()]
    entries += [MetadataEntry("run", run.id, k, v, now) for k, v in ctx.run_metadata.items()]
    if failure is not None:
        masked = {**failure, "error": redact(failure["error"])}  # recorded: no secret in it
        entries.append(MetadataEntry("step_run", step_run_id, HOOK_ERROR, masked, now))
    if not entries:
        return
    try:
        stack.metadata_store.log_metadata(entries)
    except Exception as exc:  # the step is recorded already: say what was not, and go on
        warnings.warn(
            f"could not record what the hook of step '{outcome.step_run.step_id}' logged: {exc}",
            BevelWarning,
            stacklevel=1,
        )
