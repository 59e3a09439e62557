"""Commands that only read create no state: outside a project they say there is none and how
to start one, and following that hint works."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Invoke = Callable[..., Result]

READ_ONLY = [
    ("runs", "list"),
    ("runs", "show", "some-run"),
    ("runs", "explain", "some-run", "train"),
    ("runs", "delete", "some-run", "--yes"),
    ("logs", "some-run", "train"),
    ("pipelines", "list"),
    ("artifacts", "list"),
    ("artifacts", "show", "abcdef12"),
    ("stack", "list"),
    ("stack", "describe"),
    ("stack", "export", "default"),
    ("stack", "delete", "team", "--yes"),
    ("component", "list"),
    ("component", "describe", "local"),
    ("component", "delete", "s3-store", "--yes"),
    ("secret", "list"),
    ("secret", "get", "db"),
    ("secret", "delete", "db", "--yes"),
]
NO_PROJECT = [
    "error: no bevel project here: no .bevel/ folder in {here} or above",
    "hint: start one here with `bevel init` (a first `bevel run file.py:pipeline` makes it too), "
    "or cd into your project",
]
TINY = (
    "from bevel import pipeline, step\n\n@step\ndef one() -> int:\n    return 1\n\n"
    "@pipeline\ndef tiny():\n    one()\n"
)


@pytest.fixture
def elsewhere(invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder that is no bevel project: no $BEVEL_HOME, no .bevel/ here or above."""
    here = tmp_path / "not-a-project"
    here.mkdir()
    monkeypatch.delenv("BEVEL_HOME")
    monkeypatch.chdir(here)
    above = [p for p in (here, *here.parents) if (p / ".bevel").is_dir()]
    if above:
        pytest.skip(f"a .bevel/ folder exists above the test folder: {above[0]}")
    return here


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_outside_a_project_create_nothing(
    invoke: Invoke, elsewhere: Path, args: tuple[str, ...]
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [line.format(here=elsewhere) for line in NO_PROJECT]
    assert list(elsewhere.iterdir()) == []


def test_the_hint_works_bevel_init_or_a_first_run(
    invoke: Invoke, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("init").exit_code == 0
    listed = invoke("runs", "list")
    assert listed.exit_code == 0 and listed.stdout == "no runs found\n"
    assert invoke("stack", "list").exit_code == 0

    other = elsewhere.parent / "second"
    other.mkdir()
    (other / "tiny.py").write_text(TINY)
    monkeypatch.chdir(other)
    assert invoke("runs", "list").exit_code == 2  # not a project yet
    assert invoke("run", "tiny.py", "--name", "first").exit_code == 0  # a first run makes one
    assert (other / ".bevel").is_dir()
    assert "first" in invoke("runs", "list").stdout


def test_bevel_home_pointing_nowhere(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "gone" / ".bevel"
    monkeypatch.setenv("BEVEL_HOME", str(missing))
    result = invoke("runs", "list")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: no bevel project at $BEVEL_HOME={missing} (that folder does not exist)",
        "hint: run a pipeline to create it (bevel run file.py:pipeline), or unset BEVEL_HOME",
    ]
    assert not (tmp_path / "gone").exists()


def test_a_team_store_is_a_project_without_a_local_folder(
    invoke: Invoke, elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVEL_STORE_URL", f"sqlite:///{tmp_path / 'team.db'}")
    result = invoke("runs", "list")
    assert result.exit_code == 0, result.output
    assert result.stdout == "no runs found\n"
    assert list(elsewhere.iterdir()) == []  # no .bevel/ made here


def test_bevel_home_inside_a_file_says_so(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("BEVEL_HOME", str(tmp_path / "file" / ".bevel"))
    result = invoke("runs", "list")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"error: cannot create bevel's home folder {tmp_path / 'file' / '.bevel'}: "
        f"{tmp_path / 'file'} is a file"
    )
    assert (tmp_path / "file").read_text() == "x"
