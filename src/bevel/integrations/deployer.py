"""The ``local`` model deployer: a model server as a managed background process.

``deploy(model, version)`` starts ``python -m bevel models serve MODEL --version N --port P``
detached from the caller (its own session, output to a log file under
``.bevel/deployments/``), waits until ``/health`` answers, and records the deployment in the
metadata store, on the model version (metadata key ``deployment``: url, pid, host, port, log,
started). ``status``, ``logs`` and ``stop`` find it there, so any process on this machine can
manage what another one deployed: ``bevel models deployments``, ``bevel models stop NAME``.
Deploying a model again replaces its running server (one local deployment per model).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bevel._dataclass import dataclass
from bevel.errors import ModelError, StackError
from bevel.metadata.base import MetadataStore

KEY = "deployment"


@dataclass(frozen=True)
class Deployment:
    model: str
    version: int
    url: str
    pid: int
    host: str
    port: int
    log: str
    started: str
    state: str = "unknown"  # "running" | "stopped" | "unhealthy"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "state"}


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _healthy(url: str, timeout: float = 0.5) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalModelDeployer:
    """Serves model versions from background processes on this machine."""

    def __init__(
        self,
        *,
        folder: str,
        host: str = "127.0.0.1",
        port: int | None = None,
        start_timeout: float = 60.0,
        name: str | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self.name = name or "local-deployer"

    # --- the ModelDeployer protocol ----------------------------------------------------------
    def deploy(
        self, name: str, version: str, *, store: MetadataStore, port: int | None = None
    ) -> str:
        """Serve ``version`` of model ``name`` (replacing its running server); returns the URL."""
        record = store.get_model_version(name, version)
        for running in self.deployments(store, name):
            self.stop(name, store=store, _of=running)
        port = port or self.port or _free_port(self.host)
        self.folder.mkdir(parents=True, exist_ok=True)
        log = self.folder / f"{name}-v{record.number}-{port}.log"
        env = {**os.environ, "DO_NOT_TRACK": "1"}
        command = [
            sys.executable, "-m", "bevel", "models", "serve", name,
            "--version", str(record.number), "--host", self.host, "--port", str(port),
        ]  # fmt: skip
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env=env,
            )  # fmt: skip
        url = f"http://{self.host}:{port}"
        deadline = time.monotonic() + self.start_timeout
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                if proc.poll() is None:
                    proc.kill()
                tail = log.read_text(errors="replace")[-2000:]
                raise StackError(
                    f"the model server for {name!r} version {record.number} did not start "
                    f"(exit code {proc.poll()}); its log {log} ends with:\n{tail}",
                    hint=f"run it in the foreground to see why: bevel models serve {name} "
                    f"--version {record.number} --port {port}",
                )
            time.sleep(0.1)
        deployment = Deployment(
            name, record.number, url, proc.pid, self.host, port, str(log),
            datetime.now(UTC).isoformat(), "running",
        )  # fmt: skip
        store.update_model_version(record.id, metadata={KEY: deployment.to_dict()})
        return url

    # --- managing what runs ------------------------------------------------------------------
    def deployments(self, store: MetadataStore, name: str | None = None) -> list[Deployment]:
        """Deployments recorded for one model (or all), with their state checked now."""
        names = [name] if name else [m.name for m in store.list_models()]
        found = []
        for model in names:
            for v in store.list_model_versions(model, limit=0):
                data = v.metadata.get(KEY)
                if not isinstance(data, dict) or data.get("stopped"):
                    continue
                dep = Deployment(
                    **{
                        k: data[k]
                        for k in Deployment.__dataclass_fields__
                        if k in data and k != "state"
                    }
                )
                state = (
                    "running"
                    if _healthy(dep.url)
                    else ("unhealthy" if _alive(dep.pid) else "stopped")
                )
                found.append(Deployment(**{**dep.__dict__, "state": state}))
        return found

    def status(self, name: str, *, store: MetadataStore) -> Deployment:
        found = self.deployments(store, name)
        if not found:
            raise ModelError(
                f"model {name!r} is not deployed",
                hint=f"deploy it: bevel models deploy {name} --stage production",
            )
        return found[0]

    def logs(self, name: str, *, store: MetadataStore, tail: int = 100) -> str:
        path = Path(self.status(name, store=store).log)
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return "\n".join(lines[-tail:])

    def stop(self, name: str, *, store: MetadataStore, _of: Deployment | None = None) -> Deployment:
        """Stop the model's server (SIGTERM, then SIGKILL after 10 s) and record it stopped."""
        dep = _of or self.status(name, store=store)
        if _alive(dep.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(dep.pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(dep.pid) and time.monotonic() < deadline:
                _reap(dep.pid)
                time.sleep(0.05)
            if _alive(dep.pid):
                os.killpg(dep.pid, signal.SIGKILL)
                _reap(dep.pid)
        record = store.get_model_version(name, dep.version)
        stopped = {**dep.to_dict(), "stopped": datetime.now(UTC).isoformat()}
        store.update_model_version(record.id, metadata={KEY: stopped})
        return Deployment(**{**dep.__dict__, "state": "stopped"})


def _reap(pid: int) -> None:
    """Collect a child's exit status, when it is ours (else it stays a zombie and looks alive)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
