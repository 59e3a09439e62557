"""The contract, the multi-process race and the migrations on real PostgreSQL and MariaDB servers.

The servers are started by the session fixtures in ``tests/conftest.py``; every test gets a new,
empty database (creating one and migrating it takes ~0.1 s).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from metadata_race import (
    PROCESSES,
    assert_race_is_consistent,
    open_and_list,
    start_all,
)
from sqlalchemy import create_engine

from bevel.metadata.sql import schema
from bevel.metadata.sql.revision import HEAD
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.testing.metadata_contract import MetadataStoreContract
from bevel.testing.servers import DatabaseServer

pytestmark = pytest.mark.servers

SERVERS = {"postgresql": "postgres", "mysql": "mariadb"}


@pytest.fixture(params=list(SERVERS))
def server(request: pytest.FixtureRequest) -> DatabaseServer:
    found: DatabaseServer = request.getfixturevalue(SERVERS[request.param])
    return found


@pytest.fixture
def scratch_url(server: DatabaseServer) -> str:
    """A new, empty database on the server (left for the server's teardown to delete)."""
    return server.new_database()


class TestServerContract(MetadataStoreContract):
    @pytest.fixture
    def store(self, scratch_url: str) -> Iterator[SqlMetadataStore]:
        store = SqlMetadataStore(scratch_url)
        yield store
        store.close()


@pytest.mark.slow
def test_fresh_server_database_opened_by_four_processes(scratch_url: str) -> None:
    assert start_all(open_and_list, (scratch_url,)) == ["ok"] * PROCESSES


@pytest.mark.slow
def test_four_processes_race_for_versions(scratch_url: str) -> None:
    assert_race_is_consistent(scratch_url)


def test_alembic_upgrade_head_matches_schema_py(scratch_url: str) -> None:
    """``alembic upgrade head`` on the real server gives exactly the tables of ``schema.py``."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext

    from bevel.metadata.sql.migrate import MIGRATIONS_DIR

    engine = create_engine(scratch_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
                (HEAD,)
            ]
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, schema.metadata) == []
    finally:
        engine.dispose()


def test_store_created_schema_matches_schema_py(scratch_url: str) -> None:
    """The store's own first-use upgrade (under its advisory lock) gives the same tables."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    store = SqlMetadataStore(scratch_url)
    assert store.list_runs() == []
    store.close()
    engine = create_engine(scratch_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, schema.metadata) == []
    finally:
        engine.dispose()
