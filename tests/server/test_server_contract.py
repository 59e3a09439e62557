"""The metadata store contract through a real bevel server: the same suite as SQL directly.

The server runs without auth here (127.0.0.1), so what the client sends is recorded as sent;
with auth, the server names the key's account as the actor of model promotions
(test_server_models.py), and every route's roles are checked in test_server_roles.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bevel.metadata.rest.store import RestMetadataStore
from bevel.testing.metadata_contract import MetadataStoreContract
from bevel.testing.servers import BevelServer, bevel_server


@pytest.fixture(scope="module")
def open_server() -> Iterator[BevelServer]:
    with bevel_server(auth=False) as srv:
        yield srv


class TestRestContract(MetadataStoreContract):
    @pytest.fixture
    def store(self, open_server: BevelServer) -> Iterator[RestMetadataStore]:
        open_server.reset()
        store = RestMetadataStore(open_server.url)
        yield store
        store.close()
