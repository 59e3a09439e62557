"""Run one step of a recorded run anywhere bevel and the stack are reachable: the hook for
engines that launch processes (a Kubernetes Job per step, an Airflow task, a Slurm job).

::

    python -m bevel.entrypoint prepare pipelines/train.py:training -p C=0.5 [--stack team]
        # records a RUNNING run, ships the project's source, prints the run and its steps (JSON)
    python -m bevel.entrypoint --run RUN --step STEP [--stack team]
        # runs one step: its inputs are the outputs its upstream steps recorded in RUN
    python -m bevel.entrypoint finish --run RUN [--stack team]
        # ends the run: completed when every step completed (or was cached), else failed

Exit codes: 0 the step completed (or was cached), 1 it failed, 2 it cannot run (the run ended,
an upstream step has not completed, an unknown step), 143 stopped by SIGTERM (recorded
cancelled). While a step runs, the process beats the run's heartbeat, so the run shows alive;
between steps nothing beats: an engine that leaves a run with no step running for longer than
the liveness window (5 minutes) lets a reaper (a run starting, ``bevel runs reap``) record it
failed. See docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bevel._system import hostname
from bevel.api import compile_pipeline, load_pipeline
from bevel.cli.params import parse_params  # the same NAME=VALUE parsing as `bevel run`
from bevel.dag.plan import Plan, StepSpec, element, split_instance
from bevel.errors import BevelError, ConfigError, NotFound, StepFailed
from bevel.metadata.base import MetadataStore
from bevel.metadata.records import (
    ArtifactRecord,
    MetadataEntry,
    RunRecord,
    RunStatus,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.run import shipping
from bevel.run.engine import new_run
from bevel.run.heartbeat import HEARTBEAT_SECONDS, Heartbeat, sigterm_as_interrupt
from bevel.run.shipping import CodeRef
from bevel.run.task import StepOutcome, new_id
from bevel.run.worker import StackRef, StepTask, run_recorded
from bevel.settings import Settings, load_settings
from bevel.stack.build import build_stack
from bevel.stack.stack import Stack

EXIT_FAILED = 1
EXIT_CANNOT_RUN = 2
_OK = (StepStatus.COMPLETED, StepStatus.CACHED)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bevel.entrypoint", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("action", nargs="?", choices=("prepare", "finish", "step"), default="step")
    parser.add_argument("target", nargs="?", help="prepare: FILE.py:PIPELINE")
    parser.add_argument("--run", help="the run (name, id or id prefix)")
    parser.add_argument("--step", help="the step id (a mapped step's call: evaluate[3])")
    parser.add_argument("--stack", help="the stack (default: the run's, or the active one)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--name", help="prepare: the run's name")
    parser.add_argument("--no-ship", action="store_true", help="prepare: do not ship the code")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.action == "prepare":
            return _prepare(args)
        if not args.run:
            raise ConfigError("give the run: --run RUN", hint="the id `prepare` printed")
        if args.action == "finish":
            return _finish(args)
        if not args.step:
            raise ConfigError("give the step to run: --step STEP", hint="e.g. --step train")
        return _step(args)
    except BevelError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CANNOT_RUN


def _stack_for(args: argparse.Namespace, settings: Settings) -> tuple[Stack, RunRecord]:
    """The stack named, else the one the run was recorded on; and the run."""
    stack = build_stack(args.stack, settings)
    run = stack.metadata_store.get_run(args.run)
    if args.stack is None and run.stack != stack.name:
        stack.close()
        stack = build_stack(run.stack, settings)
    return stack, run


def _prepare(args: argparse.Namespace) -> int:
    if not args.target:
        raise ConfigError("prepare needs FILE.py:PIPELINE", hint="e.g. prepare train.py:training")
    settings = load_settings()
    compiled = compile_pipeline(load_pipeline(args.target), params=parse_params(args.param))
    stack = build_stack(args.stack, settings)
    try:
        run = replace(
            new_run(compiled.plan, stack, args.name),
            host=f"{hostname()}:entrypoint",  # judged by its heartbeat, not a pid
        )
        root = shipping.code_root(settings.project_root, compiled.plan.file)
        code = None if args.no_ship else shipping.ship(stack.artifact_store, root)
        stack.metadata_store.create_run(run)
        if code is not None:
            at = datetime.now(UTC)
            stack.metadata_store.log_metadata(
                [
                    MetadataEntry("run", run.id, "code.archive", code.digest, at),
                    MetadataEntry("run", run.id, "code.root", code.root, at),
                ]
            )
        steps = [_describe(spec) for spec in compiled.plan.steps]
        print(json.dumps({"run": run.id, "name": run.name, "stack": stack.name, "steps": steps}))
    finally:
        stack.close()
    return 0


def _describe(spec: StepSpec) -> dict[str, Any]:
    return {
        "id": spec.id,
        "upstream": list(spec.upstream),
        "resources": spec.options.resources,
        "timeout": spec.options.timeout,
        "mapped": bool(spec.map_over),
    }


def _latest(store: MetadataStore, run_id: str) -> dict[str, StepRunRecord]:
    """Step id -> its latest step run in the run."""
    found: dict[str, StepRunRecord] = {}
    for record in store.step_runs(run_id):
        found[record.step_id] = record
    return found


def _inputs(
    store: MetadataStore, run: RunRecord, plan: Plan, spec: StepSpec
) -> dict[str, ArtifactRecord]:
    latest = _latest(store, run.id)
    io = store.step_io(run.id)

    def output_of(step: str, output: str, need: str) -> ArtifactRecord:
        record = latest.get(step)
        if record is None or record.status not in _OK:
            state = record.status.value if record else "not run"
            raise ConfigError(
                f"step '{spec.id}' needs the output '{output}' of step '{step}', which has not"
                f" completed in run {run.name} ({state})",
                hint=f"run step '{step}' first: python -m bevel.entrypoint --run {run.id}"
                f" --step {step}",
            )
        outputs = io.get(record.id, {}).get("out", {})
        if output not in outputs:
            raise ConfigError(f"step '{step}' recorded no output '{output}' (for {need})")
        return outputs[output]

    found = {name: output_of(r.step, r.output, name) for name, r in spec.inputs.items()}
    for arg, ref in spec.gather.items():
        calls = sorted(
            (i, sid) for sid in latest if (b := split_instance(sid))[0] == ref.step
            for i in [b[1]] if i is not None
        )  # fmt: skip
        for index, call in calls:
            found[element(arg, index)] = output_of(call, ref.output, arg)
    return found


def _step(args: argparse.Namespace) -> int:
    settings = load_settings(create=False)
    stack, run = _stack_for(args, settings)
    try:
        if run.status is not RunStatus.RUNNING:
            raise ConfigError(
                f"run {run.name} has ended ({run.status.value}): its steps cannot run any more",
                hint="prepare a new run: python -m bevel.entrypoint prepare FILE.py:PIPELINE",
            )
        plan = Plan.from_dict(run.plan)
        try:
            spec = plan.step(args.step)
        except KeyError:
            raise ConfigError(
                f"run {run.name} has no step {args.step!r}",
                hint=f"its steps: {', '.join(s.id for s in plan.steps)}",
            ) from None
        if spec.map_over:
            raise ConfigError(
                f"step '{spec.id}' is mapped: run each of its calls ({spec.id}[0], {spec.id}[1],"
                " ...), one per element of the list it maps over",
                hint="the number of calls is the length of that list, known once its producer"
                " completed (bevel runs show RUN lists its elements)",
            )
        code = _code_of(stack.metadata_store, run)
        task = StepTask(
            run_id=run.id,
            step_id=spec.id,
            step_run_id=new_id(),
            stack=StackRef.of(stack, settings),
            inputs=_inputs(stack.metadata_store, run, plan, spec),
            resources=dict(spec.options.resources),
            timeout=spec.options.timeout,
            code=code,
        )
        with Heartbeat(stack.metadata_store, run.id, HEARTBEAT_SECONDS), sigterm_as_interrupt():
            try:
                outcome = run_recorded(stack, plan, run, task)
            except StepFailed as exc:  # it could not start here (does not import): recorded
                outcome = _record_failed(stack.metadata_store, run, spec, task, exc)
    except KeyboardInterrupt as interrupt:
        signum = getattr(interrupt, "signum", None)
        return 128 + signum if isinstance(signum, int) else 130
    finally:
        stack.close()
    record = outcome.step_run
    print(
        f"step {record.step_id} {record.status.value}"
        + (f": {record.error}" if record.error else "")
    )
    return 0 if outcome.ok else EXIT_FAILED


def _record_failed(
    store: MetadataStore, run: RunRecord, spec: StepSpec, task: StepTask, exc: StepFailed
) -> StepOutcome:
    now = datetime.now(UTC)
    record = StepRunRecord(
        id=task.step_run_id, run_id=run.id, step_id=spec.id, step_name=spec.name,
        status=StepStatus.FAILED, started=now, ended=now, params=spec.params,
        code_hash=spec.code_hash, error=str(exc),
    )  # fmt: skip
    store.finish_step_run(StepCompletion(step_run=record))
    return StepOutcome(record, {}, error=exc)


def _code_of(store: MetadataStore, run: RunRecord) -> CodeRef | None:
    meta = store.get_metadata("run", run.id)
    digest = meta.get("code.archive")
    if not isinstance(digest, str):
        return None
    return CodeRef(digest, f"code/{digest.partition(':')[2]}.zip", str(meta.get("code.root", "")))


def _finish(args: argparse.Namespace) -> int:
    settings = load_settings(create=False)
    stack, run = _stack_for(args, settings)
    try:
        plan = Plan.from_dict(run.plan)
        latest = _latest(stack.metadata_store, run.id)
        missing = []
        for spec in plan.steps:
            ids = [s for s in latest if split_instance(s)[0] == spec.id] if spec.map_over else []
            for sid in ids or [spec.id]:
                record = latest.get(sid)
                if record is None or record.status not in _OK:
                    missing.append(f"{sid} ({record.status.value if record else 'not run'})")
        status = RunStatus.FAILED if missing else RunStatus.COMPLETED
        error = f"step(s) did not complete: {', '.join(missing)}" if missing else None
        try:
            stack.metadata_store.finish_run(run.id, status, ended=datetime.now(UTC), error=error)
        except (NotFound, BevelError) as exc:
            raise ConfigError(f"run {run.name} cannot be finished: {exc}") from exc
        print(f"run {run.name} {status.value}" + (f": {error}" if error else ""))
    finally:
        stack.close()
    return 0 if status is RunStatus.COMPLETED else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
