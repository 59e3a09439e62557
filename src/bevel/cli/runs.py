"""``bevel runs``: list, show, explain, reap and delete recorded runs."""

from __future__ import annotations

import importlib
from collections import Counter
from typing import TYPE_CHECKING, Any

import click

from bevel._lazy import lazy_module
from bevel._text import did_you_mean
from bevel.cli import output
from bevel.cli.common import LIMIT, open_client, stack_option
from bevel.cli.output import Screen
from bevel.cli.plain import Styled
from bevel.client import format as fmt
from bevel.client import metrics
from bevel.client.lists import RunList, flatten, lookup
from bevel.client.views import ArtifactView, RunView, StepView
from bevel.metadata.records import HOOK_ERROR, RunStatus, StepStatus

if TYPE_CHECKING:
    from bevel.client import sweeps
else:  # a sweep's trials are shown by `runs show`, never listed
    sweeps = lazy_module("bevel.client.sweeps")

_STATUSES = [s.value for s in RunStatus]


class _RunsGroup(click.Group):
    """``runs`` with ``cancel``, ``resume`` and ``compare`` imported only when used (they load
    the run path and rich, which listing and showing runs does not need)."""

    LAZY = {
        "cancel": "bevel.cli.runs_control:cancel",
        "resume": "bevel.cli.runs_control:resume",
        "compare": "bevel.cli.compare:compare",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY:
            module, _, attr = self.LAZY[cmd_name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=_RunsGroup)
def runs() -> None:
    """List, inspect, explain, cancel, resume and delete recorded runs.

    RUN is a run name, its id, or a unique id prefix (6+ characters).

    \b
    Examples:
      bevel runs list --pipeline training --status failed
      bevel runs show training-20240101-120000-ab12cd
      bevel runs explain 1a2b3c4d train
      bevel runs cancel training-20240101-120000-ab12cd
      bevel runs resume training-20240101-120000-ab12cd
      bevel runs reap          # record runs whose process died as failed
    """


@runs.command("list")
@click.option("--pipeline", "-P", help="Only runs of this pipeline.")
@click.option("--status", "-s", type=click.Choice(_STATUSES), help="Only runs in this state.")
@click.option("--limit", "-n", type=LIMIT, default=20, show_default=True)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="NAME",
    help="Show this parameter as a column (repeat, or comma-separate; a.b for nested values).",
)
@click.option(
    "--metric",
    "-m",
    "metric_keys",
    multiple=True,
    metavar="KEY",
    help="Show the last value of this metric as a column (repeat, or comma-separate).",
)
@stack_option
def list_runs(
    pipeline: str | None,
    status: str | None,
    limit: int,
    params: tuple[str, ...],
    metric_keys: tuple[str, ...],
    stack: str | None,
) -> None:
    """List runs, newest first.

    \b
    Example:
      bevel runs list --pipeline training --status completed --limit 5
      bevel runs list --param C --metric accuracy,f1
      bevel runs list --stack team
    """
    param_names, keys = _names(params), _names(metric_keys)
    with open_client(stack) as client:
        found = client.runs(pipeline=pipeline, status=status, limit=limit)
        console = output.screen()
        if not found:
            console.print(
                "no runs found" + (" (try without filters)" if pipeline or status else "")
            )
            return
        latest = found.latest_metrics(keys) if keys else {}  # one query for the whole page
        columns = ["id", "name", "pipeline", "status", "created", "duration"]
        columns += param_names or ["params"]
        tbl = output.table(console, *columns, *keys)
        for run in found:
            if param_names:
                shown = [_cell(lookup(run.params, name)) for name in param_names]
            else:
                shown = [output.mapping(run.params) if run.params else ""]
            values = latest.get(run.id, {})
            output.add_row(
                tbl,
                fmt.short_id(run.id),
                run.name,
                run.pipeline,
                run_status(run),
                fmt.timestamp(run.created),
                fmt.duration(run.duration),
                *shown,
                *(fmt.metric(values[k]) if k in values else "-" for k in keys),
            )
        output.emit(console, tbl)
        dead = [run for run in found if _driver_gone(run)]
        if dead:
            click.echo(
                f"{len(dead)} run(s) above are recorded as running but their process is gone: "
                "bevel runs reap records them as failed",
                err=True,
            )
        _note_empty_columns(found, param_names, keys, latest)


def _note_empty_columns(
    found: RunList, param_names: list[str], keys: list[str], latest: dict[str, dict[str, float]]
) -> None:
    """A column that no listed run has is most likely a typo: say so (on stderr, so the table
    stays clean for pipes), with the near miss and the names these runs do have. Listing every
    metric costs one more query, made only when a metric column came out empty."""
    known_params = sorted({k for run in found for k in (*run.params, *flatten(run.params))})
    unknown = [("parameter", n, known_params) for n in param_names if n not in known_params]
    empty_metrics = [k for k in keys if not any(k in values for values in latest.values())]
    if empty_metrics:
        known_metrics = sorted({k for values in found.latest_metrics().values() for k in values})
        unknown += [("metric", k, known_metrics) for k in empty_metrics]
    err = output.screen(stderr=True)
    for what, name, known in unknown:
        have = f"{what}s of these runs: {', '.join(known)}" if known else f"they have no {what}s"
        err.print(f"note: no listed run has the {what} {name!r}; {did_you_mean(name, known)}{have}")


def _driver_gone(run: RunView) -> bool:
    verdict = run.liveness
    return verdict is not None and verdict.dead


def run_status(run: RunView, *, hint: bool = False) -> Styled:
    """A run's status; a running run whose process is gone says so (reading never reaps)."""
    if not _driver_gone(run):
        return output.styled_status(run.status.value)
    tail = " (bevel runs reap records it as failed)" if hint else ""
    return Styled(run.status_text + tail, "yellow")


@runs.command("reap")
@click.option("--dry-run", is_flag=True, help="Only say which runs would be marked failed.")
@stack_option
def reap_runs(dry_run: bool, stack: str | None) -> None:
    """Record runs whose process died as failed, with their running steps.

    Reading never changes a run: one whose process is gone (its pid no longer exists on this
    host, or it sent no heartbeat for 5 minutes) stays recorded as running, and is listed as
    such, until a writer reaps it. Every run that starts reaps first; this does it now.

    \b
    Example:
      bevel runs reap --dry-run
    """
    with open_client(stack) as client:
        reaped = client.reap(dry_run=dry_run)
    if not reaped:
        click.echo("nothing to reap: every run recorded as running has a live process")
        return
    verb = "would mark" if dry_run else "marked"
    for item in reaped:
        click.echo(
            f"{verb} run {item.run.name} ({fmt.short_id(item.run.id)}) failed: "
            f"{item.liveness.reason}"
        )


def _names(given: tuple[str, ...]) -> list[str]:
    """``("a,b", "c")`` -> ``["a", "b", "c"]`` (order kept, duplicates and blanks dropped)."""
    names = (part.strip() for text in given for part in text.split(","))
    return list(dict.fromkeys(n for n in names if n))


def _cell(value: object) -> str:
    return "-" if value is None else fmt.value(value, 40)


@runs.command("show")
@click.argument("run")
@stack_option
def show_run(run: str, stack: str | None) -> None:
    """Show a run: its steps, outputs, metrics (with their series), metadata and errors.

    \b
    Example:
      bevel runs show training-20240101-120000-ab12cd
    """
    with open_client(stack) as client:
        print_run(output.screen(), client.get_run(run))


def _steps_field(run: RunView) -> str:
    """How many planned steps ran, were cached or failed; a sweep's trials are counted apart
    (:func:`_trial_fields`), mapped calls per call."""
    steps = sweeps.planned(run)
    tally = Counter(s.status.value for s in steps)
    ended = f"{tally['completed']} ran, {tally['cached']} cached, {tally['failed']} failed"
    if not any(_base(s.step_id) != s.step_id for s in steps):
        return f"{len(steps)} of {run.planned_steps}: {ended}"
    calls = len(_mapped_groups(steps))
    return f"{len(steps)} step runs ({calls} steps, mapped ones counted per call): {ended}"


def _trial_fields(run: RunView) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for sweep in sweeps.sweeps(run):
        best = f", best trial-{sweep.best_trial}" if sweep.best_trial is not None else ""
        n = sweep.states
        rows.append((
            "trials",
            f"{len(sweep.trials)} of {sweep.step.step_id} (sweep{best}): {n['ran']} ran, "
            f"{n['cached']} cached, {n['failed']} failed, {n['pruned']} pruned",
        ))  # fmt: skip
    return rows


def print_run(console: Screen, run: RunView) -> None:
    pairs: list[tuple[str, object]] = [
        ("run", Styled(run.name, "bold")),
        ("id", run.id),
        ("pipeline", run.pipeline),
        ("status", run_status(run, hint=True)),
        ("created", fmt.timestamp(run.created)),
        ("duration", fmt.duration(run.duration)),
        ("steps", _steps_field(run)),
        *_trial_fields(run),
        ("params", output.mapping(run.params)),
        ("stack", run.stack),
        ("code", fmt.short_hash(run.code_fingerprint) or "-"),
    ]
    if run.config:
        pairs.append(("config", output.mapping(run.config)))
    tracked = _tracked(run.metadata)
    pairs += [(key, _link(link)) for key, link in tracked.items()]
    rest = {k: v for k, v in run.metadata.items() if k not in tracked}
    if rest:
        pairs.append(("metadata", output.mapping(rest)))
    if run.error:
        pairs.append(("error", Styled(fmt.first_line(run.error), "red")))
    output.fields(console, pairs)

    output.heading(console, "steps")
    tbl = output.table(console, "step", "status", "duration", "attempts", "cached from", "params")
    for group in _mapped_groups(list(run.steps.values())):
        step = group[0]
        if len(group) == 1:
            output.add_row(
                tbl,
                step.step_id,
                output.styled_status(step.status.value),
                fmt.duration(step.duration),
                step.attempts,
                fmt.short_id(step.cached_from),
                output.mapping(step.params) if step.params else "",
            )
            continue
        tally = Counter(s.status.value for s in group)
        durations = [s.duration for s in group if s.duration is not None]
        output.add_row(
            tbl,
            f"{step.step_id.rpartition('[')[0]}[0..{len(group) - 1}]",
            ", ".join(f"{n} {status}" for status, n in tally.most_common()),
            f"{fmt.duration(max(durations)) if durations else '-'} max",
            max(s.attempts for s in group),
            f"{tally.get('cached', 0)} of {len(group)}" if tally.get("cached") else "",
            output.mapping(step.params) if step.params else "",
        )
    output.emit(console, tbl)
    _print_outputs(console, list(run.steps.values()))
    _print_metrics(console, run)
    _print_metadata(console, list(run.steps.values()))
    for step in run.steps.values():
        if step.status is StepStatus.FAILED:
            output.heading(console, f"step {step.step_id} failed")
            console.print(Styled(step.error or "(no error recorded)", "red"))
            if step.traceback:
                console.print(step.traceback.rstrip())
    for step in run.steps.values():
        hook = step.metadata.get(HOOK_ERROR)
        if isinstance(hook, dict):
            output.heading(
                console,
                f"step {step.step_id}: the {hook.get('hook')} hook {hook.get('function')} failed",
            )
            console.print(Styled(str(hook.get("error")), "red"))
            console.print(f"its traceback: bevel logs {run.name} {step.step_id}")


def _mapped_groups(steps: list[StepView]) -> list[list[StepView]]:
    """Steps in order, the calls of each mapped step (``evaluate[0]``...) as one group."""
    groups: dict[str, list[StepView]] = {}
    for step in steps:
        groups.setdefault(_base(step.step_id), []).append(step)
    return list(groups.values())


def _print_outputs(console: Screen, steps: list[StepView]) -> None:
    """One row per output; the calls of a mapped step and the elements of a list that a step
    is mapped over are one row each (``evaluate[0..19]``, ``output[0..19]``)."""
    rows: dict[tuple[str, str, bool], list[tuple[StepView, ArtifactView]]] = {}
    for step in steps:
        for name, artifact in step.outputs.items():
            key = (_base(step.step_id), _base(name), _base(name) != name)
            rows.setdefault(key, []).append((step, artifact))
    if not rows:
        return
    output.heading(console, "outputs")
    tbl = output.table(console, "step", "output", "type", "version", "artifact")
    for (step_id, name, _), found in rows.items():
        step, artifact = found[0]
        if len(found) == 1 and step.step_id == step_id:
            shown = (step.step_id, name, f"{artifact.name} v{artifact.version}")
            output.add_row(tbl, *shown[:2], fmt.type_name(artifact.type_ref), shown[2],
                           fmt.short_id(artifact.id))  # fmt: skip
            continue
        many = f"[0..{len(found) - 1}]"
        output.add_row(
            tbl,
            step_id + (many if step.step_id != step_id else ""),
            name + (many if step.step_id == step_id else ""),
            ", ".join(sorted({fmt.type_name(a.type_ref) for _, a in found})),
            f"{len(found)} artifacts",
            "",
        )
    output.emit(console, tbl)


def _base(name: str) -> str:
    """``evaluate[3]`` -> ``evaluate``; other names as they are."""
    base, sep, rest = name.rpartition("[")
    return base if sep and rest.endswith("]") and rest[:-1].isdigit() else name


def _print_metrics(console: Screen, run: RunView) -> None:
    """The last value of each metric, which steps logged it, and its series as a sparkline."""
    if not run.metric_series:
        return
    logged_by: dict[str, list[str]] = {}
    for step in run.steps.values():
        for key in step.metric_series:
            logged_by.setdefault(key, []).append(step.step_id)
    output.heading(console, "metrics")
    tbl = output.table(console, "metric", "value", "step", "series")
    for key, series in run.metric_series.items():
        output.add_row(
            tbl,
            key,
            fmt.metric(series.last),
            ", ".join(logged_by.get(key, [])),
            metrics.describe(series),
        )
    output.emit(console, tbl)


def _tracked(metadata: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An experiment tracker's links (metadata ``{"run_id": ..., "url": ...}``, e.g.
    ``mlflow``), shown as the URL of the tracked run rather than cut-off JSON."""
    return {
        k: v for k, v in metadata.items() if isinstance(v, dict) and {"run_id", "url"} <= v.keys()
    }


def _link(tracked: dict[str, Any]) -> str:
    return f"{tracked['url']} (run {tracked['run_id']})"


def _print_metadata(console: Screen, steps: list[StepView]) -> None:
    rows = [  # a tracked run's link in full: it is what one copies
        (s.step_id, k, _link(v) if k in _tracked(s.metadata) else fmt.value(v, 100))
        for s in steps
        for k, v in s.metadata.items()
    ]
    if not rows:
        return
    output.heading(console, "metadata")
    tbl = output.table(console, "step", "key", "value")
    for step_id, key, value in rows:
        output.add_row(tbl, step_id, key, value)
    output.emit(console, tbl)


@runs.command("delete")
@click.argument("run")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Delete even a run recorded as still running.")
@stack_option
def delete_run(run: str, yes: bool, force: bool, stack: str | None) -> None:
    """Delete a run, its records and the artifacts nothing else uses.

    Artifacts that other runs consumed or reused from the cache are kept.

    \b
    Example:
      bevel runs delete training-20240101-120000-ab12cd --yes
    """
    with open_client(stack) as client:
        view = client.get_run(run)
        if not yes:
            click.confirm(
                f"Delete run {view.name} ({fmt.short_id(view.id)}, pipeline {view.pipeline}, "
                f"{view.status.value}) and its artifacts?",
                abort=True,
            )
        done = client.delete_run(view.id, force=force)
        text = f"deleted run {view.name}; removed {len(done.removed)} artifact folder(s)"
        if done.removed:
            text += f" ({fmt.size(done.freed)})"
        if done.kept:
            text += (
                f"; {len(done.kept)} more no run uses were saved within the last hour while"
                " other runs are in progress: `bevel gc` removes them later"
            )
        click.echo(text)


@runs.command("explain")
@click.argument("run")
@click.argument("step")
@stack_option
def explain_step(run: str, step: str, stack: str | None) -> None:
    """Explain why a step was (or was not) taken from the cache.

    STEP is the step's invocation id (train, train_2) or its function name.

    \b
    Example:
      bevel runs explain training-20240101-120000-ab12cd train
    """
    with open_client(stack) as client:
        view = client.get_run(run).step(step)
        lines = view.explain()
        console = output.screen()
        if lines:
            console.print(Styled(lines[0], "bold"))
        for line in lines[1:]:
            console.print(f"  - {line}")
