"""What several commands share: opening the client the CLI reads from, and ``--stack``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from bevel.client.client import Client

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
    """A client on ``stack`` (default: the active stack), closed when the command ends.

    The CLI is an edge: it builds the stack here, once, and passes it down through the client.
    """
    client = Client(stack)
    try:
        yield client
    finally:
        client.close()
