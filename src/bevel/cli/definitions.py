"""What the ``stack``, ``component``, ``secret`` and ``flavor`` commands share.

Component settings and secret values are given as ``--key value`` (or ``--key=value``) pairs
after the fixed arguments, so each flavor's config fields become options without the command
knowing them: ``--endpoint-url`` is the field ``endpoint_url``. Values are validated (and read
as numbers, booleans or JSON where the field says so) against the flavor's config class.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from bevel.cli.project import existing_project
from bevel.errors import ConfigError
from bevel.settings import load_settings
from bevel.stack.config import option_name
from bevel.stack.definitions import Definitions

#: click settings for commands that take free ``--key value`` options.
FREE_OPTIONS: dict[str, Any] = {"ignore_unknown_options": True, "allow_extra_args": True}


@contextmanager
def open_definitions(*, read_only: bool = False) -> Iterator[Definitions]:
    """The definitions in the home metadata store, closed when the command ends.

    ``read_only`` commands (list, describe, export, get) create no project where there is none:
    they say how to start one instead (see :mod:`bevel.cli.project`).
    """
    settings = existing_project() if read_only else load_settings()
    with Definitions(settings) as defs:
        yield defs


def parse_options(tokens: Sequence[str], *, example: str, secret: bool = False) -> dict[str, str]:
    """``["--endpoint-url", "http://x", "--key=k", "--anon"]`` ->
    ``{"endpoint_url": "http://x", "key": "k", "anon": "true"}``.

    Errors never repeat a value: it may be a credential (``password=VALUE`` without ``--``
    shows as ``password=***``). With ``secret`` (the values of ``bevel secret create``) a stray
    argument is not shown at all and a bare ``--key`` without a value is refused rather than
    stored as ``"true"``.
    """
    found: dict[str, str] = {}
    items = list(tokens)
    i = 0
    while i < len(items):
        token = items[i]
        if not token.startswith("--") or token == "--":
            raise _unexpected(token, i + 1, example, secret)
        name, eq, value = token[2:].partition("=")
        if not eq:
            if i + 1 < len(items) and not items[i + 1].startswith("--"):
                value = items[i + 1]
                i += 1
            elif secret:
                raise ConfigError(
                    f"--{name} has no value", hint=f"give it as --{name}=VALUE, e.g. {example}"
                )
            else:
                value = "true"  # a bare flag: --anon
        key = option_name(name)
        if not key:
            raise ConfigError("an option has no name ('--' or '--=...')", hint=f"e.g. {example}")
        if key in found:
            raise ConfigError(f"option --{name} is given twice")
        found[key] = value
        i += 1
    return found


_SETTING_NAME = re.compile(r"[a-z][a-z_-]{0,40}")


def _unexpected(token: str, position: int, example: str, secret: bool) -> ConfigError:
    """The error for an argument that is not ``--key``: naming it without showing a value."""
    name, eq, _ = token.partition("=")
    if eq and _SETTING_NAME.fullmatch(name):
        return ConfigError(
            f"unexpected argument '{name}=***': settings are given as --key value",
            hint=f"did you mean --{name}=...? e.g. {example}",
        )
    if not secret and _SETTING_NAME.fullmatch(token):  # a setting name without its dashes
        return ConfigError(
            f"unexpected argument {token!r}: settings are given as --key value",
            hint=f"did you mean --{token} VALUE? e.g. {example}",
        )
    return ConfigError(
        f"unexpected argument {position} (not shown: it may be a secret value): values are "
        "given as --key=value",
        hint=f"e.g. {example}; quote a value that has spaces",
    )


def show(value: Any) -> str:
    """A config value for a table cell: text as is, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def confirm(question: str, yes: bool) -> None:
    if not yes:
        click.confirm(question, abort=True)
