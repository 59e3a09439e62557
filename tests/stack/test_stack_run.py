"""The same pipeline code on another stack: run it, read it back, switch stacks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from bevel.api import load_pipeline, run_pipeline
from bevel.client.client import Client
from bevel.errors import StackError
from bevel.settings import Settings
from bevel.stack.active import set_active_stack
from bevel.stack.build import build_stack
from bevel.stack.definitions import Definitions


def _alt(defs: Definitions, *, memory: bool = False) -> None:
    if memory:
        defs.register_component("artifact_store", "alt-files", "fsspec",
                                {"path": "memory://bevel-stack-run/alt"})  # fmt: skip
    else:
        defs.register_component("artifact_store", "alt-files", "local", {"path": "alt-artifacts"})
    defs.register_component("metadata_store", "alt-db", "sqlite", {"path": "alt.db"})
    defs.register_stack(
        "alt", {"orchestrator": "local", "artifact_store": "alt-files", "metadata_store": "alt-db"}
    )


@pytest.mark.parametrize("memory", [False, True], ids=["local-folder", "memory"])
def test_same_pipeline_on_another_stack(
    defs: Definitions, settings: Settings, pipeline_file: Path, memory: bool
) -> None:
    _alt(defs, memory=memory)
    demo = load_pipeline(f"{pipeline_file}:demo")
    run = run_pipeline(demo, params={"n": 4}, stack="alt")
    assert run.stack == "alt"
    assert run.steps["total"].output.load() == 6
    with Client(stack="alt") as client:
        (found,) = client.runs()
        assert found.id == run.id and found.stack == "alt"
        assert client.get_run(run.id).steps["make"].output.load() == [0, 1, 2, 3]
    with Client() as client:  # the default stack knows nothing of it
        assert list(client.runs()) == []
    assert (settings.project_root / "alt.db").exists()
    if not memory:
        assert (settings.project_root / "alt-artifacts" / "data").is_dir()
    assert not (settings.artifacts_path / "data").exists()


def test_cached_on_the_stack_that_ran_it(defs: Definitions, pipeline_file: Path) -> None:
    _alt(defs)
    demo = load_pipeline(f"{pipeline_file}:demo")
    run_pipeline(demo, stack="alt")
    again = run_pipeline(demo, stack="alt")
    assert again.counts.cached == 2
    on_default = run_pipeline(demo)
    assert on_default.counts.cached == 0


def test_with_options_and_active_stack(
    defs: Definitions, settings: Settings, pipeline_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _alt(defs)
    demo = load_pipeline(f"{pipeline_file}:demo")
    assert demo.with_options(stack="alt")(n=2).stack == "alt"
    set_active_stack(settings, "alt")
    assert demo(n=2).stack == "alt"
    assert run_pipeline(demo, stack="default").stack == "default"
    monkeypatch.setenv("BEVEL_STACK", "default")  # the environment beats `bevel stack set`
    assert demo(n=2).stack == "default"


def test_built_stack_object(defs: Definitions, settings: Settings, pipeline_file: Path) -> None:
    _alt(defs)
    stack = build_stack("alt", settings)
    try:
        run = run_pipeline(load_pipeline(f"{pipeline_file}:demo"), stack=stack)
        assert Client(stack).get_run(run.id).stack == "alt"
    finally:
        stack.close()


def test_unknown_stack_fails_before_running(defs: Definitions, pipeline_file: Path) -> None:
    with pytest.raises(StackError, match="no stack named 'nope'"):
        run_pipeline(load_pipeline(f"{pipeline_file}:demo"), stack="nope")
    with Client() as client:
        assert list(client.runs()) == []


def test_cli_runs_and_reads_on_a_stack(
    defs: Definitions, pipeline_file: Path, invoke: Callable[..., Result]
) -> None:
    _alt(defs)
    result = invoke("run", f"{pipeline_file}:demo", "--stack", "alt", "-p", "n=5")
    assert result.exit_code == 0, result.output
    listed = invoke("runs", "list", "--stack", "alt")
    assert listed.exit_code == 0 and "demo" in listed.output and "n=5" in listed.output
    assert invoke("runs", "list").output.strip() == "no runs found"
    name = listed.output.splitlines()[1].split()[1]
    for args in (
        ("runs", "show", name),
        ("runs", "explain", name, "total"),
        ("logs", name, "total"),
        ("pipelines", "list"),
        ("artifacts", "list"),
    ):
        out = invoke(*args, "--stack", "alt")
        assert out.exit_code == 0, (args, out.output)
    artifacts = invoke("artifacts", "list", "--stack", "alt").output.splitlines()
    assert invoke("artifacts", "show", artifacts[1].split()[0], "--stack", "alt").exit_code == 0
    assert invoke("runs", "delete", name, "--yes", "--stack", "alt").exit_code == 0
    unknown = invoke("runs", "list", "--stack", "nope")
    assert unknown.exit_code == 1
    assert (
        "no stack named 'nope'" in unknown.output and "known stacks: default, alt" in unknown.output
    )


def test_remote_orchestrator_with_local_stores_is_refused(
    defs: Definitions, thirdparty: Path, pipeline_file: Path
) -> None:
    defs.register_component("orchestrator", "cluster", "threads", {"remote": True})
    defs.register_stack("remote", {"orchestrator": "cluster", "artifact_store": "local-artifacts"})
    with pytest.raises(StackError) as err:
        run_pipeline(load_pipeline(f"{pipeline_file}:demo"), stack="remote")
    assert err.value.message.startswith(
        "stack 'remote' cannot run pipeline 'demo': its orchestrator 'cluster' runs steps on "
        "other machines, but artifact store 'local-artifacts'"
    )
    assert "metadata store 'home-metadata'" in err.value.message
    with Client() as client:
        assert list(client.runs()) == []  # refused before the run was recorded


def test_third_party_flavor_end_to_end_in_a_subprocess(
    thirdparty: Path, bevel_home: Path, pipeline_file: Path
) -> None:
    """`bevel flavor list` sees the package; a stack built with it runs the pipeline."""
    bevel = [
        sys.executable,
        "-c",
        "import sys; from bevel.cli.main import main; main(sys.argv[1:])",
    ]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*bevel, *args], capture_output=True, text=True, timeout=120)

    flavors = run("flavor", "list", "orchestrator")
    assert flavors.returncode == 0, flavors.stderr
    assert "threads" in flavors.stdout and "bevel-example-flavor" in flavors.stdout
    steps = [
        ("component", "register", "orchestrator", "pool", "--flavor", "threads", "--workers", "2"),
        ("component", "register", "alerter", "ping", "--flavor", "file", "--path", "alerts.txt"),
        ("stack", "register", "threaded", "-o", "pool", "-a", "local-artifacts", "--alerter", "ping"),
        ("stack", "set", "threaded"),
        ("run", f"{pipeline_file}:demo"),
    ]  # fmt: skip
    for args in steps:
        done = run(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    listed = run("runs", "list")
    assert "completed" in listed.stdout
    described = run("stack", "describe")
    assert "orchestrator: pool (flavor threads)" in described.stdout
    assert "alerter: ping (flavor file)" in described.stdout


def test_stack_option_of_the_wrong_type(pipeline_file: Path, bevel_home: Path) -> None:
    from bevel.errors import ConfigError

    demo = load_pipeline(f"{pipeline_file}:demo").with_options(stack=42)
    with pytest.raises(ConfigError, match="stack must be a stack name or a built Stack, got int"):
        demo()
