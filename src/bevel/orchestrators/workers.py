"""Worker processes of the parallel executor, forked from a warm template.

A worker is a process of its own serving one job at a time over two pipes (see
:mod:`bevel.run.procworker`). It is forked from the driver's **template**: one process per
driving process, started at the first need (``LocalParallelOrchestrator.check_plan``, before
the run is recorded, so that its imports overlap the driver's own work) and kept for later
runs of this process, that has bevel's worker side and the driver's heavy libraries imported
already. So a run's workers start in milliseconds, every run gets fresh workers (each imports
the user's current code itself: an edit between two runs of a notebook is picked up), and a
worker killed for a timeout or a cancel is replaced at once. When the template cannot be
started, a worker is a fresh interpreter instead (``python -m bevel.run.procworker``).

The template reaps the workers and tells their wait status, so a dead worker is still named
with how it ended ("killed by SIGKILL"). Workers are signalled through a pidfd where the
system has them, so a pid reused after a worker ended is never signalled.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

WORKER_MODULE = "bevel.run.procworker"
MESSAGE_BYTES = 1 << 18  # the largest message to or from the template (an environment, pickled)
#: Heavy modules the template (or a fresh worker) imports first when the driver has them.
_PRELOAD = ("bevel.metadata.sql.store", "s3fs", "numpy", "pandas", "pyarrow", "sklearn")


def worker_env() -> dict[str, str]:
    """This process's environment, with its import path, so workers import what it imports
    (and start importing what it already has: see :mod:`bevel.run.procworker`)."""
    paths = [p or os.getcwd() for p in sys.path]
    preload = ",".join(m for m in _PRELOAD if m in sys.modules)
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
        "BEVEL_WORKER_PRELOAD": preload,
    }


class Template:
    """The driver's end of the template process (see the module docstring)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", WORKER_MODULE, "--template", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                env=worker_env(),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock = ours
        self._lock = threading.Lock()  # one request or read at a time
        self._tokens = 0
        self._pids: dict[int, int] = {}  # request token -> pid
        self._exits: dict[int, int] = {}  # pid -> wait status
        self._broken = False

    @property
    def alive(self) -> bool:
        return not self._broken and self.popen.poll() is None

    def spawn(self, env: dict[str, str], job_r: int, result_w: int) -> int:
        """Ask for a worker on these pipe ends; a token for :meth:`pid`. Does not wait for the
        fork (the template may still be importing: the job waits in the pipe meanwhile)."""
        with self._lock:
            self._tokens += 1
            token = self._tokens
            message = pickle.dumps((token, env, list(sys.path), os.getcwd()))
            try:
                socket.send_fds(self._sock, [message], [job_r, result_w])
            except OSError:
                self._broken = True
                raise
        return token

    def pid(self, token: int, timeout: float) -> int | None:
        """The pid of the worker forked for ``token`` (None: the template is gone)."""
        return self._await(lambda: self._pids.get(token), timeout)

    def exit_status(self, pid: int, timeout: float) -> int | None:
        """The wait status of worker ``pid`` once it ended (None: not within ``timeout``)."""
        return self._await(lambda: self._exits.get(pid), timeout)

    def forget(self, pid: int) -> None:
        with self._lock:
            self._exits.pop(pid, None)
            self._pids = {t: p for t, p in self._pids.items() if p != pid}

    def _await(self, found: Any, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value: int | None = found()
                if value is not None or self._broken:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                try:
                    ready, _, _ = select.select([self._sock], [], [], left)
                except (OSError, ValueError):  # closed: this process is exiting
                    self._broken = True
                    return None
                if ready:
                    self._read()

    def _read(self) -> None:
        try:
            data = self._sock.recv(MESSAGE_BYTES)
        except OSError:
            data = b""
        if not data:
            self._broken = True
            return
        kind, key, value = pickle.loads(data)
        if kind == "pid":
            self._pids[key] = value
        else:
            self._exits[key] = value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)


_template: Template | None = None
_template_lock = threading.Lock()


def template() -> Template | None:
    """This process's template, started now if it is not running (None: it cannot start)."""
    global _template
    with _template_lock:
        if _template is not None and not _template.alive:
            _template.close()
            _template = None
        if _template is None:
            try:
                _template = Template()
            except OSError:
                return None
        return _template


def close_template() -> None:
    global _template
    with _template_lock:
        if _template is not None:
            _template.close()
            _template = None


atexit.register(close_template)


class Worker:
    """One worker process and its two pipes: forked from the template, else a fresh one."""

    def __init__(self, env: dict[str, str], *, warm: bool = True) -> None:
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        self._template = template() if warm else None
        self._token: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self._pidfd: int | None = None
        self._code: int | None = None  # how it ended, once known
        try:
            if self._template is not None:
                try:
                    self._token = self._template.spawn(env, job_r, res_w)
                except OSError:
                    self._template = None
            if self._template is None:
                self._popen = subprocess.Popen(
                    [sys.executable, "-m", WORKER_MODULE, str(job_r), str(res_w)],
                    pass_fds=(job_r, res_w),
                    env=env,
                    stdin=subprocess.DEVNULL,
                )
                self._pid = self._popen.pid
        finally:
            os.close(job_r)
            os.close(res_w)
        self.jobs = Connection(job_w, readable=False)
        self.results = Connection(res_r, writable=False)
        self.job: Any = None  # the executor's job it runs, if any
        self.served = 0
        self.warmed = False  # it was sent a warm-up (see bevel.run.procworker)

    @property
    def pid(self) -> int:
        """The worker's pid (0 when the template died before forking it)."""
        if self._pid is None and self._template is not None and self._token is not None:
            self._pid = self._template.pid(self._token, timeout=60.0)
            if self._pid is not None and hasattr(os, "pidfd_open"):
                with contextlib.suppress(OSError):
                    self._pidfd = os.pidfd_open(self._pid)
        return self._pid or 0

    def _status(self, timeout: float) -> int | None:
        """How the worker ended, as ``Popen.returncode`` says it (None: still running)."""
        if self._code is not None:
            return self._code
        if self._popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._code = self._popen.wait(timeout=timeout)
            return self._code
        pid = self.pid
        if not pid or self._template is None:
            return None
        status = self._template.exit_status(pid, timeout)
        if status is not None:
            self._template.forget(pid)
            self._code = os.waitstatus_to_exitcode(status)
        return self._code

    def how_it_ended(self) -> str:
        code = self._status(timeout=5)
        if code is None:
            return "its pipe closed"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def kill(self) -> None:
        self._signal(signal.SIGKILL)
        self.wait(timeout=5)
        self.close()

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(OSError):
            if self._popen is not None:
                self._popen.send_signal(signum)
                return
            pid = self.pid
            if self._pidfd is not None:
                signal.pidfd_send_signal(self._pidfd, signum)
            elif pid:
                os.kill(pid, signum)

    def wait(self, timeout: float) -> None:
        self._status(timeout)

    def stop(self) -> None:
        """Ask an idle worker to exit (it does at once)."""
        with contextlib.suppress(OSError):
            self.jobs.send(None)
        self.close()

    def close(self) -> None:
        for conn in (self.jobs, self.results):
            with contextlib.suppress(OSError):
                conn.close()
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None
