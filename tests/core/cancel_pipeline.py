"""Ctrl-C while a step runs in a thread pool, as a script (a stray SIGINT must not hit pytest).

``python cancel_pipeline.py once``: one Ctrl-C while ``slow`` runs in a pool thread; the step
finishes a moment after the driver got it. ``python cancel_pipeline.py twice``: a second Ctrl-C arrives while the
engine waits for ``slow``, which finishes only after the run has ended. ``python
cancel_pipeline.py submit``: the same two Ctrl-C, the first one landing inside the executor's
``submit`` of ``trigger`` (after the pool took the task, before the engine got its future: where
a busy machine delivers it when ``Thread.start`` waits for the new thread). Prints one JSON line:
the run and its steps as recorded once every thread is done.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from typing import Any

from pool_orchestrators import ThreadPoolOrchestrator

from bevel import Client, pipeline, step
from bevel.api import run_pipeline
from bevel.metadata.records import StepRunRecord
from bevel.stack.stack import default_stack

MODE = sys.argv[1]
MAIN = threading.main_thread().ident or 0
started, release = threading.Event(), threading.Event()


def ctrl_c() -> None:
    signal.pthread_kill(MAIN, signal.SIGINT)  # what a terminal does to the driving process


def on_ctrl_c(signum: int, frame: object) -> None:
    """Python's own behaviour (KeyboardInterrupt in the main thread), and in "once" mode let
    ``slow`` end a moment after the engine got the interrupt, however late the main thread is
    scheduled on a busy machine."""
    if MODE == "once" and not release.is_set():
        threading.Timer(0.3, release.set).start()
    raise KeyboardInterrupt


@step
def slow() -> int:
    started.set()
    release.wait(60)
    return 1


@step
def after(x: int) -> int:
    return x + 1


@step
def trigger() -> int:
    started.wait(60)
    if MODE != "submit":  # in "submit" mode the Ctrl-C came while the engine submitted this step
        ctrl_c()
    return 2


@pipeline
def cancelled() -> None:
    after(slow())
    trigger()


class SecondCtrlC:
    """Presses Ctrl-C again once the engine, winding down, has collected ``trigger``."""

    def on_run_start(self, run: Any, plan: Any) -> None: ...

    def on_step_start(self, step_id: str, step_name: str) -> None: ...

    def on_step_end(self, step_run: StepRunRecord) -> None:
        if step_run.step_id == "trigger" and MODE in ("twice", "submit"):
            ctrl_c()

    def on_run_end(self, run: Any) -> None: ...


class CtrlCInSubmit(ThreadPoolOrchestrator):
    """Ctrl-C arrives while ``submit`` of ``trigger`` runs: the pool has the task, the engine
    does not have its future yet."""

    def executor(self) -> Any:
        inner = super().executor()
        real_submit = inner.submit

        def submit(fn: Any, task: Any) -> Any:
            future = real_submit(fn, task)
            if task.step_id == "trigger":
                signal.raise_signal(signal.SIGINT)  # handled here, in the main thread
            return future

        inner.submit = submit
        return inner


signal.signal(signal.SIGINT, on_ctrl_c)
orchestrator = CtrlCInSubmit(workers=2) if MODE == "submit" else ThreadPoolOrchestrator(workers=2)
stack = dataclasses.replace(default_stack(), orchestrator=orchestrator)
interrupted = False
try:
    run_pipeline(cancelled, stack=stack, listener=SecondCtrlC())
except KeyboardInterrupt:
    interrupted = True
release.set()
orchestrator.join()  # every step thread is done: whatever it could still write is written
run = Client(stack).last_run("cancelled")
print(
    json.dumps(
        {
            "interrupted": interrupted,
            "status": run.status,
            "ended": run.ended.isoformat() if run.ended else None,
            "steps": {
                k: {
                    "status": s.status,
                    "error": s.error,
                    "ended": s.ended.isoformat() if s.ended else None,
                    "outputs": len(s.outputs),
                }
                for k, s in run.steps.items()
            },
        }
    )
)
stack.close()
