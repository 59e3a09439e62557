"""Part 6 of issue 11 at the API: security headers on every answer, CORS off unless asked,
request size limits, filters that stay data, and API keys that never reach the log."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from server_http import send

from bevel.metadata.base import RunFilter
from bevel.metadata.rest.store import RestMetadataStore
from bevel.testing.records import make_run
from bevel.testing.servers import BevelServer, bevel_server

INJECTIONS = ["' OR 1=1 --", "%' OR '1'='1", "x'); DROP TABLE runs; --", "\\' UNION SELECT 1 --"]


@pytest.fixture(scope="module")
def small_server() -> Iterator[BevelServer]:
    """A server that accepts bodies of at most 4 KiB and allows one CORS origin."""
    with bevel_server(
        extra_args=["--max-body", "4096", "--cors-origin", "https://ml.example.com"]
    ) as srv:
        yield srv


def test_every_answer_carries_the_security_headers(bevel_srv: BevelServer) -> None:
    key = bevel_srv.admin_key
    for path, expected in (("/api/v1/health", 200), ("/api/v1/runs", 200),
                           ("/api/v1/runs/nothing-here", 404), ("/api/v1/nowhere", 404)):  # fmt: skip
        status, headers, _ = send(bevel_srv.url + path, key=key)
        assert status == expected, path
        assert headers["content-security-policy"].startswith("default-src 'none'")
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "server" not in headers  # no software banner


def test_cors_is_off_by_default(bevel_srv: BevelServer) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    status, headers, _ = send(bevel_srv.url + "/api/v1/runs", "OPTIONS", headers=preflight)
    assert status in (401, 405) and "access-control-allow-origin" not in headers
    _, headers, _ = send(
        bevel_srv.url + "/api/v1/health", headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in headers


def test_cors_allows_only_the_origins_named(small_server: BevelServer) -> None:
    good = {"Origin": "https://ml.example.com", "Access-Control-Request-Method": "GET"}
    _, headers, _ = send(small_server.url + "/api/v1/runs", "OPTIONS", headers=good)
    assert headers.get("access-control-allow-origin") == "https://ml.example.com"
    bad = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    _, headers, _ = send(small_server.url + "/api/v1/runs", "OPTIONS", headers=bad)
    assert headers.get("access-control-allow-origin") != "https://evil.example"


def test_a_body_over_the_limit_is_refused_before_it_is_read(small_server: BevelServer) -> None:
    run = make_run()
    big = {**json.loads(json.dumps(run.__dict__, default=str)), "params": {"x": "y" * 10_000}}
    status, _, body = send(small_server.url + "/api/v1/runs", "POST", key=small_server.admin_key,
                           body=big)  # fmt: skip
    assert status == 413 and "larger than this server accepts" in body["error"]["message"]
    assert small_server.call("GET", "/runs")["items"] == []


def test_a_chunked_body_over_the_limit_is_refused(small_server: BevelServer) -> None:
    """No Content-Length to trust: the server counts what arrives and stops at the limit."""
    host, port = small_server.url.removeprefix("http://").split(":")
    chunk = b"x" * 1024
    request = (
        f"POST /api/v1/runs HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer "
        f"{small_server.admin_key}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        try:
            for _ in range(16):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may close the connection as soon as it has answered
        answer = sock.recv(65536).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]


def test_filters_are_data_not_sql(rest_store: RestMetadataStore, bevel_srv: BevelServer) -> None:
    run = make_run("train")
    rest_store.create_run(run)
    for text in INJECTIONS:
        assert rest_store.list_runs(RunFilter(name=text)) == []
        for path in (f"/runs?pipeline={text}", f"/artifacts?name={text}",
                     f"/runs?name={text}&status=running"):  # fmt: skip
            url = bevel_srv.url + "/api/v1" + path.replace(text, quote(text))
            status, _, body = send(url, key=bevel_srv.admin_key)
            assert status == 200 and body["items"] == [], (path, body)
        status, _, _ = send(f"{bevel_srv.url}/api/v1/runs/{quote(text, safe='')}",
                            key=bevel_srv.admin_key)  # fmt: skip
        assert status == 404
    assert [r.id for r in rest_store.list_runs()] == [run.id]  # the table is intact


def test_keys_never_reach_the_log(bevel_srv: BevelServer) -> None:
    key = bevel_srv.new_key("viewer")
    send(bevel_srv.url + "/api/v1/runs", key=key)
    send(bevel_srv.url + f"/api/v1/runs?api_key={key}")  # even where a client put it wrongly
    send(bevel_srv.url + "/api/v1/runs", key=key[:-1] + "Z")  # a wrong key
    log = bevel_srv.log.read_text()
    assert "GET /api/v1/runs 200" in log  # the access log is on
    assert key not in log and key[4:20] + "_" not in log and "bvl_" not in log


def test_a_session_cookie_authenticates_a_browser(bevel_srv: BevelServer) -> None:
    key = bevel_srv.new_key("viewer", name="browser-user")
    status, headers, who = send(bevel_srv.url + "/api/v1/session", "POST", key=key, body={})
    assert status == 200 and who["name"] == "browser-user"
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"bevel_api_key={key};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    jar = {"Cookie": f"bevel_api_key={key}"}
    assert send(bevel_srv.url + "/api/v1/whoami", headers=jar)[2]["name"] == "browser-user"
    status, headers, _ = send(bevel_srv.url + "/api/v1/session", "DELETE", headers=jar)
    assert status == 204 and 'bevel_api_key=""' in headers["set-cookie"]
    assert send(bevel_srv.url + "/api/v1/session", "POST", body={})[0] == 401  # no key, no cookie
