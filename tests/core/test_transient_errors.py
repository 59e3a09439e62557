"""Errors are grouped by what the caller can do: transient ones may pass, permanent ones not.

``transient_kind`` sorts third-party failures (real exception classes of the libraries bevel
uses: the standard library, botocore, aiohttp, the database drivers); the SQL store turns a
database it cannot reach into ``DatabaseUnavailable`` and one that refuses into a permanent
``MetadataError``.
"""

from __future__ import annotations

import errno
import pickle
import socket
import sys

import pytest

from bevel.errors import (
    ArtifactStoreUnavailable,
    BevelError,
    DatabaseUnavailable,
    MetadataError,
    StackError,
    StepFailed,
    TransientError,
    transient_kind,
)
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.testing.servers import DatabaseServer


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise error from inner
    except BaseException as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), "network"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "network"),
        (BrokenPipeError(errno.EPIPE, "Broken pipe"), "network"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "network"),
        (OSError(errno.ETIMEDOUT, "Connection timed out"), "timeout"),
        (TimeoutError("timed out"), "timeout"),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), "network"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), None),  # a typo
        (PermissionError(errno.EACCES, "Access Denied"), None),
        (OSError(errno.ENOSPC, "No space left on device"), None),
        (FileNotFoundError("data/ab/abc"), None),
        (ValueError("bad value"), None),
        (TransientError("x", kind="throttled"), "throttled"),
        (StackError("a wrong key"), None),
    ],
)
def test_standard_library_and_bevel_errors(error: BaseException, kind: str | None) -> None:
    assert transient_kind(error) == kind


def test_a_wrapped_failure_keeps_its_kind() -> None:
    """A bevel error raised from a transient failure (a step's save) is transient too."""
    wrapped = _raised_from(StepFailed("could not save", step="s"), ConnectionResetError())
    assert transient_kind(wrapped) == "network"
    plain = _raised_from(StepFailed("could not save", step="s"), ValueError("no"))
    assert transient_kind(plain) is None


def test_botocore_errors() -> None:
    exceptions = pytest.importorskip("botocore.exceptions")
    assert transient_kind(exceptions.EndpointConnectionError(endpoint_url="http://h")) == "network"
    assert transient_kind(exceptions.ConnectTimeoutError(endpoint_url="http://h")) == "timeout"
    assert transient_kind(exceptions.ReadTimeoutError(endpoint_url="http://h")) == "timeout"

    def client_error(code: str, status: int) -> BaseException:
        response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return exceptions.ClientError(response, "PutObject")  # type: ignore[no-any-return]

    assert transient_kind(client_error("SlowDown", 503)) == "throttled"
    assert transient_kind(client_error("InternalError", 500)) == "busy"
    assert transient_kind(client_error("Whatever", 503)) == "throttled"  # by HTTP status
    assert transient_kind(client_error("AccessDenied", 403)) is None
    assert transient_kind(client_error("NoSuchBucket", 404)) is None


def test_aiohttp_errors() -> None:
    aiohttp = pytest.importorskip("aiohttp")
    assert transient_kind(aiohttp.ServerDisconnectedError()) == "network"
    assert transient_kind(aiohttp.ServerTimeoutError()) == "timeout"


def test_transient_errors_sit_in_two_families_and_cross_processes() -> None:
    err = ArtifactStoreUnavailable("store down", kind="timeout", hint="retry")
    assert isinstance(err, StackError) and isinstance(err, TransientError)
    assert isinstance(DatabaseUnavailable("db down"), MetadataError)
    copy = pickle.loads(pickle.dumps(err))
    assert (type(copy), copy.kind, copy.hint, str(copy)) == (
        ArtifactStoreUnavailable,
        "timeout",
        "retry",
        str(err),
    )


def test_classifying_imports_nothing() -> None:
    """The classifier knows third-party errors by name: importing bevel.errors stays bare."""
    import subprocess

    code = "import sys, bevel.errors; print(sorted(m for m in ('socket', 'botocore', 'aiohttp') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_database_is_transient() -> None:
    """Nothing listens on the port: what a database restart looks like from a client."""
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://bevel@127.0.0.1:{_free_port()}/nothing"
    store = SqlMetadataStore(url, connect_timeout=2)
    with pytest.raises(DatabaseUnavailable) as err:
        store.list_runs()
    assert err.value.kind == "network"
    assert "connecting failed" in err.value.message
    assert err.value.hint and err.value.hint.startswith("this may pass by itself (network)")
    store.close()


@pytest.mark.servers
def test_a_database_that_refuses_is_permanent(postgres: DatabaseServer) -> None:
    missing = postgres.url("no_such_database_here")
    store = SqlMetadataStore(missing, connect_timeout=2)
    with pytest.raises(MetadataError) as err:
        store.list_runs()
    assert not isinstance(err.value, TransientError)
    assert 'database "no_such_database_here" does not exist' in str(err.value)
    store.close()
    assert isinstance(err.value, BevelError)
