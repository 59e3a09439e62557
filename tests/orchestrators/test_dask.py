"""The dask orchestrator on a real scheduler and two real workers (separate processes on
127.0.0.1): the quickstart on S3 (moto) + PostgreSQL read back from a fresh process, a worker
killed mid-step, a code change picked up by running workers, resources, and the refusals."""

from __future__ import annotations

import dataclasses
import importlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from dask_cluster import Cluster, dask_cluster

from bevel import Client
from bevel.api import load_pipeline, resume_run, run_pipeline
from bevel.errors import StackError
from bevel.integrations.dask_orchestrator import DaskOrchestrator
from bevel.testing.servers import DatabaseServer, S3Server

pytestmark = [pytest.mark.slow]

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two workers: the first plain, the second offering one GPU."""
    folder = tmp_path_factory.mktemp("dask")
    with dask_cluster(folder, workers=1) as found:
        found.add_worker("GPU=1")
        found.wait_for_workers(2)
        yield found


@pytest.fixture
def project(bevel_home: Path, tmp_path: Path) -> Path:
    shutil.copy(HERE / "dask_pipelines.py", tmp_path / "pipes.py")
    (tmp_path / "helper.py").write_text("VALUE = 1\n")
    return tmp_path


@pytest.fixture
def on_dask(stack: Any) -> Iterator[Callable[[Cluster], Any]]:
    """The test's stack with a dask orchestrator for ``cluster`` (closed after the test)."""
    made: list[DaskOrchestrator] = []

    def make(cluster: Cluster) -> Any:
        made.append(DaskOrchestrator(address=cluster.address))
        return dataclasses.replace(stack, orchestrator=made[-1])

    yield make
    for orchestrator in made:
        orchestrator.close()


def test_steps_asking_for_gpus_go_to_the_worker_that_offers_one(
    cluster: Cluster, project: Path, on_dask: Any
) -> None:
    stack = on_dask(cluster)
    run = run_pipeline(load_pipeline("pipes.py:gpu_pipeline"), stack=stack, enable_cache=False)
    assert run.steps["on_gpu"].output.load() == 2
    gpu_worker = cluster.worker_pids()
    meta = Client().store.get_metadata("step_run", run.steps["on_gpu"].id)
    gpu_address = [a for a, pid in gpu_worker.items() if pid == meta["pid"]]
    assert meta["worker"] == gpu_address[0]
    assert cluster.workers[1].pid == meta["pid"]  # the worker started with --resources GPU=1


def test_a_resource_no_worker_offers_is_refused_before_the_run(
    cluster: Cluster, project: Path, on_dask: Any
) -> None:
    from bevel.authoring.pipeline import pipeline
    from bevel.authoring.step import step

    @step(resources={"gpu": 2})
    def greedy() -> int:
        return 1

    @pipeline
    def wants_two() -> None:
        greedy()

    with pytest.raises(StackError) as caught:
        run_pipeline(wants_two, stack=on_dask(cluster))
    assert "needs the Dask resource GPU=2" in str(caught.value)
    assert "offer at most 1" in str(caught.value)
    assert '--resources "GPU=2"' in str(caught.value)
    assert Client().runs() == []


def test_a_code_change_reaches_the_running_workers(
    cluster: Cluster, project: Path, on_dask: Any
) -> None:
    before = cluster.worker_pids()
    stack = on_dask(cluster)
    first = run_pipeline(load_pipeline("pipes.py:versioned"), stack=stack)
    assert first.steps["value"].output.load() == 1
    (project / "helper.py").write_text("VALUE = 2\n")
    importlib.reload(sys.modules["helper"])  # as a new `bevel run` process would see it
    second = run_pipeline(load_pipeline("pipes.py:versioned"), stack=stack)
    assert second.steps["value"].status == "completed"  # the helper's change busts the cache
    assert second.steps["value"].output.load() == 2
    assert cluster.worker_pids() == before  # nothing was restarted
    pid = Client().store.get_metadata("step_run", second.steps["value"].id)["pid"]
    assert pid in before.values()
    archives = [r.metadata["code.archive"] for r in (first, second)]
    assert archives[0] != archives[1] and all(a.startswith("sha256:") for a in archives)
    stored = sorted(p.name for p in (project / ".bevel" / "artifacts" / "code").iterdir())
    assert stored == sorted(f"{a.partition(':')[2]}.zip" for a in archives)


def test_map_and_fan_in_on_dask(cluster: Cluster, project: Path, on_dask: Any) -> None:
    stack = on_dask(cluster)
    run = run_pipeline(load_pipeline("pipes.py:mapped"), stack=stack)
    assert run.steps["added"].output.load() == 0 + 1 + 4 + 9 + 16
    again = run_pipeline(load_pipeline("pipes.py:mapped"), params={"n": 6}, stack=stack)
    got = {sid: s.status.value for sid, s in again.steps.items()}
    assert {got[f"square[{i}]"] for i in range(5)} == {"cached"}
    assert got["square[5]"] == "completed"
    assert again.steps["added"].output.load() == 55


def _scheduled_steps(cluster: Cluster) -> set[str]:
    """The steps the scheduler holds a task for (their keys are ``bevel-STEP-STEPRUNID``)."""
    from distributed import Client as DaskClient

    with DaskClient(cluster.address, timeout=30) as client:
        keys = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks))
    return {str(key).removeprefix("bevel-").rpartition("-")[0] for key in keys}


def test_a_chain_is_handed_to_the_scheduler_while_its_first_step_runs(
    cluster: Cluster, project: Path, on_dask: Any, tmp_path: Path
) -> None:
    """Steps waiting for running steps are submitted at once, with their futures as Dask
    dependencies: the scheduler starts each as the previous one ends, no round trip to the
    driver in between."""
    marker = tmp_path / "open"
    pipe = load_pipeline("pipes.py:gated_chain")
    stack = on_dask(cluster)
    thread, box, done = _run_in_thread(
        lambda: run_pipeline(pipe, params={"marker": str(marker)}, stack=stack, enable_cache=False)
    )
    deadline = time.monotonic() + 60
    while not {"gate", "plus", "plus_2"} <= _scheduled_steps(cluster):
        assert not done.is_set() and time.monotonic() < deadline, box
        time.sleep(0.1)
    assert not done.is_set()  # the gate is closed: the chain waits on the scheduler
    marker.write_text("")
    thread.join(120)
    assert "error" not in box, box.get("error")
    run = box["run"]
    assert run.status == "completed"
    assert run.steps["plus_2"].output.load() == 3


def test_a_failed_step_in_a_chain_skips_what_was_chained_on_it(
    cluster: Cluster, project: Path, on_dask: Any
) -> None:
    run = run_pipeline(
        load_pipeline("pipes.py:broken_chain"), stack=on_dask(cluster), enable_cache=False,
        raise_on_failure=False,
    )  # fmt: skip
    assert run.status == "failed"
    assert run.steps["broken"].status == "failed"
    assert "broken on purpose" in (run.steps["broken"].error or "")
    assert run.steps["keep"].output.load() == 10  # an independent branch went on
    records = Client().store.step_runs(run.id)
    for step_id in ("plus", "plus_2"):
        tries = [s for s in records if s.step_id == step_id]
        assert [t.status.value for t in tries] == ["skipped"]  # never ran, recorded once
        assert (tries[0].error or "").startswith("not run: step '")
        assert (tries[0].error or "").endswith("' did not complete")
        assert "pid" not in Client().store.get_metadata("step_run", tries[0].id)


def test_a_chained_steps_timeout_counts_from_the_end_of_what_it_waited_for(
    cluster: Cluster, project: Path, on_dask: Any
) -> None:
    """`quick` (timeout=2) is chained on a step that takes 4 s: it is not failed while it
    waits on the scheduler."""
    run = run_pipeline(
        load_pipeline("pipes.py:slow_then_quick"), stack=on_dask(cluster), enable_cache=False
    )
    assert run.status == "completed"
    assert run.steps["quick"].output.load() == 1


def _kill_when_started(cluster: Cluster, marker: Path, done: threading.Event) -> int:
    while not marker.exists() or not marker.read_text():
        assert not done.is_set(), "the run ended before the step started"
        time.sleep(0.05)
    pid = int(marker.read_text())
    os.kill(pid, signal.SIGKILL)
    return pid


def _run_in_thread(
    fn: Callable[[], Any],
) -> tuple[threading.Thread, dict[str, Any], threading.Event]:
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["run"] = fn()
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, box, done


@pytest.mark.parametrize("retry", [True, False], ids=["retried", "no-retries"])
def test_a_worker_killed_mid_step(tmp_path: Path, project: Path, on_dask: Any, retry: bool) -> None:
    with dask_cluster(tmp_path / "own", workers=2) as own:
        addresses = {pid: address for address, pid in own.worker_pids().items()}
        marker = tmp_path / "started"
        stack = on_dask(own)
        pipe = load_pipeline("pipes.py:worker_dies")
        thread, box, done = _run_in_thread(
            lambda: run_pipeline(
                pipe,
                params={"marker": str(marker), "retry": retry},
                stack=stack,
                enable_cache=False,
                raise_on_failure=False,
            )
        )
        pid = _kill_when_started(own, marker, done)
        thread.join(120)
    assert "error" not in box, box.get("error")
    run = box["run"]
    step_id = "slow_retried" if retry else "slow"
    dead = addresses[pid]
    tries = [s for s in Client().store.step_runs(run.id) if s.step_id == step_id]
    assert run.steps["keep"].output.load() == 10  # nothing else was lost
    assert run.steps["first"].status == "completed"
    if retry:
        assert run.status == "completed"
        assert [t.status.value for t in tries] == ["failed", "completed"]
        assert tries[0].error is not None
        assert tries[0].error.startswith(
            f"the worker {dead} died while running step 'slow_retried'; running it again on tcp://"
        )
        assert run.steps[step_id].output.load() == 2  # attempt 1 of the new step run, + x
    else:
        assert run.status == "failed"
        assert [t.status.value for t in tries] == ["failed"]
        assert tries[0].error == f"the worker {dead} died while running step 'slow'"


@pytest.mark.servers
@pytest.mark.parametrize("db_server", ["postgres", "mariadb"])
def test_the_quickstart_on_s3_and_a_database_server_read_back_from_a_fresh_process(
    cluster: Cluster,
    s3: S3Server,
    db_server: str,
    request: pytest.FixtureRequest,
    bevel_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    invoke: Callable[..., Result],
) -> None:
    """On S3 (moto) with PostgreSQL or MariaDB as the metadata store (issue 8: either)."""
    server: DatabaseServer = request.getfixturevalue(db_server)
    monkeypatch.setenv("BEVEL_STORE_URL", server.new_database())
    shutil.copy(ROOT / "examples" / "quickstart" / "pipeline.py", tmp_path / "quick.py")
    shutil.copy(ROOT / "examples" / "quickstart" / "schema.yaml", tmp_path / "schema.yaml")
    bucket = s3.new_bucket()
    for args in (
        ["component", "register", "artifact_store", "s3-store", "--flavor", "s3",
         "--path", f"s3://{bucket}/team", "--endpoint-url", s3.endpoint_url,
         "--key", "testing", "--secret", "testing"],
        ["component", "register", "orchestrator", "cluster", "--flavor", "dask",
         "--address", cluster.address],
        ["stack", "register", "team", "-o", "cluster", "-a", "s3-store"],
    ):  # fmt: skip
        done = invoke(*args)
        assert done.exit_code == 0, done.output
    ran = invoke("run", "quick.py:training", "-p", "C=0.5", "--stack", "team")
    assert ran.exit_code == 0, ran.output
    reader = subprocess.run(
        [sys.executable, "-c",
         "from bevel import Client\n"
         "run = Client(stack='team').last_run('training')\n"
         "print(run.status.value, run.stack, round(run.steps['evaluate'].outputs['accuracy'].load(), 3))\n"
         "print(sorted({Client(stack='team').store.get_metadata('step_run', s.id).get('worker', '-')"
         " for s in run.steps.values()}))"],
        cwd="/", capture_output=True, text=True, timeout=120, env={**os.environ},
    )  # fmt: skip
    assert reader.returncode == 0, reader.stderr
    status, stack_name, accuracy = reader.stdout.splitlines()[0].split()
    assert (status, stack_name) == ("completed", "team")
    assert 0.9 < float(accuracy) <= 1.0
    workers = set(cluster.worker_pids())
    used = set(eval(reader.stdout.splitlines()[1]))
    assert used and used <= workers  # every step ran on a Dask worker


@pytest.mark.servers
@pytest.mark.timeout(300)
def test_logs_of_a_step_on_a_worker_are_followed_from_s3_while_it_runs(
    cluster: Cluster, s3: S3Server, project: Path, invoke: Callable[..., Result]
) -> None:
    """Before: on an object store the log was uploaded when the step ended, so `bevel logs -f`
    showed nothing while a step ran on a worker; now it is uploaded every few seconds."""
    bucket = s3.new_bucket()
    for args in (
        ["component", "register", "artifact_store", "s3-store", "--flavor", "s3",
         "--path", f"s3://{bucket}/logs", "--endpoint-url", s3.endpoint_url,
         "--key", "testing", "--secret", "testing"],
        ["component", "register", "orchestrator", "cluster", "--flavor", "dask",
         "--address", cluster.address],
        ["stack", "register", "remote", "-o", "cluster", "-a", "s3-store"],
    ):  # fmt: skip
        done = invoke(*args)
        assert done.exit_code == 0, done.output
    marker = project / "go-on"
    bevel = [sys.executable, "-m", "bevel"]
    runner = subprocess.Popen(
        [*bevel, "run", "pipes.py:talking", "-p", f"marker={marker}", "--name", "talked",
         "--stack", "remote"],
        cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    follower = None
    try:
        while not Client(stack="remote").runs(name="talked"):
            assert runner.poll() is None, runner.stderr.read() if runner.stderr else ""
            time.sleep(0.1)
        follower = subprocess.Popen(
            [*bevel, "logs", "-f", "talked", "chatty", "--interval", "0.1", "--stack", "remote"],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert follower.stdout is not None
        assert follower.stdout.readline() == "first line\n"  # while the step waits for marker
        step = Client(stack="remote").get_run("talked").steps["chatty"]
        assert step.status == "running"
        assert step.logs_uri is not None and step.logs_uri.startswith("s3://")
        marker.touch()
        rest, errors = follower.communicate(timeout=120)
        assert follower.returncode == 0, errors
        assert rest == "second line\n"
        assert errors.splitlines()[-1] == "step chatty completed"
        assert runner.wait(timeout=120) == 0, runner.stderr.read() if runner.stderr else ""
    finally:
        marker.touch()
        for proc in (runner, follower):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    run = Client(stack="remote").get_run("talked")
    assert run.steps["chatty"].logs() == "first line\nsecond line\n"
    meta = Client(stack="remote").store.get_metadata("step_run", run.steps["chatty"].id)
    assert meta.get("worker") in set(cluster.worker_pids())  # it ran on a Dask worker


class _BreaksWhenBriefEnds:
    """A listener that raises (which crashes the run) when step ``brief`` ends, once ``held``
    is running on its worker; ``held`` is released a second later, while the run winds down."""

    def __init__(self, marker: Path, release: Path) -> None:
        self.marker, self.release = marker, release

    def on_run_start(self, run: Any, plan: Any) -> None:
        pass

    def on_step_start(self, step_id: str, step_name: str) -> None:
        pass

    def on_step_end(self, step_run: Any) -> None:
        if step_run.step_id != "brief":
            return
        deadline = time.monotonic() + 60
        while not self.marker.exists():  # `held` runs on a worker (brief may have run first)
            assert time.monotonic() < deadline, "step held never started"
            time.sleep(0.05)
        threading.Timer(1.0, self.release.touch).start()
        raise RuntimeError("the progress display broke")

    def on_run_end(self, run: Any) -> None:
        pass


def test_a_crash_while_a_step_runs_on_a_worker_keeps_the_crash_and_the_steps_real_outcome(
    cluster: Cluster, project: Path, on_dask: Any, tmp_path: Path
) -> None:
    """Regression: the crash's wind-down cancelled the concurrent future of a step that was
    running on a Dask worker (it could always be cancelled) and recorded the step "not run"
    over the worker's RUNNING step run: the store refused the duplicate, and the user saw that
    MetadataError instead of the crash. Now the wind-down waits for the running step, as on
    every other executor, and records its real outcome once."""
    marker, release = tmp_path / "held-started", tmp_path / "release"
    pipe = load_pipeline("pipes.py:one_held_one_brief")
    with pytest.raises(RuntimeError, match="the progress display broke"):
        run_pipeline(
            pipe, params={"marker": str(marker), "release": str(release)},
            stack=on_dask(cluster), enable_cache=False,
            listener=_BreaksWhenBriefEnds(marker, release),
        )  # fmt: skip
    (run,) = Client().store.list_runs()
    assert run.status.value == "failed"
    assert run.error == "the run crashed: RuntimeError: the progress display broke"
    records = Client().store.step_runs(run.id)
    assert sorted((s.step_id, s.status.value) for s in records) == [
        ("brief", "completed"),
        ("held", "completed"),  # it ran to its end on the worker while the run wound down
    ]
    assert Client().get_run(run.id).steps["held"].output.load() == 7


def test_runs_cancel_from_another_process_stops_a_run_on_dask(
    cluster: Cluster, project: Path, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    """`bevel runs cancel` while a step runs on a Dask worker: the driver stops within seconds
    (exit 130), the run and the running step are recorded cancelled, the step's late report
    from the worker (the worker's thread cannot be stopped) is refused, and the worker then
    serves the next run."""
    for args in (
        ["component", "register", "orchestrator", "cluster", "--flavor", "dask",
         "--address", cluster.address],
        ["stack", "register", "on-dask", "-o", "cluster", "-a", "local-artifacts"],
    ):  # fmt: skip
        done = invoke(*args)
        assert done.exit_code == 0, done.output
    marker, release = tmp_path / "held-started", tmp_path / "release"
    bevel = [sys.executable, "-m", "bevel"]
    driver = subprocess.Popen(
        [*bevel, "run", "pipes.py:one_held_one_brief", "-p", f"marker={marker}",
         "-p", f"release={release}", "--name", "to-cancel", "--stack", "on-dask"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() or _step_status("brief", "to-cancel") != "completed":
            assert driver.poll() is None and time.monotonic() < deadline, driver.stdout
            time.sleep(0.05)
        cancel = subprocess.run(
            [*bevel, "runs", "cancel", "to-cancel"], cwd=project, capture_output=True, text=True
        )
        assert cancel.returncode == 0, cancel.stderr
        out, _ = driver.communicate(timeout=60)  # `held` would wait for `release` forever
        assert driver.returncode == 130, out
        assert "run cancelled: cancelled with `bevel runs cancel` by" in out
    finally:
        release.touch()  # the worker's thread was never stopped: let `held` end now
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    run = Client().get_run("to-cancel")
    assert run.status == "cancelled"
    held_id = run.steps["held"].id
    assert run.steps["held"].status == "cancelled"
    assert run.steps["brief"].status == "completed"
    _wait_for_the_worker_to_report(cluster, held_id)
    after = Client().get_run("to-cancel").steps["held"]
    assert (after.status, after.outputs) == ("cancelled", {})  # its late report was refused
    again = invoke("run", "pipes.py:versioned", "--stack", "on-dask")
    assert again.exit_code == 0, again.output  # the workers serve the next run


def _step_status(step_id: str, run_name: str | None = None) -> str | None:
    """The status of ``step_id`` in the run named ``run_name`` (default: the latest run)."""
    runs = Client().runs(name=run_name) if run_name else Client().runs(limit=1)
    step = runs[0].steps.get(step_id) if runs else None
    return None if step is None else step.status.value


def _wait_for_the_worker_to_report(cluster: Cluster, step_run_id: str) -> None:
    """Until no worker thread runs a task of that step run any more (it ran to its end: a
    cancelled Dask task goes on in its thread, only its result is dropped)."""
    from distributed import Client as DaskClient

    def running(dask_worker: Any) -> list[str]:
        return [str(key) for key in dask_worker.active_threads.values()]

    deadline = time.monotonic() + 60
    with DaskClient(cluster.address, timeout=30) as client:
        while time.monotonic() < deadline:
            keys = [k for ks in client.run(running).values() for k in ks]
            if not any(step_run_id in k for k in keys):
                return
            time.sleep(0.1)
    raise AssertionError(f"a worker still runs the task of step run {step_run_id}")


def test_fail_fast_lets_a_step_running_on_a_worker_finish_and_records_its_outcome(
    cluster: Cluster, project: Path, on_dask: Any, tmp_path: Path, stack: Any
) -> None:
    """`continue_on_failure=False`: when a step fails, a step already running on a worker
    finishes and is recorded as it ended (here completed); what had not started is cancelled.
    Regression: its future was cancelled as if it had not started, and it was recorded
    "cancelled: not run: fail fast" while it ran to its end on the worker."""
    marker, release = tmp_path / "held-started", tmp_path / "release"
    orchestrator = DaskOrchestrator(address=cluster.address, continue_on_failure=False)
    fail_fast = dataclasses.replace(stack, orchestrator=orchestrator)
    pipe = load_pipeline("pipes.py:held_beside_broken")
    params = {"marker": str(marker), "release": str(release)}
    thread, box, done = _run_in_thread(
        lambda: run_pipeline(
            pipe, params=params, stack=fail_fast, enable_cache=False, raise_on_failure=False
        )
    )
    try:
        deadline = time.monotonic() + 120
        while _step_status("broken_beside") != "failed":
            assert not done.is_set() and time.monotonic() < deadline, box
            time.sleep(0.05)
        time.sleep(0.5)  # the driver handles the failure (fail fast) while `held` still runs
    finally:
        release.touch()
        thread.join(120)
        orchestrator.close()
    assert "error" not in box, box.get("error")
    run = box["run"]
    assert run.status == "failed"
    records = Client().store.step_runs(run.id)
    got = {s.step_id: (s.status.value, s.error) for s in records}
    assert len(records) == len(got)  # one step run each
    assert got["held"] == ("completed", None)  # its real outcome, not "not run"
    assert run.steps["held"].output.load() == 7
    assert got["broken_beside"][0] == "failed"
    if got["brief"][0] != "completed":  # it may have run before the failure, on a free worker
        assert got["brief"] == ("cancelled", "not run: fail fast: step 'broken_beside' failed")


def test_resume_on_dask_reuses_what_completed_and_runs_the_rest_on_the_workers(
    cluster: Cluster, project: Path, on_dask: Any, tmp_path: Path
) -> None:
    fixed = tmp_path / "fixed"
    stack = on_dask(cluster)
    old = run_pipeline(
        load_pipeline("pipes.py:fixable"), params={"fixed": str(fixed)}, stack=stack,
        enable_cache=False, raise_on_failure=False,
    )  # fmt: skip
    assert {s: v.status.value for s, v in old.steps.items()} == {
        "first": "completed", "fixable_step": "failed", "plus": "skipped", "keep": "completed"
    }  # fmt: skip
    fixed.write_text("")  # the problem is fixed
    new = resume_run(old.id, stack=stack)
    assert new.id != old.id and new.metadata["resumed_from"] == old.id
    got = {s: v.status.value for s, v in new.steps.items()}
    assert got == {"first": "cached", "keep": "cached", "fixable_step": "completed",
                   "plus": "completed"}  # fmt: skip
    assert new.steps["first"].cached_from == old.steps["first"].id  # despite enable_cache=False
    assert new.steps["plus"].output.load() == 11
    workers = set(cluster.worker_pids())
    store = Client().store
    ran_on = {
        store.get_metadata("step_run", new.steps[s].id).get("worker")
        for s in ("fixable_step", "plus")
    }
    assert ran_on <= workers  # the rest ran on the workers
