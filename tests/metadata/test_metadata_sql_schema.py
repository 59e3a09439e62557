"""The SQLite schema bevel creates without Alembic is the one Alembic creates, and stays Alembic's.

A new SQLite store is created from the committed DDL (``sqlite_schema.sql``) and stamped with the
head revision, so the first run of a new project imports neither SQLAlchemy nor Alembic. These
tests prove the file is exactly what ``alembic upgrade head`` produces, that a store created from
it is indistinguishable from a migrated one, and that Alembic can still upgrade it later.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert

from bevel.metadata.base import RunFilter
from bevel.metadata.sql import schema
from bevel.metadata.sql.migrate import MIGRATIONS_DIR, sqlite_ddl, upgrade
from bevel.metadata.sql.revision import HEAD
from bevel.metadata.sql.sqlite import DDL_FILE
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.metadata.sql.tables import TABLE_COLUMNS


def _objects(path: Path) -> list[tuple[str, str, str, str | None]]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        return [*rows, *db.execute("SELECT 'stamp', version_num, '', '' FROM alembic_version")]
    finally:
        db.close()


def _alembic_database(path: Path) -> Path:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        upgrade(conn)
    engine.dispose()
    return path


def _store_database(path: Path) -> Path:
    store = SqlMetadataStore(f"sqlite:///{path}")
    assert store.list_runs() == []
    store.close()
    return path


def test_the_committed_ddl_is_what_alembic_upgrade_head_creates() -> None:
    assert Path(DDL_FILE).read_text(encoding="utf-8") == sqlite_ddl(), (
        "sqlite_schema.sql is out of date; regenerate it as its header says"
    )


def test_a_new_store_is_identical_to_an_alembic_migrated_database(tmp_path: Path) -> None:
    created = _store_database(tmp_path / "created.db")
    migrated = _alembic_database(tmp_path / "migrated.db")
    assert _objects(created) == _objects(migrated)
    assert ("stamp", HEAD, "", "") in _objects(created)


def test_the_tables_the_queries_use_are_the_tables_of_schema_py() -> None:
    declared = {t.name: tuple(c.name for c in t.columns) for t in schema.metadata.sorted_tables}
    assert declared == TABLE_COLUMNS


_LATER = '''
"""A later migration, as a future bevel would ship it."""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(255), nullable=True))
        batch.create_index("ix_runs_owner", ["owner"])
'''


def test_a_store_created_from_the_ddl_is_upgraded_by_a_later_migration(tmp_path: Path) -> None:
    """The DDL path is not a fork of the schema: Alembic (batch mode, which rebuilds SQLite
    tables from what it reflects) upgrades such a database like any other, keeping its rows."""
    from alembic import command
    from alembic.config import Config

    store = SqlMetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    from bevel.testing.metadata_contract import make_run

    run = store.create_run(make_run())
    store.close()
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9001_later.py").write_text(_LATER.replace("{head}", HEAD))
    config = Config()
    config.set_main_option("script_location", str(scripts))
    engine = create_engine(f"sqlite:///{tmp_path / 'metadata.db'}")
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()
    engine.dispose()
    db = sqlite3.connect(tmp_path / "metadata.db")
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("9001",)]
    assert db.execute("SELECT name, owner FROM runs").fetchall() == [(run.name, None)]
    indexes = {r[1] for r in db.execute("PRAGMA index_list(runs)")}
    assert {"ix_runs_owner", "ix_runs_created", "ix_runs_pipeline_created"} <= indexes


def test_rows_an_earlier_bevel_wrote_through_sqlalchemy_read_the_same(tmp_path: Path) -> None:
    """Earlier versions wrote SQLite through SQLAlchemy's types: such a database is read by the
    sqlite3 store as it was written (datetimes aware UTC, JSON decoded, orderings by time)."""
    path = _alembic_database(tmp_path / "old.db")
    engine = create_engine(f"sqlite:///{path}")
    early = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    late = datetime(2025, 1, 2, 3, 4, 6, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(schema.pipelines).values(name="p", created=early, source="p.py"))
        for i, at in enumerate((early, late)):
            conn.execute(
                insert(schema.runs).values(
                    id=f"{i:032x}", pipeline="p", name=f"p-{i}", status="completed",
                    created=at, ended=at, params={"C": [0.5, i]}, config={}, plan={"steps": []},
                    code_fingerprint="x", stack="default", host="h:1", heartbeat=at,
                )
            )  # fmt: skip
    engine.dispose()
    store = SqlMetadataStore(f"sqlite:///{path}")
    runs = store.list_runs(RunFilter())
    assert [r.name for r in runs] == ["p-1", "p-0"]
    assert runs[1].created == early and runs[1].created.tzinfo is not None
    assert runs[1].params == {"C": [0.5, 0]}
    assert store.get_run("p-0").heartbeat == early
    store.close()


_PROBE = textwrap.dedent(
    """
    import sys
    from bevel.metadata.sql.store import SqlMetadataStore
    store = SqlMetadataStore(sys.argv[1])
    store.list_runs()
    print(sorted(m for m in ("sqlalchemy", "alembic") if m in sys.modules))
    """
)


def test_creating_a_new_sqlite_store_imports_neither_sqlalchemy_nor_alembic(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    for _ in range(2):  # creating the database, then using it
        out = subprocess.run(
            [sys.executable, "-c", _PROBE, url], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "[]", out.stderr
    assert _objects(tmp_path / "metadata.db")[-1] == ("stamp", HEAD, "", "")


def test_an_older_sqlite_database_is_upgraded_by_alembic(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        upgrade(conn, "0001")
    engine.dispose()
    store = SqlMetadataStore(f"sqlite:///{path}")
    assert store.list_stacks() == []
    store.close()
    assert _objects(path) == _objects(_alembic_database(tmp_path / "migrated.db"))
