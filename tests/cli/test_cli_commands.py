"""runs / artifacts / pipelines / logs / init against a real SQLite store seeded through its API."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from client_seed import Seeded, new_id

from bevel.metadata.records import (
    MetricRecord,
    RunRecord,
    RunStatus,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.stack.stack import Stack

Invoke = Callable[..., Result]


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.output  # plain output when not a terminal
    return result.stdout


def test_runs_list(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("runs", "list"))
    lines = out.splitlines()
    assert lines[0].split() == ["id", "name", "pipeline", "status", "created", "duration", "params"]
    assert [line.split()[1] for line in lines[1:]] == ["etl-1", "training-2", "training-1"]
    assert seeded.runs["training-1"][:8] in out and "C=0.5" in out


def test_runs_list_param_and_metric_columns(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("runs", "list", "--param", "C", "--metric", "accuracy,loss", "-m", "f1"))
    lines = out.splitlines()
    assert lines[0].split() == [
        *("id", "name", "pipeline", "status", "created", "duration"),
        *("C", "accuracy", "loss", "f1"),
    ]
    cells = {line.split()[1]: line.split()[-4:] for line in lines[1:]}
    assert cells == {
        "training-1": ["0.5", "0.9", "0.3", "0.7"],
        "training-2": ["-1", "-", "-", "-"],
        "etl-1": ["-", "-", "-", "-"],
    }


def test_runs_list_says_when_no_listed_run_has_a_column(invoke: Invoke, seeded: Seeded) -> None:
    # Before: a typo gave a column of "-" and no word about it.
    result = invoke("runs", "list", "--param", "c,C", "--metric", "acuracy,f1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].split()[-4:] == ["c", "C", "acuracy", "f1"]
    assert result.stderr.splitlines() == [
        "note: no listed run has the parameter 'c'; did you mean 'C'? parameters of these runs: C",
        "note: no listed run has the metric 'acuracy'; did you mean 'accuracy'? metrics of these "
        "runs: accuracy, f1, loss",
    ]
    result = invoke("runs", "list", "--pipeline", "etl", "--metric", "accuracy")
    assert (
        result.stderr.strip()
        == "note: no listed run has the metric 'accuracy'; they have no metrics"
    )
    assert invoke("runs", "list", "--param", "C", "--metric", "loss").stderr == ""


def _count_statements(run: Callable[[], object]) -> int:
    from bevel.metadata.sql.db import trace_statements

    with trace_statements() as statements:
        run()
    return len(statements)


def test_runs_list_columns_cost_the_same_queries_for_3_or_23_runs(
    invoke: Invoke, seeded: Seeded, stack: Stack
) -> None:
    def listing() -> None:
        _ok(invoke("runs", "list", "--param", "C", "--metric", "accuracy", "-n", "50"))

    few = _count_statements(listing)
    store = stack.metadata_store
    for i in range(20):
        run = RunRecord(
            id=new_id(),
            pipeline="sweep",
            name=f"sweep-{i}",
            status=RunStatus.RUNNING,
            created=datetime.now(UTC),
            params={"C": i},
            host=f"{socket.gethostname()}:{os.getpid()}",  # alive: nothing to reap
        )
        store.create_run(run)
        step = StepRunRecord(
            id=new_id(),
            run_id=run.id,
            step_id="fit",
            step_name="fit",
            status=StepStatus.RUNNING,
            started=run.created,
        )
        store.start_step_run(step)
        done = replace(step, status=StepStatus.COMPLETED, ended=datetime.now(UTC))
        points = tuple(
            MetricRecord(run.id, step.id, "accuracy", i / 20, e, run.created) for e in range(3)
        )
        store.finish_step_run(StepCompletion(done, metrics=points))
        store.finish_run(run.id, RunStatus.COMPLETED, ended=datetime.now(UTC))
    assert _count_statements(listing) == few
    out = _ok(invoke("runs", "list", "--param", "C", "--metric", "accuracy", "-n", "50"))
    assert next(line for line in out.splitlines() if " sweep-7 " in line).split()[-2:] == [
        "7",
        "0.35",
    ]


CHAIN = """
from bevel import log_metadata, log_metric, pipeline, step

@step
def start() -> int:
    return 0

@step
def inc(x: int) -> int:
    log_metric("x", x)
    log_metadata({"seen": x})
    return x + 1

@pipeline
def chain(n: int = 2):
    x = start()
    for _ in range(n):
        x = inc(x)
"""


def test_runs_show_costs_the_same_queries_for_3_or_13_steps(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One query per kind of thing shown (steps, their inputs and outputs, metrics, metadata),
    whatever the number of steps: no query per step."""
    (tmp_path / "pipe.py").write_text(CHAIN)
    monkeypatch.chdir(tmp_path)
    _ok(invoke("run", "pipe.py:chain", "-p", "n=2", "--name", "small"))
    _ok(invoke("run", "pipe.py:chain", "-p", "n=12", "--name", "big"))
    small = _count_statements(lambda: _ok(invoke("runs", "show", "small")))
    big = _count_statements(lambda: _ok(invoke("runs", "show", "big")))
    assert small == big
    assert big <= 10
    out = _ok(invoke("runs", "show", "big"))
    assert "13 of 13: " in out and "inc_12" in out


def test_runs_list_filters(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("runs", "list", "--pipeline", "training", "--status", "failed"))
    assert "training-2" in out and "training-1" not in out and "etl-1" not in out
    out = _ok(invoke("runs", "list", "--limit", "1"))
    assert "etl-1" in out and "training" not in out
    out = _ok(invoke("runs", "list", "--pipeline", "nope"))
    assert "no runs found" in out
    result = invoke("runs", "list", "--status", "done")
    assert result.exit_code == 2 and "'done' is not one of" in result.output


def test_runs_show(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("runs", "show", "training-1"))
    assert seeded.runs["training-1"] in out
    assert "3 of 3: 3 ran, 0 cached, 0 failed" in out
    for text in (
        "load",
        "train",
        "evaluate",
        "C=0.5",
        "training.train.model v1",
        "accuracy",
        "0.9",
    ):
        assert text in out
    assert seeded.artifacts["training-1/train.model"][:8] in out


def test_runs_show_prints_metric_series_and_metadata(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("runs", "show", "training-1"))
    lines = out.splitlines()
    assert any(line.split() == ["metadata", "dataset=iris-v2"] for line in lines), out
    loss = next(line for line in lines if line.startswith("loss"))
    assert loss.split()[:3] == ["loss", "0.3", "train"]
    assert "█▄▂▁  4 points, 0.9 → 0.3" in loss
    accuracy = next(line for line in lines if line.startswith("accuracy"))
    assert "▁█  2 points, 0.8 → 0.9" in accuracy
    f1 = next(line for line in lines if line.startswith("f1"))
    assert f1.split() == ["f1", "0.7", "evaluate"]  # one point: no series
    metadata = lines[lines.index("metadata") + 1 :]
    assert metadata[0].split() == ["step", "key", "value"]
    assert metadata[1].split() == ["train", "device", "cpu"]
    assert metadata[2].split() == ["train", "rows", "3"]


def test_runs_show_a_failed_run_prints_error_and_traceback(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("runs", "show", seeded.runs["training-2"][:8]))
    assert "failed" in out and "cached" in out and "skipped" in out
    assert seeded.steps["training-1/load"][:8] in out  # cached from
    assert "step train failed" in out
    assert "ValueError: C must be positive" in out
    assert 'File "pipe.py", line 9, in train' in out


def test_runs_explain(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("runs", "explain", "training-2", "load"))
    assert out.startswith(
        "cached: reused the outputs of step run " + seeded.steps["training-1/load"][:8]
    )
    out = _ok(invoke("runs", "explain", "training-2", "train"))
    assert out.startswith(
        "not cached: compared with step run " + seeded.steps["training-1/train"][:8]
    )
    assert "\n  - " in out


def test_runs_explain_unknown_step_lists_the_steps(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("runs", "explain", "training-1", "fit")
    assert result.exit_code == 1
    assert "error: run 'training-1' has no step 'fit'" in result.stderr
    assert "hint: steps: load, train, evaluate" in result.stderr


def test_runs_delete_asks_first(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("runs", "delete", "training-1", input="n\n")
    assert result.exit_code == 1 and "Delete run training-1" in result.output
    _ok(invoke("runs", "show", "training-1"))  # still there

    out = _ok(invoke("runs", "delete", "training-1", input="y\n"))
    assert "deleted run training-1; removed 2 artifact folder(s)" in out
    assert invoke("runs", "show", "training-1").exit_code == 1


def test_runs_delete_yes(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("runs", "delete", "etl-1", "--yes"))
    assert "deleted run etl-1; removed 2 artifact folder(s)" in out
    assert "etl-1" not in _ok(invoke("runs", "list"))


def test_pipelines_list(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("pipelines", "list"))
    rows = [line.split()[:2] for line in out.splitlines()[1:]]
    assert rows == [["etl", "1"], ["training", "2"]]


def test_pipelines_list_empty(invoke: Invoke) -> None:
    _ok(invoke("init"))  # outside a project, read commands say so (tests/cli/test_cli_readonly.py)
    assert "no pipelines have run yet" in _ok(invoke("pipelines", "list"))


def test_artifacts_list(invoke: Invoke, seeded: Seeded) -> None:
    out = _ok(invoke("artifacts", "list"))
    assert len(out.splitlines()) == 1 + 5
    out = _ok(invoke("artifacts", "list", "--name", "training.train.model"))
    assert len(out.splitlines()) == 2 and "dict" in out
    out = _ok(invoke("artifacts", "list", "--run", "etl-1", "--limit", "1"))
    assert len(out.splitlines()) == 2


def test_artifacts_show_with_lineage(invoke: Invoke, seeded: Seeded) -> None:
    art_id = seeded.artifacts["training-1/train.model"]
    out = _ok(invoke("artifacts", "show", art_id[:8]))
    assert art_id in out and "training.train.model v1" in out
    assert "builtins:dict" in out and "JsonMaterializer" in out
    assert f"train (step run {seeded.steps['training-1/train'][:8]}" in out
    assert "consumers" in out and "evaluate" in out
    assert "upstream" in out and "training.load.output" in out
    assert "downstream" in out and "training.evaluate.report" in out
    path = next(line.split(None, 1)[1] for line in out.splitlines() if line.startswith("path"))
    assert Path(path.strip()).is_dir()


def test_artifacts_show_unknown(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("artifacts", "show", "ffffffffff")
    assert result.exit_code == 1 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


def test_logs(invoke: Invoke, seeded: Seeded) -> None:
    result = invoke("logs", "training-1", "load")
    assert _ok(result) == "loading 3 rows\n[bold]not markup[/bold]\n"
    result = invoke("logs", "training-1", "train")
    assert result.exit_code == 0 and result.stdout == ""
    assert "no output was captured for step train" in result.stderr


def test_init_is_idempotent_and_says_where(
    tmp_path: Path, invoke: Invoke, monkeypatch: object
) -> None:
    out = _ok(invoke("init"))
    assert out.startswith("bevel initialized in ") and str(tmp_path / ".bevel") in out
    assert (tmp_path / ".bevel" / "artifacts").is_dir()
    out = _ok(invoke("init"))
    assert out.startswith("bevel already initialized in ")


def test_runs_delete_refuses_a_running_run_unless_forced(
    invoke: Invoke, stack: Stack, seeded: Seeded
) -> None:
    now = datetime.now(UTC)  # a live run: driven by this very process, heartbeat fresh
    stack.metadata_store.create_run(
        RunRecord(
            id=new_id(),
            pipeline="training",
            name="live",
            status=RunStatus.RUNNING,
            created=now,
            host=f"{socket.gethostname()}:{os.getpid()}",
            heartbeat=now,
        )
    )
    result = invoke("runs", "delete", "live", "--yes")
    assert result.exit_code == 1
    assert "still running" in result.stderr and "--force" in result.stderr
    assert "deleted run live" in _ok(invoke("runs", "delete", "live", "--yes", "--force"))
