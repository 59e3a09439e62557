"""Plain ``postgresql://`` and ``mysql://`` URLs use the drivers bevel's extras install (psycopg 3,
PyMySQL), on real servers; a URL naming its driver keeps it; and every install hint installs
what it names (checked against the installed distributions, not against our own table)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import Result
from packaging.requirements import Requirement

from bevel.errors import MetadataError, StackError
from bevel.metadata.records import ComponentRecord
from bevel.metadata.sql.engine import build_engine
from bevel.metadata.sql.urls import driver_module, install_hint, with_default_driver
from bevel.settings import Settings
from bevel.stack.home import home_metadata_store
from bevel.stack.loader import build_component
from bevel.testing.servers import DatabaseServer

Invoke = Callable[..., Result]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("PostgreSQL://u@h/db", "postgresql+psycopg://u@h/db"),
        ("mysql://u@h:3306/db", "mysql+pymysql://u@h:3306/db"),
        ("mariadb://u@h/db", "mariadb+pymysql://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgres+pg8000://u@h/db", "postgresql+pg8000://u@h/db"),
        ("mysql+mysqldb://u@h/db", "mysql+mysqldb://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("not a url", "not a url"),
    ],
)
def test_with_default_driver(url: str, expected: str) -> None:
    assert with_default_driver(url) == expected


def test_driver_modules() -> None:
    assert driver_module("postgresql://h/db") == "psycopg"
    assert driver_module("postgresql+psycopg2://h/db") == "psycopg2"
    assert driver_module("mysql://h/db") == "pymysql"
    assert driver_module("mariadb://h/db") == "pymysql"
    assert driver_module("mysql+mysqldb://h/db") == "MySQLdb"
    assert driver_module("sqlite:///x") is None


def _extra_installs(extra: str) -> set[str]:
    """The distributions ``pip install 'bevel[extra]'`` installs, from bevel's own metadata."""
    found = set()
    for line in metadata.requires("bevel") or []:
        req = Requirement(line)
        if req.marker is not None and req.marker.evaluate({"extra": extra}):
            found.add(req.name.lower())
    return found


@pytest.mark.parametrize(
    ("url", "module"), [("postgresql://h/db", "psycopg"), ("mysql://h/db", "pymysql"),
                        ("mariadb://h/db", "pymysql"), ("postgres://h/db", "psycopg")],
)  # fmt: skip
def test_each_install_hint_installs_the_driver_it_is_for(url: str, module: str) -> None:
    hint = install_hint(url)
    match = re.search(r"pip install 'bevel\[(\w+)\]'", hint)
    assert match, hint
    provides = {d.lower() for d in metadata.packages_distributions().get(module, [])}
    assert provides, f"{module} is not installed here"
    assert provides & _extra_installs(match[1]), (
        f"{hint!r}: bevel[{match[1]}] installs {_extra_installs(match[1])}, "
        f"but {module} comes from {provides}"
    )


def test_a_url_naming_another_driver_is_told_how_to_get_it() -> None:
    hint = install_hint("postgresql+psycopg2://h/db")
    assert "'psycopg2'" in hint and "write postgresql://" in hint
    assert "pip install 'bevel[postgresql]' installs" in hint  # the command is for psycopg


def test_a_missing_driver_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    with pytest.raises(MetadataError) as err:
        build_engine("postgresql://u@127.0.0.1:1/db", connect_timeout=1)
    assert err.value.message == (
        "cannot use metadata database postgresql://u@127.0.0.1:1/db: "
        "driver 'psycopg' is not available"
    )
    assert err.value.hint == "install the driver: pip install 'bevel[postgresql]'"
    # the same hint where the home store's flavor checks its package first
    settings = Settings(home=Path("/nonexistent/.bevel"), store_url="postgresql://u@h/db")
    with pytest.raises(StackError) as err2:
        home_metadata_store(settings)
    assert err2.value.hint == "pip install 'bevel[postgresql]'"


def test_a_component_url_naming_a_missing_driver_gets_its_own_hint(tmp_path: Path) -> None:
    record = ComponentRecord(
        name="team-db",
        type="metadata_store",
        flavor="postgresql",
        config={"url": "postgresql+psycopg2://u@127.0.0.1:1/db"},
        created=None,  # type: ignore[arg-type]
        updated=None,  # type: ignore[arg-type]
    )
    if metadata.packages_distributions().get("psycopg2"):
        pytest.skip("psycopg2 is installed here")
    with pytest.raises(StackError) as err:
        build_component(record, Settings(home=tmp_path / ".bevel"))
    assert "needs the Python package 'psycopg2'" in err.value.message
    assert err.value.hint == install_hint("postgresql+psycopg2://u@127.0.0.1:1/db")


def _plain(url: str) -> str:
    """``postgresql+psycopg://...`` -> ``postgresql://...``: what most people write."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+')[0]}://{rest}"


TINY = "from bevel import pipeline, step\n\n@step\ndef one() -> int:\n    return 1\n\n@pipeline\ndef tiny():\n    one()\n"


def _count_runs(url: str) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)  # the explicit-driver URL, not bevel's code
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("select count(*) from runs")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.servers
@pytest.mark.parametrize(("server", "scheme"), [("postgres", "postgresql"), ("postgres", "postgres"),
                                                ("mariadb", "mysql"), ("mariadb", "mariadb")])  # fmt: skip
def test_plain_urls_work_on_real_servers(
    server: str, scheme: str, request: pytest.FixtureRequest, invoke: Invoke, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    db: DatabaseServer = request.getfixturevalue(server)
    home_url, team_url = db.new_database(), db.new_database()
    plain = lambda url: f"{scheme}://{url.split('://', 1)[1]}"  # noqa: E731
    (tmp_path / "tiny.py").write_text(TINY)
    # the home store, as $BEVEL_STORE_URL
    monkeypatch.setenv("BEVEL_STORE_URL", plain(home_url))
    ran = invoke("run", "tiny.py", "--name", "on-home")
    assert ran.exit_code == 0, ran.output
    assert "on-home" in invoke("runs", "list").stdout
    assert _count_runs(home_url) == 1
    # a component registered with a plain URL, in a stack
    made = invoke("component", "register", "metadata_store", "team-db", "--flavor",
                  "mysql" if server == "mariadb" else "postgresql", "--url", plain(team_url))  # fmt: skip
    assert made.exit_code == 0, made.output
    assert (
        invoke("stack", "register", "team", "-a", "local-artifacts", "-m", "team-db").exit_code == 0
    )
    ran = invoke("run", "tiny.py", "--stack", "team", "--name", "on-team")
    assert ran.exit_code == 0, ran.output
    assert _count_runs(team_url) == 1
