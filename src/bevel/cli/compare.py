"""``bevel runs compare``: runs side by side, the fields that differ highlighted."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from bevel.cli import output
from bevel.cli.common import open_client, stack_option
from bevel.client import format as fmt
from bevel.errors import ConfigError


def _value(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column == "created":
        return fmt.timestamp(value.to_pydatetime() if hasattr(value, "to_pydatetime") else value)
    if column == "duration" or column.startswith("duration."):
        return fmt.duration(value)
    if isinstance(value, float):
        return fmt.metric(value)
    if isinstance(value, str):
        return value
    return fmt.value(value, 40) if not isinstance(value, bool | int) else json.dumps(value)


@click.command("compare")
@click.argument("runs", nargs=-1)
@click.option("--pipeline", "-P", help="With --last: runs of this pipeline.")
@click.option("--last", "-n", type=click.IntRange(min=2), help="Compare the N newest runs.")
@click.option("--diff", "only_diff", is_flag=True, help="Show only the fields that differ.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write an HTML report with charts to this file.",
)
@click.option("--metric", help="The metric of the report's parallel-coordinates chart.")
@click.option(
    "--trials", is_flag=True, help="A row per trial of each run's sweeps too (one run is enough)."
)
@stack_option
def compare(
    runs: tuple[str, ...],
    pipeline: str | None,
    last: int | None,
    only_diff: bool,
    html_path: Path | None,
    metric: str | None,
    trials: bool,
    stack: str | None,
) -> None:
    """Compare runs side by side: parameters, metrics (last values) and durations.

    RUNS are run names, ids or id prefixes. Fields whose values differ between the runs are
    highlighted (and marked with *).

    \b
    Examples:
      bevel runs compare training-20240101-120000-ab12cd training-20240102-090000-ef34ab
      bevel runs compare --last 5 --pipeline training --diff
      bevel runs compare run-a run-b run-c --html compare.html
      bevel runs compare tuned-20240101-120000-ab12cd --trials --diff
    """
    if not runs and last is None:
        raise ConfigError(
            "name the runs to compare, or use --last N",
            hint="bevel runs compare RUN_A RUN_B, or bevel runs compare --last 3 --pipeline training",
        )
    with open_client(stack) as client:
        chosen: list[Any] = list(runs)
        if last is not None:
            chosen += list(client.runs(pipeline=pipeline, limit=last))
        if len(chosen) < 2 and not trials:
            raise ConfigError(
                "comparing needs at least two runs",
                hint="name another run, or use --last 2 (or --trials: a sweep's trials)",
            )
        report = client.compare_report(chosen, metric=metric, trials=trials)
        table = report.frame
        if len(table.index) < 2:
            raise ConfigError(
                f"run {table.index[0]} has no sweep trials to compare",
                hint="name another run too, or a run of a pipeline with a step.sweep(...)",
            )
        diff = report.differing
        console = output.stdout()
        # a trial's column is named by its step id: its run's column is just before it
        names = [f.trial.step_id if f.trial is not None else f.name for f in report.facts]
        headers = ["", "field", *names]
        tbl = output.table(console, *headers)
        shown = 0
        for column in table.columns:
            differs = column in diff
            if only_diff and not differs:
                continue
            shown += 1
            style = "bold yellow" if differs else ("dim" if console.is_terminal else "")
            cells = [Text(_value(str(column), v), style=style) for v in table[column].tolist()]
            output.add_row(tbl, "*" if differs else "", Text(str(column), style=style), *cells)
        if shown:
            output.emit(console, tbl)
        console.print(
            f"{len(diff)} of {len(table.columns)} fields differ"
            + (" (marked *)" if diff else "")
            + (f"; {len(table.columns) - shown} equal fields hidden" if only_diff else "")
        )
        if html_path is not None:
            report.save(html_path)
            console.print(f"wrote {html_path}")
