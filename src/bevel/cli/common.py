"""What several commands share: opening the client the CLI reads from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bevel.client.client import Client


@contextmanager
def open_client() -> Iterator[Client]:
    """A client on the project's default stack, closed when the command ends.

    The CLI is an edge: it builds the stack here, once, and passes it down through the client.
    """
    client = Client()
    try:
        yield client
    finally:
        client.close()
