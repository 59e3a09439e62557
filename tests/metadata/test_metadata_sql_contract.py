"""The metadata store contract, run against the SQL store on a SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bevel.metadata.sql.store import SqlMetadataStore
from bevel.testing.metadata_contract import MetadataStoreContract


class TestSqliteFileContract(MetadataStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[SqlMetadataStore]:
        store = SqlMetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
        yield store
        store.close()


class TestSqliteMemoryContract(MetadataStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[SqlMetadataStore]:
        store = SqlMetadataStore("sqlite://")
        yield store
        store.close()
