"""Worker processes of the local parallel orchestrator, and the warm template they are forked
from.

``python -m bevel.run.procworker --template SOCKET_FD`` is the **template**: started once per
driving process (and again only if it dies), it imports bevel's worker side and the heavy
libraries the driver has loaded (:data:`PRELOAD`), then waits. Each worker is a ``fork`` of it,
asked for over ``SOCKET_FD`` (a ``SOCK_SEQPACKET`` socket; each request carries the worker's two
pipe ends, its environment, ``sys.path`` and working directory), so a worker starts in a few
milliseconds with its imports done, instead of a fresh interpreter importing everything again
(hundreds of milliseconds per worker, all at once on a busy machine). The template answers
``("pid", token, pid)`` for each request and ``("exit", pid, wait status)`` when a worker ends
(it reaps them), so the driver can say how a worker died. It never imports the user's code
(every worker imports the current version of it itself), holds no thread, connection or open
store, and exits when the driver closes its socket (or dies).

A **worker** reads jobs ``(job id, function, argument, environment)`` from its job pipe and
writes ``(job id, ok, result or exception)`` to its result pipe (``multiprocessing.connection``
framing of pickles), one job at a time. The function is bevel's own ``run_task``, pickled by
reference; the argument a ``StepTask``. ``environment`` is set for the job only
(``CUDA_VISIBLE_DEVICES``). A job without a function is a **warm-up**, answered with nothing:
the worker gets ready for that task's run (:func:`bevel.run.worker.prepare`: the stack, the
plan, the step's module) while it has nothing else to do, so that an idle worker's first step
starts at once when it comes. ``python -m bevel.run.procworker IN_FD OUT_FD`` runs one worker in
a fresh interpreter (no template): what to run by hand to see why workers fail to start.

Started with ``subprocess`` and ``fork`` rather than ``multiprocessing`` so that the user's
script is never imported again as ``__mp_main__`` (its unguarded top level would run in every
worker). Ctrl-C is the driver's to handle: the template and workers ignore SIGINT; a worker
finishes the step it runs, and exits when the driver closes its pipe, dies, or kills it (a
timeout, ``bevel runs cancel``).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pickle
import select
import signal
import socket
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from bevel.orchestrators.workers import MESSAGE_BYTES

_PARENT_POLL_SECONDS = 1.0
PRELOAD = "BEVEL_WORKER_PRELOAD"  # modules to import before the first job, comma-separated
#: What every worker imports for its first step (measured): bevel's worker side, the SQL store,
#: the stack's loader and the decorators the user's module imports. The template has them.
WARM = (
    "bevel.run.worker",
    "bevel.metadata.sql.store",
    "bevel.stack.loader",
    "bevel.authoring.pipeline",
    "bevel.orchestrators.local_parallel",
)


def _watch_parent(parent: int) -> None:
    """Exit when the driver (or the template) is gone: nobody would read our result."""
    while True:
        time.sleep(_PARENT_POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(3)


def _with_env(env: dict[str, str]) -> dict[str, str | None]:
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    return before


def _restore(before: dict[str, str | None]) -> None:
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def serve(jobs: Connection, results: Connection) -> None:
    while True:
        try:
            message = jobs.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, fn, arg, env = message
        if fn is None:
            _warm_up(arg)
            continue
        before = _with_env(env)
        reply: tuple[Any, ...]
        try:
            reply = (job_id, True, fn(arg))
        except BaseException as exc:  # the driver decides what a failure means
            reply = (job_id, False, exc)
        finally:
            _restore(before)
        try:
            results.send(reply)
        except Exception as exc:  # a result or exception that does not pickle
            results.send((job_id, False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _warm_up(task: Any) -> None:
    """A warm-up job (see the module docstring): never answered, never fatal."""
    try:
        from bevel.run.worker import prepare  # in the template's warm modules: no import cost

        prepare(task)
    except Exception:  # the step reports a real problem itself when it runs
        return


def _preload(modules: tuple[str, ...]) -> None:
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # a warm-up only: the job reports a real import error itself
            continue


def _wanted() -> tuple[str, ...]:
    return (*WARM, *filter(None, os.environ.get(PRELOAD, "").split(",")))


# --- the template --------------------------------------------------------------------------------


def template(sock: socket.socket) -> None:
    """Fork a worker for each request on ``sock`` until the driver closes it (see above)."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes select through wake_w
    listen = sock.fileno()
    while True:
        try:
            ready, _, _ = select.select([listen, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 4096)
            if not _reap(sock):
                return
        if listen in ready:
            try:
                data, fds, _, _ = socket.recv_fds(sock, MESSAGE_BYTES, 2)
            except OSError:
                return
            if not data:
                return  # the driver closed its end, or died
            token, env, path, cwd = pickle.loads(data)
            pid = os.fork()
            if pid == 0:
                _become_worker(sock, (wake_r, wake_w), fds, env, path, cwd)
            for fd in fds:
                os.close(fd)
            if not _tell(sock, ("pid", token, pid)):
                return


def _reap(sock: socket.socket) -> bool:
    """Tell the driver about every worker that ended; False when the driver is gone."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return True
        if not _tell(sock, ("exit", pid, status)):
            return False


def _tell(sock: socket.socket, message: tuple[Any, ...]) -> bool:
    try:
        sock.send(pickle.dumps(message))
    except OSError:
        return False
    return True


def _become_worker(
    sock: socket.socket,
    wake: tuple[int, int],
    fds: list[int],
    env: dict[str, str],
    path: list[str],
    cwd: str,
) -> None:
    """In a forked child: drop the template's state and serve jobs, as a fresh worker would."""
    code = 0
    try:
        sock.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in wake:
            os.close(fd)
        os.environ.clear()
        os.environ.update(env)
        sys.path[:] = path
        with contextlib.suppress(OSError):
            os.chdir(cwd)
        numpy = sys.modules.get("numpy")
        if numpy is not None:  # forked workers would otherwise draw the same numbers
            numpy.random.seed()
        _worker(fds[0], fds[1])
    except BaseException:
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()  # close the stacks built for the jobs (bevel.run.worker)
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _worker(job_fd: int, result_fd: int) -> None:
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    serve(Connection(job_fd, writable=False), Connection(result_fd, readable=False))


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if argv[:1] == ["--template"]:
        sock = socket.socket(fileno=int(argv[1]))
        _preload(_wanted())
        template(sock)
        # The driver is done with us. Nothing here needs finalizing (no thread, connection or
        # store), and tearing down every module imported above took the driver's exit 0.1 s
        # of waiting (it reaps the template): leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    # One worker in a fresh interpreter: warm up while the driver prepares the first job.
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    jobs = Connection(int(argv[0]), writable=False)
    results = Connection(int(argv[1]), readable=False)
    _preload(_wanted())
    serve(jobs, results)


if __name__ == "__main__":
    main(sys.argv[1:])
