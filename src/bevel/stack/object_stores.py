"""Implementations of the fsspec-based artifact store flavors: ``fsspec``, ``s3``, ``gcs``, ``azure``.

Each maps its config fields onto :class:`~bevel.artifacts.fsspec_store.FsspecArtifactStore`'s
storage options. The S3 one bounds how long an unreachable endpoint can hold a run: short
connect/read timeouts and few attempts for botocore *and* for s3fs's own retry loop, which
otherwise retries read timeouts five times on top of botocore.
"""

from __future__ import annotations

from typing import Any

from bevel.artifacts.fsspec_store import FsspecArtifactStore


def _given(**options: Any) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


def fsspec_artifact_store(*, path: str, storage_options: dict[str, Any]) -> FsspecArtifactStore:
    return FsspecArtifactStore(path, **storage_options)


def s3_artifact_store(
    *,
    path: str,
    endpoint_url: str | None,
    key: str | None,
    secret: str | None,
    token: str | None,
    region: str | None,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
    client_kwargs: dict[str, Any],
    storage_options: dict[str, Any],
) -> FsspecArtifactStore:
    options: dict[str, Any] = {
        **_given(key=key, secret=secret, token=token, endpoint_url=endpoint_url),
        "client_kwargs": {**_given(region_name=region), **client_kwargs},
        "config_kwargs": {
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "retries": {"max_attempts": max_attempts, "mode": "standard"},
        },
        **storage_options,
    }
    store = FsspecArtifactStore(path, **options)
    # s3fs's own retry loop (class default 5) runs around botocore's: bound it too.
    if hasattr(store.fs, "retries"):
        store.fs.retries = max_attempts
    return store


def gcs_artifact_store(
    *, path: str, project: str | None, token: str | None, storage_options: dict[str, Any]
) -> FsspecArtifactStore:
    return FsspecArtifactStore(path, **_given(project=project, token=token), **storage_options)


def azure_artifact_store(
    *,
    path: str,
    account_name: str | None,
    account_key: str | None,
    connection_string: str | None,
    sas_token: str | None,
    storage_options: dict[str, Any],
) -> FsspecArtifactStore:
    options = _given(
        account_name=account_name,
        account_key=account_key,
        connection_string=connection_string,
        sas_token=sas_token,
    )
    return FsspecArtifactStore(path, **options, **storage_options)
