"""Fixtures for the client tests: a real SQLite store seeded through its public API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from client_seed import CountingStore, Seeded, seed

from bevel.client.client import Client
from bevel.stack.stack import Stack


@pytest.fixture
def seeded(stack: Stack) -> Seeded:
    return seed(stack)


@pytest.fixture
def client(stack: Stack, seeded: Seeded) -> Iterator[Client]:
    with Client(stack) as c:
        yield c


@pytest.fixture
def counting(stack: Stack, seeded: Seeded) -> tuple[Client, CountingStore]:
    store = CountingStore(stack.metadata_store)
    counted = Stack(
        name=stack.name,
        orchestrator=stack.orchestrator,
        artifact_store=stack.artifact_store,
        metadata_store=store,  # type: ignore[arg-type]
    )
    return Client(counted), store
