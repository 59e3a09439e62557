"""The schema check and the Alembic migrations of the SQL store."""

from __future__ import annotations

import io
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateTable

from bevel.errors import SchemaTooNew
from bevel.metadata.sql import schema
from bevel.metadata.sql.migrate import MIGRATIONS_DIR
from bevel.metadata.sql.revision import HEAD, KNOWN_REVISIONS
from bevel.metadata.sql.store import SqlMetadataStore


def _alembic_config(**options: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    for key, value in options.items():
        config.set_main_option(key, value)
    return config


def _fresh(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'metadata.db'}"
    store = SqlMetadataStore(url)
    store.list_runs()
    store.close()
    return url


def test_revision_constants_match_the_scripts() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_alembic_config())
    assert scripts.get_heads() == [HEAD]
    history = [s.revision for s in reversed(list(scripts.walk_revisions()))]
    assert tuple(history) == KNOWN_REVISIONS


def test_migrations_ship_with_the_package() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "script.py.mako").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("0001_*.py"))


def test_new_database_is_stamped_at_head(tmp_path: Path) -> None:
    _fresh(tmp_path)
    db = sqlite3.connect(tmp_path / "metadata.db")
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_migrated_database_matches_schema_py(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(_fresh(tmp_path))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, schema.metadata) == []
    engine.dispose()


def _statements(sql: str) -> dict[str, set[str]]:
    """CREATE TABLE/INDEX statements keyed by object name, each as a set of normalised lines."""
    found: dict[str, set[str]] = {}
    sql = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    for stmt in sql.split(";"):
        stmt = stmt.strip()
        m = re.match(r"CREATE (?:UNIQUE )?(TABLE|INDEX) (\S+)", stmt)
        if m is None or "alembic_version" in stmt:
            continue
        lines = {line.strip().rstrip(",") for line in stmt.splitlines()[1:] if line.strip()}
        found[m[2]] = lines | {stmt.splitlines()[0].strip().rstrip("(").strip()}
    return found


@pytest.mark.parametrize("url", ["sqlite://", "postgresql://", "mysql://", "mariadb://"])
def test_migrations_emit_the_same_ddl_as_schema_py(url: str) -> None:
    """Per database, the DDL of ``upgrade --sql`` equals the DDL of ``schema.py``.

    Offline rendering needs no server, so this checks PostgreSQL and MySQL/MariaDB types too.
    """
    from alembic import command

    out = io.StringIO()
    config = _alembic_config(**{"sqlalchemy.url": url})
    config.output_buffer = out
    command.upgrade(config, "head", sql=True)
    dialect = make_url(url).get_dialect()()
    tables = schema.metadata.sorted_tables
    if dialect.name in ("mysql", "mariadb"):  # table options live in the migration only
        copy = MetaData(naming_convention=schema.NAMING_CONVENTION)
        tables = [table.to_metadata(copy) for table in tables]
        for table in tables:
            table.dialect_kwargs.update(schema.MYSQL_TABLE_OPTIONS)
    expected = ""
    for table in tables:
        expected += str(CreateTable(table).compile(dialect=dialect)) + ";\n"
        for index in table.indexes:
            expected += str(CreateIndex(index).compile(dialect=dialect)) + ";\n"
    assert _statements(out.getvalue()) == _statements(expected)


def test_schema_too_new_says_what_to_do(tmp_path: Path) -> None:
    url = _fresh(tmp_path)
    db = sqlite3.connect(tmp_path / "metadata.db")
    db.execute("UPDATE alembic_version SET version_num = 'f00dcafe9999'")
    db.commit()
    db.close()
    with pytest.raises(SchemaTooNew) as err:
        SqlMetadataStore(url).list_runs()
    text = str(err.value)
    assert "'f00dcafe9999'" in text
    assert f"'{HEAD}'" in text
    assert str(tmp_path) in text
    assert "pip install -U bevel" in text


def test_empty_version_table_is_upgraded(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "metadata.db")
    db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    db.commit()
    db.close()
    assert SqlMetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}").list_runs() == []


_NO_ALEMBIC = textwrap.dedent(
    """
    import sys
    from bevel.metadata.sql.store import SqlMetadataStore
    SqlMetadataStore(sys.argv[1]).list_runs()
    heavy = [m for m in ("alembic", "sqlalchemy.orm", "sqlalchemy.dialects.postgresql",
                         "sqlalchemy.dialects.mysql") if m in sys.modules]
    print(heavy)
    """
)


def test_up_to_date_database_does_not_import_alembic(tmp_path: Path) -> None:
    url = _fresh(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", _NO_ALEMBIC, url], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stderr
