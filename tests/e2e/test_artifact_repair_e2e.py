"""A corrupted artifact, as a user meets it: the error's hint, followed literally, repairs it.

On the local store and on S3 (moto): a stored file is rewritten in place, loading says the
artifact is corrupted and to re-run with ``--no-cache``; running exactly that makes the artifact
(the old version too: same content, same files) load again. And a normal, cached re-run does not
hand out the corrupted outputs as a cache hit: it runs the step again, which repairs them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_helpers import Runner

from bevel.testing.servers import S3Server

PIPELINE = """
import numpy as np
from bevel import pipeline, step

@step
def make(n: int = 1000) -> np.ndarray:
    return np.arange(n, dtype=np.int64)

@step
def total(xs: np.ndarray) -> int:
    return int(xs.sum())

@pipeline
def p(n: int = 1000):
    total(make(n))
"""

READ = """
import json, sys
from bevel import Client
from bevel.errors import BevelError
with Client() as c:
    run = c.get_run(sys.argv[1])
    art = run.steps["make"].output
    try:
        print(json.dumps({"ok": int(art.load().sum()), "uri": art.uri}))
    except BevelError as err:
        print(json.dumps({"error": type(err).__name__, "message": err.message,
                          "hint": err.hint, "uri": art.uri}))
"""

Corrupt = Callable[[str], None]


def read_back(tmp_path: Path, run: str, n: int) -> dict[str, object]:
    """Load the run's ``make`` output in a fresh process with an empty download cache."""
    env = {**os.environ, "BEVEL_HOME": str(tmp_path / ".bevel")}
    env["BEVEL_CACHE_DIR"] = str(tmp_path / f"download-cache-{n}")
    out = subprocess.run(
        [sys.executable, "-c", READ, run],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, object] = json.loads(out.stdout.splitlines()[-1])
    return result


def the_hints_command(hint: str, pipeline: str) -> list[str]:
    found = re.search(r"`bevel ([^`]+)`", hint)
    assert found, hint
    return [pipeline if word == "<pipeline>" else word for word in found.group(1).split()]


def local_corrupt(tmp_path: Path) -> Corrupt:
    def corrupt(uri: str) -> None:
        target = Path(uri) / "array.npy"
        os.chmod(target, 0o644)  # stored files are read-only; forcing a write is still possible
        data = target.read_bytes()
        target.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))  # same size, other bytes

    return corrupt


def s3_corrupt(s3: S3Server) -> Corrupt:
    import s3fs

    fs = s3fs.S3FileSystem(**s3.storage_options)

    def corrupt(uri: str) -> None:
        target = f"{uri}/array.npy"
        data = fs.cat_file(target)
        fs.pipe_file(target, data[:-1] + bytes([data[-1] ^ 0xFF]))

    return corrupt


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.servers)])
def corrupt(request: pytest.FixtureRequest, bevel_cli: Runner, tmp_path: Path) -> Corrupt:
    (tmp_path / "pipe.py").write_text(PIPELINE)
    if request.param == "local":
        return local_corrupt(tmp_path)
    s3: S3Server = request.getfixturevalue("s3")
    bevel_cli(
        "component", "register", "artifact_store", "s3-store", "--flavor", "s3",
        "--path", f"s3://{s3.new_bucket()}/artifacts", "--endpoint-url", s3.endpoint_url,
        "--key", "testing", "--secret", "testing", "--region", "us-east-1",
    )  # fmt: skip
    bevel_cli("stack", "register", "on-s3", "-a", "s3-store", "-o", "local")
    bevel_cli("stack", "set", "on-s3")
    return s3_corrupt(s3)


def test_following_the_corrupted_artifacts_hint_literally_repairs_it(
    bevel_cli: Runner, tmp_path: Path, corrupt: Corrupt
) -> None:
    assert "2 ran, 0 cached" in bevel_cli("run", "pipe.py:p", "--name", "first").stdout
    good = read_back(tmp_path, "first", 1)
    assert good["ok"] == 499500
    corrupt(str(good["uri"]))

    broken = read_back(tmp_path, "first", 2)
    assert broken["error"] == "ArtifactCorrupted", broken
    assert "is corrupted" in str(broken["message"])
    command = the_hints_command(str(broken["hint"]), "pipe.py:p")
    assert command == ["run", "pipe.py:p", "--no-cache"]  # what the hint says, word for word

    bevel_cli(*command)
    assert read_back(tmp_path, "first", 3)["ok"] == 499500  # the old version loads again
    last = read_back(tmp_path, "first", 4)
    assert last["uri"] == good["uri"]


def test_a_cache_hit_on_corrupted_outputs_runs_the_step_instead(
    bevel_cli: Runner, tmp_path: Path, corrupt: Corrupt
) -> None:
    bevel_cli("run", "pipe.py:p", "--name", "first")
    good = read_back(tmp_path, "first", 1)
    corrupt(str(good["uri"]))
    out = bevel_cli("run", "pipe.py:p", "--name", "second").stdout
    assert "1 ran, 1 cached" in out  # make ran again; total's input has the same content
    shown = bevel_cli("runs", "show", "second").stdout
    assert re.search(r"make\s+completed", shown), shown
    assert re.search(r"total\s+cached", shown), shown
    assert read_back(tmp_path, "first", 2)["ok"] == 499500
    assert "0 ran, 2 cached" in bevel_cli("run", "pipe.py:p").stdout
