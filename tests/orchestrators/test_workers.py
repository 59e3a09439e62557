"""Worker processes of the local parallel orchestrator are forked from a warm template
(``bevel.orchestrators.workers``): what a fresh interpreter per worker guaranteed still holds.
Every run gets fresh workers that import the user's current code, forked workers do not share
random state, a dead template is replaced, and nothing outlives a driver that was killed."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import par_pipelines as pp
import pytest
from orch_helpers import ran, wait_gone

from bevel.api import run_pipeline
from bevel.orchestrators import workers
from bevel.orchestrators.local_parallel import LocalParallelOrchestrator

HERE = Path(__file__).parent


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


def test_workers_are_forked_from_the_template_and_fresh_for_every_run(
    on: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs in one process (a notebook): the second run's workers are new processes, forked
    from the same template, and they run the step's code as edited between the runs."""
    (tmp_path / "edited.py").write_text(_EDITED.format(value=1))
    monkeypatch.syspath_prepend(str(tmp_path))
    edited = importlib.import_module("edited")
    stack = on(LocalParallelOrchestrator(processes=2))
    first = run_pipeline(edited.twice, stack=stack, enable_cache=False)
    (tmp_path / "edited.py").write_text(_EDITED.format(value=2))
    edited = importlib.reload(edited)
    second = run_pipeline(edited.twice, stack=stack, enable_cache=False)

    assert [first.steps[s].output.load() for s in ("value", "value_2")] == [1, 1]
    assert [second.steps[s].output.load() for s in ("value", "value_2")] == [2, 2]
    pids = [{m["pid"] for m in ran(run).values()} for run in (first, second)]
    assert not pids[0] & pids[1]  # no worker served both runs
    template = workers.template()
    assert template is not None
    parents = {m["ppid"] for run in (first, second) for m in ran(run).values()}
    assert parents == {template.popen.pid}
    assert all(wait_gone(pid) for pid in pids[0] | pids[1])  # stopped when their run ended


_EDITED = """
import os, time
from bevel import log_metadata, pipeline, step

@step
def value() -> int:
    now = time.time()
    log_metadata({{"start": now, "end": now, "pid": os.getpid(), "ppid": os.getppid()}})
    return {value}

@pipeline
def twice() -> None:
    value()
    value()
"""


def test_forked_workers_draw_different_random_numbers(on: Any, tmp_path: Path) -> None:
    """Forked from one template with numpy imported, two workers would draw the same numbers
    unless each is seeded again."""
    import numpy  # noqa: F401  (so that the template has it imported: the case to test)

    workers.close_template()  # a new one, started with numpy in this process
    run = run_pipeline(
        pp.two_draws, params={"folder": str(tmp_path)},
        stack=on(LocalParallelOrchestrator(processes=2)), enable_cache=False,
    )  # fmt: skip
    first, second = (run.steps[s].output.load() for s in ("draw", "draw_2"))
    steps = ran(run)
    assert steps["draw"]["pid"] != steps["draw_2"]["pid"]
    assert first["numpy"] != second["numpy"]
    assert first["random"] != second["random"]


def test_a_dead_template_is_replaced(on: Any, tmp_path: Path) -> None:
    template = workers.template()
    assert template is not None
    os.kill(template.popen.pid, signal.SIGKILL)
    template.popen.wait()
    run = run_pipeline(
        pp.two_branches, params={"folder": str(tmp_path)},
        stack=on(LocalParallelOrchestrator(processes=2)), enable_cache=False,
    )  # fmt: skip
    assert run.status == "completed"
    replaced = workers.template()
    assert replaced is not None and replaced.popen.pid != template.popen.pid


def test_workers_without_a_template_are_fresh_interpreters(
    on: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the template cannot start, workers are started one by one, as before."""
    workers.close_template()
    monkeypatch.setattr(workers, "template", lambda: None)
    run = run_pipeline(
        pp.two_branches, params={"folder": str(tmp_path)},
        stack=on(LocalParallelOrchestrator(processes=2)), enable_cache=False,
    )  # fmt: skip
    assert run.status == "completed"
    assert {m["ppid"] for m in ran(run).values()} == {os.getpid()}


def test_nothing_outlives_a_killed_driver(bevel_home: Path, tmp_path: Path) -> None:
    """The driver is killed with SIGKILL while a step sleeps on a worker: the template and the
    worker exit on their own (nobody would read the step's result)."""
    marker = tmp_path / "pid"
    driver = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(marker)],
        cwd=HERE, env={**os.environ, "PYTHONPATH": str(HERE)},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (marker.exists() and marker.read_text()):
        assert driver.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    step_pid = int(marker.read_text())
    template_pid = _parent(step_pid)
    assert template_pid != driver.pid and _parent(template_pid) == driver.pid
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert wait_gone(template_pid)
    assert wait_gone(step_pid)


_DRIVER = textwrap.dedent(
    """
    import dataclasses, sys
    import par_pipelines as pp
    from bevel.api import run_pipeline
    from bevel.orchestrators.local_parallel import LocalParallelOrchestrator
    from bevel.stack.stack import default_stack

    stack = dataclasses.replace(default_stack(), orchestrator=LocalParallelOrchestrator(2))
    run_pipeline(pp.long_sleep, params={"marker": sys.argv[1]}, stack=stack, enable_cache=False)
    """
)


_IMPORTED = """
import os, time
from pathlib import Path
from bevel import pipeline, step

IMPORTS = Path(os.environ["BEVEL_TEST_IMPORTS"])
with IMPORTS.open("a") as out:  # every process that imports this module says so
    out.write(f"{{os.getpid()}}\\n")

@step
def first(driver: int) -> int:
    \"\"\"How many worker processes have imported this module while the run's first step runs
    (waits up to 20 s for all {workers}).\"\"\"
    deadline = time.time() + 20
    while True:
        workers = set(IMPORTS.read_text().split()) - {{str(driver)}}
        if len(workers) == {workers} or time.time() > deadline:
            return len(workers)
        time.sleep(0.05)

@step
def then(x: int) -> int:
    return x

@pipeline
def warmed(driver: int) -> None:
    x = first(driver)
    then(x)
    then(x)
"""


def test_idle_workers_get_ready_while_the_first_step_runs(
    on: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second worker builds its stack, reads the run and imports the step's module while
    the first step runs (a warm-up), so its own first step starts at once. Before, it did all
    that only when its first step was sent (the first step here saw 1 worker, not 2)."""
    imports = tmp_path / "imports"
    monkeypatch.setenv("BEVEL_TEST_IMPORTS", str(imports))
    (tmp_path / "imported.py").write_text(_IMPORTED.format(workers=2))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("imported")
    stack = on(LocalParallelOrchestrator(processes=2))
    run = run_pipeline(
        module.warmed, params={"driver": os.getpid()}, stack=stack, enable_cache=False
    )
    assert run.steps["first"].output.load() == 2
    assert [run.steps[s].output.load() for s in ("then", "then_2")] == [2, 2]
