"""Throwaway PostgreSQL, MariaDB, S3 (moto), MLflow and bevel servers on 127.0.0.1, for tests and benchmarks.

Each function is a context manager that starts a private server in a temporary folder, on a free
port, and stops it and deletes the folder on exit. Nothing here imports pytest: the test suite's
fixtures (``tests/conftest.py``) and ``benchmarks/`` both use it::

    from bevel.testing.servers import postgres_server

    with postgres_server() as pg:
        url = pg.new_database()          # postgresql+psycopg://postgres@127.0.0.1:PORT/bevel_...
        store = SqlMetadataStore(url)

- :class:`ServerUnavailable`: the programs or Python packages are not installed; the message says
  how to install them (test suites skip on it, or fail in CI).
- :class:`ServerFailed`: installed, but it did not start or stop in time; the message carries the
  tail of the server's log.

Servers are tuned for tests, not for keeping data: no fsync, small buffers, trust/no-password
authentication, listening on 127.0.0.1 only. When run as root, PostgreSQL runs as the
``postgres`` user and MariaDB as ``mysql`` (neither agrees to run as root).
"""

from __future__ import annotations

from bevel.testing.servers._process import (
    HOST,
    ServerFailed,
    ServerUnavailable,
    free_port,
    log_tail,
)
from bevel.testing.servers.bevel import BevelServer, bevel_server
from bevel.testing.servers.databases import DatabaseServer, mariadb_server, postgres_server
from bevel.testing.servers.mlflow import MlflowServer, mlflow_server
from bevel.testing.servers.s3 import S3Server, moto_s3_server

__all__ = [
    "HOST",
    "BevelServer",
    "DatabaseServer",
    "MlflowServer",
    "S3Server",
    "ServerFailed",
    "ServerUnavailable",
    "bevel_server",
    "free_port",
    "log_tail",
    "mariadb_server",
    "mlflow_server",
    "moto_s3_server",
    "postgres_server",
]
