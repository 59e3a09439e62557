"""Starting, waiting for and stopping throwaway server processes (shared by the servers)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bevel._dataclass import dataclass

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
_START_LIMIT = START_TIMEOUT_S + 10  # for a program that has its own START_TIMEOUT_S wait
_DEV_EXTRAS = "pip install -e '.[dev]'"


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
