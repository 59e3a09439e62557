"""``bevel flavor``: the flavors each component type can have, built-in and from packages."""

from __future__ import annotations

import click
from rich.text import Text

from bevel.cli import output
from bevel.cli.definitions import show
from bevel.stack.config import config_fields
from bevel.stack.flavors import Flavor, get_flavor, list_flavors
from bevel.stack.stack import COMPONENT_TYPES

_TYPES = click.Choice(COMPONENT_TYPES)


@click.group()
def flavor() -> None:
    """List the flavors of each component type and their settings.

    Built-in flavors come with bevel; packages add more through the 'bevel.flavors' entry
    point. A flavor's settings are the --key value options of `bevel component register`.

    \b
    Examples:
      bevel flavor list
      bevel flavor list artifact_store
      bevel flavor describe artifact_store s3
    """


def _fields(flv: Flavor) -> str:
    try:
        fields = config_fields(flv.config_class())
    except Exception as err:  # a broken third-party config class must not hide the others
        return f"(cannot load its config: {type(err).__name__}: {err})"
    return ", ".join(f.name + ("*" if f.required else "") for f in fields) or "-"


@flavor.command("list")
@click.argument("type_", metavar="[TYPE]", type=_TYPES, required=False)
def list_(type_: str | None) -> None:
    """List flavors (of one TYPE) with their settings; * marks the required ones.

    \b
    Examples:
      bevel flavor list
      bevel flavor list metadata_store
    """
    flavors, problems = list_flavors(type_)
    console = output.stdout()
    tbl = output.table(
        console, "type", "flavor", "provided by", "installed", "settings (* required)"
    )
    for column in tbl.columns[:4]:  # names stay whole; the settings list wraps instead
        column.no_wrap = True
    for flv in flavors:
        missing = flv.missing()
        installed = (
            Text("yes", style="green")
            if not missing
            else Text(f"no: {flv.install_hint(missing[0])}", style="yellow")
        )
        output.add_row(tbl, flv.type, flv.name, flv.provider, installed, _fields(flv))
    output.emit(console, tbl)
    for problem in problems:
        output.stderr().print(Text(f"warning: {problem}", style="yellow"))


@flavor.command("describe")
@click.argument("type_", metavar="TYPE", type=_TYPES)
@click.argument("name")
def describe(type_: str, name: str) -> None:
    """Show one flavor: what it is, what it needs, and each setting with its help.

    \b
    Example:
      bevel flavor describe artifact_store s3
    """
    flv = get_flavor(type_, name)
    console = output.stdout()
    missing = flv.missing()
    output.fields(
        console,
        [
            ("flavor", Text(f"{flv.type}/{flv.name}", style="bold")),
            ("about", flv.description or "-"),
            ("provided by", flv.provider),
            ("remote", "yes: usable from other machines" if flv.remote else "no"),
            ("needs", ", ".join(flv.requires) or "-"),
            ("installed", "yes" if not missing else f"no: {flv.install_hint(missing[0])}"),
        ],
    )
    output.heading(console, "settings")
    tbl = output.table(console, "option", "type", "default", "help")
    for f in config_fields(flv.config_class()):
        default = "(required)" if f.required else show(f.default)
        about = f.help + (" [sensitive: masked]" if f.sensitive else "")
        output.add_row(tbl, f.option, f.type_name, default, about)
    output.emit(console, tbl)
