"""``bevel logs``: print what one step wrote to stdout, stderr and logging, or follow it."""

from __future__ import annotations

import time

import click

from bevel.cli.common import open_client, stack_option
from bevel.client import format as fmt
from bevel.client.client import Client
from bevel.client.views import StepView
from bevel.errors import NotFound
from bevel.metadata.records import RunStatus, StepStatus


@click.command()
@click.argument("run")
@click.argument("step")
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep printing the step's output as it is written until the step ends "
    "(waiting for it to start, if the run has not reached it yet).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="Seconds between checks while following.",
)
@stack_option
def logs(run: str, step: str, follow: bool, interval: float, stack: str | None) -> None:
    """Print the captured output of one step of a run.

    RUN is a run name, id or id prefix; STEP an invocation id (train_2) or function name.
    The logs are printed as they were captured, so they can be piped to grep or less. A cached
    step ran nothing: its outputs, and the logs shown, come from the run that produced them.

    With --follow, a running step's output is printed as it is written, until the step ends.
    On a local artifact store that is live; object stores (S3...) receive a step's log when
    the step ends, so it is printed then.

    \b
    Examples:
      bevel logs training-20240101-120000-ab12cd train | less
      bevel logs -f training-20240101-120000-ab12cd train
    """
    with open_client(stack) as client:
        view = _wait_for_step(client, run, step, interval) if follow else None
        view = view or client.get_run(run).step(step)
        source = view.cached_source()
        if source is None and view.status is StepStatus.CACHED and view.cached_from:
            click.echo(
                f"step {view.step_id} was cached from step run {fmt.short_id(view.cached_from)} "
                "of a run that was deleted since; its logs were deleted with it",
                err=True,
            )
            return
        if source is not None:
            source_run = client.get_run(source.run_id)
            click.echo(
                f"step {view.step_id} was cached: its outputs come from step run "
                f"{fmt.short_id(source.id)} ({source.step_id} in run {source_run.name}); "
                "these are that run's logs",
                err=True,
            )
        if follow:
            _follow(view, interval)
            return
        text = view.logs()
        orphaned = _orphaned(view) if view.status is StepStatus.RUNNING else None
    if text:
        click.echo(text, nl=not text.endswith("\n"))
    if orphaned:  # says why nothing more will come
        click.echo(orphaned, err=True)
    elif text:
        return
    elif view.status is StepStatus.RUNNING:
        click.echo(
            f"step {view.step_id} is still running and has printed nothing here yet "
            f"(follow it with: bevel logs -f {run} {step})",
            err=True,
        )
    else:
        click.echo(f"no output was captured for step {(source or view).step_id}", err=True)


def _wait_for_step(client: Client, run: str, step: str, interval: float) -> StepView | None:
    """The step once it has started; None when the run ended without it (the caller's lookup
    then says which steps there are)."""
    view = client.get_run(run)
    planned = {s.get("id") for s in view.plan.get("steps", ())}
    planned |= {s.get("name") for s in view.plan.get("steps", ())}
    if planned and step not in planned and step not in {s.name for s in view.steps.values()}:
        raise NotFound(
            f"run {view.name!r} has no step {step!r}",
            hint=f"steps: {', '.join(s['id'] for s in view.plan['steps'] if 'id' in s)}",
        )
    waiting = False
    while True:
        try:
            return view.step(step)
        except NotFound:
            if view.status is not RunStatus.RUNNING:
                return None
            verdict = view.liveness  # read-only: a dead driver will never start the step
            if verdict is not None and verdict.dead:
                click.echo(
                    f"step {step} of run {view.name} has not started, and the process driving "
                    f"the run is gone ({verdict.reason}): it never will (bevel runs reap "
                    "records the run as failed)",
                    err=True,
                )
                raise click.exceptions.Exit(1) from None
        if not waiting:
            click.echo(f"waiting for step {step} of run {view.name} to start...", err=True)
            waiting = True
        time.sleep(interval)
        view = view.refresh()


def _follow(view: StepView, interval: float) -> None:
    if view.status is StepStatus.RUNNING and not view.logs_uri:
        click.echo(
            "(this artifact store receives a step's log when the step ends: waiting for it)",
            err=True,
        )
    for chunk in view.follow_logs(poll=interval):
        click.echo(chunk, nl=False)
    if view.status is not StepStatus.RUNNING:
        click.echo(f"step {view.step_id} {view.status.value}", err=True)
        return
    final = view.run().steps[view.step_id]
    if final.status is not StepStatus.RUNNING:
        click.echo(f"step {final.step_id} {final.status.value}", err=True)
        return
    # The follow stopped because nothing will end the step: its run's driver is gone.
    click.echo(_orphaned(final) or f"step {final.step_id} {final.status.value}", err=True)


def _orphaned(step: StepView) -> str | None:
    """For a RUNNING step that nothing will end (reads never reap), why; else None."""
    run = step.run()
    verdict = run.liveness
    if verdict is not None and not verdict.dead:
        return None
    why = (
        f"the process driving run {run.name} is gone ({verdict.reason})"
        if verdict is not None
        else f"run {run.name} ended ({run.status.value}) without ending it"
    )
    return (
        f"step {step.step_id} is recorded as running, but {why}: nothing will end it "
        "(bevel runs reap records it as failed)"
    )
