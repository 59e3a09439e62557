"""Building stacks from definitions, which stack is chosen, and checks before running."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.artifacts.local import LocalArtifactStore
from bevel.errors import StackError
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.orchestrators.local import LocalOrchestrator
from bevel.settings import Settings
from bevel.stack.active import resolve_stack, set_active_stack
from bevel.stack.build import build_stack
from bevel.stack.definitions import Definitions
from bevel.stack.guard import GuardedArtifactStore
from bevel.stack.stack import Stack, default_stack
from bevel.stack.validate import check_reachable, validate_stack


def _alt(defs: Definitions, name: str = "alt") -> None:
    defs.register_component("artifact_store", f"{name}-files", "local", {"path": f"{name}-art"})
    defs.register_component("metadata_store", f"{name}-db", "sqlite", {"path": f"{name}.db"})
    defs.register_stack(
        name,
        {
            "orchestrator": "local",
            "artifact_store": f"{name}-files",
            "metadata_store": f"{name}-db",
        },
    )


def test_default_stack_is_the_builtin_one(settings: Settings) -> None:
    stack = build_stack(settings=settings)
    try:
        assert stack.name == "default"
        assert isinstance(stack.orchestrator, LocalOrchestrator)
        assert stack.artifact_store.root == str(settings.artifacts_path)
        assert stack.metadata_store.url == f"sqlite:///{settings.database_path}"
        assert stack.component_names == {
            "orchestrator": "local",
            "artifact_store": "local-artifacts",
            "metadata_store": "home-metadata",
        }
        assert stack.components == {}
    finally:
        stack.close()


def test_build_from_definition(defs: Definitions, settings: Settings) -> None:
    _alt(defs)
    stack = build_stack("alt", settings)
    try:
        assert stack.name == "alt"
        assert isinstance(stack.artifact_store, LocalArtifactStore)
        # relative paths start at the project root (the folder holding .bevel/)
        assert stack.artifact_store.root == str(settings.project_root / "alt-art")
        assert isinstance(stack.metadata_store, SqlMetadataStore)
        assert stack.metadata_store.url == f"sqlite:///{settings.project_root / 'alt.db'}"
        assert stack.metadata_store.name == "alt-db"
        assert stack.component_names["artifact_store"] == "alt-files"
    finally:
        stack.close()


def test_home_metadata_is_the_default_metadata_store(defs: Definitions, settings: Settings) -> None:
    defs.register_component("artifact_store", "mem", "fsspec", {"path": "memory://bevel-build"})
    record = defs.register_stack("mem", {"orchestrator": "local", "artifact_store": "mem"})
    assert record.components["metadata_store"] == "home-metadata"
    stack = build_stack("mem", settings)
    try:
        assert stack.metadata_store.url == settings.database_url
        assert isinstance(stack.artifact_store, GuardedArtifactStore)
        assert isinstance(stack.artifact_store.inner, FsspecArtifactStore)
        assert stack.artifact_store.uri("x") == "memory:///bevel-build/x"
    finally:
        stack.close()


def test_resolution_order(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_stack(None, settings) == ("default", "default")
    set_active_stack(settings, "chosen")
    assert resolve_stack(None, settings) == ("chosen", "bevel stack set")
    env = Settings(home=settings.home, stack="from-env")
    assert resolve_stack(None, env) == ("from-env", "$BEVEL_STACK")
    assert resolve_stack("explicit", env) == ("explicit", "explicit")
    set_active_stack(settings, "default")
    assert not settings.active_stack_path.exists()


def test_unknown_stack_lists_known_ones(defs: Definitions, settings: Settings) -> None:
    _alt(defs)
    with pytest.raises(StackError) as err:
        build_stack("nope", settings)
    assert str(err.value).startswith("no stack named 'nope' (given explicitly)")
    assert err.value.hint and err.value.hint.endswith("known stacks: default, alt")
    set_active_stack(settings, "gone")
    with pytest.raises(StackError) as err:
        build_stack(None, settings)
    assert err.value.hint and err.value.hint.startswith("pick a known stack: bevel stack set NAME")


def test_missing_package_is_reported_with_the_install_hint(
    defs: Definitions, settings: Settings, thirdparty: Path
) -> None:
    defs.register_component("metadata_store", "t", "missing-lib", {"path": "t.txt"})
    defs.register_stack("t", {"orchestrator": "local", "artifact_store": "local-artifacts",
                              "metadata_store": "t"})  # fmt: skip
    with pytest.raises(StackError) as err:
        build_stack("t", settings)
    assert str(err.value).startswith(
        "metadata_store 't' (flavor missing-lib) needs the Python package "
        "'bevel_example_not_installed_lib', which is not installed here"
    )
    assert err.value.hint == "pip install 'bevel-example-flavor[tracker]'"


def test_construction_errors_name_the_component(defs: Definitions, settings: Settings) -> None:
    defs.register_component(
        "artifact_store", "bad", "fsspec", {"path": "nosuchprotocol://x", "storage_options": {}}
    )
    defs.register_stack("bad", {"orchestrator": "local", "artifact_store": "bad"})
    with pytest.raises(StackError) as err:
        build_stack("bad", settings)
    assert str(err.value).startswith("cannot build artifact_store 'bad' (flavor fsspec): ")
    assert err.value.hint == "check its settings: bevel component describe bad"


def test_stored_definition_of_an_uninstalled_flavor(defs: Definitions, settings: Settings) -> None:
    from bevel.metadata.records import ComponentRecord

    record = ComponentRecord("gone", "alerter", "pigeon", {}, *[defs.builtins["local"].created] * 2)
    defs.store.create_component(record)
    defs.register_stack("g", {"orchestrator": "local", "artifact_store": "local-artifacts",
                              "alerter": "gone"})  # fmt: skip
    with pytest.raises(
        StackError, match="cannot build alerter 'gone' \\(flavor pigeon\\): unknown"
    ):
        build_stack("g", settings)


def test_third_party_components(defs: Definitions, settings: Settings, thirdparty: Path) -> None:
    defs.register_component("orchestrator", "pool", "threads", {"workers": 3})
    defs.register_component("alerter", "ping", "file", {"path": "alerts.txt", "token": "t"})
    defs.register_stack(
        "threaded", {"orchestrator": "pool", "artifact_store": "local-artifacts", "alerter": "ping"}
    )
    stack = build_stack("threaded", settings)
    try:
        assert (stack.orchestrator.name, stack.orchestrator.workers) == ("pool", 3)  # type: ignore[attr-defined]
        alerter = stack.component("alerter")
        alerter.post("hello")
        assert (settings.project_root / "alerts.txt").read_text() == "hello\n"
        assert stack.component("experiment_tracker") is None
    finally:
        stack.close()


def _remote(stack: Stack) -> Stack:
    class RemoteOrchestrator(LocalOrchestrator):
        remote = True

    stack.orchestrator = RemoteOrchestrator()
    stack.component_names["orchestrator"] = "cluster"
    return stack


def test_remote_orchestrator_needs_remote_stores(settings: Settings) -> None:
    stack = _remote(default_stack(settings))
    with pytest.raises(StackError) as err:
        validate_stack(stack)
    text = str(err.value)
    assert "stack 'default' cannot run: its orchestrator 'cluster' runs steps on other" in text
    assert "artifact store 'local-artifacts'" in text
    assert "metadata store 'home-metadata' (sqlite:///" in text
    assert err.value.hint and "flavor s3" in err.value.hint
    validate_stack(default_stack(settings))  # a local orchestrator is fine


def test_memory_store_is_not_remote(settings: Settings) -> None:
    stack = _remote(default_stack(settings))
    stack.artifact_store = FsspecArtifactStore("memory://bevel-remote-check")

    class Server:
        url = "postgresql+psycopg://u:***@h/db"

    stack.metadata_store = Server()  # type: ignore[assignment]
    with pytest.raises(StackError) as err:
        validate_stack(stack)
    assert "artifact store" in err.value.message and "metadata store" not in err.value.message


def test_components_may_declare_remote(settings: Settings) -> None:
    stack = _remote(default_stack(settings))
    store: Any = FsspecArtifactStore("memory://declared")
    store.remote = True

    class Server:
        url = "sqlite:///on/a/shared/volume.db"
        remote = True

    stack.artifact_store = store
    stack.metadata_store = Server()  # type: ignore[assignment]
    validate_stack(stack)


class _Failing:
    root = "s3://bucket"

    def ls(self, path: str) -> list[str]:
        raise ConnectionError("Could not connect to the endpoint URL: http://127.0.0.1:9")

    def exists(self, path: str) -> bool:
        raise FileNotFoundError(path)


def test_guard_names_component_and_address() -> None:
    guarded = GuardedArtifactStore(_Failing(), component="s3-store", address="s3://b at http://h")  # type: ignore[arg-type]
    with pytest.raises(StackError) as err:
        guarded.probe()
    assert str(err.value).startswith(
        "artifact store 's3-store' (s3://b at http://h): connecting failed: ConnectionError: "
        "Could not connect to the endpoint URL: http://127.0.0.1:9"
    )
    assert isinstance(err.value.__cause__, ConnectionError)
    with pytest.raises(FileNotFoundError):  # "not there" passes through for callers
        guarded.exists("x")


def test_check_reachable(settings: Settings) -> None:
    stack = default_stack(settings)
    check_reachable(stack)  # local: nothing to probe
    stack.artifact_store = GuardedArtifactStore(_Failing(), component="c", address="a")  # type: ignore[arg-type]
    with pytest.raises(StackError, match="artifact store 'c' \\(a\\): connecting failed"):
        check_reachable(stack)


@pytest.mark.skipif(importlib.util.find_spec("s3fs") is None, reason="needs bevel[s3]")
def test_s3_store_builds_from_config(defs: Definitions, settings: Settings) -> None:
    defs.secrets.create("s3", {"key": "AKIAEXAMPLE", "secret": "shh-pw-1"})
    defs.register_component(
        "artifact_store",
        "s3-store",
        "s3",
        {"path": "s3://ml-artifacts", "endpoint_url": "http://127.0.0.1:9", "key": "{{s3.key}}",
         "secret": "{{s3.secret}}", "connect_timeout": "1", "max_attempts": "1"},
        from_strings=True,
    )  # fmt: skip
    defs.register_stack("s3", {"orchestrator": "local", "artifact_store": "s3-store"})
    stack = build_stack("s3", settings)
    try:
        fs = stack.artifact_store.fs  # type: ignore[attr-defined]
        assert (fs.key, fs.secret, fs.endpoint_url) == (
            "AKIAEXAMPLE",
            "shh-pw-1",
            "http://127.0.0.1:9",
        )
        assert fs.config_kwargs["connect_timeout"] == 1
        assert fs.config_kwargs["retries"] == {"max_attempts": 1, "mode": "standard"}
        assert fs.retries == 1
        assert stack.artifact_store.uri("x") == "s3://ml-artifacts/x"
        with pytest.raises(StackError, match="artifact store 's3-store' \\(s3://ml-artifacts at"):
            check_reachable(stack)
    finally:
        stack.close()


@pytest.mark.parametrize(
    ("flavor", "url", "driver"),
    [
        ("postgresql", "postgresql+psycopg://bevel:{{db.pw}}@127.0.0.1:9/bevel", "psycopg"),
        ("mysql", "mysql+pymysql://bevel:{{db.pw}}@127.0.0.1:9/bevel", "pymysql"),
    ],
)
def test_server_metadata_stores_build_from_config(
    defs: Definitions, settings: Settings, flavor: str, url: str, driver: str
) -> None:
    if importlib.util.find_spec(driver) is None:
        pytest.skip(f"needs bevel[{flavor}]")
    defs.secrets.create("db", {"pw": "s3cr3t-pw"})
    defs.register_component(
        "metadata_store", "team-db", flavor, {"url": url, "connect_timeout": "1"}, from_strings=True
    )
    defs.register_stack("team", {"orchestrator": "local", "artifact_store": "local-artifacts",
                                 "metadata_store": "team-db"})  # fmt: skip
    stack = build_stack("team", settings)
    try:
        assert stack.metadata_store.url == url.replace("{{db.pw}}", "***")
        with pytest.raises(Exception) as err:  # nothing listens on port 9
            stack.metadata_store.list_runs()
        assert "metadata store 'team-db' (" in str(err.value)
        assert "s3cr3t-pw" not in str(err.value)
    finally:
        stack.close()
