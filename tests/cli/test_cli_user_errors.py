"""Errors in the user's code reach the terminal as the user's: a broken pipeline file shows its
own frames and a hint (never bevel's or click's internals), and a failed step shows its error's
own hint before the pointer to the full traceback."""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bevel.api import load_pipeline
from bevel.errors import DefinitionError, PipelineFileError

Invoke = Callable[..., Result]

GOOD = textwrap.dedent(
    """
    from bevel import pipeline, step

    @step
    def one() -> int:
        return 1

    @pipeline
    def fine():
        one()
    """
)

CARET = "<a line of spaces and ^ under the error>"
# name -> (pipeline file, helper file or "", headline, expected frame lines, hint start)
BROKEN = {
    "syntax": (
        "from bevel import pipeline, step\n\ndef f(:\n    pass\n",
        "",
        "error: {pipe}:3: SyntaxError: invalid syntax",
        ["    def f(:", CARET],
        "hint: fix the code at {pipe}:3, then run again",
    ),
    "syntax_in_helper": (
        "from bevel import pipeline, step\nimport {helper}\n",
        "x = (1,\n",
        "error: {helper}.py:1: SyntaxError: '(' was never closed (while importing {pipe})",
        ['  File "{pipe}", line 2, in <module>', "    import {helper}", "    x = (1,", CARET],
        "hint: fix the code at {helper}.py:1, then run again",
    ),
    "missing_module": (
        "from bevel import pipeline, step\nimport no_such_module_xyz\n",
        "",
        "error: {pipe}:2: importing {pipe} raised ModuleNotFoundError: "
        "No module named 'no_such_module_xyz'",
        ['  File "{pipe}", line 2, in <module>', "    import no_such_module_xyz"],
        "hint: install the package that provides 'no_such_module_xyz' for the Python that runs "
        "bevel: " + sys.executable + " -m pip install PACKAGE; if it is your own module, put it "
        "next to {pipe} or on PYTHONPATH",
    ),
    "raises_in_helper": (
        "from bevel import pipeline, step\nimport {helper}\n\n{helper}.boom()\n",
        "def boom():\n    raise RuntimeError('config not found')\n",
        "error: {helper}.py:2: importing {pipe} raised RuntimeError: config not found",
        [
            '  File "{pipe}", line 4, in <module>',
            "    {helper}.boom()",
            '  File "{helper}.py", line 2, in boom',
            "    raise RuntimeError('config not found')",
        ],
        "hint: bevel imports the file to find its pipelines, so its top-level code runs first: "
        "fix the error at {helper}.py:2, or move that code into a step, or guard script code "
        'with `if __name__ == "__main__":`',
    ),
    "sys_exit": (
        "import sys\nfrom bevel import pipeline, step\n\nsys.exit(2)\n",
        "",
        "error: {pipe}:4: importing {pipe} called sys.exit(2)",
        ['  File "{pipe}", line 4, in <module>', "    sys.exit(2)"],
        "hint: bevel imports the file to find its pipelines, so its top-level code runs: guard "
        'script code with `if __name__ == "__main__":`',
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_pipeline_file_shows_the_users_frames_and_a_hint(
    invoke: Invoke, tmp_path: Path, case: str
) -> None:
    source, helper_source, headline, frames, hint = BROKEN[case]
    pipe, helper = f"pipe_{case}.py", f"helper_{case}"
    fill = {"pipe": pipe, "helper": helper}
    (tmp_path / pipe).write_text(source.format(**fill))
    if helper_source:
        (tmp_path / f"{helper}.py").write_text(helper_source)
    result = invoke("run", pipe)
    assert result.exit_code == 1
    assert result.stdout == ""
    err = result.stderr
    expected = [headline.format(**fill), *[f.format(**fill) for f in frames], hint.format(**fill)]
    lines = err.splitlines()
    assert len(lines) == len(expected), err
    for line, want in zip(lines, expected):
        if want == CARET:
            assert re.fullmatch(r" +\^+", line), err
        else:
            assert line == want
    for internal in ("Traceback", "unexpected error", "click", "bevel/", "importlib"):
        assert internal not in err
    # the hint is a promise: fix what it points at, and the same command works
    (tmp_path / pipe).write_text(GOOD)
    fixed = invoke("run", pipe)
    assert fixed.exit_code == 0, fixed.output


def test_load_pipeline_raises_the_users_error_with_the_original_chained(
    bevel_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "helper_chain.py").write_text("def boom():\n    raise KeyError('fold')\n")
    (tmp_path / "pipe_chain.py").write_text("import helper_chain\nhelper_chain.boom()\n")
    with pytest.raises(PipelineFileError) as err:
        load_pipeline(str(tmp_path / "pipe_chain.py"))
    assert isinstance(err.value, DefinitionError)
    assert isinstance(err.value.__cause__, KeyError)
    assert err.value.where == "helper_chain.py:2"
    assert err.value.frames[0] == '  File "pipe_chain.py", line 2, in <module>'
    assert "pipe_chain" not in sys.modules  # a failed import leaves no half-made module


def test_a_bevel_error_at_import_time_is_shown_as_it_is(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "pipe_option.py").write_text(
        "from bevel import step\n\n@step(retries=-1)\ndef one() -> int:\n    return 1\n"
    )
    result = invoke("run", "pipe_option.py")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "retries must be a non-negative integer" in lines[0]
    assert lines[1] == "hint: use e.g. @step(retries=2)"


STEP_FAILS = textwrap.dedent(
    """
    from bevel import pipeline, step

    @step
    def load() -> list[int]:
        return [1, 2, 3]

    @step
    def train(xs: list[int], C: float = 1.0) -> float:
        if C < 0:
            raise ValueError("C must be positive")
        return sum(xs) * C

    @step
    def summary(xs: list[int]) -> dict:
        return {"n": len(xs), "tags": {"a"}}

    @pipeline
    def training(C: float = 1.0, summarize: bool = False):
        xs = load()
        train(xs, C=C)
        if summarize:
            summary(xs)
    """
)


@pytest.fixture
def step_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipe_step_fails.py"
    path.write_text(STEP_FAILS)
    return path


def test_a_failed_steps_own_hint_reaches_the_terminal(invoke: Invoke, step_file: Path) -> None:
    result = invoke("run", str(step_file), "-p", "summarize=true", "--name", "with-set")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "step summary failed: the value['tags'] is a set ({'a'}), which JSON cannot store",
        "hint: convert it to int/float/str/bool/None/list/dict with str keys (e.g. `float(x)`, "
        "`x.tolist()`, `str(x)`), give the output a type with its own materializer, or opt into "
        'pickle for it: `@step(pickle=True)` or `@step(pickle=["output_name"])`',
        "the full error and traceback: bevel runs show with-set",
    ]
    # following the hint literally works
    step_file.write_text(
        STEP_FAILS.replace("@step\ndef summary", "@step(pickle=True)\ndef summary")
    )
    again = invoke("run", str(step_file), "-p", "summarize=true")
    assert again.exit_code == 0, again.output


def test_a_user_exception_names_the_users_line(invoke: Invoke, step_file: Path) -> None:
    result = invoke("run", str(step_file), "-p", "C=-1", "--name", "negative")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "step train failed: ValueError: C must be positive",
        "  at pipe_step_fails.py:11 (in train)",
        "the full error and traceback: bevel runs show negative",
    ]


def test_a_corrupted_input_says_how_to_repair_it(invoke: Invoke, step_file: Path) -> None:
    import os

    from bevel.client.client import Client

    assert invoke("run", str(step_file), "--name", "first").exit_code == 0
    with Client() as client:
        folder = Path(client.get_run("first").steps["load"].output.uri)
    stored = folder / "data.json"
    stored.chmod(0o644)  # stored files are read-only (root ignores it)
    stored.write_text("[9,9,9]")  # same size as "[1,2,3]"
    # A plain write is seen by the cache check (the marker's manifest): load runs again and
    # repairs the stored files, so the run succeeds.
    repaired = invoke("run", str(step_file), "-p", "C=2", "--name", "repaired")
    assert repaired.exit_code == 0, repaired.output
    with Client() as client:
        assert client.get_run("repaired").steps["load"].status == "completed"
    # A write that also forges the modification time gets past that check; loading re-hashes
    # and names the artifact, with the repair in the hint.
    before = stored.stat()
    stored.chmod(0o644)
    stored.write_text("[9,9,9]")
    os.utime(stored, ns=(before.st_atime_ns, before.st_mtime_ns))
    result = invoke("run", str(step_file), "-p", "C=3", "--name", "second")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("step train failed: artifact 'training.load.output v2' at ")
    assert "is corrupted" in lines[0]
    assert lines[1].startswith("hint: ") and "--no-cache" in lines[1]
    assert lines[2] == "the full error and traceback: bevel runs show second"


def test_load_pipeline_imports_an_edited_file_anew(bevel_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "pipe_edited.py"
    path.write_text(GOOD)
    assert load_pipeline(str(path)).name == "fine"
    assert load_pipeline(str(path)) is load_pipeline(str(path))  # unchanged: imported once
    path.write_text(GOOD.replace("def fine", "def finer"))
    assert load_pipeline(str(path)).name == "finer"  # a notebook re-running a cell sees the edit
