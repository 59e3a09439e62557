"""Fixtures of the server tests: the session's real ``bevel server`` process (``bevel_srv``,
from tests/conftest.py: 127.0.0.1, a free port, its own SQLite database), emptied before each
test that asks for ``rest_store``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bevel.metadata.rest.store import RestMetadataStore
from bevel.testing.servers import BevelServer


@pytest.fixture
def rest_store(bevel_srv: BevelServer) -> Iterator[RestMetadataStore]:
    """An empty store (the session server, wiped) reached over REST as the admin."""
    bevel_srv.reset()
    store = RestMetadataStore(bevel_srv.url, api_key=bevel_srv.admin_key)
    yield store
    store.close()
