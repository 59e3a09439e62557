"""``bevel login URL``: check an API key against a server and keep it for later commands."""

from __future__ import annotations

import os
import sys

import click

from bevel.errors import ConfigError


@click.command()
@click.argument("url")
@click.option("--api-key", envvar="BEVEL_API_KEY", help="The key (default: asked for, hidden).")
@click.option("--logout", is_flag=True, help="Forget the key stored for URL instead.")
def login(url: str, api_key: str | None, logout: bool) -> None:
    """Log in to a bevel server and store its API key.

    The key is checked against URL, then stored for URL in a file only you can read (0600).

    The REST metadata store then finds it for that URL (BEVEL_STORE_URL=URL, or a component
    of flavor rest). BEVEL_API_KEY, when set, is used instead of the stored key.

    \b
    Examples:
      bevel login http://ml.internal:8237
      export BEVEL_STORE_URL=http://ml.internal:8237; bevel runs list
    """
    from bevel.metadata.rest import credentials
    from bevel.metadata.rest.transport import Transport

    url = url.rstrip("/")
    if logout:
        gone = credentials.forget_api_key(url)
        click.echo(f"forgot the key for {url}" if gone else f"no key was stored for {url}")
        return
    if not api_key:
        if not sys.stdin.isatty():
            api_key = sys.stdin.readline().strip()
        else:
            api_key = click.prompt("API key", hide_input=True).strip()
    if not api_key:
        raise ConfigError("no API key given", hint="pass --api-key, or paste it when asked")
    transport = Transport(url, api_key=api_key, timeout=15)
    try:
        who = transport.request("GET", "/whoami", what="checking the API key")
    finally:
        transport.close()
    path = credentials.store_api_key(url, api_key)
    click.echo(f"logged in to {url} as {who['name']} ({who['role']}); key stored in {path}")
    if os.environ.get(credentials.ENV_API_KEY) and os.environ[credentials.ENV_API_KEY] != api_key:
        click.echo(f"note: ${credentials.ENV_API_KEY} is set and wins over the stored key",
                   err=True)  # fmt: skip
