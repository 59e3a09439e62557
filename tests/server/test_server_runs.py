"""Pipelines on a REST home store: runs, caching, the Client and the CLI through a real server,
few requests per step, no SQLAlchemy on the client, and clear errors for keys and roles."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bevel import Client, pipeline, run_pipeline, step
from bevel.errors import AccessDenied, ServerUnavailable
from bevel.metadata.records import RunStatus
from bevel.metadata.rest.store import RestMetadataStore
from bevel.metadata.rest.transport import Transport
from bevel.stack.stack import default_stack
from bevel.testing.servers import BevelServer, free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from pool_orchestrators import ProcessPoolOrchestrator


@step
def make(n: int = 3) -> list[int]:
    return list(range(n))


@step
def total(xs: list[int]) -> int:
    return sum(xs)


@step
def double(x: int) -> int:
    return 2 * x


@pipeline
def chain(n: int = 3):
    double(total(make(n)))


PIPELINE_FILE = """
from bevel import pipeline, step, log_metric

@step
def make(n: int = 3) -> list[int]:
    return list(range(n))

@step
def total(xs: list[int]) -> int:
    log_metric("total", float(sum(xs)))
    return sum(xs)

@pipeline
def demo(n: int = 3):
    total(make(n))
"""


@pytest.fixture
def on_server(
    bevel_home: Path, bevel_srv: BevelServer, monkeypatch: pytest.MonkeyPatch
) -> BevelServer:
    """This test's project keeps its runs on the session's server, as an editor."""
    bevel_srv.reset()
    monkeypatch.setenv("BEVEL_STORE_URL", bevel_srv.url)
    monkeypatch.setenv("BEVEL_API_KEY", bevel_srv.new_key("editor"))
    return bevel_srv


@pytest.fixture
def requests_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request any REST store of this process sends, as ``METHOD path``."""
    sent: list[str] = []
    original = Transport._send

    def counting(self: Transport, method: str, target: str, *args: object) -> object:
        sent.append(f"{method} {target.split('?')[0]}")
        return original(self, method, target, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Transport, "_send", counting)
    return sent


def test_a_pipeline_runs_and_caches_on_the_server(
    on_server: BevelServer, requests_sent: list[str]
) -> None:
    first = run_pipeline(chain, params={"n": 4})
    during = list(requests_sent)
    # per step: the cache lookup, its start, its completion (outputs, lineage, metrics: one
    # request); per run: its creation, its end and a read of the final record
    steps = [r for r in during if "/step-runs" in r or "/cache/" in r]
    assert len(steps) == 3 * 3, during
    assert len(during) <= 3 * 3 + 4, during
    assert first.status == RunStatus.COMPLETED
    assert first.steps["double"].output.load() == 12
    again = run_pipeline(chain, params={"n": 4})
    assert {s.status for s in again.steps.values()} == {"cached"}
    # what another process (a notebook) sees, through the server
    client = Client()
    runs = client.runs(pipeline="chain")
    assert [r.id for r in runs] == [again.id, first.id]
    assert runs[1].steps["total"].output.load() == 6
    assert on_server.call("GET", f"/runs/{first.id}")["status"] == "completed"


def test_steps_on_worker_processes_record_through_the_server(on_server: BevelServer) -> None:
    """Any orchestrator: each worker process rebuilds the stack, its own REST store included,
    from the task's references (the key comes from the environment, never in the task)."""
    stack = dataclasses.replace(default_stack(), orchestrator=ProcessPoolOrchestrator(workers=2))
    try:
        run = run_pipeline(chain, params={"n": 5}, enable_cache=False, stack=stack)
    finally:
        stack.close()
    assert run.status == RunStatus.COMPLETED
    assert run.steps["double"].output.load() == 20
    assert not any("bvl_" in repr(task) for task in stack.orchestrator.submitted)
    recorded = on_server.call("GET", f"/runs/{run.id}/step-runs")["items"]
    assert [s["status"] for s in recorded] == ["completed"] * 3


def test_the_cli_works_against_the_server(
    on_server: BevelServer, invoke: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "demo.py").write_text(PIPELINE_FILE)
    done = invoke("run", "demo.py:demo", "-p", "n=5")
    assert done.exit_code == 0, done.output
    listed = invoke("runs", "list")
    assert listed.exit_code == 0 and "demo" in listed.output and "completed" in listed.output
    run_id = on_server.call("GET", "/runs")["items"][0]["id"]
    shown = invoke("runs", "show", run_id)
    assert shown.exit_code == 0, shown.output
    assert "total" in shown.output and "10" in shown.output
    assert invoke("pipelines", "list").exit_code == 0


def test_stack_definitions_stay_on_the_server(
    on_server: BevelServer, invoke: Callable[..., Result], bevel_home: Path
) -> None:
    made = invoke("component", "register", "artifact_store", "files", "--flavor", "local",
                  "--path", "files")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert invoke("stack", "register", "mine", "-a", "files").exit_code == 0
    assert [c["name"] for c in on_server.call("GET", "/components")["items"]] == ["files"]
    assert [s["name"] for s in on_server.call("GET", "/stacks")["items"]] == ["mine"]
    assert not (bevel_home / "metadata.db").exists()  # nothing fell back to a local database


def test_a_viewer_reads_but_cannot_run(
    on_server: BevelServer, monkeypatch: pytest.MonkeyPatch, invoke: Callable[..., Result],
    tmp_path: Path,
) -> None:  # fmt: skip
    run_pipeline(chain)
    monkeypatch.setenv("BEVEL_API_KEY", on_server.new_key("viewer"))
    assert len(Client().runs()) == 1
    with pytest.raises(AccessDenied) as err:
        run_pipeline(chain, params={"n": 7})
    assert "needs editor" in str(err.value) and err.value.status == 403
    assert len(on_server.call("GET", "/runs")["items"]) == 1  # nothing recorded
    (tmp_path / "demo.py").write_text(PIPELINE_FILE)
    refused = invoke("run", "demo.py:demo")
    assert refused.exit_code != 0
    assert "has the role viewer" in refused.output and "hint:" in refused.output
    assert "Traceback" not in refused.output


def test_no_key_says_how_to_log_in(on_server: BevelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEVEL_API_KEY")
    monkeypatch.setenv("BEVEL_CREDENTIALS", str(on_server.log.parent / "nobody.json"))
    with pytest.raises(AccessDenied) as err:
        Client().runs()
    assert "no API key was sent" in str(err.value)
    assert err.value.hint and f"bevel login {on_server.url}" in err.value.hint


def test_an_unreachable_server_is_a_transient_error() -> None:
    store = RestMetadataStore(f"http://127.0.0.1:{free_port()}", api_key="x", timeout=2)
    with pytest.raises(ServerUnavailable) as err:
        store.list_runs()
    assert "cannot reach the bevel server" in str(err.value)


def test_the_client_side_imports_no_sqlalchemy(on_server: BevelServer, tmp_path: Path) -> None:
    """A worker or notebook on a REST store never pays for SQLAlchemy (~150 ms) or FastAPI."""
    (tmp_path / "demo.py").write_text(PIPELINE_FILE)
    code = (
        "import sys, json\n"
        "from bevel.api import load_pipeline, run_pipeline\n"
        "run = run_pipeline(load_pipeline('demo.py:demo'))\n"
        "assert run.status == 'completed', run.status\n"
        "from bevel import Client\n"
        "assert len(Client().runs()) >= 1\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=dict(os.environ), timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert not loaded & {"sqlalchemy", "alembic", "fastapi", "pydantic", "httpx", "uvicorn"}


def test_the_server_reaps_runs_whose_driver_died(tmp_path: Path) -> None:
    """Readers never write, so the server records a run whose driver is gone as failed, on its
    timer; a live run is left alone."""
    import socket
    import time
    from dataclasses import replace
    from datetime import UTC, datetime

    from bevel.testing.records import make_run
    from bevel.testing.servers import bevel_server

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    host = socket.gethostname()
    with bevel_server(extra_args=["--reap-every", "0.2"]) as srv:
        store = RestMetadataStore(srv.url, api_key=srv.admin_key)
        dead = replace(make_run(), host=f"{host}:{gone.stdout.strip()}")
        now = datetime.now(UTC)
        alive = replace(make_run(), host=f"{host}:{os.getpid()}", created=now, heartbeat=now)
        store.create_run(dead)
        store.create_run(alive)
        deadline = time.monotonic() + 60
        while store.get_run(dead.id).status == RunStatus.RUNNING and time.monotonic() < deadline:
            time.sleep(0.1)
        reaped = store.get_run(dead.id)
        assert reaped.status == RunStatus.FAILED
        assert reaped.error and gone.stdout.strip() in reaped.error  # names its dead driver
        assert store.get_run(alive.id).status == RunStatus.RUNNING
