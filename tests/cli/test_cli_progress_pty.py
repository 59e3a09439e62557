"""The live progress display on a real terminal: `bevel run` in a pseudo-terminal, its bytes
replayed on a terminal emulator (pyte), and the screen read back line by line.

What users saw before: the bar's line (``⠋ starting ━━━ 0/4``) left on screen with the first
log line glued to its end, because logging wrote to the terminal behind the live display's back.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from bevel.testing.terminal import COLUMNS, LINES, run_in_pty, screen

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

BAR = "━"  # the progress bar's own character: never part of anything else bevel prints

PIPELINE = textwrap.dedent(
    """
    import logging
    import time

    from bevel import current, pipeline, step
    {setup}

    @step
    def load() -> int:
        current.logger.info("loaded %d rows", 569)
        time.sleep(0.3)
        return 569

    @step
    def train(n: int) -> int:
        logging.getLogger("mylib").warning("few rows: %d", n)
        print("training on", n)
        time.sleep(0.3)
        return n

    @pipeline
    def logs_while_live():
        train(load())
    """
)


@pytest.mark.parametrize(
    "setup",
    [
        "",  # no logging setup: records reach the terminal through bevel's own handler
        "logging.basicConfig(level=logging.INFO)",  # the user's handler, made before the run
    ],
    ids=["no-logging-setup", "basicConfig"],
)
def test_logging_goes_through_the_live_display(tmp_path: Path, setup: str) -> None:
    (tmp_path / "pipe_live.py").write_text(PIPELINE.format(setup=setup))
    env = {
        **os.environ,
        "BEVEL_HOME": str(tmp_path / ".bevel"),
        "TERM": "xterm-256color",
        "COLUMNS": str(COLUMNS),
        "LINES": str(LINES),
    }
    env.pop("NO_COLOR", None)
    bevel = str(Path(sys.executable).with_name("bevel"))
    data = run_in_pty([bevel, "run", "pipe_live.py"], tmp_path, env)
    assert b"\x1b[?25l" in data  # the live display really ran (it hides the cursor)
    lines = [line for line in screen(data) if line]
    text = "\n".join(lines)
    # nothing is glued to a bar, and the bar is gone once the run ends
    assert not [line for line in lines if BAR in line], text
    # each record and print is on a line of its own, once
    loaded = [line for line in lines if "loaded 569 rows" in line]
    warned = [line for line in lines if "few rows: 569" in line]
    printed = [line for line in lines if "training on 569" in line]
    assert len(loaded) == 1 and len(warned) == 1 and printed == ["training on 569"], text
    assert loaded[0].endswith("INFO bevel.step: loaded 569 rows") or loaded[0] == (
        "INFO:bevel.step:loaded 569 rows"
    ), text
    assert warned[0].endswith("few rows: 569")
    # and the run's own lines are intact
    assert any(line.startswith("✓ load") for line in lines), text
    assert any(line.startswith("✓ train") for line in lines), text
    assert any("completed in" in line and "2 ran, 0 cached" in line for line in lines), text
    # logging got its streams back: the step log still has every record (captured, not lost)
    from bevel.client.client import Client

    os.environ["BEVEL_HOME"] = env["BEVEL_HOME"]
    try:
        with Client() as client:
            run = client.last_run("logs_while_live")
            assert "loaded 569 rows" in run.steps["load"].logs()
            assert "few rows: 569" in run.steps["train"].logs()
    finally:
        del os.environ["BEVEL_HOME"]
