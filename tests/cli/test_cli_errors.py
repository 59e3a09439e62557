"""Known errors print a headline and a hint (no traceback); bugs print their traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bevel.cli.output import render_error
from bevel.client.client import Client
from bevel.errors import DefinitionError

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def project(invoke: Invoke) -> None:
    """Read commands need a project to read (outside one: tests/cli/test_cli_readonly.py)."""
    assert invoke("init").exit_code == 0


def test_not_found_prints_headline_and_hint_without_traceback(invoke: Invoke) -> None:
    result = invoke("runs", "show", "nope")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: no run with id or name 'nope'",
        "hint: `bevel runs list` shows the runs and their ids",
    ]


def test_config_errors_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("run", str(tmp_path / "missing.py"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: pipeline file not found: ")
    assert "hint: " in result.stderr and "Traceback" not in result.stderr


def test_unexpected_errors_print_their_traceback(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(Client, "runs", boom)
    result = invoke("runs", "list")
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: kaboom" in result.stderr


def test_an_interrupt_exits_130(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Client, "runs", interrupted)
    result = invoke("runs", "list")
    assert result.exit_code == 130
    assert "Traceback" not in result.stderr


def test_render_error_names_the_users_line() -> None:
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    err = DefinitionError(
        "step 'train' has no input 'x'", hint="add a parameter x", where="pipe.py:12"
    )
    render_error(err, Console(file=buffer, width=200))
    assert buffer.getvalue().splitlines() == [
        "error: pipe.py:12: step 'train' has no input 'x'",
        "hint: add a parameter x",
    ]


def test_errors_never_read_user_text_as_markup(invoke: Invoke) -> None:
    result = invoke("runs", "show", "[bold]x[/bold]")
    assert "error: no run with id or name '[bold]x[/bold]'" in result.stderr
