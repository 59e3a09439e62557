"""Every read a user makes, run in one process against the project in ``$BEVEL_HOME``.

``python readonly_reads.py RUN_NAME`` prints one JSON object: for each command its exit code
and output, plus what the Client API read. Used by ``test_client_readonly.py`` under read-only
database credentials, where any write would fail.
"""

from __future__ import annotations

import json
import sys

from click.testing import CliRunner

from bevel.cli.main import cli
from bevel.client.client import Client


def main(run_name: str) -> None:
    with Client() as client:
        run = client.get_run(run_name)
        artifact = run.steps["total"].output
        api = {
            "runs": sorted(r.status_text for r in client.runs()),
            "value": artifact.load(),
            "logs": run.steps["total"].logs(),
            "consumers": [s.step_id for s in run.steps["make"].output.consumers()],
            "explain": run.steps["total"].explain()[0],
        }
    commands = [
        ["runs", "list"],
        ["runs", "list", "--status", "running"],
        ["runs", "show", run_name],
        ["runs", "explain", run_name, "total"],
        ["runs", "reap", "--dry-run"],
        ["logs", run_name, "total"],
        ["pipelines", "list"],
        ["artifacts", "list"],
        ["artifacts", "show", artifact.id],
        ["stack", "list"],
        ["stack", "describe"],
    ]
    runner = CliRunner()
    results = {}
    for args in commands:
        done = runner.invoke(cli, args)
        results[" ".join(args)] = [done.exit_code, done.output]
    reap = runner.invoke(cli, ["runs", "reap"])  # a write: must fail, with a hint
    results["reap (write)"] = [reap.exit_code, reap.output]
    print(json.dumps({"api": api, "cli": results}))


if __name__ == "__main__":
    main(sys.argv[1])
