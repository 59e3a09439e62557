"""The ``bevel`` command: a click group whose subcommands are imported only when used.

``bevel --help`` imports click and this module, nothing else (no rich, no SQLAlchemy, no engine):
the command list and its one-line descriptions come from :data:`COMMANDS`, and a subcommand's
module is imported only when it runs or its own ``--help`` is asked. ``tests/cli`` proves it.

Errors: a known :class:`~bevel.errors.BevelError` prints a red headline and a ``hint:`` line,
without a traceback (exit 1, 2 for configuration errors, 130 for a cancelled run); anything else
is a bug and prints its traceback (exit 1); Ctrl-C exits 130, SIGTERM 143 (128 + the signal).
A :class:`~bevel.errors.BevelWarning` (a failing hook, a version mismatch) prints as one yellow
``warning: ...`` line, not in Python's ``file:line: BevelWarning`` format that names bevel's
own source line.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

import bevel
from bevel._lazy import lazy_module
from bevel.errors import BevelError, BevelWarning, ConfigError
from bevel.redaction import redact

if TYPE_CHECKING:
    import difflib
    import traceback
else:  # a mistyped command and a crash need these; a command that works does not
    difflib = lazy_module("difflib")
    traceback = lazy_module("traceback")

#: name -> ("module:attribute", one-line help). The help is shown by ``bevel --help`` without
#: importing the module; a test checks it matches the first line of the command's own help.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("bevel.cli.init:init", "Create a .bevel/ folder here to hold runs and artifacts."),
    "run": ("bevel.cli.run:run", "Run a pipeline defined in a Python file."),
    "runs": (
        "bevel.cli.runs:runs",
        "List, inspect, explain, cancel, resume and delete recorded runs.",
    ),
    "logs": ("bevel.cli.logs:logs", "Print the captured output of one step of a run."),
    "pipelines": ("bevel.cli.pipelines:pipelines", "List the pipelines that have run."),
    "artifacts": ("bevel.cli.artifacts:artifacts", "List artifacts and show their lineage."),
    "models": (
        "bevel.cli.models:models",
        "Models and versions: promote, serve, deploy, audit log.",
    ),
    "gc": ("bevel.cli.gc:gc", "Remove artifact files that no record refers to any more."),
    "doctor": (
        "bevel.cli.doctor:doctor",
        "Check the project's stores; say where bevel's files are.",
    ),
    "stack": (
        "bevel.cli.stack:stack",
        "Register, list, describe, switch, delete, export and import stacks.",
    ),
    "component": (
        "bevel.cli.component:component",
        "Register, list, describe, update and delete stack components.",
    ),
    "flavor": (
        "bevel.cli.flavor:flavor",
        "List the flavors of each component type and their settings.",
    ),
    "secret": (
        "bevel.cli.secret:secret",
        "Create, list, inspect and delete encrypted secrets.",
    ),
    "server": (
        "bevel.cli.server:server",
        "Start the bevel server; manage its users and API keys.",
    ),
    "login": (
        "bevel.cli.login:login",
        "Log in to a bevel server and store its API key.",
    ),
    "dashboard": (
        "bevel.cli.dashboard:dashboard",
        "Open this project's runs in the web dashboard (127.0.0.1 only).",
    ),
}

#: Subcommands kept in their own modules: group name -> {subcommand: "module:attribute"}. They
#: are attached when their group loads (their modules import only what the group already has).
SUBCOMMANDS: dict[str, dict[str, str]] = {
    "artifacts": {"visualize": "bevel.cli.visualize:visualize"},
}

EXIT_ERROR = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


def load_command(name: str) -> click.Command:
    """Import the module behind ``name`` in :data:`COMMANDS` and return its click command."""
    module_name, _, attr = COMMANDS[name][0].partition(":")
    command = getattr(importlib.import_module(module_name), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{COMMANDS[name][0]} is not a click command")
    if isinstance(command, click.Group):
        for sub_name, ref in SUBCOMMANDS.get(name, {}).items():
            if sub_name not in command.commands:
                sub_module, _, sub_attr = ref.partition(":")
                command.add_command(
                    getattr(importlib.import_module(sub_module), sub_attr), sub_name
                )
    return command


def _exit_code(err: BevelError) -> int:
    if isinstance(err, ConfigError):
        return EXIT_CONFIG
    return EXIT_ERROR


class LazyGroup(click.Group):
    """A group listing commands from :data:`COMMANDS`, importing each only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *super().list_commands(ctx)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # click suggests close matches among loaded commands only; suggest from the table.
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in self.list_commands(ctx):
            matches = difflib.get_close_matches(name, self.list_commands(ctx))
            suggestion = f" Did you mean {matches[0]!r}?" if matches else ""
            ctx.fail(f"No such command {name!r}.{suggestion}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, short_help) for name, (_, short_help) in COMMANDS.items()]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        with warnings.catch_warnings():  # restores the filters and showwarning afterwards
            warnings.simplefilter("default", BevelWarning)  # shown, never raised, by the CLI
            warnings.showwarning = _warning_printer(warnings.showwarning)
            return self._invoke(ctx)

    def _invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BevelError as err:
            _render_error(err)
            ctx.exit(_exit_code(err))
        except KeyboardInterrupt as interrupt:
            # bevel.run.interrupts.Terminated carries the signal (SIGTERM): exit as the shell
            # would for it (128 + signal number), and say so rather than "interrupted".
            signum = getattr(interrupt, "signum", None)
            if isinstance(signum, int):
                name = getattr(interrupt, "signal_name", f"signal {signum}")
                click.echo(f"terminated by {name}", err=True)
                ctx.exit(128 + signum)
            click.echo("interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception:
            click.echo(redact(traceback.format_exc()), err=True, nl=False)
            click.echo("bevel: unexpected error (the traceback is above)", err=True)
            ctx.exit(EXIT_ERROR)


def _warning_printer(python_default: Any) -> Any:
    """``warnings.showwarning`` for the CLI: bevel's own warnings as ``warning: ...`` lines."""

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, BevelWarning):
            click.echo(click.style(f"warning: {message}", fg="yellow"), err=True)
        else:
            python_default(message, category, filename, lineno, file, line)

    return show


def _render_error(err: BevelError) -> None:
    # Imported on the error path only: rich must not load for `bevel --help` (see module doc).
    output = importlib.import_module("bevel.cli.output")
    output.render_error(err)


CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(name="bevel", cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(bevel.__version__, "--version", "-V", prog_name="bevel")
def cli() -> None:
    """bevel: typed Python ML pipelines, recorded, cached, and stack-swappable.

    State lives in the nearest .bevel/ folder (like .git), or in $BEVEL_HOME.

    \b
    Examples:
      bevel init
      bevel run pipelines/train.py:training -p C=0.5
      bevel runs list --pipeline training
      bevel runs show training-20240101-120000-ab12cd
      bevel stack set team
    """


def main(argv: Sequence[str] | None = None, *, prog_name: str = "bevel") -> None:
    """Console-script entry point (``bevel``; ``python -m bevel`` passes its own ``prog_name``)."""
    cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name=prog_name)
