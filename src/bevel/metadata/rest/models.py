"""The model control plane's methods of :class:`~bevel.metadata.rest.store.RestMetadataStore`
(``/models``, ``/model-versions``: see :mod:`bevel.server.routes.models`), kept apart so the
store's module stays small. Each method is one request (a list without a limit pages through).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bevel.metadata.records import (
    ModelArtifactLink,
    ModelRecord,
    ModelStage,
    ModelStageEvent,
    ModelVersionRecord,
)
from bevel.metadata.rest.codec import decode, decode_list, encode


def _seg(value: str) -> str:
    return quote(value, safe="")


class ModelMethods:
    """Mixed into the REST store, which provides ``_call`` and ``_pages``."""

    def _call(self, method: str, path: str, what: str, **kw: Any) -> Any:
        raise NotImplementedError

    def _pages(self, path: str, what: str, params: dict[str, Any], limit: int, offset: int) -> Any:
        raise NotImplementedError

    def create_model_version(self, version: ModelVersionRecord) -> ModelVersionRecord:
        data = self._call(
            "POST", "/model-versions", f"registering a version of model {version.model!r}",
            body=encode(version),
        )  # fmt: skip
        return decode(ModelVersionRecord, data)  # type: ignore[no-any-return]

    def update_model_version(
        self,
        version_id: str,
        *,
        metadata: dict[str, Any] | None = None,
        metrics: dict[str, float] | None = None,
        artifacts: Sequence[ModelArtifactLink] = (),
    ) -> ModelVersionRecord:
        body = {
            "metadata": metadata or {},
            "metrics": metrics or {},
            "artifacts": encode(list(artifacts)),
        }
        data = self._call(
            "POST", f"/model-versions/{_seg(version_id)}",
            f"updating model version {version_id}", body=body,
        )  # fmt: skip
        return decode(ModelVersionRecord, data)  # type: ignore[no-any-return]

    def get_model_version(self, model: str, ref: str | int) -> ModelVersionRecord:
        data = self._call(
            "GET", f"/models/{_seg(model)}/versions/{_seg(str(ref))}",
            f"looking up version {ref!r} of model {model!r}",
        )  # fmt: skip
        return decode(ModelVersionRecord, data)  # type: ignore[no-any-return]

    def list_model_versions(
        self, model: str, *, stage: ModelStage | None = None, limit: int = 50, offset: int = 0
    ) -> list[ModelVersionRecord]:
        params = {"stage": None if stage is None else ModelStage(stage).value}
        items = self._pages(
            f"/models/{_seg(model)}/versions", f"listing the versions of model {model!r}",
            params, limit, max(offset, 0),
        )  # fmt: skip
        return decode_list(ModelVersionRecord, items)

    def list_models(self) -> list[ModelRecord]:
        return decode_list(ModelRecord, self._pages("/models", "listing models", {}, 0, 0))

    def set_model_stage(
        self,
        model: str,
        version: int,
        stage: ModelStage | None,
        *,
        actor: str,
        reason: str = "",
        at: datetime,
    ) -> list[ModelStageEvent]:
        body = {
            "stage": None if stage is None else ModelStage(stage).value,
            "actor": actor,
            "reason": reason,
            "at": encode(at),
        }
        data = self._call(
            "POST", f"/models/{_seg(model)}/versions/{int(version)}/stage",
            f"moving version {version} of model {model!r}", body=body,
        )  # fmt: skip
        return decode_list(ModelStageEvent, data)

    def model_events(self, model: str, *, limit: int = 0) -> list[ModelStageEvent]:
        data = self._call(
            "GET", f"/models/{_seg(model)}/events", f"reading the audit log of model {model!r}",
            params={"limit": limit},
        )  # fmt: skip
        return decode_list(ModelStageEvent, data)
