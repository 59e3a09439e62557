"""`bevel run` end to end through the engine, and the progress listeners on their own."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
from click.testing import Result
from rich.console import Console

from bevel.cli.progress import LiveProgress, PlainProgress, step_line
from bevel.client.client import Client
from bevel.dag.plan import Plan
from bevel.metadata.records import RunRecord, RunStatus, StepRunRecord, StepStatus

Invoke = Callable[..., Result]

PIPELINE = textwrap.dedent(
    """
    from bevel import pipeline, step


    @step
    def load(n: int = 3) -> list[int]:
        print("loading", n)
        return list(range(n))


    @step
    def train(xs: list[int], C: float = 1.0, tags: list[str] | None = None) -> float:
        if C < 0:
            raise ValueError("C must be positive")
        return sum(xs) * C


    @pipeline
    def training(n: int = 3, C: float = 1.0, tags: list[str] | None = None) -> None:
        train(load(n), C=C, tags=tags)
    """
)


@pytest.fixture
def pipe_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipe_cli_run.py"
    path.write_text(PIPELINE)
    return path


def test_run_prints_steps_summary_and_run_id(invoke: Invoke, pipe_file: Path) -> None:
    result = invoke(
        "run", f"{pipe_file}:training", "-p", "C=0.5", "-p", "tags=[a, b]", "--name", "first"
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("run first of pipeline training: 2 steps\n")
    assert "✓ load   completed" in out and "✓ train  completed" in out
    assert "run first completed in " in out and ": 2 ran, 0 cached" in out
    with Client() as client:
        run = client.get_run("first")
        assert run.params["C"] == 0.5 and run.params["tags"] == ["a", "b"]
        assert run.id in out


def test_second_run_is_cached_unless_no_cache(invoke: Invoke, pipe_file: Path) -> None:
    assert invoke("run", str(pipe_file)).exit_code == 0
    out = invoke("run", str(pipe_file)).stdout
    assert "↺ load   cached" in out and "0 ran, 2 cached" in out
    out = invoke("run", str(pipe_file), "--no-cache").stdout
    assert "2 ran, 0 cached" in out


def test_failed_run_exits_1_and_says_where_the_traceback_is(
    invoke: Invoke, pipe_file: Path
) -> None:
    result = invoke("run", str(pipe_file), "-p", "C=-1", "--name", "bad")
    assert result.exit_code == 1
    assert "✗ train  failed" in result.stdout
    assert "step train failed: " in result.stderr and "C must be positive" in result.stderr
    assert "bevel runs show bad" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_pipeline_lists_the_available_ones(invoke: Invoke, pipe_file: Path) -> None:
    result = invoke("run", f"{pipe_file}:nope")
    assert result.exit_code == 2
    assert "has no pipeline named 'nope'" in result.stderr and "training" in result.stderr


T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _step(step_id: str, status: StepStatus, **fields: object) -> StepRunRecord:
    return StepRunRecord(
        id="a" * 32,
        run_id="r" * 32,
        step_id=step_id,
        step_name=step_id,
        status=status,
        started=T0,
        ended=T0 + timedelta(seconds=1.25),
        **fields,  # type: ignore[arg-type]
    )


def _run_and_plan() -> tuple[RunRecord, Plan]:
    run = RunRecord(id="r" * 32, pipeline="p", name="p-1", status=RunStatus.RUNNING, created=T0)
    return run, Plan(pipeline="p", params={}, steps=())


def test_step_lines() -> None:
    assert step_line(_step("train", StepStatus.COMPLETED), 6).plain == "✓ train   completed  1.25s"
    cached = step_line(_step("load", StepStatus.CACHED, cached_from="b" * 32)).plain
    assert cached == "↺ load  cached  1.25s  (from bbbbbbbb)"
    failed = step_line(
        _step("eval", StepStatus.FAILED, error="KeyError: 'x'\nmore", attempts=3)
    ).plain
    assert failed == "✗ eval  failed  1.25s  after 3 attempts  KeyError: 'x'"
    assert step_line(_step("eval", StepStatus.SKIPPED)).plain == "- eval  skipped"


def test_plain_progress_prints_one_line_per_finished_step() -> None:
    buffer = StringIO()
    listener = PlainProgress(Console(file=buffer, width=120))
    run, plan = _run_and_plan()
    listener.on_run_start(run, plan)
    listener.on_step_start("load", "load")
    listener.on_step_end(_step("load", StepStatus.COMPLETED))
    listener.on_run_end(run)
    listener.close()
    assert buffer.getvalue().splitlines() == [
        "run p-1 of pipeline p: 0 steps",
        "✓ load  completed  1.25s",
    ]


def test_live_progress_on_a_terminal() -> None:
    buffer = StringIO()
    listener = LiveProgress(Console(file=buffer, width=120, force_terminal=True))
    run, plan = _run_and_plan()
    listener.on_run_start(run, plan)
    listener.on_step_start("load", "load")
    listener.on_step_end(_step("load", StepStatus.CACHED, cached_from="b" * 32))
    listener.on_run_end(run)
    listener.close()  # idempotent
    assert "load" in buffer.getvalue() and "cached" in buffer.getvalue()


def test_a_pipeline_file_reached_through_a_symlinked_folder_is_the_one_run(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``link/../file.py`` is the file the operating system finds there (beside the folder the
    link points into), not ``./file.py``, which a textual normalisation would pick."""
    real = tmp_path / "real"
    (real / "inner").mkdir(parents=True)
    (real / "pipe_through_link.py").write_text(PIPELINE)
    work = tmp_path / "work"
    work.mkdir()
    (work / "link").symlink_to(real / "inner", target_is_directory=True)
    (work / "pipe_through_link.py").write_text("raise SystemExit('the wrong file was imported')\n")
    monkeypatch.chdir(work)
    result = invoke("run", "link/../pipe_through_link.py:training", "--name", "linked")
    assert result.exit_code == 0, result.output
    assert "run linked of pipeline training: 2 steps" in result.stdout
