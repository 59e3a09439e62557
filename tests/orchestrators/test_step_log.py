"""A step's log on an object store (S3 on moto) is readable while the step still writes: what a
follower (`bevel logs -f`) of a step on a remote worker reads. The whole path, a Dask worker
writing to S3 followed from another process, is in test_dask.py."""

from __future__ import annotations

import threading
import time

import pytest

from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.client.client import _read_log
from bevel.run.logs import StepLog
from bevel.testing.servers import S3Server

pytestmark = pytest.mark.servers


def _read_when(store: FsspecArtifactStore, path: str, expected: str) -> str:
    """The log's text once it is ``expected`` (or what it was after 60 s)."""
    text, deadline = "", time.monotonic() + 60
    while time.monotonic() < deadline:
        if store.exists(path):
            # as `bevel logs -f` reads it: a read that spans a replacement is tried again
            text = _read_log(store, path, 0).decode()
            if text == expected:
                break
        time.sleep(0.02)
    return text


def _uploaders() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "bevel-step-log"]


def test_an_s3_log_is_uploaded_while_the_step_writes(s3: S3Server) -> None:
    # Before: the text stayed in memory until the step ended, so nothing was there to follow.
    store = FsspecArtifactStore(f"s3://{s3.new_bucket()}/team", **s3.storage_options)
    log = StepLog(store, "logs/run/step-1.log", every=0.05)
    assert log.live  # so the step run records the uri when it starts
    log.write("first line\n")
    assert _read_when(store, log.path, "first line\n") == "first line\n"
    log.write("second line\n")
    assert _read_when(store, log.path, "first line\nsecond line\n") == "first line\nsecond line\n"
    assert log.publish() == log.uri
    assert not _uploaders()  # stopped at the step's end: the hook's text goes up on close
    log.write("from the hook\n")
    log.close()
    assert _read_when(store, log.path, "first line\nsecond line\nfrom the hook\n").endswith(
        "from the hook\n"
    )


def test_a_step_that_writes_nothing_starts_no_uploader_and_leaves_no_log(s3: S3Server) -> None:
    store = FsspecArtifactStore(f"s3://{s3.new_bucket()}/team", **s3.storage_options)
    log = StepLog(store, "logs/run/quiet-1.log", every=0.05)
    assert not _uploaders()
    assert log.publish() is None
    log.close()
    assert not store.exists(log.path)
