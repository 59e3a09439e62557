"""Hostile or broken input through the real `bevel` command: each is a clear error (exit code 2,
what was wrong and the limit, a hint), never a hang, a memory blow-up or a traceback."""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path

import pytest
from e2e_helpers import BEVEL

pytestmark = pytest.mark.slow  # a fresh process per case (~2 s each), with a memory limit

PIPE = """
from typing import Any
from bevel import pipeline, step

@step
def echo(x: Any = 0) -> int:
    return 1

@pipeline
def p(x: Any = 0):
    echo(x)
"""

# Ten levels of aliases, each repeating the one before ten times: 10**10 values once expanded.
BOMB = (
    "{a0: &a0 [x, x, x, x, x, x, x, x, x, x], "
    + ", ".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10))
    + "}"
)


def _limit_memory() -> None:
    two_gib = 2 * 1024**3
    resource.setrlimit(resource.RLIMIT_AS, (two_gib, two_gib))


def bevel(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `bevel` in a fresh process with 2 GiB of memory and 60 s at most."""
    environ = {
        **os.environ,
        "BEVEL_HOME": str(tmp_path / ".bevel"),
        "NO_COLOR": "1",
        "COLUMNS": "200",
        **(env or {}),
    }
    proc = subprocess.run(
        [BEVEL, *args],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
    )
    return proc.returncode, proc.stdout + proc.stderr


def refused(tmp_path: Path, *args: str, expect: str, env: dict[str, str] | None = None) -> str:
    code, out = bevel(tmp_path, *args, env=env)
    assert code == 2, out
    assert expect in out, out
    assert "Traceback" not in out, out
    # bevel's errors end with a hint; a bad -p value is reported by click as a bad option
    assert "hint:" in out or "Invalid value for '-p' / '--param'" in out, out
    return out


@pytest.fixture
def pipe(tmp_path: Path) -> str:
    (tmp_path / "pipe.py").write_text(PIPE)
    return "pipe.py:p"


def test_yaml_alias_bomb_in_a_run_config(tmp_path: Path, pipe: str) -> None:
    (tmp_path / "bomb.yaml").write_text(f"parameters: {{x: {BOMB}}}\n")
    refused(tmp_path, "run", pipe, "--config", "bomb.yaml", expect="expands to more than")


def test_too_many_aliases(tmp_path: Path, pipe: str) -> None:
    items = ", ".join(["*v"] * 1001)
    (tmp_path / "many.yaml").write_text(f"v: &v 1\nparameters: {{x: [{items}]}}\n")
    out = refused(tmp_path, "run", pipe, "--config", "many.yaml", expect="more than 1000 times")
    assert "the run config many.yaml uses aliases (*name)" in out


def test_an_alias_to_itself(tmp_path: Path, pipe: str) -> None:
    (tmp_path / "loop.yaml").write_text("parameters:\n  x: &me [1, *me]\n")
    refused(tmp_path, "run", pipe, "--config", "loop.yaml", expect="line 2 refers to itself")


def test_deep_nesting_in_a_run_config(tmp_path: Path, pipe: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    (tmp_path / "deep.yaml").write_text(f"parameters:\n  x: {deep}\n")
    out = refused(
        tmp_path, "run", pipe, "--config", "deep.yaml", expect="nested deeper than 64 levels"
    )
    assert "the run config deep.yaml" in out and "(line 2)" in out


def test_deep_nesting_in_a_parameter(tmp_path: Path, pipe: str) -> None:
    for value in ("[" * 5000 + "]" * 5000, "{a: " * 5000 + "1" + "}" * 5000):
        out = refused(tmp_path, "run", pipe, "-p", f"x={value}", expect="nested deeper than 64")
        assert "parameter 'x'" in out


def test_nesting_within_the_limit_runs(tmp_path: Path, pipe: str) -> None:
    value = "[" * 60 + "1" + "]" * 60
    code, out = bevel(tmp_path, "run", pipe, "-p", f"x={value}")
    assert code == 0, out


def test_a_number_too_long_to_read(tmp_path: Path, pipe: str) -> None:
    refused(tmp_path, "run", pipe, "-p", "x=" + "9" * 5000, expect="a number too long to read")
    (tmp_path / "long.yaml").write_text("parameters: {x: " + "9" * 5000 + "}\n")
    refused(tmp_path, "run", pipe, "--config", "long.yaml", expect="a number too long to read")


def test_invalid_utf8_in_a_run_config(tmp_path: Path, pipe: str) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"run_name: nightly\nparameters: {x: caf\xe9}\n")
    out = refused(tmp_path, "run", pipe, "--config", "latin1.yaml", expect="is not UTF-8 text")
    assert "byte 0xe9 at line 2" in out


def test_a_run_config_too_large(tmp_path: Path, pipe: str) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("parameters:\n  x: '" + "a" * (11 * 1024 * 1024) + "'\n")
    refused(tmp_path, "run", pipe, "--config", "big.yaml", expect="is larger than 10 MiB")


@pytest.mark.parametrize("command", [("runs", "list"), ("artifacts", "list")])
def test_a_huge_limit(tmp_path: Path, command: tuple[str, ...]) -> None:
    code, out = bevel(tmp_path, *command, "--limit", str(10**25))
    assert code == 2, out
    assert "is not in the range 1<=x<=1000000" in out and "Traceback" not in out


def test_bevel_home_is_a_file(tmp_path: Path, pipe: str) -> None:
    home = tmp_path / "not-a-folder"
    home.write_text("x")
    env = {"BEVEL_HOME": str(home)}
    for args in (("runs", "list"), ("run", pipe), ("stack", "list")):
        out = refused(tmp_path, *args, env=env, expect=f"{home} ($BEVEL_HOME) is a file")
        assert "point $BEVEL_HOME at a folder" in out


def test_bevel_home_inside_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    env = {"BEVEL_HOME": str(tmp_path / "file" / ".bevel")}
    refused(tmp_path, "runs", "list", env=env, expect="cannot create bevel's home folder")


def test_stack_files_are_read_within_the_limits(tmp_path: Path) -> None:
    cases = {
        "bomb.yaml": (f"stack: s\ncomponents: {{orchestrator: {BOMB}}}\n", "expands to more"),
        "deep.yaml": ("stack: s\ncomponents: " + "[" * 5000 + "]" * 5000 + "\n", "deeper than"),
    }
    for name, (text, expect) in cases.items():
        (tmp_path / name).write_text(text)
        out = refused(tmp_path, "stack", "import", name, expect=expect)
        assert f"the stack file {name}" in out
    (tmp_path / "latin1.yaml").write_bytes(b"stack: caf\xe9\n")
    refused(tmp_path, "stack", "import", "latin1.yaml", expect="is not UTF-8 text")


def test_deep_json_in_a_component_setting(tmp_path: Path) -> None:
    deep = '{"a": ' * 5000 + "1" + "}" * 5000
    out = refused(
        tmp_path,
        "component", "register", "artifact_store", "s3-store", "--flavor", "s3",
        "--path", "s3://bucket", "--client-kwargs", deep,
        expect="field 'client_kwargs' is nested deeper than 64 levels",
    )  # fmt: skip
    assert "artifact_store 's3-store' (flavor s3)" in out


def test_a_normal_run_config_with_aliases_still_works(tmp_path: Path, pipe: str) -> None:
    (tmp_path / "ok.yaml").write_text(
        "run_name: ok-{date}\nparameters:\n  x: {a: &v [1, 2, {b: c}], b: *v}\n"
    )
    code, out = bevel(tmp_path, "run", pipe, "--config", "ok.yaml")
    assert code == 0, out
