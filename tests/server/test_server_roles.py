"""Role enforcement, generated from the app's route table: a new endpoint is checked the day it
is added, and one that declares no role is refused to everyone (the guard fails closed)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import APIRouter
from server_http import send

from bevel.metadata.sql.store import SqlMetadataStore
from bevel.server.app import RouteInfo, create_app, route_table
from bevel.server.auth.keys import ADMIN, EDITOR, PUBLIC, ROLES, VIEWER, allows
from bevel.server.config import ServerConfig
from bevel.server.routes import ok, route
from bevel.testing.servers import BevelServer, free_port

TABLE = route_table(create_app(ServerConfig(db_url="sqlite://", reap_every=0)))
IDS = [f"{r.method} {r.path}" for r in TABLE]


def concrete(path: str) -> str:
    """The route's path with every parameter filled in (with something that exists nowhere)."""
    return re.sub(r"\{[^}]+\}", "nothing-here", path)


@pytest.fixture(scope="module")
def keys(bevel_srv: BevelServer) -> dict[str, str]:
    """A key of each role, plus a revoked, an expired and a disabled account's (all admins,
    so only their state can be what refuses them)."""
    made = {role: bevel_srv.new_key(role) for role in ROLES}
    revoked = bevel_srv.new_key(ADMIN)
    bevel_srv.call("DELETE", f"/api-keys/{revoked.split('_')[1]}")
    expired = bevel_srv.new_key(ADMIN)
    store = SqlMetadataStore(bevel_srv.db_url)
    store.writing(
        "expiring a key",
        lambda conn: conn.run(
            "UPDATE api_keys SET expires = :expires WHERE id = :id",
            expires=datetime.now(UTC) - timedelta(seconds=1),
            id=expired.split("_")[1],
        ),
    )
    store.close()
    disabled_name = "disabled-admin"
    disabled = bevel_srv.new_key(ADMIN, name=disabled_name)
    bevel_srv.call("PATCH", f"/users/{disabled_name}", {"disabled": True})
    return {**made, "revoked": revoked, "expired": expired, "disabled": disabled}


def test_the_route_table_is_the_whole_api() -> None:
    paths = {r.path for r in TABLE}
    assert "/api/v1/runs" in paths and "/api/v1/step-runs/{step_run_id}/completion" in paths
    assert len(TABLE) >= 45


@pytest.mark.parametrize("info", TABLE, ids=IDS)
def test_every_route_declares_a_role(info: RouteInfo) -> None:
    role = info.role
    assert role in (*ROLES, PUBLIC), f"{info} declares no role"
    if role == PUBLIC:
        assert info.path == "/api/v1/health", "only health is public"


@pytest.mark.parametrize("info", TABLE, ids=IDS)
def test_every_route_enforces_its_role(
    info: RouteInfo, bevel_srv: BevelServer, keys: dict[str, str]
) -> None:
    method, path, needed = info.method, info.path, info.role
    url = bevel_srv.url + concrete(path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    if needed == PUBLIC:
        assert send(url, method, body=body)[0] == 200
        return
    status, headers, answer = send(url, method, body=body)
    assert status == 401, f"no key: {status} {answer}"
    assert answer["error"]["type"] == "AccessDenied"
    assert headers.get("www-authenticate") == "Bearer"
    for state in ("revoked", "expired", "disabled"):
        status, _, answer = send(url, method, key=keys[state], body=body)
        assert status == 401, f"{state} key: {status} {answer}"
    status, _, _ = send(url, method, key="bvl_0123456789abcdef_" + "x" * 43, body=body)
    assert status == 401, "an unknown key"
    for role in ROLES:
        status, _, answer = send(url, method, key=keys[role], body=body)
        if allows(role, needed):
            assert status not in (401, 403), f"{role} refused: {status} {answer}"
        else:
            assert status == 403, f"{role} on a route for {needed}: {status} {answer}"
            assert needed in answer["error"]["message"]


def test_the_refusals_say_why(bevel_srv: BevelServer, keys: dict[str, str]) -> None:
    url = bevel_srv.url + "/api/v1/runs"
    assert "revoked" in send(url, key=keys["revoked"])[2]["error"]["message"]
    assert "expired" in send(url, key=keys["expired"])[2]["error"]["message"]
    assert "disabled" in send(url, key=keys["disabled"])[2]["error"]["message"]
    assert "no API key" in send(url)[2]["error"]["message"]


def test_a_key_in_the_query_string_is_not_accepted(
    bevel_srv: BevelServer, keys: dict[str, str]
) -> None:
    for name in ("api_key", "key", "token", "access_token"):
        assert send(f"{bevel_srv.url}/api/v1/runs?{name}={keys[ADMIN]}")[0] == 401


@pytest.fixture
def app_with_a_roleless_route() -> Iterator[str]:
    """A real server (uvicorn in a thread) whose app has one route that declares no role."""
    import uvicorn

    extra = APIRouter()

    @extra.get("/extra/forgotten")
    def forgotten() -> object:
        return ok({"secret": "data"})

    @route(extra, "GET", "/extra/declared", role=VIEWER)
    def declared() -> object:
        return ok({"fine": True})

    app = create_app(
        ServerConfig(db_url="sqlite://", auth=False, reap_every=0), routers=[(extra, "")]
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_route_without_a_role_is_refused_to_everyone(app_with_a_roleless_route: str) -> None:
    status, _, answer = send(app_with_a_roleless_route + "/extra/forgotten")
    assert status == 403 and "declares no role" in answer["error"]["message"]
    assert send(app_with_a_roleless_route + "/extra/declared")[0] == 200


def test_editors_cannot_manage_users(bevel_srv: BevelServer, keys: dict[str, str]) -> None:
    status, _, _ = send(
        bevel_srv.url + "/api/v1/users", "POST", key=keys[EDITOR],
        body={"name": "sneaky", "role": "admin"},
    )  # fmt: skip
    assert status == 403
    names = [u["name"] for u in bevel_srv.call("GET", "/users")["items"]]
    assert "sneaky" not in names
