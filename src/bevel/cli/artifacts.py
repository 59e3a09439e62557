"""``bevel artifacts``: list artifacts and show one with its lineage."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bevel.cli import output
from bevel.cli.common import LIMIT, open_client, stack_option
from bevel.client import format as fmt
from bevel.client.preview import preview
from bevel.client.views import ArtifactView, StepView


@click.group()
def artifacts() -> None:
    """List artifacts and show their lineage.

    \b
    Examples:
      bevel artifacts list --name training.train.output
      bevel artifacts show 1a2b3c4d
    """


@artifacts.command("list")
@click.option("--name", "-N", help="Only versions of the artifact with this name.")
@click.option("--run", "-r", help="Only artifacts produced by this run (name or id).")
@click.option("--limit", "-n", type=LIMIT, default=20, show_default=True)
@stack_option
def list_artifacts(name: str | None, run: str | None, limit: int, stack: str | None) -> None:
    """List artifacts, newest first.

    \b
    Example:
      bevel artifacts list --name training.train.output --limit 5
    """
    with open_client(stack) as client:
        found = client.artifacts(name=name, run=run, limit=limit)
    console = output.stdout()
    if not found:
        console.print("no artifacts found")
        return
    output.emit(console, _artifact_table(console, found))


def _artifact_table(
    console: Console, found: Sequence[ArtifactView], title: str | None = None
) -> Table:
    tbl = output.table(console, "id", "name", "version", "type", "size", "created", title=title)
    for art in found:
        output.add_row(
            tbl,
            fmt.short_id(art.id),
            art.name,
            art.version,
            fmt.type_name(art.type_ref),
            fmt.size(art.size),
            fmt.timestamp(art.created),
        )
    return tbl


def _step_table(console: Console, steps: Sequence[StepView], title: str) -> Table:
    tbl = output.table(console, "step", "status", "run", "step run", title=title)
    for step in steps:
        output.add_row(
            tbl,
            step.step_id,
            output.status(step.status.value),
            fmt.short_id(step.run_id),
            fmt.short_id(step.id),
        )
    return tbl


@artifacts.command("show")
@click.argument("artifact_id", metavar="ID")
@click.option(
    "--value/--no-value",
    default=True,
    show_default=True,
    help="Print the value (small artifacts; the first rows of a DataFrame).",
)
@stack_option
def show_artifact(artifact_id: str, value: bool, stack: str | None) -> None:
    """Show an artifact: its value, metadata, producer, consumers, lineage and where its files
    are.

    ID is the artifact id or a unique prefix of it (as printed by `bevel artifacts list`). The
    value is printed when it is cheap to read: numbers, strings, small lists and dicts (up to
    1 MB on disk, cut at 40 lines), the first rows of a DataFrame or Series and the corners of
    an array whatever their size; pickled artifacts are not loaded.

    \b
    Example:
      bevel artifacts show 1a2b3c4d
    """
    console = output.stdout()
    with open_client(stack) as client:
        art = client.get_artifact(artifact_id)
        shown = preview(client, art) if value else None
        producer = art.producer()
        consumers = art.consumers()
        upstream = list(producer.inputs.values()) if producer else []
        downstream = list({a.id: a for s in consumers for a in s.outputs.values()}.values())
        path = art.path()
    made_by = "-"
    if producer:
        made_by = f"{producer.step_id} (step run {fmt.short_id(producer.id)}, run {fmt.short_id(producer.run_id)})"
    output.fields(
        console,
        [
            ("artifact", Text(f"{art.name} v{art.version}", style="bold")),
            ("id", art.id),
            ("type", art.type_ref or "-"),
            ("materializer", f"{art.materializer} (version {art.materializer_version})"),
            ("size", fmt.size(art.size)),
            ("content hash", art.content_hash),
            ("created", fmt.timestamp(art.created)),
            ("produced by", made_by),
            ("path", path),
        ]
        + ([("pickled with", f"Python {art.python_version}")] if art.python_version else []),
    )
    if shown is not None:
        output.heading(console, "value")
        if shown.text is not None:
            console.print(Text(shown.text))
        else:
            console.print(Text(f"(not shown: {shown.reason})", style="dim"))
    if art.metadata:
        output.heading(console, "metadata")
        output.fields(console, [(k, fmt.value(v, 120)) for k, v in art.metadata.items()])
    if art.visualizations:
        output.heading(console, "visualizations")
        output.fields(console, list(art.visualizations.items()))
    if consumers:
        console.print()
        output.emit(console, _step_table(console, consumers, "consumers"))
    lineage = (
        ("upstream (inputs of the producer)", upstream),
        ("downstream (outputs of consumers)", downstream),
    )
    for title, arts in lineage:
        if arts:
            console.print()
            output.emit(console, _artifact_table(console, arts, title))
