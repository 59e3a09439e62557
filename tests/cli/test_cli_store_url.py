"""A ``$BEVEL_STORE_URL`` with a bad port is the user's error: the CLI names the variable and
the value (its password masked) and says how to fix it, instead of a parser's ValueError
traceback or a misleading "cannot connect"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result

from bevel.redaction import url_without_password
from bevel.settings import port_problem

Invoke = Callable[..., Result]

BAD = {
    "out_of_range": (
        "postgresql://u:hunter2x@127.0.0.1:99999/db",
        "$BEVEL_STORE_URL has a port out of range (99999; ports are 1 to 65535): "
        "postgresql://u:***@127.0.0.1:99999/db",
    ),
    "not_a_number": (
        "postgresql://u:hunter2x@127.0.0.1:abc/db",
        "$BEVEL_STORE_URL has a port that is not a number ('abc'): "
        "postgresql://u:***@127.0.0.1:abc/db",
    ),
    "zero_mysql": (
        "mysql://root:hunter2x@localhost:0/bevel",
        "$BEVEL_STORE_URL has a port out of range (0; ports are 1 to 65535): "
        "mysql://root:***@localhost:0/bevel",
    ),
    "server": (
        "http://127.0.0.1:82370",
        "$BEVEL_STORE_URL has a port out of range (82370; ports are 1 to 65535): "
        "http://127.0.0.1:82370",
    ),
}


@pytest.mark.parametrize("command", [["runs", "list"], ["doctor"], ["stack", "list"]])
@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_port_is_a_clear_error_naming_the_variable(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch, case: str, command: list[str]
) -> None:
    url, headline = BAD[case]
    monkeypatch.setenv("BEVEL_STORE_URL", url)
    result = invoke(*command)
    assert result.exit_code == 2, result.output  # a user error, as for other bad settings
    lines = result.output.splitlines()
    assert lines[0] == f"error: {headline}", result.output
    assert lines[1].startswith("hint: write the port as a number from 1 to 65535"), result.output
    assert "unset $BEVEL_STORE_URL" in lines[1]
    assert "Traceback" not in result.output and "ValueError" not in result.output
    assert "unexpected" not in result.output
    assert "hunter2x" not in result.output


def test_following_the_hint_works(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    assert invoke("init").exit_code == 0  # a project, whose .bevel/metadata.db the hint offers
    monkeypatch.setenv("BEVEL_STORE_URL", BAD["not_a_number"][0])
    assert invoke("runs", "list").exit_code == 2
    monkeypatch.delenv("BEVEL_STORE_URL")  # "or unset $BEVEL_STORE_URL ..."
    result = invoke("runs", "list")
    assert result.exit_code == 0, result.output


def test_the_hints_example_url_has_no_port_problem() -> None:
    assert port_problem("postgresql://user@127.0.0.1:5432/bevel") is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("postgresql://u@h:5432/db", None),
        ("postgresql://u@h/db", None),  # the default port
        ("postgresql://u@h:/db", None),  # empty: the default port, as parsers read it
        ("sqlite:////tmp/x:1/metadata.db", None),  # a colon in a path is no port
        ("http://[::1]:8237", None),
        ("http://[::1]", None),
        ("mysql://u:p:w@h:3306/db", None),  # a colon in the password is no port
        ("http://[::1]:99999", "a port out of range (99999; ports are 1 to 65535)"),
        ("postgresql://u@h:65536/db", "a port out of range (65536; ports are 1 to 65535)"),
        ("postgresql://u@h:54 32/db", "a port that is not a number ('54 32')"),
        ("postgresql://u@h:٥٤٣٢/db", "a port that is not a number ('٥٤٣٢')"),
    ],
)
def test_port_problem(url: str, problem: str | None) -> None:
    assert port_problem(url) == problem


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),  # masked whole
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("https://bevel:secret@example.org/", "https://bevel:***@example.org/"),
        ("sqlite:////tmp/metadata.db", "sqlite:////tmp/metadata.db"),
        ("not a url", "not a url"),
    ],
)
def test_url_without_password(url: str, shown: str) -> None:
    assert url_without_password(url) == shown
