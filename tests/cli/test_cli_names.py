"""Names from users never become paths unchecked: `bevel run` refuses a bad step id, pipeline,
output or run name before anything runs, naming it, where it came from and what is allowed."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bevel.client.client import Client
from bevel.names import file_name

Invoke = Callable[..., Result]

PIPES = textwrap.dedent(
    """
    from typing import Annotated
    from bevel import pipeline, step


    @step
    def make() -> int:
        print("hello from make")
        return 1


    @step
    def odd_output() -> Annotated[int, "../out"]:
        return 1


    @pipeline
    def escape():
        make.with_options(id="../../x")()


    @pipeline
    def long_id():
        make.with_options(id="a" * 300)()


    @pipeline
    def newline_id():
        make.with_options(id="two\\nlines")()


    @pipeline(name="team/nightly")
    def slashed():
        make()


    @pipeline
    def bad_output():
        odd_output()


    @pipeline(run_name="nightly\\t{date}")
    def tabbed_run_name():
        make()


    @pipeline
    def fine():
        make()
    """
)

ESCAPE, LONG = 'id="../../x"', 'id="a" * 300'
ALLOWED = "names are 1 to 80 characters, without '/' or '\\', control or invisible characters"


@pytest.fixture
def pipes(tmp_path: Path) -> Path:
    path = tmp_path / "pipes.py"
    path.write_text(PIPES)
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def refused(result: Result, headline: str, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "error: " in result.output and headline in result.output, result.output
    assert "Traceback" not in result.output
    return result.output


def no_runs(bevel_home: Path) -> None:
    with Client() as client:
        assert client.runs() == []


def test_step_id_with_path_separators(invoke: Invoke, pipes: Path, bevel_home: Path) -> None:
    out = refused(
        invoke("run", f"{pipes}:escape"),
        f"{pipes}:{line_of(pipes, ESCAPE)}: invalid step id '../../x': it contains "
        "the path separator '/'",
    )
    assert "make.with_options(id=...)" in out and ALLOWED in out
    assert not list(bevel_home.rglob("*.log")), "no log written anywhere"
    no_runs(bevel_home)


def test_step_id_too_long(invoke: Invoke, pipes: Path, bevel_home: Path) -> None:
    out = refused(invoke("run", f"{pipes}:long_id"), "invalid step id 'aaaa")
    assert "... (300 characters): it is 300 characters long (at most 80)" in out
    assert "a" * 41 not in out  # the name is shown shortened
    assert f"{pipes}:{line_of(pipes, LONG)}" in out
    no_runs(bevel_home)


def test_control_characters_are_shown_escaped(invoke: Invoke, pipes: Path) -> None:
    out = refused(invoke("run", f"{pipes}:newline_id"), "invalid step id 'two\\nlines'")
    assert "it contains the control character U+000A" in out


def test_pipeline_and_output_names(invoke: Invoke, pipes: Path) -> None:
    out = refused(
        invoke("run", f"{pipes}:slashed"),
        f"{pipes}:{line_of(pipes, 'team/nightly')}: invalid pipeline name 'team/nightly'",
    )
    assert "rename it: @pipeline(name=...)" in out
    out = refused(
        invoke("run", f"{pipes}:bad_output"),
        f"{pipes}:{line_of(pipes, 'def odd_output') - 1}: invalid output name '../out' (of step "
        "'odd_output')",
    )
    assert 'Annotated[T, "name"]' in out


def test_run_names_from_each_source(invoke: Invoke, pipes: Path, bevel_home: Path) -> None:
    long = "n" * 10_000
    out = refused(
        invoke("run", f"{pipes}:fine", "--name", long),
        "invalid run name 'nnnn",
        code=2,
    )
    assert "(given with --name or run_name=): it is 10000 characters long (at most 255)" in out
    assert long not in out
    config = pipes.parent / "run.yaml"
    config.write_text('run_name: "a\\0b"\n')
    out = refused(invoke("run", f"{pipes}:fine", "--config", str(config)), "invalid run", code=2)
    assert f"(run_name in the run config {config})" in out and "U+0000" in out
    out = refused(invoke("run", f"{pipes}:tabbed_run_name"), "invalid run name", code=2)
    assert "(@pipeline(run_name=...))" in out and "U+0009" in out
    no_runs(bevel_home)


def test_good_names_run_and_their_logs_stay_in_logs(
    invoke: Invoke, pipes: Path, bevel_home: Path
) -> None:
    result = invoke("run", f"{pipes}:fine", "--name", "nightly 2024-01-01 (v2) é")
    assert result.exit_code == 0, result.output
    logs = list(bevel_home.rglob("*.log"))
    assert len(logs) == 1
    assert logs[0].parent.parent == bevel_home / "artifacts" / "logs"
    assert logs[0].name.startswith("make-")


@pytest.mark.parametrize(
    "name", ["../../x", "a" * 300, "two\nlines", "🚀" * 80, "..", "a\\b", "nul\x00"]
)
def test_log_file_names_are_always_safe(name: str) -> None:
    made = file_name(name, "-0123abcd.log")
    assert "/" not in made and "\\" not in made and "\x00" not in made and "\n" not in made
    assert made not in ("..", ".") and made.endswith("-0123abcd.log")
    assert len(made.encode()) <= 255
    assert file_name(name, "-0123abcd.log") == made  # stable: the same step, the same file
    assert file_name("train", "-1.log") == "train-1.log"  # good names are kept as they are


def test_definition_names_have_the_same_limit(invoke: Invoke) -> None:
    long = "c" * 81
    out = refused(
        invoke("component", "register", "artifact_store", long, "--flavor", "local", "--path", "x"),
        "invalid component name 'cccc",
        code=2,
    )
    assert "(81 characters)" in out and "use 1 to 80 letters" in out
    refused(invoke("secret", "create", "s" * 81, "--k=v"), "invalid secret name", code=2)
    refused(invoke("stack", "register", "t" * 81, "-a", "local-artifacts"), "invalid stack", code=2)
    ok = invoke(
        "component", "register", "artifact_store", "c" * 80, "--flavor", "local", "--path", "x"
    )
    assert ok.exit_code == 0, ok.output
