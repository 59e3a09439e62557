"""Throwaway PostgreSQL, MariaDB and S3 (moto) servers on 127.0.0.1, for tests and benchmarks.

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

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

__all__ = [
    "DatabaseServer",
    "S3Server",
    "ServerFailed",
    "ServerUnavailable",
    "free_port",
    "mariadb_server",
    "moto_s3_server",
    "postgres_server",
]

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
_START_LIMIT = START_TIMEOUT_S + 10  # for a program that has its own START_TIMEOUT_S wait
_DEV_EXTRAS = "pip install -e '.[dev]'"

_INITDB_OPTIONS = ("--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
_POSTGRES_OPTIONS = (
    f"-c listen_addresses={HOST}",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=300",
    "-c shared_buffers=64MB",
)
_STOP_WAIT = ("-t", str(int(STOP_TIMEOUT_S)))
_INSTALL_DB_OPTIONS = (
    "--auth-root-authentication-method=normal",
    "--skip-test-db",
    "--skip-name-resolve",
)
_MARIADB_OPTIONS = (
    f"--bind-address={HOST}",
    "--skip-name-resolve",
    "--skip-log-bin",
    "--innodb-buffer-pool-size=64M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--max-connections=500",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_bin",
)

T = TypeVar("T")


class ServerUnavailable(RuntimeError):
    """The server's programs or Python packages are missing; the message says how to install."""


class ServerFailed(RuntimeError):
    """The server is installed but did not start (or stop) in time; the message has its log."""


# --- helpers ----------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def log_tail(*paths: Path, chars: int = 3000) -> str:
    """The last ``chars`` characters of each existing log, for error messages."""
    parts = []
    for path in paths:
        try:
            data = path.read_text(errors="replace")
        except OSError:
            continue
        parts.append(f"--- {path} (last {chars} characters) ---\n{data[-chars:].rstrip()}")
    return "\n".join(parts) or "(no log was written)"


def _on_free_port(start: Callable[[int], T], log: Path, attempts: int = 3) -> T:
    """``start(port)`` on a free port, again on another one if that port got taken meanwhile."""
    for attempt in range(attempts):
        try:
            return start(free_port())
        except ServerFailed:
            if attempt + 1 == attempts or "already in use" not in log_tail(log):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _missing_modules(modules: Sequence[str]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


@dataclass(frozen=True)
class _RunAs:
    """Who runs the server's programs: this user, or (as root) a system account."""

    uid: int | None = None
    gid: int | None = None

    @classmethod
    def account(cls, name: str, apt_package: str) -> _RunAs:
        if os.geteuid() != 0:
            return cls()
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ServerUnavailable(
                f"running as root needs the {name!r} user to own the server's files"
                f" (apt-get install -y {apt_package} creates it)"
            ) from None
        return cls(entry.pw_uid, entry.pw_gid)

    @property
    def switch(self) -> bool:
        return self.uid is not None

    def chown(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def popen_kwargs(self, cwd: Path) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"cwd": str(cwd), "env": {**os.environ, "HOME": str(cwd)}}
        if self.switch:
            kwargs.update(user=self.uid, group=self.gid, extra_groups=[])
        return kwargs


def _run(cmd: Sequence[str], *, log: Path, run_as: _RunAs, cwd: Path, timeout: float) -> None:
    """Run a setup command, appending its output to ``log``; raise ServerFailed with the log."""
    with log.open("ab") as out:
        try:
            proc = subprocess.run(
                list(cmd),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
                **run_as.popen_kwargs(cwd),
            )
        except subprocess.TimeoutExpired:
            raise ServerFailed(
                f"{Path(cmd[0]).name} did not finish within {timeout:.0f} s\n{log_tail(log)}"
            ) from None
    if proc.returncode != 0:
        raise ServerFailed(
            f"{Path(cmd[0]).name} failed (exit code {proc.returncode})\n{log_tail(log)}"
        )


def _wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    logs: Sequence[Path],
    timeout: float = START_TIMEOUT_S,
    alive: Callable[[], bool] = lambda: True,
) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        if ready():
            return
        if not alive():
            raise ServerFailed(f"{what} exited while starting\n{log_tail(*logs)}")
        if time.monotonic() > deadline:
            raise ServerFailed(f"{what} was not ready within {timeout:.0f} s\n{log_tail(*logs)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def _stop_process(proc: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT_S) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


@contextlib.contextmanager
def _scratch_dir(prefix: str, run_as: _RunAs, keep: bool = False) -> Iterator[Path]:
    # Short paths: a Unix socket path must fit in ~100 bytes.
    base = Path(tempfile.mkdtemp(prefix=prefix))
    run_as.chown(base)
    try:
        yield base
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


# --- SQL database servers ---------------------------------------------------------------------


@dataclass
class DatabaseServer:
    """A running database server: URLs and fresh databases.

    ``admin_url`` is a SQLAlchemy URL of a database that may create others (superuser,
    no password). :meth:`new_database` returns the URL of a new, empty database.
    """

    kind: str  # "postgresql" or "mysql"
    host: str
    port: int
    user: str
    admin_database: str
    driver: str
    log: Path
    data_dir: Path
    _admin: Engine | None = field(default=None, repr=False)

    @property
    def admin_url(self) -> str:
        return self.url(self.admin_database)

    def url(self, database: str) -> str:
        return f"{self.kind}+{self.driver}://{self.user}@{self.host}:{self.port}/{database}"

    def _admin_engine(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        return self._admin

    def execute(self, *statements: str) -> None:
        """Run statements on the admin database, each committed at once."""
        with self._admin_engine().connect() as conn:
            for statement in statements:
                conn.execute(text(statement))

    def new_database(self, prefix: str = "bevel_test", *, template: str | None = None) -> str:
        """Create an empty database (PostgreSQL: optionally a copy of ``template``); its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        if template is not None and self.kind != "postgresql":
            raise ValueError("database templates are a PostgreSQL feature")
        self.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return self.url(name)

    def drop_database(self, name_or_url: str) -> None:
        """Drop a database (PostgreSQL: even while connections to it are open)."""
        name = name_or_url.rsplit("/", 1)[-1]
        force = " WITH (FORCE)" if self.kind == "postgresql" else ""
        self.execute(f"DROP DATABASE IF EXISTS {name}{force}")

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
            self._admin = None


def _postgres_bin() -> Path:
    override = os.environ.get("BEVEL_PG_BIN")
    candidates = [Path(override)] if override else []
    versions = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    versions.sort(key=lambda p: [int(x) for x in p.split("/")[4].split(".") if x.isdigit()])
    candidates += [Path(p).parent for p in reversed(versions)]
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise ServerUnavailable(
        "PostgreSQL's initdb and pg_ctl were not found (looked in /usr/lib/postgresql/*/bin,"
        " PATH and $BEVEL_PG_BIN): apt-get install -y postgresql"
    )


@contextlib.contextmanager
def postgres_server(*, keep_files: bool = False) -> Iterator[DatabaseServer]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (initdb + pg_ctl, fsync off); ~1 s to start.

    URLs use the psycopg 3 driver (``postgresql+psycopg://postgres@127.0.0.1:PORT/db``).
    """
    if _missing_modules(["psycopg"]):
        raise ServerUnavailable(f"the PostgreSQL driver psycopg is not installed: {_DEV_EXTRAS}")
    bindir = _postgres_bin()
    run_as = _RunAs.account("postgres", "postgresql")
    with _scratch_dir("bevel-pg-", run_as, keep_files) as base:
        data, log = base / "data", base / "server.log"
        _run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", *_INITDB_OPTIONS],
            log=base / "initdb.log",
            run_as=run_as,
            cwd=base,
            timeout=120,
        )
        port = _start_postgres(bindir, data, base, log, run_as)
        server = DatabaseServer(
            kind="postgresql",
            host=HOST,
            port=port,
            user="postgres",
            admin_database="postgres",
            driver="psycopg",
            log=log,
            data_dir=data,
        )
        try:
            yield server
        finally:
            server.close()
            _run(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", *_STOP_WAIT, "stop"],
                log=base / "pg_ctl.log",
                run_as=run_as,
                cwd=base,
                timeout=STOP_TIMEOUT_S + 10,
            )


def _start_postgres(bindir: Path, data: Path, base: Path, log: Path, run_as: _RunAs) -> int:
    def start(port: int) -> int:
        options = " ".join([f"-p {port}", f"-k {base}", *_POSTGRES_OPTIONS])
        command = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w"]
        command += ["-t", str(int(START_TIMEOUT_S)), "-o", options, "start"]
        try:
            _run(command, log=base / "pg_ctl.log", run_as=run_as, cwd=base, timeout=_START_LIMIT)
        except ServerFailed as err:
            raise ServerFailed(f"PostgreSQL did not start: {err}\n{log_tail(log)}") from None
        return port

    return _on_free_port(start, log)


def _mariadb_programs() -> tuple[str, str, str]:
    def find(*names: str) -> str | None:
        for name in names:
            path = shutil.which(name) or next(
                (p for d in ("/usr/sbin", "/usr/bin") if os.path.isfile(p := f"{d}/{name}")), None
            )
            if path:
                return path
        return None

    server = find("mariadbd", "mysqld")
    install = find("mariadb-install-db", "mysql_install_db")
    admin = find("mariadb-admin", "mysqladmin")
    if not (server and install and admin):
        raise ServerUnavailable(
            "MariaDB's mariadbd, mariadb-install-db and mariadb-admin were not found:"
            " apt-get install -y mariadb-server"
        )
    return server, install, admin


@contextlib.contextmanager
def mariadb_server(*, keep_files: bool = False) -> Iterator[DatabaseServer]:
    """A throwaway MariaDB server on 127.0.0.1 (mariadb-install-db + mariadbd); ~3 s to start.

    URLs use the PyMySQL driver (``mysql+pymysql://root@127.0.0.1:PORT/db``).
    """
    if _missing_modules(["pymysql"]):
        raise ServerUnavailable(f"the MySQL/MariaDB driver PyMySQL is not installed: {_DEV_EXTRAS}")
    mariadbd, install_db, admin = _mariadb_programs()
    run_as = _RunAs.account("mysql", "mariadb-server")
    user_opt = ["--user=mysql"] if run_as.switch else []
    with _scratch_dir("bevel-my-", run_as, keep_files) as base:
        data, sock, log = base / "data", base / "sock", base / "server.log"
        _run(
            [install_db, "--no-defaults", *user_opt, f"--datadir={data}", *_INSTALL_DB_OPTIONS],
            log=base / "install.log",
            run_as=_RunAs(),  # it switches to --user itself
            cwd=base,
            timeout=120,
        )
        proc, port = _start_mariadb(mariadbd, user_opt, data, sock, log, base)
        server = DatabaseServer(
            kind="mysql",
            host=HOST,
            port=port,
            user="root",
            admin_database="mysql",
            driver="pymysql",
            log=log,
            data_dir=data,
        )
        try:
            yield server
        finally:
            server.close()
            try:
                _run(
                    [admin, "--no-defaults", f"--socket={sock}", "-uroot", "shutdown"],
                    log=base / "admin.log",
                    run_as=_RunAs(),
                    cwd=base,
                    timeout=STOP_TIMEOUT_S,
                )
                proc.wait(STOP_TIMEOUT_S)
            finally:
                _stop_process(proc)


def _mariadb_ready(sock: Path) -> bool:
    import pymysql  # an optional driver (the mysql extra)

    try:
        conn = pymysql.connect(unix_socket=str(sock), user="root", connect_timeout=2)
    except pymysql.err.OperationalError:
        return False
    conn.close()
    return True


def _start_mariadb(
    mariadbd: str, user_opt: list[str], data: Path, sock: Path, log: Path, base: Path
) -> tuple[subprocess.Popen[bytes], int]:
    import pymysql  # an optional driver (the mysql extra)

    def start(port: int) -> tuple[subprocess.Popen[bytes], int]:
        command = [mariadbd, "--no-defaults", *user_opt, f"--datadir={data}", f"--socket={sock}"]
        command += [f"--port={port}", f"--log-error={log}", f"--pid-file={base / 'pid'}"]
        command += [f"--tmpdir={base}", *_MARIADB_OPTIONS]
        with (base / "mariadbd.out").open("ab") as out:
            proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=base
            )
        try:
            _wait_until(
                lambda: _mariadb_ready(sock),
                what="MariaDB",
                logs=[log, base / "mariadbd.out"],
                alive=lambda: proc.poll() is None,
            )
        except ServerFailed:
            _stop_process(proc)
            raise
        return proc, port

    proc, port = _on_free_port(start, log)
    # Over TCP with --skip-name-resolve, root@localhost does not match 127.0.0.1.
    conn = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE USER IF NOT EXISTS 'root'@'{HOST}'")
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO 'root'@'{HOST}' WITH GRANT OPTION")
    finally:
        conn.close()
    return proc, port


# --- S3 ---------------------------------------------------------------------------------------

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"

# Requests to the local server must never go through a proxy from the environment.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class S3Server:
    """A running S3-compatible server (moto): its endpoint and fresh buckets."""

    endpoint_url: str
    log: Path

    @property
    def storage_options(self) -> dict[str, Any]:
        """fsspec/s3fs options for this server (``FsspecArtifactStore(url, **options)``)."""
        return {
            "endpoint_url": self.endpoint_url,
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "client_kwargs": {"region_name": REGION},
        }

    def _request(self, method: str, path: str) -> int:
        request = urllib.request.Request(self.endpoint_url + path, method=method)
        try:
            with _LOCAL.open(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as err:
            raise ServerFailed(
                f"{method} {self.endpoint_url}{path} answered {err.code}: {err.read()[:500]!r}"
            ) from None

    def new_bucket(self, prefix: str = "bevel-test") -> str:
        """Create an empty bucket; its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self._request("PUT", f"/{name}")
        return name

    def reset(self) -> None:
        """Delete every bucket and object."""
        self._request("POST", "/moto-api/reset")


def _http_ready(url: str) -> bool:
    try:
        with _LOCAL.open(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


@contextlib.contextmanager
def moto_s3_server(*, check_credentials: bool = False) -> Iterator[S3Server]:
    """moto's S3 server in a child process on 127.0.0.1; ~2 s to start.

    Credentials are ``testing``/``testing``; moto accepts any signature, unless
    ``check_credentials``: then every request is authenticated against moto's (empty) IAM, so
    any key is rejected as a real S3 rejects a wrong one.
    """
    missing = _missing_modules(["moto", "flask", "flask_cors", "s3fs"])
    if missing:
        raise ServerUnavailable(
            f"the fake S3 server needs {', '.join(missing)}, not installed: {_DEV_EXTRAS}"
        )
    with _scratch_dir("bevel-s3-", _RunAs()) as base:
        log = base / "moto.log"
        env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
        if check_credentials:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"

        def start(port: int) -> tuple[subprocess.Popen[bytes], str]:
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=base,
                    env=env,
                )
            endpoint = f"http://{HOST}:{port}"
            try:
                _wait_until(
                    lambda: _http_ready(f"{endpoint}/moto-api/data.json"),
                    what="moto_server",
                    logs=[log],
                    alive=lambda: proc.poll() is None,
                )
            except ServerFailed:
                _stop_process(proc)
                raise
            return proc, endpoint

        proc, endpoint = _on_free_port(start, log)
        try:
            yield S3Server(endpoint_url=endpoint, log=log)
        finally:
            _stop_process(proc)
