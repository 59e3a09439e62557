"""``bevel server ...`` and ``bevel login``: the first admin, users and keys, the credentials
file, and what a server refuses to start with."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from server_http import send

from bevel.metadata.rest.store import RestMetadataStore
from bevel.testing.servers import BevelServer


@pytest.fixture
def creds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "bevel" / "credentials.json"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("BEVEL_CREDENTIALS", raising=False)
    monkeypatch.delenv("BEVEL_API_KEY", raising=False)
    return path


def test_login_checks_the_key_and_stores_it_privately(
    bevel_srv: BevelServer, invoke: Callable[..., Result], creds: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    key = bevel_srv.new_key("viewer", name="logged-in-viewer")
    done = invoke("login", bevel_srv.url, "--api-key", key)
    assert done.exit_code == 0, done.output
    assert "as logged-in-viewer (viewer)" in done.output
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert stat.S_IMODE(creds.parent.stat().st_mode) == 0o700
    assert key not in done.output
    # the REST store (and so BEVEL_STORE_URL=URL) finds it without being told
    store = RestMetadataStore(bevel_srv.url + "/")
    assert store.list_runs() is not None
    assert invoke("login", bevel_srv.url, "--logout").exit_code == 0
    assert key not in creds.read_text()


def test_login_refuses_a_bad_key_and_stores_nothing(
    bevel_srv: BevelServer, invoke: Callable[..., Result], creds: Path
) -> None:
    done = invoke("login", bevel_srv.url, "--api-key", "bvl_0123456789abcdef_" + "y" * 43)
    assert done.exit_code != 0
    assert "not known to this server" in done.output and "hint:" in done.output
    assert not creds.exists()


def test_init_admin_refuses_a_second_admin(tmp_path: Path, invoke: Callable[..., Result]) -> None:
    db = f"sqlite:///{tmp_path / 'srv.db'}"
    first = invoke("server", "init-admin", "--db", db)
    assert first.exit_code == 0, first.output
    assert first.output.strip().splitlines()[-1].startswith("bvl_")
    second = invoke("server", "init-admin", "--db", db, "--name", "other")
    assert second.exit_code != 0 and "has an admin already" in second.output


def test_no_auth_is_refused_off_loopback(invoke: Callable[..., Result], tmp_path: Path) -> None:
    done = invoke("server", "start", "--no-auth", "--host", "0.0.0.0",
                  "--db", f"sqlite:///{tmp_path / 'x.db'}")  # fmt: skip
    assert done.exit_code == 2
    assert "--no-auth is refused on 0.0.0.0" in done.output


def test_an_admin_manages_users_and_keys_from_the_cli(
    bevel_srv: BevelServer, invoke: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bevel_srv.admin_key
    monkeypatch.setenv("BEVEL_API_KEY", bevel_srv.admin_key)
    url = ["--url", bevel_srv.url]
    made = invoke("server", "users", "create", "ci-bot", "--role", "editor", "--service", *url)
    assert made.exit_code == 0, made.output
    key_out = invoke("server", "keys", "create", "ci-bot", "--label", "nightly",
                     "--expires-in-days", "7", *url)  # fmt: skip
    assert key_out.exit_code == 0, key_out.output
    key = key_out.output.strip().splitlines()[-1]
    assert send(f"{bevel_srv.url}/api/v1/whoami", key=key)[2]["kind"] == "service"
    listed = invoke("server", "keys", "list", "--user", "ci-bot", *url)
    key_id = key.split("_")[1]
    assert key_id in listed.output and key not in listed.output
    assert invoke("server", "keys", "revoke", key_id, *url).exit_code == 0
    assert send(f"{bevel_srv.url}/api/v1/whoami", key=key)[0] == 401
    assert invoke("server", "users", "set-role", "ci-bot", "viewer", *url).exit_code == 0
    users = invoke("server", "users", "list", *url).output
    assert "ci-bot" in users and "viewer" in users


def test_the_first_admin_from_the_environment() -> None:
    from bevel.server.auth.keys import new_key
    from bevel.testing.servers import bevel_server

    _, key = new_key()
    with bevel_server(admin_key=key) as srv:
        assert send(f"{srv.url}/api/v1/whoami", key=key)[2]["role"] == "admin"
        assert "bvl_" not in srv.log.read_text()  # the key is never logged


def test_a_password_in_the_server_url_is_refused_without_printing_it(
    bevel_srv: BevelServer, invoke: Callable[..., Result], creds: Path,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    """A bevel server authenticates with API keys: a ``user:password@`` in its URL would be
    ignored, and the password used to be printed in every "cannot reach" error."""
    monkeypatch.chdir(tmp_path)
    host = bevel_srv.url.split("://", 1)[1]
    monkeypatch.setenv("BEVEL_STORE_URL", f"http://bevel:hunter2-secret@{host}")
    done = invoke("runs", "list")
    assert done.exit_code != 0
    assert "hunter2-secret" not in done.output
    assert "Traceback" not in done.output
    assert "carries a user and password" in done.output and "bevel login" in done.output
    # the hint, followed literally: the URL without them, and `bevel login URL`
    key = bevel_srv.new_key("viewer", name="url-password-viewer")
    assert invoke("login", bevel_srv.url, "--api-key", key).exit_code == 0
    monkeypatch.setenv("BEVEL_STORE_URL", bevel_srv.url)
    listed = invoke("runs", "list")
    assert listed.exit_code == 0, listed.output
