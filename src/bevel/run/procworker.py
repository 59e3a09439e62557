"""A worker process of the local parallel orchestrator: ``python -m bevel.run.procworker
IN_FD OUT_FD``.

It reads jobs ``(job id, function, argument, environment)`` from ``IN_FD`` and writes
``(job id, ok, result or exception)`` to ``OUT_FD`` (``multiprocessing.connection`` framing of
pickles), one job at a time. The function is bevel's own ``run_task``, pickled by reference;
the argument a ``StepTask``. ``environment`` is set for the job only (``CUDA_VISIBLE_DEVICES``).

Started with ``subprocess`` rather than ``multiprocessing`` so that the user's script is never
imported again as ``__mp_main__`` (its unguarded top level would run in every worker). Ctrl-C
is the driver's to handle: workers ignore SIGINT, finish the step they run, and exit when the
driver closes their pipe, dies, or kills them (a timeout, ``bevel runs cancel``).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

_PARENT_POLL_SECONDS = 1.0
PRELOAD = "BEVEL_WORKER_PRELOAD"  # modules to import before the first job, comma-separated


def _watch_parent(parent: int) -> None:
    """Exit when the driver is gone (killed with -9: nobody would read our result)."""
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


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    jobs = Connection(int(argv[0]), writable=False)
    results = Connection(int(argv[1]), readable=False)
    # Warm up while the driver prepares the first job: bevel's worker side, and the heavy
    # libraries the driver has loaded (its metadata store's SQLAlchemy, numpy, pandas...).
    for module in ("bevel.run.worker", *filter(None, os.environ.get(PRELOAD, "").split(","))):
        try:
            importlib.import_module(module)
        except Exception:  # a warm-up only: the job reports a real import error itself
            continue

    serve(jobs, results)


if __name__ == "__main__":
    main(sys.argv[1:])
