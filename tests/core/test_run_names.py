"""Run-name templates stay unique however often they run; a literal name that is taken is an
error that says how to fix it (and following it works)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import Result

from bevel import pipeline, step
from bevel.client.client import Client
from bevel.errors import ConfigError
from bevel.run.names import render

Invoke = Callable[..., Result]

AT = datetime(2026, 12, 1, 13, 30, 45)


def _render(template: str, taken: list[str]) -> str:
    return render(template, pipeline="training", run_id="1a2b3c4d5e", at=AT,
                  existing=lambda prefix: [t for t in taken if prefix in t])  # fmt: skip


@pytest.mark.parametrize(
    ("template", "taken", "expected"),
    [
        ("nightly-{date}", [], "nightly-20261201"),
        ("nightly-{date}", ["nightly-20261201"], "nightly-20261201-2"),
        ("nightly-{date}", ["nightly-20261201", "nightly-20261201-2"], "nightly-20261201-3"),
        ("nightly-{date}", ["nightly-20261201-7", "nightly-20261201"], "nightly-20261201-8"),
        ("nightly-{date}", ["nightly-20261130"], "nightly-20261201"),  # another day
        ("exp-{n}", [], "exp-1"),
        ("exp-{n}", ["exp-1", "exp-2", "exp-10", "exp-x"], "exp-11"),
        ("{pipeline}-{n}-final", ["training-4-final"], "training-5-final"),
        ("{pipeline}-{date}-{time}", [], "training-20261201-133045"),
        ("run-{id}", [], "run-1a2b3c"),
        ("{{literal}}-{n}", [], "{literal}-1"),
    ],
)
def test_render(template: str, taken: list[str], expected: str) -> None:
    assert _render(template, taken) == expected


def test_a_literal_name_is_kept_as_it_is() -> None:
    assert _render("baseline", ["baseline"]) == "baseline"  # create_run refuses it: below


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("nightly-{day}", "unknown placeholder {day} in run name 'nightly-{day}'"),
        ("nightly-{", "run name 'nightly-{' is not a valid template"),
    ],
)
def test_bad_templates_say_which_placeholders_exist(template: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _render(template, [])
    assert err.value.message.startswith(message)
    assert "{date}, {time}, {pipeline}, {id}, {n}" in (err.value.hint or "")


@step
def one() -> int:
    return 1


@pipeline
def nightly() -> None:
    one()


def test_the_readme_config_runs_twice_a_day(bevel_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("run_name: nightly-{date}\n")
    names = [nightly.with_options(config=str(config))().name for _ in range(3)]
    today = f"{datetime.now():%Y%m%d}"
    assert names == [f"nightly-{today}", f"nightly-{today}-2", f"nightly-{today}-3"]
    assert [r.status for r in Client().runs(pipeline="nightly")] == ["completed"] * 3


def test_a_taken_literal_name_says_how_to_fix_it(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "nightly_pipe.py").write_text(
        "from bevel import pipeline, step\n\n@step\ndef one() -> int:\n    return 1\n\n"
        "@pipeline\ndef nightly():\n    one()\n"
    )
    assert invoke("run", "nightly_pipe.py", "--name", "baseline").exit_code == 0
    again = invoke("run", "nightly_pipe.py", "--name", "baseline")
    assert again.exit_code != 0
    lines = again.stderr.splitlines()
    assert re.fullmatch(
        r"error: a run named 'baseline' already exists \(id [0-9a-f]{32}\)", lines[0]
    )
    assert lines[1] == (
        "hint: pick another name, or let bevel number it: --name 'baseline-{n}' "
        "(or run_name: baseline-{n} in the run config; {date} and {time} work too), "
        "or delete the old run: bevel runs delete baseline"
    )
    # each way out in the hint works
    numbered = invoke("run", "nightly_pipe.py", "--name", "baseline-{n}")
    assert numbered.exit_code == 0 and "run baseline-1 completed" in numbered.stdout
    assert (
        invoke("run", "nightly_pipe.py", "--name", "baseline-{n}").stdout.count("baseline-2") >= 1
    )
    assert invoke("runs", "delete", "baseline", "--yes").exit_code == 0
    assert invoke("run", "nightly_pipe.py", "--name", "baseline").exit_code == 0
