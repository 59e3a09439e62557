"""The home metadata store is chosen by its URL through the flavor table, not hard-wired to SQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bevel.errors import StackError
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.settings import Settings
from bevel.stack.build import build_stack
from bevel.stack.definitions import Definitions
from bevel.stack.home import home_metadata_flavor, home_metadata_store

BEVEL = [sys.executable, "-c", "import sys; from bevel.cli.main import main; main(sys.argv[1:])"]


def test_url_schemes_name_flavors() -> None:
    assert home_metadata_flavor("sqlite:////x/metadata.db") == "sqlite"
    assert home_metadata_flavor("postgresql+psycopg://u@h/db") == "postgresql"
    assert home_metadata_flavor("postgres://u@h/db") == "postgresql"
    assert home_metadata_flavor("mariadb+pymysql://u@h/db") == "mysql"
    assert home_metadata_flavor("https://bevel.internal") == "rest"  # a later flavor
    assert home_metadata_flavor("journal:///x.db") == "journal"


def test_the_default_home_store_is_the_sqlite_flavor(settings: Settings) -> None:
    store = home_metadata_store(settings)
    try:
        assert isinstance(store, SqlMetadataStore)
        assert store.url == f"sqlite:///{settings.database_path}"
    finally:
        store.close()


def test_a_third_party_flavor_serves_the_home_store(
    thirdparty: Path, bevel_home: Path, pipeline_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flavor found through the entry point, named by the URL's scheme, keeps the runs of the
    default stack and the stack definitions: every command goes through it."""
    db = bevel_home.parent / "journaled.db"
    monkeypatch.setenv("BEVEL_STORE_URL", f"journal://{db}")

    def bevel(*args: str) -> str:
        done = subprocess.run([*BEVEL, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    bevel("run", f"{pipeline_file}:demo")
    assert "completed" in bevel("runs", "list")
    bevel("component", "register", "artifact_store", "files", "--flavor", "local", "--path", "f")
    bevel("stack", "register", "mine", "-o", "local", "-a", "files")
    assert "metadata_store: home-metadata (flavor journal)" in bevel("stack", "describe", "mine")
    bevel("run", f"{pipeline_file}:demo", "--stack", "mine")
    journal = Path(f"{db}.journal").read_text().split()
    assert journal.count("create_run") == 2
    assert {"create_component", "create_stack", "get_stack", "list_runs"} <= set(journal)
    assert not (bevel_home / "metadata.db").exists()  # nothing fell back to the SQL default


def test_a_url_no_flavor_serves_is_a_clear_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVEL_STORE_URL", "nosuch://user:hunter2@host/db")
    env = Settings(home=settings.home, store_url="nosuch://user:hunter2@host/db")
    with pytest.raises(StackError) as err:
        build_stack(settings=env)
    assert str(err.value).startswith(
        "the home metadata store 'nosuch://user:***@host/db' (from $BEVEL_STORE_URL) has a URL "
        "that no metadata store flavor serves"
    )
    assert "hunter2" not in str(err.value)
    assert (
        err.value.hint
        and "metadata_store flavors: mysql, postgresql, rest, sqlite" in err.value.hint
    )
    with pytest.raises(StackError):
        Definitions(env)


def test_a_missing_package_gets_the_flavor_install_hint(
    settings: Settings, thirdparty: Path
) -> None:
    env = Settings(home=settings.home, store_url="missing-lib://somewhere")
    with pytest.raises(StackError) as err:
        build_stack(settings=env)
    assert str(err.value).startswith(
        "the home metadata store 'missing-lib://somewhere' (flavor missing-lib) needs the Python "
        "package 'bevel_example_not_installed_lib', which is not installed here"
    )
    assert err.value.hint == "pip install 'bevel-example-flavor[tracker]'"
