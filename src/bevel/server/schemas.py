"""Request and response bodies that are not records.

Records themselves (``RunRecord``, ``StepCompletion``...) are the bodies of the requests that
carry them: FastAPI reads the frozen dataclasses of :mod:`bevel.metadata.records` directly, so
the schema cannot drift from what the stores exchange (DESIGN: no second model per entity).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from bevel.metadata.base import CacheHit
from bevel.metadata.records import (
    ArtifactRecord,
    MetadataEntry,
    RunStatus,
    StackRecord,
    StepRunRecord,
)

_IDS = Field(max_length=100_000)


class FinishRun(BaseModel):
    status: RunStatus
    ended: datetime
    error: str | None = None


class Heartbeat(BaseModel):
    at: datetime


class StaleRuns(BaseModel):
    older_than: datetime
    run_ids: list[str] | None = _IDS
    reason: str = ""


class Ids(BaseModel):
    ids: list[str] = _IDS


class IdList(BaseModel):
    ids: list[str]


class Uris(BaseModel):
    uris: list[str]


class ReferencesQuery(BaseModel):
    prefix: str
    uris: list[str] | None = _IDS


class ReferencesAnswer(BaseModel):
    uris: list[str]
    run_ids: list[str]


class MetadataEntries(BaseModel):
    entries: list[MetadataEntry] = Field(max_length=100_000)


class MetadataQuery(BaseModel):
    entity: str
    ids: list[str] = _IDS


class LatestMetricsQuery(BaseModel):
    run_ids: list[str] = _IDS
    keys: list[str] | None = None


class CacheAnswer(BaseModel):
    hit: CacheHit | None = None


class PreviousAnswer(BaseModel):
    step_run: StepRunRecord | None = None


class ComponentConfig(BaseModel):
    config: dict[str, Any]
    updated: datetime


class NewStack(BaseModel):
    stack: StackRecord
    require: list[str] = Field(default_factory=list, max_length=1000)


class Artifacts(BaseModel):
    items: list[ArtifactRecord]
