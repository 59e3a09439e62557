"""The local_parallel flavor from the command line: registered, used by a stack, its refusal of a
step that asks for too much, and the hint of that refusal followed literally."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

HERE = Path(__file__).parent


def test_register_run_refuse_and_follow_the_hint(
    invoke: Callable[..., Result], bevel_home: Path, tmp_path: Path
) -> None:
    shutil.copy(HERE / "par_pipelines.py", tmp_path / "pipes.py")
    registered = invoke(
        "component", "register", "orchestrator", "par", "--flavor", "local_parallel",
        "--processes", "2", "--gpus", "2",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    assert (
        invoke("stack", "register", "parallel", "-o", "par", "-a", "local-artifacts").exit_code == 0
    )

    ok = invoke("run", "pipes.py:two_branches", "-p", f"folder={tmp_path}", "--stack", "parallel")
    assert ok.exit_code == 0, ok.output

    refused = invoke("run", "pipes.py:too_big", "--stack", "parallel")
    assert refused.exit_code != 0
    assert "step 'greedy' asks for 4 GPU(s) (there are 2)" in refused.output
    assert "bevel component update NAME --cpus N --gpus N" in refused.output

    assert invoke("component", "update", "par", "--gpus", "4").exit_code == 0
    again = invoke("run", "pipes.py:too_big", "--stack", "parallel")
    assert again.exit_code == 0, again.output


def test_bad_settings_are_refused_when_registering(invoke: Callable[..., Result]) -> None:
    bad = invoke(
        "component", "register", "orchestrator", "par", "--flavor", "local_parallel",
        "--mode", "fork",
    )  # fmt: skip
    assert bad.exit_code != 0
    assert "field 'mode' must be 'process' or 'thread'" in bad.output
    memory = invoke(
        "component", "register", "orchestrator", "par", "--flavor", "local_parallel",
        "--memory", "lots",
    )  # fmt: skip
    assert memory.exit_code != 0
    assert "memory must be bytes or text like '4GiB'" in memory.output
