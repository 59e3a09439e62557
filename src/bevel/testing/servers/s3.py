"""A throwaway S3 server (moto) in a child process."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bevel._dataclass import dataclass
from bevel.testing.servers._process import (
    _DEV_EXTRAS,
    HOST,
    ServerFailed,
    ServerUnavailable,
    _missing_modules,
    _on_free_port,
    _RunAs,
    _scratch_dir,
    _stop_process,
    _wait_until,
)

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"

# Requests to the local server must never go through a proxy from the environment.
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class S3Server:
    """A running S3-compatible server (moto): its endpoint and fresh buckets."""

    endpoint_url: str
    log: Path

    @property
    def storage_options(self) -> dict[str, Any]:
        """fsspec/s3fs options for this server (``FsspecArtifactStore(url, **options)``)."""
        return {
            "endpoint_url": self.endpoint_url,
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
            "client_kwargs": {"region_name": REGION},
        }

    def _request(self, method: str, path: str) -> int:
        request = urllib.request.Request(self.endpoint_url + path, method=method)
        try:
            with _LOCAL.open(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as err:
            raise ServerFailed(
                f"{method} {self.endpoint_url}{path} answered {err.code}: {err.read()[:500]!r}"
            ) from None

    def new_bucket(self, prefix: str = "bevel-test") -> str:
        """Create an empty bucket; its name."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self._request("PUT", f"/{name}")
        return name

    def reset(self) -> None:
        """Delete every bucket and object."""
        self._request("POST", "/moto-api/reset")


def _http_ready(url: str) -> bool:
    try:
        with _LOCAL.open(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


@contextlib.contextmanager
def moto_s3_server(*, check_credentials: bool = False) -> Iterator[S3Server]:
    """moto's S3 server in a child process on 127.0.0.1; ~2 s to start.

    Credentials are ``testing``/``testing``; moto accepts any signature, unless
    ``check_credentials``: then every request is authenticated against moto's (empty) IAM, so
    any key is rejected as a real S3 rejects a wrong one.
    """
    missing = _missing_modules(["moto", "flask", "flask_cors", "s3fs"])
    if missing:
        raise ServerUnavailable(
            f"the fake S3 server needs {', '.join(missing)}, not installed: {_DEV_EXTRAS}"
        )
    with _scratch_dir("bevel-s3-", _RunAs()) as base:
        log = base / "moto.log"
        env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
        if check_credentials:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"

        def start(port: int) -> tuple[subprocess.Popen[bytes], str]:
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=base,
                    env=env,
                )
            endpoint = f"http://{HOST}:{port}"
            try:
                _wait_until(
                    lambda: _http_ready(f"{endpoint}/moto-api/data.json"),
                    what="moto_server",
                    logs=[log],
                    alive=lambda: proc.poll() is None,
                )
            except ServerFailed:
                _stop_process(proc)
                raise
            return proc, endpoint

        proc, endpoint = _on_free_port(start, log)
        try:
            yield S3Server(endpoint_url=endpoint, log=log)
        finally:
            _stop_process(proc)
