"""The rules that keep definitions usable, and upgrading an existing database to hold them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bevel.errors import ConfigError, NotFound
from bevel.metadata.sql.migrate import upgrade
from bevel.metadata.sql.revision import HEAD
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.settings import Settings
from bevel.stack.active import set_active_stack
from bevel.stack.definitions import Definitions, builtin_components, home_metadata_flavor


def _store(defs: Definitions, name: str = "files") -> None:
    defs.register_component("artifact_store", name, "local", {"path": name})


def test_builtins_always_exist(defs: Definitions) -> None:
    assert [c.name for c in defs.list_components()] == ["local", "local-artifacts", "home-metadata"]
    assert [s.name for s in defs.list_stacks()] == ["default"]
    assert defs.get_stack("default").components == {
        "orchestrator": "local",
        "artifact_store": "local-artifacts",
        "metadata_store": "home-metadata",
    }


def test_home_metadata_follows_the_store_url(bevel_home: Path) -> None:
    settings = Settings(home=bevel_home, store_url="postgresql+psycopg://u:pw@db/bevel")
    home = builtin_components(settings)["home-metadata"]
    assert (home.flavor, home.config) == ("postgresql", {"url": settings.store_url})
    assert home_metadata_flavor("mariadb+pymysql://h/db") == "mysql"
    assert home_metadata_flavor("sqlite:///x.db") == "sqlite"


def test_builtin_names_are_reserved(defs: Definitions) -> None:
    with pytest.raises(ConfigError, match="named 'local': it is a built-in component"):
        defs.register_component("orchestrator", "local", "local", {})
    for action in (defs.delete_component, lambda n: defs.update_component(n, {"path": "x"})):
        with pytest.raises(ConfigError, match="built-in component"):
            action("local-artifacts")


def test_component_lifecycle(defs: Definitions) -> None:
    _store(defs)
    assert [c.name for c in defs.list_components("artifact_store")] == ["local-artifacts", "files"]
    updated = defs.update_component("files", {"path": "elsewhere"})
    assert updated.config == {"path": "elsewhere"}
    with pytest.raises(ConfigError, match="unknown field 'nope'"):
        defs.update_component("files", {"nope": "1"})
    defs.delete_component("files")
    with pytest.raises(NotFound, match="no stack component named 'files'"):
        defs.get_component("files")


def test_update_from_strings_resets_with_empty_value(defs: Definitions) -> None:
    defs.register_component(
        "artifact_store", "s3-store", "s3", {"path": "s3://b", "region": "eu-west-1"}
    )
    record = defs.update_component(
        "s3-store", {"region": "", "connect-timeout": "2"}, from_strings=True
    )
    assert record.config == {"path": "s3://b", "connect_timeout": 2}


def test_stack_needs_orchestrator_and_artifact_store(defs: Definitions) -> None:
    with pytest.raises(ConfigError) as err:
        defs.register_stack("x", {"artifact_store": "local-artifacts"})
    assert err.value.message == "stack 'x' needs an orchestrator"
    assert err.value.hint and "--orchestrator NAME (e.g. local" in err.value.hint
    with pytest.raises(ConfigError, match="needs an artifact store"):
        defs.register_stack("x", {"orchestrator": "local"})


def test_stack_members_must_exist_with_the_right_type(defs: Definitions) -> None:
    _store(defs)
    with pytest.raises(ConfigError) as err:
        defs.register_stack("x", {"orchestrator": "local", "artifact_store": "nope"})
    assert err.value.message == "stack 'x': no artifact_store component named 'nope'"
    assert err.value.hint and err.value.hint.startswith(
        "artifact_store components: local-artifacts, files;"
    )
    with pytest.raises(
        ConfigError, match="component 'files' is an artifact_store, not an orchestrator"
    ):
        defs.register_stack("x", {"orchestrator": "files", "artifact_store": "files"})


def test_default_stack_cannot_be_redefined_or_deleted(defs: Definitions) -> None:
    with pytest.raises(ConfigError, match="'default' stack is built in"):
        defs.register_stack(
            "default", {"orchestrator": "local", "artifact_store": "local-artifacts"}
        )
    with pytest.raises(ConfigError, match="'default' stack is built in"):
        defs.delete_stack("default")


def test_active_stack_cannot_be_deleted(defs: Definitions, settings: Settings) -> None:
    _store(defs)
    defs.register_stack("team", {"orchestrator": "local", "artifact_store": "files"})
    set_active_stack(settings, "team")
    with pytest.raises(ConfigError) as err:
        defs.delete_stack("team")
    assert "it is the active stack (set by bevel stack set)" in err.value.message
    assert err.value.hint == "switch to another stack first: bevel stack set default"
    set_active_stack(settings, "default")
    env_defs = Definitions(Settings(home=settings.home, stack="team"), defs.store)
    with pytest.raises(ConfigError, match=r"set by \$BEVEL_STACK"):
        env_defs.delete_stack("team")
    defs.delete_stack("team")


def test_project_stack_hidden_by_the_environment_cannot_be_deleted(
    defs: Definitions, settings: Settings
) -> None:
    _store(defs)
    defs.register_stack("team", {"orchestrator": "local", "artifact_store": "files"})
    set_active_stack(settings, "team")
    env_defs = Definitions(Settings(home=settings.home, stack="default"), defs.store)
    with pytest.raises(ConfigError) as err:
        env_defs.delete_stack("team")
    assert err.value.message == (
        "cannot delete stack 'team': it is this project's stack (set by bevel stack set), "
        "which $BEVEL_STACK=default overrides for now"
    )
    assert err.value.hint == "choose another stack first: bevel stack set default"
    assert defs.get_stack("team").name == "team"


def test_component_used_by_a_stack_cannot_be_deleted(defs: Definitions) -> None:
    _store(defs)
    defs.register_stack("team", {"orchestrator": "local", "artifact_store": "files"})
    with pytest.raises(ConfigError) as err:
        defs.delete_component("files")
    assert err.value.message == "cannot delete component 'files': stack(s) team use it"
    assert err.value.hint and "bevel stack delete team" in err.value.hint


def test_existing_database_is_upgraded_to_hold_definitions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.connect() as conn:
        upgrade(conn, "0001")
    engine.dispose()
    store = SqlMetadataStore(url)
    try:
        assert store.list_stacks() == []
        db = sqlite3.connect(tmp_path / "old.db")
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        db.close()
    finally:
        store.close()
