"""``bevel pipelines``: the pipelines recorded in this project."""

from __future__ import annotations

import click

from bevel.cli import output
from bevel.cli.common import open_client, stack_option
from bevel.client import format as fmt


@click.group()
def pipelines() -> None:
    """List the pipelines that have run.

    \b
    Example:
      bevel pipelines list
    """


@pipelines.command("list")
@stack_option
def list_pipelines(stack: str | None) -> None:
    """List pipelines with their number of runs and last run time.

    \b
    Example:
      bevel pipelines list
    """
    with open_client(stack) as client:
        found = client.pipelines()
    console = output.stdout()
    if not found:
        console.print("no pipelines have run yet (try: bevel run my_file.py:my_pipeline)")
        return
    tbl = output.table(console, "pipeline", "runs", "last run", "source")
    for pipe in found:
        output.add_row(tbl, pipe.name, pipe.runs, fmt.timestamp(pipe.last_run), pipe.source)
    output.emit(console, tbl)
