"""Secrets: encrypted at rest, key handling, resolution at build time, never shown."""

from __future__ import annotations

import sqlite3
import stat
import traceback
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bevel import Client, pipeline, step
from bevel.api import run_pipeline
from bevel.errors import BevelWarning, ConfigError, NotFound, StackError
from bevel.settings import Settings
from bevel.stack.build import build_stack
from bevel.stack.definitions import Definitions
from bevel.stack.secrets import Secrets, load_key, references, resolve

PLAIN = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def test_secrets_are_encrypted_at_rest(defs: Definitions, settings: Settings) -> None:
    defs.secrets.create("s3", {"key": "AKIAEXAMPLE", "secret": PLAIN})
    rows = sqlite3.connect(settings.database_path).execute("SELECT * FROM secrets").fetchall()
    assert len(rows) == 1
    raw = repr(rows[0])
    assert PLAIN not in raw and "AKIAEXAMPLE" not in raw
    assert defs.secrets.get("s3") == {"key": "AKIAEXAMPLE", "secret": PLAIN}


def test_key_file_is_created_private_once(settings: Settings) -> None:
    key = load_key(settings)
    path = settings.secrets_key_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(settings) == key
    Fernet(key)  # a valid key


def test_key_from_environment_wins(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key()
    monkeypatch.setenv("BEVEL_SECRETS_KEY", key.decode())
    assert load_key(settings) == key
    assert not settings.secrets_key_path.exists()


def test_listing_and_deleting_need_no_key(defs: Definitions, settings: Settings) -> None:
    defs.secrets.create("a", {"x": "value-one"})
    settings.secrets_key_path.unlink()
    fresh = Secrets(defs.store, settings)
    assert [s.name for s in fresh.list()] == ["a"]
    fresh.delete("a")
    assert not settings.secrets_key_path.exists()


def test_wrong_key_says_what_to_do(
    defs: Definitions, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs.secrets.create("s3", {"key": "key-value"})
    monkeypatch.setenv("BEVEL_SECRETS_KEY", Fernet.generate_key().decode())
    with pytest.raises(StackError) as err:
        Secrets(defs.store, settings).get("s3")
    assert "cannot decrypt secret 's3': it was encrypted with another key" in str(err.value)
    assert err.value.hint and "$BEVEL_SECRETS_KEY" in err.value.hint


def test_invalid_key(defs: Definitions, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEVEL_SECRETS_KEY", "not-a-key")
    with pytest.raises(StackError, match="is not a valid key") as err:
        defs.secrets.create("s3", {"key": "key-value"})
    assert err.value.hint and "Fernet.generate_key()" in err.value.hint


def test_names_and_values_are_checked(defs: Definitions) -> None:
    with pytest.raises(ConfigError, match=r"invalid secret name 'a\.b'"):
        defs.secrets.create("a.b", {"k": "value-v1"})
    with pytest.raises(ConfigError, match="secret 'x' has no values"):
        defs.secrets.create("x", {})
    defs.secrets.create("x", {"k": "value-v1"})
    with pytest.raises(ConfigError, match="already exists"):
        defs.secrets.create("x", {"k": "value-w1"})
    defs.secrets.create("x", {"k": "value-w1"}, replace=True)
    assert defs.secrets.get("x") == {"k": "value-w1"}
    with pytest.raises(NotFound, match="no secret named 'y'"):
        defs.secrets.get("y")


def test_references_and_resolution() -> None:
    values = {"url": "pg://u:{{db.pw}}@h/{{db.name}}", "n": 3, "opts": {"t": "{{api.token}}"}}
    assert references(values) == [("db", "pw"), ("db", "name"), ("api", "token")]
    secrets = {"db": {"pw": "p4ss", "name": "prod"}, "api": {"token": "t"}}
    calls: list[str] = []

    def lookup(name: str) -> dict[str, str]:
        calls.append(name)
        return secrets[name]

    assert resolve(values, lookup, where="c") == {
        "url": "pg://u:p4ss@h/prod",
        "n": 3,
        "opts": {"t": "t"},
    }
    assert calls == ["db", "api"]  # one lookup per secret


def _register_vault_stack(defs: Definitions) -> None:
    defs.register_component(
        "artifact_store",
        "vault-store",
        "fsspec",
        {"path": "memory://bevel-secret-test", "storage_options": {}},
    )
    defs.register_component(
        "metadata_store", "vault-db", "sqlite", {"url": "sqlite:///{{db.file}}"}
    )
    defs.register_stack(
        "vault",
        {"orchestrator": "local", "artifact_store": "vault-store", "metadata_store": "vault-db"},
    )


def test_missing_secret_at_build_names_component_and_field(
    defs: Definitions, settings: Settings
) -> None:
    _register_vault_stack(defs)
    with pytest.raises(StackError) as err:
        build_stack("vault", settings)
    assert str(err.value).startswith(
        "metadata_store 'vault-db' (flavor sqlite): field 'url' refers to secret 'db', "
        "which does not exist"
    )
    assert err.value.hint == "create it: bevel secret create db --file=..."


def test_missing_key_at_build_lists_the_keys(defs: Definitions, settings: Settings) -> None:
    _register_vault_stack(defs)
    defs.secrets.create("db", {"path": "some-path"})
    with pytest.raises(StackError) as err:
        build_stack("vault", settings)
    assert "field 'url' refers to key 'file' of secret 'db', which has no such key" in str(
        err.value
    )
    assert err.value.hint and err.value.hint.startswith("its keys are: path;")


def test_secret_resolved_only_at_build(
    defs: Definitions, settings: Settings, tmp_path: Path
) -> None:
    _register_vault_stack(defs)
    db_file = tmp_path / "vault.db"
    defs.secrets.create("db", {"file": str(db_file)})
    assert defs.get_component("vault-db").config == {"url": "sqlite:///{{db.file}}"}
    stack = build_stack("vault", settings)
    try:
        assert stack.metadata_store.list_runs() == []
        assert db_file.exists()
    finally:
        stack.close()


def _shown(err: BaseException) -> str:
    """What a user sees of an error: its text and a full traceback with its causes."""
    return str(err) + "".join(traceback.format_exception(err))


def test_secret_in_an_unparsable_database_url_is_not_shown(
    defs: Definitions, settings: Settings
) -> None:
    # One slash short: SQLAlchemy cannot parse it, and its own message repeats the URL.
    defs.register_component(
        "metadata_store",
        "typo-db",
        "postgresql",
        {"url": "postgresql+psycopg:/bevel:{{db.pw}}@db/x"},
    )
    defs.register_stack(
        "typo",
        {"orchestrator": "local", "artifact_store": "local-artifacts", "metadata_store": "typo-db"},
    )
    defs.secrets.create("db", {"pw": PLAIN})
    with pytest.raises(ConfigError) as err:
        build_stack("typo", settings)
    assert err.value.message == "invalid metadata database URL 'postgresql+psycopg:/***@db/x'"
    assert PLAIN not in _shown(err.value)


def test_secret_in_a_construction_error_is_not_in_its_cause(
    defs: Definitions, settings: Settings
) -> None:
    defs.register_component(
        "artifact_store", "odd-store", "fsspec", {"path": "{{fs.proto}}://bucket"}
    )
    defs.register_stack("odd", {"orchestrator": "local", "artifact_store": "odd-store"})
    defs.secrets.create("fs", {"proto": "nosuchprotocol"})
    with pytest.raises(StackError) as err:
        build_stack("odd", settings)
    assert err.value.message.startswith("cannot build artifact_store 'odd-store' (flavor fsspec):")
    assert "***" in err.value.message
    assert "nosuchprotocol" not in _shown(err.value)


def test_a_short_secret_is_masked_as_a_word_not_inside_ordinary_words(
    defs: Definitions, settings: Settings, tmp_path: Path
) -> None:
    # Regression: a secret "test" masked every "test" of every log line ("py***: 3 ***s passed").
    folder = tmp_path / "vault-folder"
    folder.mkdir()
    with pytest.warns(BevelWarning) as warned:
        defs.secrets.create("db", {"folder": str(folder), "name": "test"})
    assert [str(w.message) for w in warned] == [
        "{{db.name}} is 4 characters long: it is masked in output only where it stands as a word"
        " of its own (values of 8 or more characters are masked everywhere)"
    ]
    defs.register_component(
        "metadata_store", "vault-db", "sqlite", {"url": "sqlite:///{{db.folder}}/{{db.name}}.db"}
    )
    defs.register_stack(
        "vault",
        {
            "orchestrator": "local",
            "artifact_store": "local-artifacts",
            "metadata_store": "vault-db",
        },
    )

    @step
    def check() -> int:
        print(f"pytest: 3 tests passed, the test suite is green; db at {folder}/test.db")
        return 3

    @pipeline
    def suite() -> None:
        check()

    stack = build_stack("vault", settings)
    try:
        run_pipeline(suite, stack=stack)
        logs = Client(stack).last_run("suite").steps["check"].logs()
    finally:
        stack.close()
    assert "pytest: 3 tests passed, the *** suite is green; db at ***/***.db" in logs, logs
