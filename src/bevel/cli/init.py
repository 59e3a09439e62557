"""``bevel init``: make the project's state folder explicit (runs create it on demand anyway)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from bevel.settings import ENV_HOME, HOME_DIRNAME, Settings


@click.command()
def init() -> None:
    """Create a .bevel/ folder here to hold runs and artifacts.

    bevel finds its state in the nearest .bevel/ folder above the working directory (like
    .git), so run this at the root of your project. Running it again changes nothing.

    \b
    Example:
      cd my-project && bevel init
    """
    settings = Settings(home=Path.cwd().resolve() / HOME_DIRNAME)
    existed = settings.home.is_dir()
    settings.artifacts_path.mkdir(parents=True, exist_ok=True)
    verb = "already initialized" if existed else "initialized"
    click.echo(f"bevel {verb} in {settings.home}")
    env_home = os.environ.get(ENV_HOME)
    if env_home and Path(env_home).expanduser().resolve() != settings.home:
        click.echo(f"note: ${ENV_HOME} is set, so bevel will use {env_home} instead", err=True)
