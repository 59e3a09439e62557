"""The metadata store contract through a real bevel server: the same suite as SQL directly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bevel.metadata.rest.store import RestMetadataStore
from bevel.testing.metadata_contract import MetadataStoreContract


class TestRestContract(MetadataStoreContract):
    @pytest.fixture
    def store(self, rest_store: RestMetadataStore) -> Iterator[RestMetadataStore]:
        yield rest_store
