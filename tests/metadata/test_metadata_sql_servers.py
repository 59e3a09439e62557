"""The contract and the multi-process race on PostgreSQL and MySQL/MariaDB servers (opt-in).

Set ``BEVEL_TEST_DATABASE_URLS`` to space-separated URLs of a database on each server that
may create and drop scratch databases, e.g. (servers as in ENVIRONMENT.md)::

    BEVEL_TEST_DATABASE_URLS="postgresql+psycopg://postgres@127.0.0.1:55432/postgres \\
        mysql+pymysql://root@127.0.0.1:53306/mysql" pytest tests/metadata
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from metadata_race import (
    PROCESSES,
    assert_race_is_consistent,
    open_and_list,
    start_all,
)
from sqlalchemy import create_engine, text

from bevel.metadata.sql.store import SqlMetadataStore
from bevel.testing.metadata_contract import MetadataStoreContract

URLS = os.environ.get("BEVEL_TEST_DATABASE_URLS", "").split()
pytestmark = pytest.mark.skipif(not URLS, reason="set BEVEL_TEST_DATABASE_URLS to run")


@pytest.fixture(params=URLS or ["none"])
def scratch_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    admin_url: str = request.param
    name = "bevel_test_" + uuid.uuid4().hex[:10]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


class TestServerContract(MetadataStoreContract):
    @pytest.fixture
    def store(self, scratch_url: str) -> Iterator[SqlMetadataStore]:
        store = SqlMetadataStore(scratch_url)
        yield store
        store.close()


def test_fresh_server_database_opened_by_four_processes(scratch_url: str) -> None:
    assert start_all(open_and_list, (scratch_url,)) == ["ok"] * PROCESSES


def test_four_processes_race_for_versions(scratch_url: str) -> None:
    assert_race_is_consistent(scratch_url)
