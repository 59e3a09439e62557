"""Credentials typed as literals (``--key AKIA...``, a password inside ``--url``, a sensitive
key inside a JSON setting) are stored encrypted, shown masked, and still work; credentials an
earlier bevel stored in plain text keep working and can be encrypted in place."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from cryptography.fernet import Fernet

from bevel.errors import StackError
from bevel.metadata.records import ComponentRecord
from bevel.settings import Settings
from bevel.stack.build import build_stack
from bevel.stack.definitions import Definitions

Invoke = Callable[..., Result]
KEY = "AKIALITERAL1234"
SECRET = "wJalrLiteralSecret/K7MDENG+bPxRfiCY"
PASSWORD = "pg-pa/ss:w#rd"


def raw_definitions(settings: Settings) -> bytes:
    """Everything the metadata database holds about components, as bytes on disk."""
    db = settings.database_path
    rows = sqlite3.connect(db).execute("SELECT * FROM components").fetchall()
    files = [p for p in db.parent.glob("metadata.db*") if p.is_file()]
    return repr(rows).encode() + b"".join(p.read_bytes() for p in files)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_literals_are_stored_encrypted_and_reach_the_component(
    defs: Definitions, settings: Settings
) -> None:
    defs.register_component(
        "artifact_store",
        "raw",
        "s3",
        {"path": "s3://bucket", "key": KEY, "secret": SECRET, "region": "eu-west-1"},
    )
    stored = defs.get_component("raw").config
    assert stored["key"].startswith("{{sealed:") and stored["secret"].startswith("{{sealed:")
    assert stored["region"] == "eu-west-1"  # only credentials are sealed
    raw = raw_definitions(settings)
    assert KEY.encode() not in raw and SECRET.encode() not in raw
    defs.register_stack("raw", {"orchestrator": "local", "artifact_store": "raw"})
    stack = build_stack("raw", settings)
    try:
        fs = stack.artifact_store.fs
        assert (fs.key, fs.secret) == (KEY, SECRET)
    finally:
        stack.close()


def test_a_url_password_is_sealed_and_the_rest_kept(defs: Definitions, settings: Settings) -> None:
    url = f"postgresql+psycopg://bevel:{PASSWORD}@db.internal:5432/bevel"
    defs.register_component("metadata_store", "team-db", "postgresql", {"url": url})
    stored = defs.get_component("team-db").config["url"]
    assert stored.startswith("postgresql+psycopg://bevel:{{sealed:")
    assert stored.endswith("}}@db.internal:5432/bevel")
    assert PASSWORD.encode() not in raw_definitions(settings)
    assert defs.secrets.open_sealed({"url": stored}, where="team-db") == {"url": url}


def test_sensitive_keys_inside_json_settings_are_sealed(defs: Definitions) -> None:
    defs.register_component(
        "artifact_store",
        "mem",
        "fsspec",
        {"path": "memory://creds-test", "storage_options": {"password": SECRET, "user": "me"}},
    )
    options = defs.get_component("mem").config["storage_options"]
    assert options["user"] == "me" and options["password"].startswith("{{sealed:")


def test_references_are_not_sealed_and_no_key_is_made_for_them(
    defs: Definitions, settings: Settings
) -> None:
    defs.register_component("artifact_store", "ref", "s3", {"path": "s3://b", "key": "{{s3.key}}"})
    assert defs.get_component("ref").config["key"] == "{{s3.key}}"
    assert not settings.secrets_key_path.exists()


def test_the_cli_says_what_it_encrypted(invoke: Invoke, settings: Settings) -> None:
    out = ok(invoke("component", "register", "artifact_store", "raw", "--flavor", "s3",
                    "--path", "s3://b", "--key", KEY, "--secret", SECRET))  # fmt: skip
    assert "key, secret: stored encrypted, like secrets" in out
    assert "bevel secret create NAME" in out
    out = ok(invoke("component", "update", "raw", "--region", "eu-west-1"))
    assert "updated artifact_store raw: region" in out and "stored encrypted" not in out
    out = ok(invoke("component", "update", "raw", "--secret", "another-secret-value"))
    assert "secret: stored encrypted" in out
    described = ok(invoke("component", "describe", "raw"))
    assert "key     ***" in described and "plain text" not in described
    assert b"another-secret-value" not in raw_definitions(settings)


def _plain_component(defs: Definitions) -> None:
    """A component as an earlier bevel stored it: the credential in plain text."""
    now = datetime.now(UTC)
    config = {"path": "s3://bucket", "key": KEY, "secret": SECRET}
    defs.store.create_component(ComponentRecord("old", "artifact_store", "s3", config, now, now))
    defs.register_stack("old", {"orchestrator": "local", "artifact_store": "old"})


def test_plain_credentials_of_an_earlier_bevel_keep_working_and_can_be_encrypted(
    defs: Definitions, settings: Settings, invoke: Invoke
) -> None:
    _plain_component(defs)
    stack = build_stack("old", settings)
    try:
        assert stack.artifact_store.fs.key == KEY
    finally:
        stack.close()
    described = ok(invoke("component", "describe", "old"))
    assert KEY not in described
    assert "note: key, secret stored in plain text" in described
    assert "bevel component update old --encrypt" in described
    out = ok(invoke("component", "update", "old", "--encrypt"))  # the hint, followed literally
    assert "key, secret: stored encrypted" in out
    assert KEY.encode() not in raw_definitions(settings)
    assert "plain text" not in ok(invoke("component", "describe", "old"))
    out = ok(invoke("component", "update", "old", "--encrypt"))
    assert "has no credentials in plain text: nothing to do" in out
    stack = build_stack("old", settings)
    try:
        assert (stack.artifact_store.fs.key, stack.artifact_store.fs.secret) == (KEY, SECRET)
    finally:
        stack.close()


def test_a_sealed_credential_under_another_key_says_how_to_fix_it(
    defs: Definitions, settings: Settings, monkeypatch: pytest.MonkeyPatch, invoke: Invoke
) -> None:
    defs.register_component(
        "artifact_store", "raw", "s3", {"path": "s3://b", "key": KEY, "secret": SECRET}
    )
    defs.register_stack("raw", {"orchestrator": "local", "artifact_store": "raw"})
    monkeypatch.setenv("BEVEL_SECRETS_KEY", Fernet.generate_key().decode())
    with pytest.raises(StackError) as err:
        build_stack("raw", settings)
    assert str(err.value).startswith(
        "artifact_store 'raw' (flavor s3): cannot decrypt the credential in field 'key': it was "
        "encrypted with another key"
    )
    hint = err.value.hint or ""
    assert "$BEVEL_SECRETS_KEY" in hint
    command = "bevel component update raw --key=... --secret=..."
    assert hint.endswith(f"or give the credentials again: {command}")
    # following the hint literally (with the values) stores them under the key now in use
    ok(invoke("component", "update", "raw", "--key=AKIANEWKEY9876", "--secret=new-secret-value"))
    stack = build_stack("raw", settings)
    try:
        fs = stack.artifact_store.fs
        assert (fs.key, fs.secret) == ("AKIANEWKEY9876", "new-secret-value")
    finally:
        stack.close()


def test_export_and_import_with_encrypted_credentials(
    invoke: Invoke, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(invoke("component", "register", "artifact_store", "raw", "--flavor", "s3",
              "--path", "s3://b", "--key", KEY))  # fmt: skip
    ok(invoke("stack", "register", "raw", "-o", "local", "-a", "raw"))
    exported = ok(invoke("stack", "export", "raw"))
    assert KEY not in exported and "sealed" not in exported and "key: '***'" in exported
    path = tmp_path / "stack.yaml"
    path.write_text(exported)
    assert ok(invoke("stack", "import", str(path))).splitlines()[0] == "component raw unchanged"
    # the file with the very credential in it is the same component too
    document = yaml.safe_load(exported)
    document["components"]["artifact_store"]["config"]["key"] = KEY
    path.write_text(yaml.safe_dump(document))
    assert ok(invoke("stack", "import", str(path))).splitlines()[0] == "component raw unchanged"
    # elsewhere, the literal from the file is stored encrypted and said so
    monkeypatch.setenv("BEVEL_HOME", str(tmp_path / "other" / ".bevel"))
    out = ok(invoke("stack", "import", str(path)))
    assert out.splitlines()[0] == "created component raw (key: stored encrypted)"
    other = sqlite3.connect(tmp_path / "other" / ".bevel" / "metadata.db")
    assert KEY not in repr(other.execute("SELECT config FROM components").fetchall())


def test_a_stack_file_whose_config_is_not_a_mapping(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    document = {
        "stack": "s",
        "components": {
            "orchestrator": "local",
            "artifact_store": {"name": "a", "flavor": "local", "config": ["path", "x"]},
        },
    }
    path.write_text(yaml.safe_dump(document))
    out = invoke("stack", "import", str(path))
    assert out.exit_code == 2, out.output
    assert "the config of component 'a' must be a mapping of settings, got list" in out.output
    assert "Traceback" not in out.output
