"""The team stack on one machine: what ``./scripts/team-demo`` runs.

Starts a throwaway PostgreSQL and an S3-compatible server (moto) on 127.0.0.1, makes a fresh
project in a temporary folder whose stack definitions live in that PostgreSQL (as a team's
would), registers the README's team stack with the same commands a user types, runs the
quickstart on it twice (the second run is served from the cache), reads the run back from
another process, then stops the servers and deletes everything it made. Nothing outside the
temporary folder is touched: not your project's ``.bevel/``, not your stacks.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bevel.testing.servers import ServerUnavailable, moto_s3_server, postgres_server

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart" / "pipeline.py"
BEVEL = [sys.executable, "-m", "bevel"]

READ_BACK = """
from bevel import Client
with Client(stack="team") as client:
    run = client.last_run("training")
    accuracy = run.steps["evaluate"].outputs["accuracy"]
    print(f"  run {run.name}: {run.status} on stack {run.stack}, {len(run.steps)} steps")
    print(f"  accuracy {accuracy.load():.3f}, stored at {accuracy.uri}")
    print(f"  recorded in {client.store.url}")
"""


def say(text: str) -> None:
    print(text, flush=True)


def bevel(*args: str, env: dict[str, str], shown: str | None = None) -> str:
    """Run a ``bevel`` command as a user would type it, echoing it first; its output."""
    say(f"$ bevel {shown or shlex.join(args)}")
    proc = subprocess.run(  # stderr into stdout: log lines stay where they were printed
        [*BEVEL, *args], env=env, cwd=env["DEMO_DIR"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    sys.stdout.write(proc.stdout)
    sys.stdout.flush()
    if proc.returncode != 0:
        raise SystemExit(f"team-demo: `bevel {shown or shlex.join(args)}` failed")
    return proc.stdout


def demo(workdir: Path) -> None:
    say("== starting a throwaway PostgreSQL and S3 server (moto) on 127.0.0.1 ==")
    with postgres_server() as pg, moto_s3_server() as s3:
        # what most people write: a plain postgresql:// URL (bevel uses psycopg 3 for it)
        db_url = pg.new_database("bevel_team").replace("postgresql+psycopg://", "postgresql://")
        bucket = s3.new_bucket("bevel-team")
        say(f"  PostgreSQL  {db_url}")
        say(f"  S3          {s3.endpoint_url}  (bucket {bucket})")
        env = {
            **os.environ,
            "DEMO_DIR": str(workdir),
            "BEVEL_HOME": str(workdir / ".bevel"),  # a fresh project, not yours
            "BEVEL_STORE_URL": db_url,  # stack definitions shared in the team database
            "NO_COLOR": "1",
        }
        env.pop("BEVEL_STACK", None)
        say(f"\n== a fresh project in {workdir}, definitions in PostgreSQL ==")
        say(f"  export BEVEL_STORE_URL={db_url}")
        bevel("secret", "create", "s3", "--key=testing", "--secret=testing", env=env,
              shown="secret create s3 --key=testing --secret=***")  # fmt: skip
        bevel(
            "component", "register", "artifact_store", "s3-store", "--flavor", "s3",
            "--path", f"s3://{bucket}/artifacts", "--endpoint-url", s3.endpoint_url,
            "--key", "{{s3.key}}", "--secret", "{{s3.secret}}", env=env,
        )  # fmt: skip
        bevel("component", "register", "metadata_store", "team-db", "--flavor", "postgresql",
              "--url", db_url, env=env)  # fmt: skip
        bevel("stack", "register", "team", "-a", "s3-store", "-m", "team-db", env=env)
        bevel("stack", "set", "team", env=env)

        say("\n== the quickstart, unchanged, on the team stack (twice: the 2nd is cached) ==")
        target = f"{QUICKSTART.relative_to(ROOT)}:training"
        for _ in range(2):
            bevel("run", str(QUICKSTART) + ":training", "-p", "C=0.5", env=env,
                  shown=f"run {target} -p C=0.5")  # fmt: skip
        bevel("runs", "list", "--limit", "5", env=env)

        say("\n== read back from another process (Client(stack='team')) ==")
        proc = subprocess.run(
            [sys.executable, "-c", READ_BACK], env=env, cwd=workdir, capture_output=True, text=True
        )
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit("team-demo: reading the run back failed")
        say("\n== stopping the servers ==")
    say("  servers stopped; the temporary project is deleted")


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bevel-team-demo-") as tmp:
        try:
            demo(Path(tmp))
        except ServerUnavailable as err:
            say(f"team-demo: {err}")
            return 1
    say(f"done in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
