"""``bevel doctor``: check the project's stores and say where bevel's files are; changes nothing.

What an error about a damaged ``metadata.db`` or a read-only ``.bevel/`` points to. The parts
are checked in the order they depend on each other (the home folder, the home metadata store,
the stack, its artifact store); a part that cannot be checked because an earlier one failed says
so. The exit status is 1 when anything is a problem, so a script can use it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.text import Text

from bevel.cli import output
from bevel.cli.common import stack_option
from bevel.client import format as fmt
from bevel.errors import BevelError
from bevel.metadata.base import RunFilter
from bevel.metadata.sql.engine import mask_url
from bevel.metadata.sql.health import Finding, check_database
from bevel.settings import ENV_HOME, ENV_STORE_URL, Settings, load_settings
from bevel.stack.home import home_metadata_flavor, shown_url

if TYPE_CHECKING:
    from bevel.stack.stack import Stack

_SQL_FLAVORS = ("sqlite", "postgresql", "mysql")
_STYLES = {"ok": "green", "note": "yellow", "problem": "bold red"}


class _Report:
    """Prints sections of findings and counts the problems."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.problems = 0

    def section(self, title: str, where: str, findings: Iterable[Finding]) -> bool:
        """Print one part; True when nothing in it is a problem."""
        bold = "bold" if self.console.is_terminal else ""
        self.console.print(Text(f"{title:<10}", style=bold) + Text(where))
        ok = True
        for finding in findings:
            label = Text(f"  {finding.level:<8}", style=_STYLES[finding.level])
            self.console.print(label + Text(finding.what))
            if finding.hint:
                self.console.print(Text("          hint: ", style="yellow") + Text(finding.hint))
            if finding.level == "problem":
                ok = False
                self.problems += 1
        return ok


@click.command("doctor")
@stack_option
def doctor(stack: str | None) -> None:
    """Check the project's stores; say where bevel's files are.

    Reads only: nothing recorded is changed. Checks the home folder (.bevel/), the home metadata store (a SQLite file is opened
    read-only and integrity-checked; a server database is connected to), then the stack and
    its artifact store. Exits with status 1 when something is a problem, each with a hint.

    \b
    Examples:
      bevel doctor
      bevel doctor --stack team
    """
    settings = load_settings(create=False)
    report = _Report(output.stdout())
    home_ok = report.section("home", _home_origin(settings), _check_home(settings.home))
    url = settings.database_url
    flavor = home_metadata_flavor(url)
    shown = mask_url(url) if flavor in _SQL_FLAVORS else shown_url(url)
    where = f"{shown} (flavor {flavor}, from {_store_origin(settings)})"
    if not home_ok and not settings.store_url:
        findings = [Finding("note", "not checked: the home folder is not usable")]
    elif flavor in _SQL_FLAVORS:
        findings = check_database(url)
    else:
        findings = _probe_home_store(settings)
    if report.section("metadata", where, findings):
        _check_stack(report, stack, settings)
    else:
        report.section("stack", stack or "(active)", [Finding("note", "not checked: see above")])
    if report.problems:
        raise SystemExit(1)


def _home_origin(settings: Settings) -> str:
    origin = f"${ENV_HOME}" if os.environ.get(ENV_HOME) else "found from the working directory"
    return f"{settings.home} ({origin})"


def _store_origin(settings: Settings) -> str:
    return f"${ENV_STORE_URL}" if settings.store_url else "the home folder"


def _check_home(home: Path) -> list[Finding]:
    if not home.exists():
        return [Finding("note", "does not exist yet: the first run (or bevel init) creates it")]
    if not home.is_dir():
        return [
            Finding(
                "problem",
                "is a file, not a folder",
                hint=f"point ${ENV_HOME} at a folder, or move the file away",
            )
        ]
    if not os.access(home, os.R_OK | os.X_OK):
        return [Finding("problem", "this user cannot read it", hint=f"ask its owner ({home})")]
    found = [Finding("ok", "files: " + (_listing(home) or "none yet"))]
    if os.access(home, os.W_OK):
        found.append(Finding("ok", "the folder is writable"))
    else:
        found.append(
            Finding(
                "note",
                "the folder is read-only here: reading works (bevel runs list, Client()), runs"
                " and other changes do not",
                hint=f"give write access (chmod -R u+w {home}), or work on a copy"
                f" (cp -a {home} /path/to/copy && export {ENV_HOME}=/path/to/copy)",
            )
        )
    return found


def _listing(home: Path) -> str:
    parts = []
    for entry in sorted(home.iterdir()):
        if entry.is_dir():
            parts.append(f"{entry.name}/")
        else:
            parts.append(f"{entry.name} ({fmt.size(entry.stat().st_size)})")
    return ", ".join(parts)


def _probe_home_store(settings: Settings) -> list[Finding]:
    """A home store of another flavor (a REST store): one read, through its own errors."""
    from bevel.stack.home import home_metadata_store

    try:
        store = home_metadata_store(settings)
        try:
            store.list_runs(RunFilter(limit=1))
        finally:
            store.close()
    except BevelError as err:
        return [Finding("problem", err.message, err.hint)]
    return [Finding("ok", "reachable: listing runs works")]


def _check_stack(report: _Report, name: str | None, settings: Settings) -> None:
    from bevel.stack.active import resolve_stack
    from bevel.stack.build import build_stack

    try:
        choice = resolve_stack(name, settings)
        built = build_stack(choice.name, settings)
    except BevelError as err:
        report.section("stack", name or "(active)", [Finding("problem", err.message, err.hint)])
        return
    try:
        members = ", ".join(f"{t} {n}" for t, n in built.component_names.items())
        report.section("stack", f"{choice.name} ({choice.reason})", [Finding("ok", members)])
        if built.component_names.get("metadata_store") != "home-metadata":
            url = str(built.metadata_store.url)
            if home_metadata_flavor(url) == "sqlite":  # read as a file: opening would create it
                report.section("metadata", url, check_database(url))
            else:
                report.section("metadata", url, _probe(built))
        report.section("artifacts", built.artifact_store.uri(""), _check_artifacts(built))
    finally:
        built.close()


def _probe(built: Stack) -> list[Finding]:
    """The stack's own metadata store (not the home one): one read through its errors."""
    try:
        built.metadata_store.list_runs(RunFilter(limit=1))
    except BevelError as err:
        return [Finding("problem", err.message, err.hint)]
    return [Finding("ok", "reachable: listing runs works")]


def _check_artifacts(built: Stack) -> list[Finding]:
    store = built.artifact_store
    root = store.local_path("")
    if root is None:  # a remote store: one listing through its own (guarded) errors
        try:
            store.exists("data")
        except BevelError as err:
            return [Finding("problem", err.message, err.hint)]
        return [Finding("ok", "reachable")]
    folder = Path(root)
    if not folder.exists():
        return [Finding("note", "does not exist yet: the first saved artifact creates it")]
    if not folder.is_dir():
        return [Finding("problem", "is not a folder", hint=f"move {folder} away")]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [
            Finding(
                "note",
                "read-only here: loading artifacts works, saving them does not",
                hint=f"give write access (chmod -R u+w {folder})",
            )
        ]
    return [Finding("ok", "the folder exists and is writable")]
