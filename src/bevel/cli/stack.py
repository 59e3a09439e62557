"""``bevel stack``: register, list, describe, switch, delete, export and import stacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml
from rich.text import Text

from bevel.bounded import load_yaml_file
from bevel.cli import output
from bevel.cli.definitions import confirm, open_definitions, show
from bevel.errors import ConfigError, NotFound
from bevel.settings import ENV_STACK
from bevel.stack.active import set_active_stack
from bevel.stack.portable import export_stack, import_stack, masked
from bevel.stack.stack import BUILTIN_COMPONENTS, COMPONENT_TYPES, DEFAULT_STACK

# --orchestrator/-o, --artifact-store/-a, ...: one option per component type.
_SHORT = {
    "orchestrator": "-o",
    "artifact_store": "-a",
    "metadata_store": "-m",
    "experiment_tracker": "-e",
}


@click.group()
def stack() -> None:
    """Register, list, describe, switch, delete, export and import stacks.

    A stack names one component per type: an orchestrator and an artifact store (required),
    a metadata store (default: the home metadata store, home-metadata), and optionally an
    experiment tracker (sent each run's parameters and metrics) and an alerter (told when a
    run fails or is cancelled). The built-in 'default' stack (local, local-artifacts,
    home-metadata) always exists.

    The stack used is: --stack NAME, else $BEVEL_STACK, else the one chosen with
    `bevel stack set`, else 'default'.

    \b
    Examples:
      bevel stack register team -o local -a s3-store -m team-db
      bevel stack set team
      bevel stack export team > stack.yaml
    """


def _type_options(func: Any) -> Any:
    for type_ in reversed(COMPONENT_TYPES):
        flag = "--" + type_.replace("_", "-")
        decls = [flag, _SHORT[type_]] if type_ in _SHORT else [flag]
        default = {
            "orchestrator": " (default: local)",
            "metadata_store": " (default: home-metadata)",
        }
        help_ = f"The {type_} component{default.get(type_, '')}."
        func = click.option(*decls, type_, metavar="COMPONENT", help=help_)(func)
    return func


@stack.command("register")
@click.argument("name")
@_type_options
@click.option("--set", "make_active", is_flag=True, help="Make it the active stack too.")
@click.option("--force", is_flag=True, help="Overwrite a stack of the same name.")
def register(name: str, make_active: bool, force: bool, **components: str | None) -> None:
    """Register a stack from existing components.

    The orchestrator defaults to the built-in 'local' and the metadata store to the home
    metadata store (home-metadata), so an artifact store is the one component you must name.

    \b
    Examples:
      bevel stack register team -o local -a s3-store -m team-db
      bevel stack register scratch -a scratch-store --set
    """
    if not components.get("orchestrator"):
        components["orchestrator"] = BUILTIN_COMPONENTS["orchestrator"]
    with open_definitions() as defs:
        record = defs.register_stack(name, components, replace=force)
        if make_active:
            set_active_stack(defs.settings, name)
    members = ", ".join(f"{t}={c}" for t, c in record.components.items())
    click.echo(f"registered stack {name}: {members}")
    if make_active:
        click.echo(f"active stack is now {name}")


@stack.command("list")
def list_stacks() -> None:
    """List stacks; the active one is marked with *.

    \b
    Example:
      bevel stack list
    """
    with open_definitions(read_only=True) as defs:
        stacks = defs.list_stacks()
        active = defs.chosen()
    console = output.stdout()
    tbl = output.table(
        console, "", "stack", "orchestrator", "artifact store", "metadata store", "other"
    )
    for record in stacks:
        parts = dict(record.components)
        others = [f"{t}={parts[t]}" for t in COMPONENT_TYPES[3:] if t in parts]
        output.add_row(
            tbl,
            "*" if record.name == active.name else "",
            Text(record.name, style="bold" if record.name == active.name else ""),
            parts.get("orchestrator", "-"),
            parts.get("artifact_store", "-"),
            parts.get("metadata_store", "-"),
            ", ".join(others),
        )
    output.emit(console, tbl)


@stack.command("describe")
@click.argument("name", required=False)
def describe(name: str | None) -> None:
    """Show a stack (default: the active one) with each component's settings, masked.

    \b
    Examples:
      bevel stack describe
      bevel stack describe team
    """
    with open_definitions(read_only=True) as defs:
        active = defs.chosen()
        record = defs.get_stack(name or active.name)
        components = {t: defs.get_component(c) for t, c in record.components.items()}
    console = output.stdout()
    is_active = record.name == active.name
    output.fields(
        console,
        [
            ("stack", Text(record.name, style="bold")),
            ("active", f"yes ({active.reason})" if is_active else "no"),
        ],
    )
    for type_ in COMPONENT_TYPES:
        if type_ not in components:
            continue
        comp = components[type_]
        output.heading(console, f"{type_}: {comp.name} (flavor {comp.flavor})")
        config = masked(comp)
        if config:
            output.fields(console, [(k, show(v)) for k, v in config.items()])


@stack.command("set")
@click.argument("name")
def set_stack(name: str) -> None:
    """Make NAME the active stack of this project (not shared with others).

    \b
    Example:
      bevel stack set team
    """
    with open_definitions() as defs:
        try:
            defs.get_stack(name)
        except NotFound as err:
            raise ConfigError(f"no stack named {name!r}", hint=err.hint) from None
        set_active_stack(defs.settings, name)
        env = defs.settings.stack
    click.echo(f"active stack is now {name}")
    if env and env != name:
        click.echo(f"note: ${ENV_STACK}={env} is set and takes precedence", err=True)


@stack.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete a stack (not its components, and never 'default' or the active stack).

    \b
    Example:
      bevel stack delete scratch --yes
    """
    with open_definitions(read_only=True) as defs:
        if name != DEFAULT_STACK:
            defs.get_stack(name)
            confirm(f"Delete stack {name}? Its components are kept.", yes)
        defs.delete_stack(name)
    click.echo(f"deleted stack {name}")


@stack.command("export")
@click.argument("name")
def export(name: str) -> None:
    """Print a stack and its components as YAML; secrets stay {{secret.key}} references.

    Literal credentials in sensitive settings are masked (***), never printed.

    \b
    Example:
      bevel stack export team > stack.yaml
    """
    with open_definitions(read_only=True) as defs:
        document = export_stack(defs, name)
    click.echo(f"# bevel stack import this file to recreate stack {name!r}")
    click.echo(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), nl=False)


@stack.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite existing components and stack.")
@click.option("--set", "make_active", is_flag=True, help="Make it the active stack too.")
def import_(file: Path, force: bool, make_active: bool) -> None:
    """Create a stack and its components from a file written by `bevel stack export`.

    Existing identical definitions are kept; different ones are refused unless --force.

    \b
    Example:
      bevel stack import stack.yaml --set
    """
    try:
        data = load_yaml_file(file, what=f"the stack file {file}")
    except yaml.YAMLError as err:
        raise ConfigError(f"{file} is not valid YAML: {err}") from None
    with open_definitions() as defs:
        for line in import_stack(defs, data, force=force):
            click.echo(line)
        if make_active:
            set_active_stack(defs.settings, str(data["stack"]))
            click.echo(f"active stack is now {data['stack']}")
