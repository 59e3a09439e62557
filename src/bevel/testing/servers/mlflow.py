"""A throwaway MLflow tracking server (SQLite backend, proxied artifacts) on 127.0.0.1.

bevel's ``mlflow`` extra installs ``mlflow-skinny``, the client; the server is the full
``mlflow`` package, whose pins (``pyarrow<26`` in 3.17.2) would downgrade bevel's own
environment. So the server runs from a venv of its own: ``$BEVEL_MLFLOW_SERVER`` (the path of an
``mlflow`` executable), else ``~/.cache/bevel/mlflow-server-<version>/bin/mlflow``, created on
first use with ``python -m venv`` and ``pip install mlflow==<version>`` (about a minute, once per
machine; a lock keeps concurrent test sessions from building it twice).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from bevel._dataclass import dataclass
from bevel.testing.servers._process import (
    HOST,
    ServerFailed,
    ServerUnavailable,
    _on_free_port,
    _run,
    _RunAs,
    _scratch_dir,
    _stop_process,
    _wait_until,
)

#: The server's version: the client's (mlflow-skinny) minor release.
MLFLOW_VERSION = "3.17.2"
ENV_SERVER = "BEVEL_MLFLOW_SERVER"
_BUILD_TIMEOUT_S = 900.0
# Requests to the local server must never go through a proxy from the environment.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class MlflowServer:
    """A running MLflow server: its URL (the tracking URI) and where it keeps things."""

    url: str
    folder: Path
    log: Path


def server_venv() -> Path:
    """Where the server's own venv lives (it may not exist yet)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "bevel" / f"mlflow-server-{MLFLOW_VERSION}"


def mlflow_executable() -> Path:
    """The ``mlflow`` program of a full install, building the cached venv when needed."""
    given = os.environ.get(ENV_SERVER)
    if given:
        path = Path(given)
        if not path.is_file():
            raise ServerUnavailable(f"${ENV_SERVER} is {given!r}, which is not a file")
        return path
    venv = server_venv()
    program, done = venv / "bin" / "mlflow", venv / ".bevel-complete"
    if done.is_file():
        return program
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be building it
        if done.is_file():
            return program
        shutil.rmtree(venv, ignore_errors=True)  # a build that was interrupted
        log = venv.with_name(venv.name + ".log")
        log.unlink(missing_ok=True)
        here = _RunAs()
        try:
            _run([sys.executable, "-m", "venv", str(venv)], log=log, run_as=here,
                 cwd=venv.parent, timeout=120)  # fmt: skip
            _run([str(venv / "bin" / "pip"), "install", "-q", f"mlflow=={MLFLOW_VERSION}"],
                 log=log, run_as=here, cwd=venv.parent, timeout=_BUILD_TIMEOUT_S)  # fmt: skip
        except ServerFailed as err:
            raise ServerUnavailable(
                f"could not install the MLflow server (mlflow=={MLFLOW_VERSION}) into its own "
                f"venv {venv}: {err}; or point ${ENV_SERVER} at an installed mlflow program"
            ) from None
        done.write_text(f"mlflow=={MLFLOW_VERSION}\n")
    return program


def _health(url: str) -> bool:
    try:
        with _LOCAL.open(f"{url}/health", timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def mlflow_server() -> Iterator[MlflowServer]:
    """``mlflow server`` on a free port of 127.0.0.1: SQLite backend store, artifacts proxied
    by the server into a temporary folder, telemetry off; ~6-15 s to start."""
    program = mlflow_executable()
    with _scratch_dir("bevel-mlflow-", _RunAs()) as base:
        log = base / "mlflow.log"
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
        env.pop("MLFLOW_TRACKING_URI", None)

        def start(port: int) -> tuple[subprocess.Popen[bytes], str]:
            cmd = [
                str(program), "server", "--host", HOST, "--port", str(port),
                "--backend-store-uri", f"sqlite:///{base / 'mlflow.db'}",
                "--artifacts-destination", str(base / "mlartifacts"), "--workers", "1",
            ]  # fmt: skip
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    cwd=base, env=env, start_new_session=True,
                )  # fmt: skip
            url = f"http://{HOST}:{port}"
            try:
                _wait_until(lambda: _health(url), what="mlflow server", logs=[log],
                            alive=lambda: proc.poll() is None, timeout=90)  # fmt: skip
            except ServerFailed:
                _stop_group(proc)
                raise
            return proc, url

        proc, url = _on_free_port(start, log)
        try:
            yield MlflowServer(url=url, folder=base, log=log)
        finally:
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """The server forks workers (uvicorn): stop its whole session."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
    _stop_process(proc)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, 9)
