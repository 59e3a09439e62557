"""Shared fixtures: every test gets its own bevel home (BEVEL_HOME) and working directory.

Real servers, started once per session and only when a selected test needs them
(:mod:`bevel.testing.servers`): ``postgres``, ``mariadb`` (each hands out fresh databases with
``new_database()``), ``s3`` (moto; ``new_bucket()``) and ``mlflow_srv`` (``mlflow server``).
Where a server's programs or packages are missing the tests that need it are skipped with a
message saying how to install them; in CI (``CI`` set) they fail instead, so CI never passes by
skipping. ``-m "not servers"`` leaves them all out.

Tests in a module marked ``all_databases`` run four times, with ``bevel_home``'s metadata store
on SQLite (``.bevel/metadata.db``), PostgreSQL and MariaDB (``BEVEL_STORE_URL`` set to a fresh
database, which subprocesses inherit), and on the REST store of the session's bevel server
(``bevel_srv``, emptied first; ``BEVEL_STORE_URL`` is its URL, ``BEVEL_API_KEY`` an admin key).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from bevel.cli.main import cli
from bevel.redaction import _forget_secrets
from bevel.testing.servers import (
    BevelServer,
    DatabaseServer,
    MlflowServer,
    S3Server,
    ServerUnavailable,
    bevel_server,
    mariadb_server,
    mlflow_server,
    moto_s3_server,
    postgres_server,
)

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# botocore must never look for credentials or a region on a cloud metadata endpoint.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
DATABASES = ("sqlite", "postgresql", "mysql", "rest")
_SERVER_FIXTURE = {"postgresql": "postgres", "mysql": "mariadb"}

T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "all_databases: run each test of the module with the metadata store on SQLite,"
        " PostgreSQL, MariaDB and a bevel server (through bevel_home)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if (
        metafunc.definition.get_closest_marker("all_databases")
        and "bevel_home" in metafunc.fixturenames
    ):
        metafunc.parametrize(
            "database",
            [
                pytest.param(db, marks=() if db == "sqlite" else pytest.mark.servers)
                for db in DATABASES
            ],
            indirect=True,
        )


def _start(
    factory: Callable[[], AbstractContextManager[T]], what: str, install: str
) -> Iterator[T]:
    """Start a session server, or skip (fail in CI) when it is not installed."""
    manager = factory()
    try:
        server = manager.__enter__()
    except ServerUnavailable as err:
        unavailable = f"{what} is not available ({err}); to enable: {install}"
    else:
        unavailable = ""
    if unavailable and IN_CI:
        pytest.fail(f"{unavailable} [CI is set: server tests must run, not skip]", pytrace=False)
    if unavailable:
        pytest.skip(unavailable)
    try:
        yield server
    finally:
        manager.__exit__(None, None, None)


@pytest.fixture(scope="session")
def postgres() -> Iterator[DatabaseServer]:
    """A PostgreSQL server for the session (``new_database()`` gives a fresh database URL)."""
    yield from _start(
        postgres_server, "PostgreSQL", "apt-get install -y postgresql; pip install -e '.[dev]'"
    )


@pytest.fixture(scope="session")
def mariadb() -> Iterator[DatabaseServer]:
    """A MariaDB server for the session (``new_database()`` gives a fresh database URL)."""
    yield from _start(
        mariadb_server, "MariaDB", "apt-get install -y mariadb-server; pip install -e '.[dev]'"
    )


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """moto's S3 server for the session (``new_bucket()`` gives a fresh bucket)."""
    yield from _start(moto_s3_server, "the S3 server (moto)", "pip install -e '.[dev]'")


@pytest.fixture(scope="session")
def mlflow_srv() -> Iterator[MlflowServer]:
    """``mlflow server`` (SQLite backend, artifacts in a temporary folder), from its own venv."""
    yield from _start(mlflow_server, "the MLflow server", "pip install -e '.[dev]'")


@pytest.fixture(scope="session")
def bevel_srv() -> Iterator[BevelServer]:
    """A bevel server with auth for the session (``admin_key``, ``new_key(role)``)."""
    yield from _start(bevel_server, "the bevel server", "pip install -e '.[dev]'")


def database_server(request: pytest.FixtureRequest, database: str) -> DatabaseServer:
    """The session server for ``database`` ("postgresql" or "mysql")."""
    server: DatabaseServer = request.getfixturevalue(_SERVER_FIXTURE[database])
    return server


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    """Secret values a test's stacks remembered are masked in errors for the whole process:
    forget them after each test, so that tests stay independent."""
    yield
    _forget_secrets()


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str:
    """Which database ``bevel_home`` uses: "sqlite" unless the module is ``all_databases``."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def bevel_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, database: str
) -> Iterator[Path]:
    home = tmp_path / ".bevel"
    monkeypatch.setenv("BEVEL_HOME", str(home))
    monkeypatch.delenv("BEVEL_STORE_URL", raising=False)
    if database == "rest":  # a bevel server in front of SQLite, emptied for this test
        server: BevelServer = request.getfixturevalue("bevel_srv")
        server.reset()
        monkeypatch.setenv("BEVEL_STORE_URL", server.url)
        monkeypatch.setenv("BEVEL_API_KEY", str(server.admin_key))
    elif database != "sqlite":
        monkeypatch.setenv("BEVEL_STORE_URL", database_server(request, database).new_database())
    monkeypatch.chdir(tmp_path)
    yield home


@pytest.fixture
def stack(bevel_home: Path) -> Iterator[Any]:
    from bevel.stack.stack import default_stack

    built = default_stack()
    yield built
    built.close()


@pytest.fixture
def invoke(bevel_home: Path) -> Callable[..., Result]:
    """Run the ``bevel`` CLI in-process (click's CliRunner) in this test's project."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input)

    return run
