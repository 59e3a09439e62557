"""Small things a new user trips over: `python -m bevel`, stack defaults and suggestions,
SIGTERM recorded as such, and generated messages that read as English."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bevel import pipeline, step
from bevel._text import with_article
from bevel.api import compile_pipeline
from bevel.client.client import Client
from bevel.dag.config import parse_run_config
from bevel.errors import ConfigError, ParameterError

Invoke = Callable[..., Result]


def test_python_m_bevel_runs_the_cli(bevel_home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "BEVEL_HOME": str(bevel_home), "COLUMNS": "200"}
    help_ = subprocess.run(
        [sys.executable, "-m", "bevel", "--help"], capture_output=True, text=True, env=env
    )
    assert help_.returncode == 0, help_.stderr
    assert help_.stdout.startswith("Usage: python -m bevel [OPTIONS] COMMAND")
    assert "runs " in help_.stdout and "stack " in help_.stdout
    (tmp_path / "tiny.py").write_text(
        "from bevel import pipeline, step\n\n"
        "@step\ndef one() -> int:\n    return 1\n\n"
        "@pipeline\ndef tiny():\n    one()\n"
    )
    ran = subprocess.run(
        [sys.executable, "-m", "bevel", "run", "tiny.py", "--name", "via-m"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    assert "run via-m completed" in ran.stdout
    assert Client().get_run("via-m").status == "completed"


def test_stack_register_defaults_the_orchestrator_to_local(invoke: Invoke, tmp_path: Path) -> None:
    made = invoke(
        "component", "register", "artifact_store", "scratch", "--flavor", "local",
        "--path", str(tmp_path / "scratch"),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    result = invoke("stack", "register", "team", "-a", "scratch")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "registered stack team: orchestrator=local, artifact_store=scratch, "
        "metadata_store=home-metadata\n"
    )
    # the stack it registered really runs
    assert invoke("stack", "set", "team").exit_code == 0
    described = invoke("stack", "describe").stdout
    assert "active  yes (chosen by bevel stack set)" in described
    assert "orchestrator: local (flavor local)" in described


def test_unknown_stack_names_get_a_did_you_mean(invoke: Invoke, tmp_path: Path) -> None:
    invoke(
        "component", "register", "artifact_store", "scratch", "--flavor", "local",
        "--path", str(tmp_path / "scratch"),
    )  # fmt: skip
    assert invoke("stack", "register", "team", "-a", "scratch").exit_code == 0
    for args in (("stack", "set", "tem"), ("stack", "describe", "tem")):
        result = invoke(*args)
        assert result.exit_code != 0
        assert "error: no stack named 'tem'" in result.stderr
        assert "hint: did you mean 'team'? known stacks: default, team" in result.stderr
    listed = invoke("runs", "list", "--stack", "tem")
    assert listed.exit_code != 0
    assert "error: no stack named 'tem' (given explicitly)" in listed.stderr
    assert "hint: did you mean 'team'? " in listed.stderr
    # far from every known name: no guess, but the list
    far = invoke("stack", "set", "zzzzzz")
    assert "did you mean" not in far.stderr and "known stacks: default, team" in far.stderr


SLEEPY = textwrap.dedent(
    """
    import pathlib, time
    from bevel import pipeline, step

    @step
    def first() -> int:
        return 1

    @step
    def slow(x: int) -> int:
        pathlib.Path("started").write_text("yes")
        time.sleep(60)
        return x

    @step
    def after(x: int) -> int:
        return x

    @pipeline
    def sleepy():
        after(slow(first()))
    """
)


def test_sigterm_is_recorded_as_terminated_not_as_a_user_cancel(
    bevel_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "sleepy.py").write_text(SLEEPY)
    env = {**os.environ, "BEVEL_HOME": str(bevel_home), "NO_COLOR": "1"}
    bevel = str(Path(sys.executable).with_name("bevel"))
    proc = subprocess.Popen(
        [bevel, "run", "sleepy.py", "--name", "killed"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM  # as a shell reports a SIGTERM'd command
    assert "terminated by SIGTERM" in err and "interrupted" not in err
    run = Client().get_run("killed")
    assert run.status == "cancelled"
    assert run.error == "terminated by SIGTERM"
    assert "KeyboardInterrupt" not in (run.error or "")
    assert run.steps["slow"].error == "terminated by SIGTERM"
    assert run.steps["after"].error == "not run: the run was terminated by SIGTERM"


@pytest.mark.parametrize(
    ("noun", "expected"),
    [
        ("int", "an int"),
        ("integer", "an integer"),
        ("list", "a list"),
        ("orchestrator", "an orchestrator"),
        ("artifact_store", "an artifact_store"),
        ("alerter", "an alerter"),
        ("metadata_store", "a metadata_store"),
        ("IntEnum", "an IntEnum"),
        ("numpy.float64", "a numpy.float64"),
        ("unique name", "a unique name"),
        ("URL", "a URL"),
        ("SQL query", "an SQL query"),
        ("hour", "an hour"),
        ("true/false", "a true/false"),
    ],
)
def test_with_article(noun: str, expected: str) -> None:
    assert with_article(noun) == expected


def test_generated_messages_use_the_right_article(bevel_home: Path) -> None:
    @step
    def scaled(n: int = 1) -> int:
        return n

    @pipeline
    def p() -> None:
        scaled(n="three")

    with pytest.raises(ParameterError) as err:
        compile_pipeline(p)
    assert "pass an int (on the command line" in (err.value.hint or "")
    with pytest.raises(ConfigError) as err2:
        parse_run_config({"steps": {"scaled": {"retries": "many"}}})
    assert "must be an integer" in err2.value.message
