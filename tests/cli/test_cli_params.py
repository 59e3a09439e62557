"""`-p KEY=VALUE` parsing: JSON first, YAML flow values next, YAML 1.1 surprises undone."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

from bevel.cli.params import parse_params, parse_value
from bevel.errors import ConfigError

Invoke = Callable[..., Result]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("0.5", 0.5),
        ("3", 3),
        ("-2", -2),
        ("1e3", 1000.0),
        ("abc", "abc"),
        ("hello world", "hello world"),
        ("[1,2]", [1, 2]),
        ("[a, b]", ["a", "b"]),
        ('{"k": 1}', {"k": 1}),
        ("{k: v}", {"k": "v"}),
        ("true", True),
        ("False", False),
        ("null", None),
        ("", ""),
        ('"0.5"', "0.5"),
        ("yes", "yes"),  # YAML 1.1 would say True
        ("on", "on"),
        ("2024-01-01", "2024-01-01"),  # YAML would give a date (not JSON)
        ("010", "010"),  # YAML 1.1 octal
        ("NaN", "NaN"),
        ("a=b", "a=b"),
        ("[unclosed", "[unclosed"),
    ],
)
def test_parse_value(raw: str, value: Any) -> None:
    assert parse_value(raw) == value
    assert type(parse_value(raw)) is type(value)


def test_parse_params_splits_on_the_first_equals_and_later_keys_win() -> None:
    assert parse_params(["C=0.5", "expr=a=b", "C=1"]) == {"C": 1, "expr": "a=b"}


@pytest.mark.parametrize("item", ["C", "=1"])
def test_parse_params_rejects_items_without_a_key_or_equals(item: str) -> None:
    with pytest.raises(ConfigError, match=r"no name|has no '='"):
        parse_params([item])


def test_a_param_without_equals_is_a_usage_error_naming_it(invoke: Invoke) -> None:
    result = invoke("run", "pipe.py", "-p", "learning_rate")
    assert result.exit_code == 2
    assert "'learning_rate'" in result.output and "KEY=VALUE" in result.output


def test_values_read_as_yaml_in_a_process_that_has_not_imported_yaml() -> None:
    """PyYAML is imported only for a value that is not JSON: in a fresh process, the first such
    value (read as YAML, or kept as text when it is not YAML either) reads as it always did."""
    probe = (
        "import json, sys\n"
        "from bevel.cli.params import parse_params\n"
        "before = 'yaml' in sys.modules\n"
        "print(json.dumps([before, parse_params(sys.argv[1:])]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, "n=3", "bad=[1,", "xs=[a, b]", "on=yes"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == [False, {"n": 3, "bad": "[1,", "xs": ["a", "b"], "on": "yes"}]
