"""``bevel component``: register, list, describe, update and delete stack components."""

from __future__ import annotations

import click
from rich.text import Text

from bevel.cli import output
from bevel.cli.definitions import FREE_OPTIONS, confirm, open_definitions, parse_options, show
from bevel.client import format as fmt
from bevel.errors import ConfigError
from bevel.metadata.records import ComponentRecord
from bevel.stack.definitions import Definitions
from bevel.stack.flavors import get_flavor
from bevel.stack.portable import encrypted, in_plain_text, masked
from bevel.stack.stack import COMPONENT_TYPES

_TYPES = click.Choice(COMPONENT_TYPES)


@click.group()
def component() -> None:
    """Register, list, describe, update and delete stack components.

    A component is one configured piece of a stack (an S3 bucket, a PostgreSQL database, an
    orchestrator), stored by name in the home metadata store. Its settings are --key value
    options checked against its flavor (see: bevel flavor list). Credentials belong in
    secrets, referred to as '{{secret.key}}'.

    \b
    Examples:
      bevel component register artifact_store s3-store --flavor s3 --path s3://ml-artifacts \\
            --endpoint-url http://127.0.0.1:9000 --key '{{s3.key}}' --secret '{{s3.secret}}'
      bevel component list artifact_store
      bevel component describe s3-store
    """


@component.command("register", context_settings=FREE_OPTIONS)
@click.argument("type_", metavar="TYPE", type=_TYPES)
@click.argument("name")
@click.option("--flavor", "-f", required=True, help="The flavor (see: bevel flavor list TYPE).")
@click.option("--force", is_flag=True, help="Overwrite a component of the same name.")
@click.pass_context
def register(ctx: click.Context, type_: str, name: str, flavor: str, force: bool) -> None:
    """Register a component: TYPE NAME --flavor FLAVOR [--setting value ...].

    Settings are the flavor's config fields as options (endpoint_url is --endpoint-url);
    numbers, true/false and JSON mappings are read as such when the field says so.

    \b
    Examples:
      bevel component register artifact_store s3-store --flavor s3 --path s3://ml-artifacts \\
            --endpoint-url http://127.0.0.1:9000 --key '{{s3.key}}' --secret '{{s3.secret}}'
      bevel component register metadata_store team-db --flavor postgresql \\
            --url 'postgresql+psycopg://bevel:{{db.password}}@db:5432/bevel'
      bevel component register artifact_store scratch --flavor local --path ./scratch
    """
    example = f"bevel component register {type_} {name} --flavor {flavor} --path ..."
    values = parse_options(ctx.args, example=example)
    with open_definitions() as defs:
        record = defs.register_component(
            type_, name, flavor, values, from_strings=True, replace=force
        )
        missing = get_flavor(type_, flavor).missing()
    click.echo(f"registered {record.type} {record.name} (flavor {record.flavor})")
    _say_encrypted(encrypted(record))
    if missing:
        hint = get_flavor(type_, flavor).install_hint(missing[0])
        click.echo(f"note: this flavor needs {', '.join(missing)} to run: {hint}", err=True)


def _say_encrypted(fields: list[str]) -> None:
    """Credentials typed as literals are stored encrypted: say so, and how to share one."""
    if fields:
        click.echo(
            f"{', '.join(fields)}: stored encrypted, like secrets (to use one credential in "
            "several components, make it a secret: bevel secret create NAME --key=VALUE, then "
            "refer to it as '{{NAME.key}}')"
        )


@component.command("list")
@click.argument("type_", metavar="[TYPE]", type=_TYPES, required=False)
def list_components(type_: str | None) -> None:
    """List components (of one TYPE), with the stacks that use them.

    \b
    Examples:
      bevel component list
      bevel component list artifact_store
    """
    with open_definitions(read_only=True) as defs:
        found = defs.list_components(type_)
        users = _users(defs)
    console = output.stdout()
    tbl = output.table(console, "name", "type", "flavor", "stacks", "created")
    for record in found:
        builtin = record.name in defs.builtins
        output.add_row(
            tbl,
            record.name,
            record.type,
            record.flavor,
            ", ".join(users.get(record.name, [])),
            "built-in" if builtin else fmt.timestamp(record.created),
        )
    output.emit(console, tbl)


def _users(defs: Definitions) -> dict[str, list[str]]:
    """component name -> stacks using it (one query for all)."""
    users: dict[str, list[str]] = {}
    for stack in defs.list_stacks():
        for name in stack.components.values():
            users.setdefault(name, []).append(stack.name)
    return users


@component.command("describe")
@click.argument("name")
def describe(name: str) -> None:
    """Show a component: flavor, settings (credentials masked) and the stacks using it.

    \b
    Example:
      bevel component describe s3-store
    """
    with open_definitions(read_only=True) as defs:
        record = defs.get_component(name)
        users = _users(defs).get(name, [])
        builtin = name in defs.builtins
    print_component(record, users, builtin)


def print_component(record: ComponentRecord, users: list[str], builtin: bool) -> None:
    console = output.stdout()
    pairs: list[tuple[str, object]] = [
        ("component", Text(record.name, style="bold")),
        ("type", record.type),
        ("flavor", record.flavor),
    ]
    try:
        flavor = get_flavor(record.type, record.flavor)
        pairs.append(("provided by", flavor.provider))
        missing = flavor.missing()
        if missing:
            pairs.append(("missing", f"{', '.join(missing)} ({flavor.install_hint(missing[0])})"))
    except ConfigError as err:
        pairs.append(("provided by", Text(f"? ({err.message})", style="red")))
    if builtin:
        pairs.append(("created", "built-in"))
    else:
        pairs += [
            ("created", fmt.timestamp(record.created)),
            ("updated", fmt.timestamp(record.updated)),
        ]
    pairs.append(("stacks", ", ".join(users) or "-"))
    output.fields(console, pairs)
    config = masked(record)
    if config:
        output.heading(console, "config")
        output.fields(console, [(k, show(v)) for k, v in config.items()])
    plain = [] if builtin else in_plain_text(record)
    if plain:
        console.print(
            f"\nnote: {', '.join(plain)} stored in plain text in the metadata store (by an "
            f"earlier bevel); encrypt: bevel component update {record.name} --encrypt"
        )


@component.command("update", context_settings=FREE_OPTIONS)
@click.argument("name")
@click.option(
    "--encrypt",
    is_flag=True,
    help="Encrypt credentials an earlier bevel stored in plain text (also done by any update).",
)
@click.pass_context
def update(ctx: click.Context, name: str, encrypt: bool) -> None:
    """Change some settings of a component: NAME --setting value ...

    An empty value ('') resets a setting to its default. Stacks using the component see the
    change on their next run. Credentials typed as literals are stored encrypted.

    \b
    Examples:
      bevel component update s3-store --endpoint-url http://minio:9000 --region ''
      bevel component update s3-store --encrypt
    """
    values = parse_options(ctx.args, example=f"bevel component update {name} --path VALUE")
    if not values and not encrypt:
        raise ConfigError(
            f"nothing to update for component {name!r}",
            hint=f"give settings: bevel component update {name} --setting value",
        )
    with open_definitions() as defs:
        before = defs.get_component(name)
        plain_before = set(in_plain_text(before)) if name not in defs.builtins else set()
        if not values and not plain_before:
            click.echo(f"{before.type} {name} has no credentials in plain text: nothing to do")
            return
        record = defs.update_component(name, values, from_strings=True)
    if values:
        click.echo(f"updated {record.type} {record.name}: {', '.join(sorted(values))}")
    _say_encrypted([f for f in encrypted(record) if f in values or f in plain_before])


@component.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete a component that no stack uses.

    \b
    Example:
      bevel component delete s3-store --yes
    """
    with open_definitions(read_only=True) as defs:
        record = defs.get_component(name)
        confirm(f"Delete {record.type} {name} (flavor {record.flavor})?", yes)
        defs.delete_component(name)
    click.echo(f"deleted {record.type} {name}")
