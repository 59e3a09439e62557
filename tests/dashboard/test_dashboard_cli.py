"""``bevel dashboard``: a server on 127.0.0.1 over this project's stores, without auth, that
prints its URL (and opens a browser unless --no-browser)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from dashboard_helpers import free_port


def _start(
    project: Path, *args: str, browser: str = "true"
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``bevel dashboard ARGS`` in ``project``; yields it and the URL it printed. ``$BROWSER``
    is what Python's webbrowser runs to open a page (``true``: nothing)."""
    env = {**os.environ, "BEVEL_HOME": str(project / ".bevel"), "BROWSER": browser}
    env.pop("BEVEL_STORE_URL", None)
    env.pop("DISPLAY", None)
    proc = subprocess.Popen([sys.executable, "-m", "bevel", "dashboard", *args], cwd=project,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "bevel dashboard: http://127.0.0.1:PORT/ ..."
        assert line.startswith("bevel dashboard: http://127.0.0.1:"), line
        yield proc, line.split()[2].rstrip("/")
    finally:
        proc.terminate()
        proc.wait(20)


def test_it_serves_the_projects_runs_on_loopback_without_auth(tmp_path: Path) -> None:
    port = free_port()
    for _proc, url in _start(tmp_path, "--no-browser", "--port", str(port)):
        assert url == f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{url}/runs", timeout=10) as answer:
            body = answer.read().decode()
        assert answer.status == 200 and "No runs recorded yet" in body
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        # only loopback: the port is not open on another address of this machine
        with socket.socket() as probe:
            probe.settimeout(1)
            other = socket.gethostbyname(socket.gethostname())
            if not other.startswith("127."):
                assert probe.connect_ex((other, port)) != 0


def test_a_busy_default_port_moves_to_the_next_free_one(tmp_path: Path) -> None:
    with socket.socket() as busy:
        try:
            busy.bind(("127.0.0.1", 8237))
            busy.listen()
        except OSError:
            pass  # something else holds 8237 already: just as busy
        for _proc, url in _start(tmp_path, "--no-browser"):
            assert url != "http://127.0.0.1:8237" and url.startswith("http://127.0.0.1:82")


def test_a_chosen_busy_port_is_a_clear_error(invoke: Callable[..., Result]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke("dashboard", "--no-browser", "--port", str(port))
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.output and "hint:" in result.output


def test_a_project_on_a_bevel_server_is_sent_to_that_servers_dashboard(
    invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVEL_STORE_URL", "http://ml.example:8237")
    result = invoke("dashboard", "--no-browser")
    assert result.exit_code == 2
    assert "serves the dashboard itself" in result.output
    assert "open http://ml.example:8237/ in a browser" in result.output


def test_without_no_browser_it_opens_the_runs_page(tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    script.chmod(0o755)
    for _proc, url in _start(tmp_path, "--port", str(free_port()), browser=str(script)):
        deadline = time.monotonic() + 15
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text().strip() == f"{url}/runs"


def test_a_run_whose_process_died_is_shown_as_such_and_left_as_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed with -9 stays recorded as running until a writer reaps it. The dashboard
    is a reader: it says what is known, as `bevel runs list` does (the process is gone, and
    `bevel runs reap` records it as failed), and changes nothing."""
    from dataclasses import replace

    from bevel.metadata.records import RunStatus
    from bevel.stack.stack import default_stack
    from bevel.testing.records import make_run

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    monkeypatch.setenv("BEVEL_HOME", str(tmp_path / ".bevel"))
    dead = replace(make_run(), name="killed-run", host=f"{socket.gethostname()}:{gone}")
    stack = default_stack()
    try:
        stack.metadata_store.create_run(dead)
        for _proc, url in _start(tmp_path, "--no-browser", "--port", str(free_port())):
            with urllib.request.urlopen(f"{url}/runs/{dead.id}", timeout=10) as answer:
                page = answer.read().decode()
            with urllib.request.urlopen(f"{url}/runs", timeout=10) as answer:
                listing = answer.read().decode()
        said = f"running, but its process is gone (pid {gone} on this host no longer exists)"
        assert said in page and "<code>bevel runs reap</code> records it as failed" in page
        assert "process gone" in listing and said in listing
        assert stack.metadata_store.get_run(dead.id).status is RunStatus.RUNNING  # no write
    finally:
        stack.close()
