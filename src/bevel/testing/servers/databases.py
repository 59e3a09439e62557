"""Throwaway PostgreSQL and MariaDB servers."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bevel._dataclass import dataclass
from bevel.testing.servers._process import (
    _DEV_EXTRAS,
    _START_LIMIT,
    HOST,
    START_TIMEOUT_S,
    STOP_TIMEOUT_S,
    ServerFailed,
    ServerUnavailable,
    _missing_modules,
    _on_free_port,
    _run,
    _RunAs,
    _scratch_dir,
    _stop_process,
    _wait_until,
    log_tail,
)

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
