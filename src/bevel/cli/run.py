"""``bevel run``: load a pipeline from a file, run it with live progress, print a summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from bevel.api import load_pipeline, run_pipeline
from bevel.cli import output
from bevel.cli.common import stack_option
from bevel.cli.output import Screen
from bevel.cli.params import parse_params
from bevel.cli.plain import Styled
from bevel.cli.progress import LiveProgress, PlainProgress
from bevel.client import format as fmt
from bevel.client.views import RunView
from bevel.errors import ConfigError
from bevel.metadata.records import RunStatus, StepStatus


def _params_callback(
    ctx: click.Context, param: click.Parameter, value: Sequence[str]
) -> dict[str, Any]:
    try:
        return parse_params(value)
    except ConfigError as err:
        raise click.BadParameter(f"{err.message} ({err.hint})", ctx=ctx, param=param) from None


@click.command()
@click.argument("target")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_params_callback,
    help="A pipeline parameter; the value is read as JSON/YAML (0.5, abc, [1,2]). Repeatable.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A YAML run config (parameters, step settings).",
)
@click.option("--no-cache", is_flag=True, help="Run every step, even when cached outputs exist.")
@click.option(
    "--no-visualize",
    is_flag=True,
    help="Store no visualizations (statistics, previews) with this run's artifacts.",
)
@click.option(
    "--name",
    "run_name",
    help="A name for this run, or a template: {date}, {time}, {pipeline}, {id}, {n} (a counter); "
    "default <pipeline>-<date>-<time>-<id>.",
)
@stack_option
def run(
    target: str,
    params: dict[str, Any],
    config_file: str | None,
    no_cache: bool,
    no_visualize: bool,
    run_name: str | None,
    stack: str | None,
) -> None:
    """Run a pipeline defined in a Python file.

    TARGET is FILE.py:PIPELINE, or just FILE.py when the file defines exactly one pipeline.
    The exit code is 0 when the run completed, 1 when a step failed, 130 when it was
    cancelled (Ctrl-C, `bevel runs cancel`).

    \b
    Examples:
      bevel run pipelines/train.py:training
      bevel run train.py -p C=0.5 -p features=[age,income] --name baseline
      bevel run train.py:training --config configs/large.yaml --no-cache
      bevel run train.py:training --stack team
    """
    pipeline = load_pipeline(target)
    console = output.screen()
    listener = progress_for(console)
    try:
        view = run_pipeline(
            pipeline,
            params=params or None,
            config=config_file,
            run_name=run_name,
            enable_cache=False if no_cache else None,
            visualize=False if no_visualize else None,
            stack=stack,
            listener=listener,
            raise_on_failure=False,
        )
    finally:
        listener.close()
    print_summary(console, view)
    exit_for(view)


def progress_for(console: Screen) -> LiveProgress | PlainProgress:
    """The live bar on a terminal, one line per finished step elsewhere (without rich)."""
    return LiveProgress(console.rich) if console.is_terminal else PlainProgress(console)


def exit_for(view: RunView) -> None:
    """Say why a run did not complete, and exit 1 (failed) or 130 (cancelled)."""
    if view.status is RunStatus.COMPLETED:
        return
    print_failure(output.screen(stderr=True), view)
    raise click.exceptions.Exit(130 if view.status is RunStatus.CANCELLED else 1)


def print_summary(console: Screen, view: RunView) -> None:
    """The step table, then one line with the outcome, the run name and id."""
    tbl = output.table(console, "step", "status", "duration", "cached")
    for step in view.steps.values():
        cached = f"from {fmt.short_id(step.cached_from)}" if step.cached_from else ""
        output.add_row(
            tbl,
            step.step_id,
            output.styled_status(step.status.value),
            fmt.duration(step.duration),
            cached,
        )
    console.print()
    output.emit(console, tbl)
    counts = view.counts
    console.print(
        [
            Styled("run "),
            Styled(view.name, "bold"),
            Styled(" "),
            output.styled_status(view.status.value),
            Styled(
                f" in {fmt.duration(view.duration)}: {counts.completed} ran, {counts.cached} cached"
                + (f", {counts.failed} failed" if counts.failed else "")
            ),
            Styled(f"  (id {view.id})", "dim"),
        ]
    )


def print_failure(console: Screen, view: RunView) -> None:
    """For each failed step: its error headline, the user's line it came from, and the error's
    own hint (how to fix *this* error); then where to read the full traceback."""
    failed = [s for s in view.steps.values() if s.status is StepStatus.FAILED]
    for step in failed:
        headline, hint = output.error_parts(step.error)
        console.print(
            [
                Styled("step ", "bold red"),
                Styled(step.step_id, "bold red"),
                Styled(" failed: ", "bold red"),
                Styled(headline or "(no error recorded)"),
            ]
        )
        at = output.user_location(step.traceback)
        if at and at.partition(" ")[0] not in headline:
            console.print(Styled(f"  at {at}", "dim"))
        if hint:
            console.print([Styled("hint: ", "yellow"), Styled(hint)])
    if not failed and view.error:
        console.print(Styled(f"run {view.status.value}: {fmt.first_line(view.error)}", "bold red"))
    if view.status is RunStatus.FAILED:
        console.print(Styled(f"the full error and traceback: bevel runs show {view.name}"))
