"""``bevel artifacts visualize``: an artifact's visualizations as one self-contained HTML file."""

from __future__ import annotations

import re
import webbrowser
from pathlib import Path

import click

from bevel.cli.common import open_client, stack_option


def default_name(name: str, version: int) -> str:
    """``training.split.train-v3.html``: the artifact's name, made safe for a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{name}-v{version}") + ".html"


@click.command("visualize")
@click.argument("artifact_id", metavar="ID")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The HTML file to write (default: <artifact name>-v<version>.html here).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the file in a web browser.")
@stack_option
def visualize(artifact_id: str, output: Path | None, open_browser: bool, stack: str | None) -> None:
    """Write an artifact's visualizations to one self-contained HTML file.

    Statistics and previews of DataFrames, arrays, figures, images, reports...: whatever
    was stored with the artifact when it was saved, read from its artifact store. The file
    has no external references and works offline.

    \b
    Examples:
      bevel artifacts visualize 1a2b3c4d --open
      bevel artifacts visualize training.load.output -o load.html
    """
    with open_client(stack) as client:
        art = client.get_artifact(artifact_id)
        shown = art.visualize()
    target = output or Path(default_name(art.name, art.version))
    target.parent.mkdir(parents=True, exist_ok=True)
    shown.save(target)
    click.echo(f"wrote {target} ({', '.join(shown.names)} of {art.name} v{art.version})")
    if open_browser and not webbrowser.open(target.resolve().as_uri()):
        click.echo(f"no web browser found here: open {target.resolve()} yourself")
