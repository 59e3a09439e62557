"""``bevel runs cancel`` and ``bevel runs resume``: commands that change runs, loaded only when
used (``bevel runs list`` imports none of the run path)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

import click

from bevel._system import hostname
from bevel.api import resume_run
from bevel.cli import output
from bevel.cli.common import stack_option
from bevel.cli.run import exit_for, print_summary, progress_for
from bevel.errors import ConfigError, StatusConflict
from bevel.metadata.records import RunStatus
from bevel.stack.build import build_stack


@click.command("cancel")
@click.argument("run")
@stack_option
def cancel(run: str, stack: str | None) -> None:
    """Cancel a running run, from any terminal or machine that reaches its stack.

    The run is recorded cancelled at once, with its running steps; the process driving it
    notices within seconds, stops its steps (worker processes are killed; Dask tasks are
    cancelled, and what a task still running writes later is refused) and exits.

    \b
    Example:
      bevel runs cancel training-20240101-120000-ab12cd
    """
    built = build_stack(stack)
    try:
        store = built.metadata_store
        found = store.get_run(run)
        if found.status is not RunStatus.RUNNING:
            raise ConfigError(
                f"run {found.name} is not running (it {found.status.value}): nothing to cancel",
                hint=f"see what happened with: bevel runs show {found.name}",
            )
        who = f"{getpass.getuser()}@{hostname()}"
        try:
            store.finish_run(
                found.id,
                RunStatus.CANCELLED,
                ended=datetime.now(UTC),
                error=f"cancelled with `bevel runs cancel` by {who}",
            )
        except StatusConflict as conflict:
            raise ConfigError(
                f"run {found.name} ended ({conflict.current}) before it could be cancelled",
                hint=f"see what happened with: bevel runs show {found.name}",
            ) from conflict
        click.echo(
            f"cancelled run {found.name}; its driver ({found.host or 'unknown'}) stops its steps"
            " within seconds"
        )
    finally:
        built.close()


@click.command("resume")
@click.argument("run")
@stack_option
def resume(run: str, stack: str | None) -> None:
    """Run a failed or cancelled run again as a new run: the steps it completed are reused, the
    rest run with the code as it is now. The new run records which run it resumes. A run whose
    driver died (still recorded running) is reaped first: recorded failed, then resumed.

    \b
    Example:
      bevel runs resume training-20240101-120000-ab12cd
    """
    console = output.screen()
    listener = progress_for(console)
    try:
        view = resume_run(run, stack=stack, listener=listener, raise_on_failure=False)
    finally:
        listener.close()
    print_summary(console, view)
    exit_for(view)
