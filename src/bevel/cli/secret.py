"""``bevel secret``: create, list, inspect (masked) and delete encrypted secrets."""

from __future__ import annotations

import click
from rich.text import Text

from bevel.cli import output
from bevel.cli.definitions import FREE_OPTIONS, confirm, open_definitions, parse_options
from bevel.client import format as fmt
from bevel.stack.config import MASK


@click.group()
def secret() -> None:
    """Create, list, inspect and delete encrypted secrets.

    Values are stored encrypted and never printed.

    A secret is a named set of values; component settings refer to one as '{{name.key}}',
    resolved only when a stack is built. Secrets are encrypted with $BEVEL_SECRETS_KEY, or
    else the key file .bevel/secrets.key (created on first use, mode 0600): a team sharing a
    metadata store must share that key.

    \b
    Examples:
      bevel secret create s3 --key=AKIA... --secret=...
      bevel component register artifact_store s3-store --flavor s3 --path s3://b \\
            --key '{{s3.key}}' --secret '{{s3.secret}}'
    """


@secret.command("create", context_settings=FREE_OPTIONS)
@click.argument("name")
@click.option("--force", is_flag=True, help="Replace a secret of the same name.")
@click.pass_context
def create(ctx: click.Context, name: str, force: bool) -> None:
    """Create a secret NAME from --key value options (replace it with --force).

    \b
    Examples:
      bevel secret create s3 --key=AKIA... --secret=...
      bevel secret create db --password="$DB_PASSWORD"
    """
    values = parse_options(
        ctx.args, example=f"bevel secret create {name} --key=... --secret=...", secret=True
    )
    with open_definitions() as defs:
        replaced = defs.secrets.create(name, values, replace=force)
    refs = ", ".join("{{" + f"{name}.{k}" + "}}" for k in sorted(values))
    click.echo(f"{'replaced' if replaced else 'created'} secret {name}; refer to it as {refs}")


@secret.command("list")
def list_() -> None:
    """List secrets (names and dates only).

    \b
    Example:
      bevel secret list
    """
    with open_definitions(read_only=True) as defs:
        found = defs.secrets.list()
    console = output.stdout()
    if not found:
        console.print("no secrets yet (try: bevel secret create NAME --key=value)")
        return
    tbl = output.table(console, "secret", "created", "updated")
    for record in found:
        output.add_row(
            tbl, record.name, fmt.timestamp(record.created), fmt.timestamp(record.updated)
        )
    output.emit(console, tbl)


@secret.command("get")
@click.argument("name")
def get(name: str) -> None:
    """Show a secret's keys with their values masked, and how to refer to each.

    \b
    Example:
      bevel secret get s3
    """
    with open_definitions(read_only=True) as defs:
        values = defs.secrets.get(name)
    console = output.stdout()
    output.fields(console, [("secret", Text(name, style="bold"))])
    tbl = output.table(console, "key", "value", "reference")
    for key in sorted(values):
        output.add_row(tbl, key, MASK, "{{" + f"{name}.{key}" + "}}")
    output.emit(console, tbl)


@secret.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Delete it even if components refer to it.")
def delete(name: str, yes: bool, force: bool) -> None:
    """Delete a secret (refused while components refer to it, unless --force).

    \b
    Example:
      bevel secret delete s3 --yes
    """
    with open_definitions(read_only=True) as defs:
        defs.store.get_secret(name)  # say "no such secret" before asking anything
        confirm(f"Delete secret {name}?", yes)
        defs.secrets.delete(name, force=force)
    click.echo(f"deleted secret {name}")
