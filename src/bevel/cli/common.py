"""What several commands share: opening the client the CLI reads from, and ``--stack``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from bevel.cli.project import existing_project
from bevel.client.client import Client
from bevel.stack.build import build_stack

F = TypeVar("F", bound=Callable[..., Any])

#: ``--limit``: how many rows a listing shows (a clear error beyond, not an overflow).
LIMIT = click.IntRange(min=1, max=1_000_000)


def stack_option(func: F) -> F:
    """``--stack NAME``: read from (or run on) that stack instead of the active one."""
    decorated: F = click.option(
        "--stack",
        "stack",
        metavar="NAME",
        default=None,
        help="Use this stack instead of the active one (see: bevel stack list).",
    )(func)
    return decorated


@contextmanager
def open_client(stack: str | None = None) -> Iterator[Client]:
    """A client on ``stack`` (default: the active stack) of the project here, closed when the
    command ends; refuses (creating nothing) where there is no project.

    The CLI is an edge: it builds the stack here, once, and passes it down through the client.
    """
    built = build_stack(stack, existing_project())
    try:
        yield Client(built)
    finally:
        built.close()
