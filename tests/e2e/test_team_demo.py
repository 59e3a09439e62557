"""`./scripts/team-demo`, as the README tells users to run it: servers up, the team stack
registered, the quickstart run and read back, and nothing left behind."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest
from e2e_helpers import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.servers]


def _listening(url: str) -> bool:
    host, port = re.search(r"//(?:[^@/]*@)?([\d.]+):(\d+)", url).groups()  # type: ignore[union-attr]
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def test_team_demo(tmp_path: Path, postgres: object, s3: object) -> None:
    # (the postgres and s3 fixtures make the suite skip here, or fail in CI, where the server
    # programs are missing, exactly as for the other server tests)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEVEL_")}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "team-demo")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    for command in (
        "$ bevel secret create s3 --key=testing --secret=***",
        "$ bevel component register artifact_store s3-store --flavor s3 --path s3://",
        "$ bevel component register metadata_store team-db --flavor postgresql --url postgresql://",
        "$ bevel stack register team -a s3-store -m team-db",
        "$ bevel stack set team",
        "$ bevel run examples/quickstart/pipeline.py:training -p C=0.5",
    ):
        assert command in out, out
    assert "registered stack team: orchestrator=local, artifact_store=s3-store" in out
    assert ": 6 ran, 0 cached" in out and ": 0 ran, 6 cached" in out
    read_back = re.search(r"accuracy (0\.\d+), stored at (s3://\S+)", out)
    assert read_back and 0.9 < float(read_back[1]) <= 1.0, out
    assert re.search(r"run training-\S+: completed on stack team, 6 steps", out)
    assert "servers stopped" in out and re.search(r"done in \d+\.\ds", out)
    # nothing left running or lying around
    pg_url = re.search(r"PostgreSQL  (\S+)", out)[1]  # type: ignore[index]
    s3_url = re.search(r"S3          (\S+)", out)[1]  # type: ignore[index]
    assert not _listening(pg_url) and not _listening(s3_url)
    project = Path(re.search(r"== a fresh project in (\S+),", out)[1])  # type: ignore[index]
    assert project.name.startswith("bevel-team-demo-") and not project.exists()
    assert not (tmp_path / ".bevel").exists()  # the folder it was started from is untouched
    assert "secret=testing" not in out  # the secret is never echoed
