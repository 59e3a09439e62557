"""Transient failures are retried; permanent ones are not.

A step with ``retries=2`` whose artifact store raised a ``ConnectionError`` once used to fail
after one attempt: the guarded store turned every third-party error into a permanent
``StackError``, and the retry loop gave up on any bevel error. The store here is a real one (a
folder behaving like an object store, from the example flavor package) whose first uploads fail
the way S3 does when the network or the service has a bad moment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bevel.api import load_pipeline, run_pipeline
from bevel.client.client import Client
from bevel.errors import ArtifactStoreUnavailable, RunFailed, StackError, TransientError
from bevel.orchestrators.local import LocalOrchestrator
from bevel.settings import Settings
from bevel.stack.definitions import Definitions
from bevel.stack.home import home_metadata_store
from bevel.stack.stack import Stack

PIPELINE = """
from bevel import pipeline, step


@step(retries={retries}, retry_delay=0.01)
def make(n: int = 3) -> list[int]:
    print("making", n)
    return list(range(n))


@step
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def demo(n: int = 3):
    total(make(n))
"""


def pipeline_with(tmp_path: Path, retries: int):  # type: ignore[no-untyped-def]
    path = tmp_path / f"retrying_{retries}.py"
    path.write_text(PIPELINE.format(retries=retries))
    return load_pipeline(f"{path}:demo")


def flaky_stack(defs: Definitions, error: str, failures: int = 1) -> str:
    defs.register_component(
        "artifact_store", f"flaky-{error}", "flaky",
        {"path": f"files-{error}", "failures": failures, "error": error},
    )  # fmt: skip
    defs.register_stack(
        f"flaky-{error}", {"orchestrator": "local", "artifact_store": f"flaky-{error}"}
    )
    return f"flaky-{error}"


@pytest.mark.parametrize("error", ["reset", "timeout", "slowdown"])
def test_a_transient_store_failure_is_retried(
    defs: Definitions, thirdparty: Path, tmp_path: Path, error: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("BEVEL_CACHE_DIR", str(tmp_path / "cache"))
    stack = flaky_stack(defs, error)
    run = run_pipeline(pipeline_with(tmp_path, retries=2), stack=stack)
    assert run.status == "completed"
    make = run.steps["make"]
    assert make.attempts == 2
    assert make.output.load() == [0, 1, 2]
    assert run.steps["total"].output.load() == 3
    logs = make.logs()
    assert "--- attempt 1 of 3 ---" in logs and "--- attempt 2 of 3 ---" in logs
    assert "ArtifactStoreUnavailable" in logs  # the first attempt's failure stays visible


def test_a_permanent_store_failure_is_not_retried(
    defs: Definitions, thirdparty: Path, tmp_path: Path
) -> None:
    stack = flaky_stack(defs, "denied")
    with pytest.raises(RunFailed):
        run_pipeline(pipeline_with(tmp_path, retries=2), stack=stack)
    with Client(stack) as client:
        make = client.last_run("demo").steps["make"]
    assert make.status == "failed" and make.attempts == 1
    assert (
        make.error
        and make.error.startswith("artifact store 'flaky-denied' (")
        and "PermissionError: [Errno 13] Access Denied" in make.error
    )
    assert "check that the endpoint is reachable and the credentials are right" in make.error


def test_the_transient_hint_is_true(defs: Definitions, thirdparty: Path, tmp_path: Path) -> None:
    """Without retries the step fails, and its error says retries would help: they do."""
    stack = flaky_stack(defs, "reset")
    with pytest.raises(RunFailed) as failed:
        run_pipeline(pipeline_with(tmp_path, retries=0), stack=stack)
    cause = failed.value.__cause__
    assert isinstance(cause, ArtifactStoreUnavailable)
    assert isinstance(cause, TransientError) and isinstance(cause, StackError)
    assert cause.kind == "network"
    assert cause.hint and cause.hint.startswith(
        "this may pass by itself (network): steps with retries=N try again"
    )
    flaky_stack(defs, "timeout", failures=1)  # a fresh store that fails its first upload
    run = run_pipeline(pipeline_with(tmp_path, retries=1), stack="flaky-timeout")
    assert run.status == "completed" and run.steps["make"].attempts == 2


def test_an_unguarded_store_built_in_code_is_retried_too(
    settings: Settings, thirdparty: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stack built in Python has no guard around its store: the raw ConnectionError is
    recognised as transient all the same (not reported as a value that does not match)."""
    from bevel_example_flavor.flaky import FlakyStore

    monkeypatch.setenv("BEVEL_CACHE_DIR", str(tmp_path / "cache"))
    home = Stack(
        name="default",
        orchestrator=LocalOrchestrator(),
        artifact_store=FlakyStore(path=str(tmp_path / "raw"), failures=1),  # type: ignore[arg-type]
        metadata_store=home_metadata_store(settings),
    )
    try:
        run = run_pipeline(pipeline_with(tmp_path, retries=1), stack=home)
        assert run.status == "completed" and run.steps["make"].attempts == 2
    finally:
        home.close()
