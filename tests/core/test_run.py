"""Running pipelines on the real default stack (local files; metadata on SQLite, PostgreSQL and
MariaDB, see ``all_databases`` in conftest.py): outcomes, records, errors."""

from __future__ import annotations

import dataclasses
import shutil
import threading
from collections import deque
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pytest

from bevel import Client, current, log_metadata, log_metric, pipeline, step
from bevel.api import run_pipeline
from bevel.artifacts.local import LocalArtifactStore
from bevel.errors import ArtifactCorrupted, ArtifactMissing, OutputTypeError, RunFailed
from bevel.metadata.records import RunStatus
from bevel.stack.stack import default_stack

pytestmark = pytest.mark.all_databases

# A deque, not a list: module-level list/dict/set literals a step reads are part of its cache key.
CALLS: deque[str] = deque()


@step
def load(n_rows: int = 20) -> pd.DataFrame:
    CALLS.append("load")
    return pd.DataFrame({"x": np.arange(n_rows, dtype=float), "y": np.arange(n_rows) % 2})


@step
def split(
    df: pd.DataFrame, test_size: float = 0.25
) -> tuple[Annotated[pd.DataFrame, "train"], Annotated[pd.DataFrame, "test"]]:
    CALLS.append("split")
    cut = int(len(df) * (1 - test_size))
    return df.iloc[:cut], df.iloc[cut:]


@step
def fit(train: pd.DataFrame, C: float = 1.0) -> dict[str, float]:
    CALLS.append("fit")
    current.logger.info("fitting with C=%s", C)
    print("fit sees", len(train), "rows")
    return {"C": C, "mean": float(train.x.mean())}


@step
def evaluate(model: dict[str, float], test: pd.DataFrame) -> Annotated[float, "accuracy"]:
    CALLS.append("evaluate")
    acc = 1.0 / (1.0 + abs(model["mean"] - float(test.x.mean())))
    log_metric("accuracy", acc)
    log_metadata({"rows": len(test)})
    return acc


@pipeline
def training(n_rows: int = 20, C: float = 1.0) -> None:
    train_df, test_df = split(load(n_rows))
    evaluate(fit(train_df, C=C), test_df)


def test_run_records_steps_outputs_metrics_and_logs(bevel_home: Path) -> None:
    CALLS.clear()
    run = training(C=0.5)
    assert run.status == "completed"
    assert list(run.steps) == ["load", "split", "fit", "evaluate"]
    acc = run.steps["evaluate"].outputs["accuracy"].load()
    assert isinstance(acc, float) and 0 < acc <= 1
    assert run.metrics["accuracy"] == pytest.approx(acc)
    train = run.steps["split"].outputs["train"]
    assert train.load().shape == (15, 2)
    assert train.version == 1 and train.content_hash.startswith("blake3:")
    assert run.steps["fit"].params == {"C": 0.5}
    logs = run.steps["fit"].logs()
    assert "fit sees 15 rows" in logs and "fitting with C=0.5" in logs
    assert run.params == {"n_rows": 20, "C": 0.5}
    # lineage: the train split feeds fit, whose model feeds evaluate
    assert [s.step_id for s in train.consumers()] == ["fit"]
    assert train.producer().step_id == "split"
    downstream = {a.output_name for a in train.downstream()}
    assert downstream == {"output"}


def test_second_run_is_fully_cached_and_changes_bust_only_what_changed(bevel_home: Path) -> None:
    CALLS.clear()
    first = training()
    second = training()
    assert {s.status for s in second.steps.values()} == {"cached"}
    assert list(CALLS) == ["load", "split", "fit", "evaluate"]
    assert second.steps["fit"].cached_from == first.steps["fit"].id
    assert second.metrics == first.metrics and "accuracy" in second.metrics  # carried over
    assert (
        second.steps["evaluate"].output.content_hash == first.steps["evaluate"].output.content_hash
    )
    CALLS.clear()
    third = training(C=2.0)
    assert [s.status for s in third.steps.values()] == [
        "cached",
        "cached",
        "completed",
        "completed",
    ]
    assert list(CALLS) == ["fit", "evaluate"]
    assert any("C" in line for line in third.steps["fit"].explain())
    CALLS.clear()
    nocache = training.with_options(enable_cache=False)()
    assert {s.status for s in nocache.steps.values()} == {"completed"}


def test_identical_bytes_are_stored_once(bevel_home: Path) -> None:
    run1 = training.with_options(enable_cache=False)()
    run2 = training.with_options(enable_cache=False)()
    a1, a2 = run1.steps["load"].output, run2.steps["load"].output
    assert a1.id != a2.id and a2.version == a1.version + 1
    assert a1.uri == a2.uri


def test_failing_step_marks_run_failed_keeps_artifacts_and_skips_downstream(
    bevel_home: Path,
) -> None:
    @step
    def ok() -> int:
        return 41

    @step
    def boom(x: int) -> int:
        raise ValueError(f"bad value {x}")

    @step
    def after_boom(x: int) -> int:
        return x

    @step
    def independent() -> int:
        return 7

    @pipeline
    def p() -> None:
        after_boom(boom(ok()))
        independent()

    with pytest.raises(RunFailed) as err:
        p()
    assert "step 'boom' raised ValueError: bad value 41" in str(err.value)
    assert isinstance(err.value.__cause__, ValueError)
    run = Client().get_run(err.value.run_id)
    assert run.status == "failed"
    statuses = {k: s.status for k, s in run.steps.items()}
    assert statuses == {
        "ok": "completed",
        "boom": "failed",
        "after_boom": "skipped",
        "independent": "completed",
    }
    assert run.steps["ok"].output.load() == 41
    assert "ValueError: bad value 41" in (run.steps["boom"].error or "")
    assert run.steps["after_boom"].error == "not run: step 'boom' did not complete"
    assert 'raise ValueError(f"bad value {x}")' in (run.steps["boom"].traceback or "")


def test_retries_with_backoff_then_success_and_hooks(bevel_home: Path) -> None:
    attempts: list[int] = []
    events: list[tuple[str, dict[str, Any]]] = []

    def on_success(*, step: str, run_name: str, **_: Any) -> None:
        events.append(("success", {"step": step}))

    def on_failure(*, step: str, error: BaseException, **_: Any) -> None:
        events.append(("failure", {"step": step, "error": str(error)}))

    @step(retries=2, retry_delay=0.01, on_success=on_success, on_failure=on_failure)
    def flaky() -> int:
        attempts.append(current.attempt)
        if len(attempts) < 3:
            raise RuntimeError("transient")
        return 1

    @step(retries=1, retry_delay=0.0, on_failure=on_failure)
    def always_fails() -> int:
        raise RuntimeError("permanent")

    @pipeline
    def p() -> None:
        flaky()

    run = p()
    assert attempts == [1, 2, 3]
    assert run.steps["flaky"].attempts == 3
    assert events == [("success", {"step": "flaky"})]

    @pipeline
    def q() -> None:
        always_fails()

    with pytest.raises(RunFailed):
        q()
    assert events[-1] == ("failure", {"step": "always_fails", "error": "permanent"})
    assert Client().last_run("q").steps["always_fails"].attempts == 2


def test_wrong_output_type_at_run_time(bevel_home: Path) -> None:
    @step
    def liar() -> pd.DataFrame:
        return "not a frame"  # type: ignore[return-value]

    @pipeline
    def p() -> None:
        liar()

    with pytest.raises(RunFailed) as err:
        p()
    cause = err.value.__cause__
    assert isinstance(cause, OutputTypeError)
    assert "returned builtins.str for the output 'output', annotated DataFrame" in str(cause)
    assert "test_run.py:" in str(cause)


def test_wrong_number_of_outputs(bevel_home: Path) -> None:
    @step
    def two() -> tuple[Annotated[int, "a"], Annotated[int, "b"]]:
        return 1  # type: ignore[return-value]

    @pipeline
    def p() -> None:
        two()

    with pytest.raises(RunFailed) as err:
        p()
    assert "declares 2 outputs (a, b) but returned an int" in str(err.value.__cause__)


def test_single_output_whose_name_starts_with_output_is_not_a_tuple(
    bevel_home: Path, tmp_path: Path
) -> None:
    # Regression: a single output named "output_dir" was treated as a one-element tuple, so a
    # step returning a Path failed with "declares 1 outputs but returned a PosixPath".
    @step
    def make_dir() -> Annotated[Path, "output_dir"]:
        folder = tmp_path / "made"
        folder.mkdir(exist_ok=True)
        (folder / "a.txt").write_text("hi")
        return folder

    @step
    def read(folder: Path) -> str:
        return (folder / "a.txt").read_text()

    @pipeline
    def p() -> None:
        read(make_dir())

    run = p()
    assert run.steps["read"].output.load() == "hi"
    loaded = run.steps["make_dir"].outputs["output_dir"].load()
    assert (Path(loaded) / "a.txt").read_text() == "hi"


def test_one_element_tuple_output_is_unpacked(bevel_home: Path) -> None:
    # Regression: -> tuple[Annotated[int, "a"]] stored the whole tuple (1,) as output 'a'
    # and then failed the run-time type check.
    @step
    def one() -> tuple[Annotated[int, "a"]]:
        return (1,)

    @step
    def inc(x: int) -> int:
        return x + 1

    @pipeline
    def p() -> None:
        (a,) = one()
        inc(a)

    run = p()
    assert run.steps["one"].outputs["a"].load() == 1
    assert run.steps["inc"].output.load() == 2


def test_sys_exit_in_a_step_fails_that_step_and_keeps_its_logs(bevel_home: Path) -> None:
    # Regression: SystemExit escaped run_step, leaving the step "running" forever inside a
    # failed run, with its captured output lost.
    @step
    def quits() -> int:
        print("about to exit")
        raise SystemExit(3)

    @step
    def independent() -> int:
        return 7

    @pipeline
    def p() -> None:
        quits()
        independent()

    with pytest.raises(RunFailed) as err:
        p()
    assert "step 'quits' raised SystemExit: 3" in str(err.value)
    run = Client().get_run(err.value.run_id)
    assert run.status == "failed"
    assert {k: s.status for k, s in run.steps.items()} == {
        "quits": "failed",
        "independent": "completed",
    }
    assert run.steps["quits"].error == "SystemExit: 3"
    assert "about to exit" in run.steps["quits"].logs()
    assert "raise SystemExit(3)" in (run.steps["quits"].traceback or "")


def test_cache_hit_in_another_artifact_store_is_a_miss(bevel_home: Path, tmp_path: Path) -> None:
    # Regression: two stacks sharing one metadata store but not the artifact store; the second
    # run crashed in the cache lookup ("artifact ... is not in this artifact store").
    @step
    def one() -> int:
        return 1

    @step
    def inc(x: int) -> int:
        return x + 1

    @pipeline
    def p() -> None:
        inc(one())

    first = default_stack()
    other = dataclasses.replace(
        first, name="other", artifact_store=LocalArtifactStore(str(tmp_path / "other-artifacts"))
    )
    try:
        assert run_pipeline(p, stack=first).status == "completed"
        run = run_pipeline(p, stack=other)
        assert {k: s.status for k, s in run.steps.items()} == {
            "one": "completed",
            "inc": "completed",
        }
        assert run.steps["inc"].output.load() == 2
        again = run_pipeline(p, stack=other)  # its own outputs are reused
        assert [s.status for s in again.steps.values()] == ["cached", "cached"]
    finally:
        first.close()


def test_current_outside_a_step_is_a_clear_error() -> None:
    with pytest.raises(
        Exception, match=r"only available while a step \(or its on_success/on_failure hook\) runs"
    ):
        _ = current.run_id


def test_keyboard_interrupt_marks_run_cancelled(bevel_home: Path) -> None:
    @step
    def first() -> int:
        return 1

    @step
    def interrupted(x: int) -> int:
        raise KeyboardInterrupt

    @step
    def never(x: int) -> int:
        return x

    @pipeline
    def p() -> None:
        never(interrupted(first()))

    with pytest.raises(KeyboardInterrupt):
        p()
    run = Client().last_run("p")
    assert run.status == RunStatus.CANCELLED
    assert [s.status for s in run.steps.values()] == ["completed", "cancelled", "cancelled"]
    assert run.steps["never"].error == "not run: the run was cancelled"


def test_corrupted_and_deleted_artifacts_are_named_on_load(bevel_home: Path) -> None:
    run = training()
    art = run.steps["load"].output
    data = Path(art.uri)
    files = [f for f in data.rglob("*") if f.is_file()]
    files[0].chmod(0o644)  # stored files are read-only (root ignores it; others must force it)
    files[0].write_bytes(files[0].read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ArtifactCorrupted) as err:
        art.load()
    text = str(err.value)
    assert f"artifact '{art.name}" in text and str(data) in text
    assert art.content_hash in text and "--no-cache" in text
    shutil.rmtree(data)
    with pytest.raises(ArtifactMissing) as err2:
        art.load()
    assert f"artifact '{art.name}" in str(err2.value) and str(data) in str(err2.value)
    # the cache notices the missing files and recomputes instead of handing out a broken artifact
    again = training()
    assert again.steps["load"].status == "completed"


def test_runs_in_threads_do_not_mix_logs(bevel_home: Path) -> None:
    @step
    def shout(word: str) -> str:
        for _ in range(50):
            print(word)
        return word

    @pipeline
    def p(word: str) -> None:
        shout(word)

    errors: list[BaseException] = []

    def go(word: str) -> None:
        try:
            p.with_options(enable_cache=False)(word=word)
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(w,)) for w in ("alpha", "omega")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for run in Client().runs(pipeline="p"):
        word = run.params["word"]
        logs = run.steps["shout"].logs()
        assert logs.count(word) == 50 and ("alpha" if word == "omega" else "omega") not in logs


SLOW = """
import time, pathlib
from bevel import pipeline, step

@step
def first() -> int:
    return 1

@step
def slow(x: int) -> int:
    pathlib.Path("started").write_text("yes")
    time.sleep(60)
    return x

@pipeline
def sleepy():
    slow(first())

if __name__ == "__main__":
    sleepy()
"""


def test_sigterm_marks_the_run_cancelled(bevel_home: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "sleepy.py"
    script.write_text(SLOW)
    env = {**os.environ, "BEVEL_HOME": str(bevel_home)}
    proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env)
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) != 0
    run = Client().last_run("sleepy")
    assert run.status == "cancelled"
    assert {k: s.status for k, s in run.steps.items()} == {
        "first": "completed",
        "slow": "cancelled",
    }


def test_retried_step_with_inputs_records_once_with_every_attempts_logs(bevel_home: Path) -> None:
    tries: list[int] = []

    @step
    def source() -> int:
        return 5

    @step(retries=1, retry_delay=0.0)
    def wobbly(x: int) -> int:
        tries.append(x)
        print(f"attempt {current.attempt}")
        log_metric("tries", len(tries))
        if len(tries) == 1:
            raise RuntimeError("first attempt fails")
        return x * 2

    @pipeline
    def p() -> None:
        wobbly(source())

    run = p()
    step_view = run.steps["wobbly"]
    assert step_view.status == "completed" and step_view.attempts == 2
    assert step_view.output.load() == 10
    assert [a.name for a in step_view.inputs.values()] == ["p.source.output"]
    logs = step_view.logs()
    assert "--- attempt 1 of 2 ---" in logs and "first attempt fails" in logs
    assert "--- attempt 2 of 2 ---" in logs and "attempt 2" in logs
    assert run.metrics == {"tries": 2.0}  # metrics of the failed attempt are not kept


LOGGING_AFTER_A_RUN = """
import logging, sys
from bevel import pipeline, step

@step
def talk(n: int = 1) -> int:
    logging.getLogger("user").warning("warned %s", n)
    return n

@pipeline
def chatty(n: int = 1) -> None:
    talk(n)

chatty(n=1)
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="USER %(message)s")
logging.getLogger("user").info("outside a step")
run = chatty(n=2)
print("LOGS:" + repr(run.steps["talk"].logs()))
"""


def test_logging_basic_config_after_a_run_still_works(bevel_home: Path, tmp_path: Path) -> None:
    # Regression: bevel left its handler on the root logger after the first run, which made
    # the user's later logging.basicConfig() a silent no-op; with the user's handler printing
    # to a captured stream, step logs would also hold each record twice.
    import os
    import subprocess
    import sys

    script = tmp_path / "chatty.py"
    script.write_text(LOGGING_AFTER_A_RUN)
    env = {**os.environ, "BEVEL_HOME": str(bevel_home)}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "USER outside a step" in lines  # the user's basicConfig took effect
    assert "USER warned 2" in lines  # and shows the step's record live
    assert lines[-1] == "LOGS:'USER warned 2\\n'"  # captured once


def test_a_crash_inside_bevel_leaves_no_step_running(
    bevel_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If recording a step's outcome itself fails (here: the store refuses the write), the run
    and that step end failed, never "running"."""
    from bevel.settings import load_settings
    from bevel.stack.home import home_metadata_store

    probe = home_metadata_store(load_settings())
    store_class: Any = type(probe)  # SQL, or REST in front of a server
    probe.close()

    @step
    def fine() -> int:
        return 1

    @pipeline
    def p() -> None:
        fine()

    real = store_class.finish_step_run

    def broken(self: Any, completion: Any) -> Any:
        if completion.step_run.status == "completed":
            raise RuntimeError("disk full")
        return real(self, completion)

    monkeypatch.setattr(store_class, "finish_step_run", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        p()
    monkeypatch.setattr(store_class, "finish_step_run", real)
    run = Client().last_run("p")
    assert run.status == "failed" and "disk full" in (run.error or "")
    assert run.steps["fine"].status == "failed"


def test_a_materializer_version_bump_busts_the_cache_of_unannotated_outputs(
    bevel_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bevel.artifacts.materializers.json_builtins import JsonMaterializer

    @step
    def untyped():  # type: ignore[no-untyped-def]  # no annotation: materializer chosen at run time
        return {"a": 1}

    @pipeline
    def p() -> None:
        untyped()

    assert p().steps["untyped"].status == "completed"
    assert p().steps["untyped"].status == "cached"
    monkeypatch.setattr(JsonMaterializer, "version", "999")  # a new on-disk format
    rerun = p().steps["untyped"]
    assert rerun.status == "completed"
    assert rerun.output.load() == {"a": 1}
