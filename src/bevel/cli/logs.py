"""``bevel logs``: print what one step wrote to stdout, stderr and logging."""

from __future__ import annotations

import click

from bevel.cli.common import open_client, stack_option


@click.command()
@click.argument("run")
@click.argument("step")
@stack_option
def logs(run: str, step: str, stack: str | None) -> None:
    """Print the captured output of one step of a run.

    RUN is a run name, id or id prefix; STEP an invocation id (train_2) or function name.
    The logs are printed as they were captured, so they can be piped to grep or less.

    \b
    Example:
      bevel logs training-20240101-120000-ab12cd train | less
    """
    with open_client(stack) as client:
        view = client.get_run(run).step(step)
        text = view.logs()
    if text:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        click.echo(f"no output was captured for step {view.step_id}", err=True)
