"""The fsspec artifact store on S3, against a real S3 server (moto, started by conftest.py).

Every test gets a new bucket. Large objects go through S3 multipart uploads, listings through
S3's pagination (1,000 keys a page) and deletes through batched DeleteObjects.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.fsspec_store import FsspecArtifactStore
from bevel.artifacts.materializers.registry import BYTES_MATERIALIZER
from bevel.artifacts.publish import load_artifact, save_artifact
from bevel.testing.artifact_store_contract import ArtifactStoreContract
from bevel.testing.servers import S3Server, free_port

pytestmark = pytest.mark.servers

MIB = 2**20
PART = 5 * MIB  # S3's smallest multipart part (moto enforces it too)


def s3_store(s3: S3Server, **options: Any) -> FsspecArtifactStore:
    return FsspecArtifactStore(
        f"s3://{s3.new_bucket()}/team/artifacts", **{**s3.storage_options, **options}
    )


class TestS3ArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, s3: S3Server) -> ArtifactStore:
        return s3_store(s3)


def test_uri_is_an_s3_url(s3: S3Server) -> None:
    store = s3_store(s3)
    assert store.root.startswith("s3://bevel-test-") and store.root.endswith("/team/artifacts")
    assert store.uri("a/b") == store.root + "/a/b"
    assert store.local_path("a") is None


def test_large_file_written_in_parts(s3: S3Server, tmp_path: Path) -> None:
    """A 17 MiB file written through open() with 5 MiB blocks is a 4-part multipart upload."""
    store = s3_store(s3, default_block_size=PART)
    data = os.urandom(17 * MIB)
    with store.open("big/blob.bin", "wb") as f:
        for start in range(0, len(data), MIB):  # written in small pieces, uploaded in parts
            f.write(data[start : start + MIB])
    info = store.fs.info(f"{store.root}/big/blob.bin")
    assert info["size"] == len(data)
    assert str(info["ETag"]).strip('"').endswith("-4"), info  # S3's mark of a 4-part upload
    with store.open("big/blob.bin") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    target = tmp_path / "blob.bin"
    store.get("big/blob.bin", str(target))
    assert target.read_bytes() == data


def test_large_artifact_saved_and_loaded(s3: S3Server, tmp_path: Path) -> None:
    """Save (upload, content-addressed rename = server-side copy) and load of a 17 MiB artifact."""
    store = s3_store(s3, default_block_size=PART)
    data = os.urandom(17 * MIB)
    saved = save_artifact(store, data, BYTES_MATERIALIZER, name="big")
    assert saved.size == len(data) and saved.uri.startswith("s3://")
    assert not store.exists(".tmp") or store.ls(".tmp") == []
    again = save_artifact(store, data, BYTES_MATERIALIZER, name="big")
    assert again.path == saved.path
    loaded = load_artifact(
        store,
        uri=saved.uri,
        materializer=BYTES_MATERIALIZER,
        type_ref="builtins:bytes",
        content_hash=saved.content_hash,
        name="big",
        cache_dir=str(tmp_path / "cache"),
    )
    assert loaded == data


def test_listing_past_one_page_and_deleting_in_batches(s3: S3Server) -> None:
    store = s3_store(s3)
    names = [f"many/{i:04d}.txt" for i in range(1100)]  # more than one page of 1,000 keys
    store.fs.pipe({f"{store.root}/{name}": name.encode() for name in names})
    with store.open("many/sub/deep.txt", "wb") as f:
        f.write(b"deep")
    store.fs.invalidate_cache()
    assert store.ls("many") == sorted([*names, "many/sub"])
    store.rm("many", recursive=True)
    assert not store.exists("many/0000.txt")
    assert not store.exists("many")
    with pytest.raises(FileNotFoundError):
        store.ls("many")


@pytest.mark.timeout(30)  # bounded retries and timeouts: it must not hang
def test_unreachable_endpoint_fails_fast_naming_it() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = FsspecArtifactStore(
        "s3://nowhere/x", endpoint_url=endpoint, key="testing", secret="testing"
    )
    with pytest.raises(Exception) as err:
        store.exists("a")
    assert endpoint in str(err.value)
