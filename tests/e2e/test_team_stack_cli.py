"""The team-stack story from the README, command by command, against real servers: secrets,
an S3 (moto) artifact store and a PostgreSQL metadata store registered with the CLI, the
unchanged quickstart pipeline run on it, and everything read back from other processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_helpers import ROOT, Runner

from bevel.testing.servers import DatabaseServer, S3Server

pytestmark = [pytest.mark.servers, pytest.mark.slow]  # many CLI processes against real servers
EXAMPLE = ROOT / "examples" / "quickstart" / "pipeline.py"

READ_BACK = """
import json
from bevel import Client
with Client(stack="team") as c:
    run = c.last_run("training")
    acc = run.steps["evaluate"].outputs["accuracy"]
    print(json.dumps({
        "status": str(run.status), "stack": run.stack, "uri": acc.uri, "accuracy": acc.load(),
        "upstream": sorted(a.name for a in acc.upstream()),
    }))
"""


def scalar(url: str, sql: str) -> int:
    """One number from the database, through a separate short-lived connection."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_register_run_and_read_back_a_team_stack(
    bevel_cli: Runner, tmp_path: Path, s3: S3Server, postgres: DatabaseServer
) -> None:
    bucket = s3.new_bucket()
    db_url = postgres.new_database()
    bevel_cli("secret", "create", "s3", "--key=testing", "--secret=s3-secret-value")
    bevel_cli(
        "component", "register", "artifact_store", "s3-store", "--flavor", "s3",
        "--path", f"s3://{bucket}/artifacts", "--endpoint-url", s3.endpoint_url,
        "--key", "{{s3.key}}", "--secret", "{{s3.secret}}",
    )  # fmt: skip
    bevel_cli("component", "register", "metadata_store", "team-db", "--flavor", "postgresql",
              "--url", db_url)  # fmt: skip
    bevel_cli("stack", "register", "team", "-a", "s3-store", "-m", "team-db", "-o", "local")
    described = bevel_cli("stack", "describe", "team").stdout
    assert "s3-store" in described and "team-db" in described
    assert "s3-secret-value" not in described
    exported = bevel_cli("stack", "export", "team").stdout
    assert "{{s3.secret}}" in exported and "s3-secret-value" not in exported

    bevel_cli("stack", "set", "team")
    out = bevel_cli("run", f"{EXAMPLE}:training", "-p", "C=0.5").stdout
    assert "6 ran, 0 cached" in out
    out = bevel_cli("run", f"{EXAMPLE}:training", "-p", "C=0.5").stdout
    assert "0 ran, 6 cached" in out
    bevel_cli("stack", "set", "default")

    # nothing landed in the local stack ...
    assert "training" not in bevel_cli("runs", "list").stdout
    # ... everything is in the team stack, readable with --stack and from another process
    listed = bevel_cli("runs", "list", "--stack", "team").stdout
    assert listed.count("training-") == 2
    env = {**os.environ, "BEVEL_HOME": str(tmp_path / ".bevel")}
    proc = subprocess.run(
        [sys.executable, "-c", READ_BACK], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.splitlines()[-1])
    assert seen["status"] == "completed" and seen["stack"] == "team"
    assert seen["uri"].startswith(f"s3://{bucket}/artifacts/")
    assert 0.9 < seen["accuracy"] <= 1.0
    assert seen["upstream"] == ["training.split.test", "training.train.output"]
    # and the metadata really is in PostgreSQL
    assert scalar(db_url, "select count(*) from runs") == 2


def test_deleting_a_used_component_and_switching_to_a_missing_stack(bevel_cli: Runner) -> None:
    bevel_cli("component", "register", "artifact_store", "scratch", "--flavor", "local",
              "--path", "scratch")  # fmt: skip
    bevel_cli("stack", "register", "mine", "-a", "scratch", "-o", "local")
    used = bevel_cli("component", "delete", "scratch", "--yes", ok=False)
    assert used.returncode != 0 and "mine" in used.stderr
    missing = bevel_cli("stack", "set", "nope", ok=False)
    assert missing.returncode != 0 and "nope" in missing.stderr and "mine" in missing.stderr


def test_many_run_views_share_a_few_connections(
    postgres: DatabaseServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bevel import pipeline, step

    @step
    def one() -> int:
        return 1

    @pipeline
    def tiny() -> None:
        one()

    db_url = postgres.new_database()
    monkeypatch.setenv("BEVEL_HOME", str(tmp_path / ".bevel"))
    monkeypatch.setenv("BEVEL_STORE_URL", db_url)
    views = [tiny() for _ in range(25)]
    assert all(v.steps["one"].status in ("completed", "cached") for v in views)
    db = db_url.rsplit("/", 1)[-1]
    count = scalar(db_url, f"select count(*) from pg_stat_activity where datname = '{db}'")
    assert count <= 6, f"{count} connections open for 25 live RunViews"


PIPE = "from bevel import step, pipeline\n@step\ndef a() -> int:\n    return 1\n@pipeline\ndef p():\n    a()\n"


def test_wrong_s3_credentials_name_the_component(bevel_cli: Runner, tmp_path: Path) -> None:
    from bevel.testing.servers import moto_s3_server

    (tmp_path / "p.py").write_text(PIPE)
    with moto_s3_server(check_credentials=True) as strict:
        bevel_cli("component", "register", "artifact_store", "s3-store", "--flavor", "s3",
                  "--path", "s3://bucket1/x", "--endpoint-url", strict.endpoint_url,
                  "--key", "wrong", "--secret", "wrong")  # fmt: skip
        bevel_cli("stack", "register", "team", "-a", "s3-store", "-o", "local")
        out = bevel_cli("run", "p.py:p", "--stack", "team", ok=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "artifact store 's3-store'" in out.stderr and strict.endpoint_url in out.stderr
    assert "Access Key Id you provided does not exist" in out.stderr
    assert "credentials" in out.stderr  # the hint
    assert "p-" not in bevel_cli("runs", "list", "--stack", "team").stdout  # nothing half-run


def test_wrong_database_password_names_the_component(
    bevel_cli: Runner, tmp_path: Path, mariadb: DatabaseServer
) -> None:
    db_url = mariadb.new_database()
    database = db_url.rsplit("/", 1)[-1]
    mariadb.execute(
        "CREATE USER IF NOT EXISTS 'alice'@'127.0.0.1' IDENTIFIED BY 'right-password'",
        f"GRANT ALL ON {database}.* TO 'alice'@'127.0.0.1'",
    )
    url = f"mysql+pymysql://alice:wrong-password@{mariadb.host}:{mariadb.port}/{database}"
    (tmp_path / "p.py").write_text(PIPE)
    bevel_cli("component", "register", "metadata_store", "team-db", "--flavor", "mysql",
              "--url", url)  # fmt: skip
    bevel_cli("component", "register", "artifact_store", "files", "--flavor", "local",
              "--path", "files")  # fmt: skip
    bevel_cli("stack", "register", "team", "-a", "files", "-m", "team-db", "-o", "local")
    out = bevel_cli("run", "p.py:p", "--stack", "team", ok=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "team-db" in out.stderr and f"{mariadb.host}:{mariadb.port}" in out.stderr
    assert "Access denied for user 'alice'" in out.stderr
    assert "wrong-password" not in out.stderr + out.stdout  # never printed
    good = url.replace("wrong-password", "right-password")
    bevel_cli("component", "update", "team-db", "--url", good)
    assert "1 ran" in bevel_cli("run", "p.py:p", "--stack", "team").stdout
