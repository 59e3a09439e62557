"""on_success / on_failure hooks: bevel.current inside them, their output in the step's log, what
they log recorded, and a failing hook visible in the run's output and record."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bevel import Client, current, log_metadata, log_metric, pipeline, run_pipeline, step
from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.cli.main import cli
from bevel.errors import BevelWarning, RunFailed
from bevel.metadata.records import HOOK_ERROR
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.orchestrators.local import LocalOrchestrator
from bevel.stack.stack import Stack
from bevel.testing.servers import S3Server

seen: list[tuple[str, str, str]] = []


def notify(*, error: BaseException, **_: Any) -> None:
    # Before: current raised "only available while a step runs" here, so this was lost.
    seen.append((current.run_id, current.step_id, current.run_name))
    current.logger.info("alerting the team about %s", error)
    print("paged on-call")
    log_metadata({"alerted": True})
    log_metadata({"incident": "INC-1"}, run=True)


@step(on_failure=notify)
def explode() -> int:
    print("about to fail")
    raise ValueError("the data is bad")


@pipeline
def failing() -> None:
    explode()


def test_current_works_in_a_hook_and_what_it_logs_is_kept(bevel_home: Path) -> None:
    seen.clear()
    with pytest.raises(RunFailed):
        failing()
    run = Client().last_run("failing")
    step_view = run.steps["explode"]
    assert seen == [(run.id, "explode", run.name)]
    logs = step_view.logs()
    assert logs.index("about to fail") < logs.index("ValueError: the data is bad")
    assert "alerting the team about the data is bad" in logs and "paged on-call" in logs
    assert step_view.metadata == {"alerted": True}
    assert run.metadata == {"incident": "INC-1"}
    assert step_view.status == "failed"  # a hook never changes the recorded outcome


def broken_hook(*, step: str, **_: Any) -> None:
    print("sending the report")
    raise ConnectionError("the alert service is down")


@step(on_success=broken_hook)
def fine() -> int:
    return 1


@pipeline
def succeeding() -> None:
    fine()


def test_a_failing_hook_is_visible_in_the_output_the_record_and_the_logs(
    bevel_home: Path,
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = succeeding()  # Before: only a BevelWarning, nothing recorded
    texts = [str(w.message) for w in caught if issubclass(w.category, BevelWarning)]
    assert len(texts) == 1
    ref = f"{__name__}:broken_hook"
    assert f"the on_success hook {ref} of step 'fine' in run {run.name} raised" in texts[0]
    assert "ConnectionError: the alert service is down" in texts[0]
    assert f"bevel logs {run.name} fine" in texts[0]  # where the traceback is
    recorded = Client().get_run(run.id).steps["fine"]
    assert recorded.status == "completed"
    assert recorded.metadata[HOOK_ERROR] == {
        "hook": "on_success",
        "function": ref,
        "error": "ConnectionError: the alert service is down",
    }
    logs = recorded.logs()  # the step printed nothing itself: the log holds the hook's part
    assert "sending the report" in logs
    assert f"--- the on_success hook {ref} failed ---" in logs
    assert 'raise ConnectionError("the alert service is down")' in logs
    assert "BevelWarning" not in logs and "bevel logs" not in logs  # no pointer to itself
    shown = CliRunner().invoke(cli, ["runs", "show", run.name])
    assert shown.exit_code == 0, shown.output
    assert f"step fine: the on_success hook {ref} failed" in shown.stdout
    assert "ConnectionError: the alert service is down" in shown.stdout


HOOKED = """
from bevel import pipeline, step


def page(**_):
    raise ConnectionError("the alert service is down")


@step(on_success=page)
def fine() -> int:
    return 1


@pipeline
def paged():
    fine()
"""


def test_bevel_run_shows_a_failing_hook_as_a_warning_line(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "hooked.py").write_text(HOOKED)
    result = invoke("run", f"{tmp_path / 'hooked.py'}:paged", "--name", "n1")
    assert result.exit_code == 0, result.output  # a hook never fails the run
    assert (
        "warning: the on_success hook hooked:page of step 'fine' in run n1 raised "
        "ConnectionError: the alert service is down (the traceback is in: bevel logs n1 fine)\n"
    ) in result.output
    # Before: Python's format, "<bevel's file>:80: BevelWarning: ..." then "  warnings.warn(".
    assert "BevelWarning" not in result.output and "warnings.warn(" not in result.output
    logs = invoke("logs", "n1", "fine").output  # the traceback, without the warning about it
    assert 'raise ConnectionError("the alert service is down")' in logs
    assert "warning:" not in logs and "BevelWarning" not in logs


def metric_in_hook(**_: Any) -> None:
    log_metric("latency", 1.0)


@step(on_success=metric_in_hook)
def measured() -> int:
    return 1


@pipeline
def measuring() -> None:
    measured()


def test_log_metric_in_a_hook_is_a_clear_error_not_a_silent_loss(bevel_home: Path) -> None:
    with pytest.warns(BevelWarning, match="log_metric\\(\\) cannot be used in the on_success hook"):
        run = measuring()
    error = Client().get_run(run.id).steps["measured"].metadata[HOOK_ERROR]["error"]
    assert "the step's metrics were recorded when it ended" in error


def test_cached_steps_run_no_hook(bevel_home: Path) -> None:
    calls: list[str] = []

    def count(**_: Any) -> None:
        calls.append(current.step_id)

    @step(on_success=count)
    def cached_once() -> int:
        return 2

    @pipeline
    def twice() -> None:
        cached_once()

    twice()
    second = twice()
    assert calls == ["cached_once"] and second.steps["cached_once"].status == "cached"


@step(on_success=broken_hook)
def chatty() -> int:
    print("working in the step")
    return 1


@pipeline
def remote_logs() -> None:
    chatty()


@pytest.mark.servers
def test_on_an_object_store_the_log_holds_the_step_and_its_hook(
    s3: S3Server, tmp_path: Path
) -> None:
    # S3 cannot append: the log is uploaded when the step ends, then again with the hook's part.
    stack = Stack(
        name="s3",
        orchestrator=LocalOrchestrator(),
        artifact_store=FsspecArtifactStore(
            f"s3://{s3.new_bucket()}/root",
            endpoint_url=s3.endpoint_url,
            key="testing",
            secret="testing",
            client_kwargs={"region_name": "us-east-1"},
        ),
        metadata_store=SqlMetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}"),
    )
    try:
        with pytest.warns(BevelWarning, match="the alert service is down"):
            run = run_pipeline(remote_logs, stack=stack)
        step_view = Client(stack).get_run(run.id).steps["chatty"]
        assert step_view.logs_uri and step_view.logs_uri.startswith("s3://")
        logs = step_view.logs()
        assert logs.index("working in the step") < logs.index("sending the report")
        assert "ConnectionError: the alert service is down" in logs
    finally:
        stack.close()
