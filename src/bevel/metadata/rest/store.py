"""``RestMetadataStore``: the metadata store behind a bevel server, over its REST API.

Flavor ``metadata_store/rest`` (``--url http://host:8237``), and the home store when
``$BEVEL_STORE_URL`` is an ``http(s)://`` URL: it is a :class:`~bevel.metadata.base.DefinitionStore`
too, so components, stacks and secrets (encrypted blobs) stay on the server. Every method is one
request (a list asked for without a limit pages through), so a step costs three: the cache
lookup, its start, its completion with every output, lineage edge, metric and metadata entry.
Errors the server's store raised come back as the same bevel errors (NotFound, StatusConflict,
ConfigError...); see :mod:`bevel.metadata.rest.transport` for the rest.

Example::

    store = RestMetadataStore("http://127.0.0.1:8237")   # key: $BEVEL_API_KEY or bevel login
    for run in store.list_runs(RunFilter(pipeline="train", limit=10)):
        print(run.name, run.status)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

from bevel.metadata.base import (
    ArtifactFilter,
    CacheHit,
    References,
    RunFilter,
    StepDetails,
    StepIO,
)
from bevel.metadata.records import (
    ArtifactRecord,
    ComponentRecord,
    LineageEdge,
    MetadataEntry,
    MetricRecord,
    PipelineRecord,
    RunRecord,
    RunStatus,
    SecretRecord,
    StackRecord,
    StepCompletion,
    StepRunRecord,
)
from bevel.metadata.rest.codec import decode, decode_list, encode
from bevel.metadata.rest.credentials import find_api_key
from bevel.metadata.rest.models import ModelMethods
from bevel.metadata.rest.transport import Transport

T = TypeVar("T")

#: The largest page the server hands out; lists without a limit are fetched page by page.
PAGE = 1000
_ALL_RUNS = RunFilter()
_ALL_ARTIFACTS = ArtifactFilter()
_STEP_IO = dict[str, dict[str, dict[str, ArtifactRecord]]]


def _seg(value: str) -> str:
    """One path segment (names may hold spaces, ``:`` or unicode, never ``/``)."""
    return quote(value, safe="")


class RestMetadataStore(ModelMethods):
    """The REST implementation of :class:`~bevel.metadata.base.MetadataStore` and
    :class:`~bevel.metadata.base.DefinitionStore`.

    ``url`` is the server's base URL; ``api_key`` defaults to ``$BEVEL_API_KEY``, then to the
    key ``bevel login URL`` stored. ``timeout`` bounds each request. Safe to share between
    threads (one kept-alive connection per thread) and to use after a fork.
    """

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        name: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.name = name
        self._http = Transport(self.url, api_key=find_api_key(self.url, api_key), timeout=timeout)

    def __repr__(self) -> str:
        return f"RestMetadataStore({self.url!r})"

    @property
    def requests(self) -> int:
        """Requests sent so far (what the tests of "a step is a few requests" count)."""
        return self._http.requests

    def _call(self, method: str, path: str, what: str, **kw: Any) -> Any:
        return self._http.request(method, path, what=what, **kw)

    def _pages(self, path: str, what: str, params: dict[str, Any], limit: int, offset: int) -> Any:
        """Every item of a paged list from ``offset``: ``limit`` of them, or all when <= 0."""
        items: list[Any] = []
        while True:
            want = PAGE if limit <= 0 else min(PAGE, limit - len(items))
            page = self._call("GET", path, what, params={**params, "limit": want, "offset": offset})
            items.extend(page["items"])
            nxt = page.get("next_offset")
            if nxt is None or (limit > 0 and len(items) >= limit):
                return items
            offset = nxt

    def close(self) -> None:
        self._http.close()

    # --- runs -------------------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> RunRecord:
        self._call("POST", "/runs", f"recording run {run.name!r}", body=encode(run))
        return run

    def finish_run(
        self, run_id: str, status: RunStatus, *, ended: datetime, error: str | None = None
    ) -> None:
        body = {"status": RunStatus(status).value, "ended": encode(ended), "error": error}
        self._call("POST", f"/runs/{_seg(run_id)}/finish", f"finishing run {run_id}", body=body)

    def heartbeat(self, run_id: str, at: datetime) -> None:
        self._call(
            "POST", f"/runs/{_seg(run_id)}/heartbeat", f"heartbeat of run {run_id}",
            body={"at": encode(at)},
        )  # fmt: skip

    def get_run(self, id_or_name: str) -> RunRecord:
        data = self._call("GET", f"/runs/{_seg(id_or_name)}", f"looking up run {id_or_name!r}")
        return decode(RunRecord, data)  # type: ignore[no-any-return]

    def list_runs(self, flt: RunFilter = _ALL_RUNS) -> list[RunRecord]:
        params = {
            "pipeline": flt.pipeline,
            "status": None if flt.status is None else RunStatus(flt.status).value,
            "name": flt.name,
            "sort": flt.sort,
        }
        items = self._pages("/runs", "listing runs", params, flt.limit, max(flt.offset, 0))
        return decode_list(RunRecord, items)

    def delete_run(self, run_id: str, *, force: bool = False) -> list[str]:
        data = self._call(
            "DELETE", f"/runs/{_seg(run_id)}", f"deleting run {run_id}",
            params={"force": "true" if force else "false"},
        )  # fmt: skip
        return list(data["uris"])

    def references(self, prefix: str, uris: Sequence[str] | None = None) -> References:
        data = self._call(
            "POST", "/references", "listing what the records reference",
            body={"prefix": prefix, "uris": None if uris is None else list(uris)},
        )  # fmt: skip
        return References(uris=frozenset(data["uris"]), run_ids=frozenset(data["run_ids"]))

    def mark_stale_runs(
        self, older_than: datetime, *, run_ids: Sequence[str] | None = None, reason: str = ""
    ) -> list[str]:
        body = {
            "older_than": encode(older_than),
            "run_ids": None if run_ids is None else list(run_ids),
            "reason": reason,
        }
        return list(self._call("POST", "/runs/stale", "marking stale runs", body=body)["ids"])

    # --- steps ------------------------------------------------------------------------------

    def start_step_run(
        self, step_run: StepRunRecord, *, metadata: Sequence[MetadataEntry] = ()
    ) -> None:
        if metadata:  # the server's API takes them apart (two requests, as before)
            self.log_metadata(list(metadata))
        self._call(
            "POST", "/step-runs", f"recording the start of step {step_run.step_id!r}",
            body=encode(step_run),
        )  # fmt: skip

    def finish_step_run(self, completion: StepCompletion) -> list[ArtifactRecord]:
        step = completion.step_run
        data = self._call(
            "POST", f"/step-runs/{_seg(step.id)}/completion",
            f"recording the outcome of step {step.step_id!r}", body=encode(completion),
        )  # fmt: skip
        return decode_list(ArtifactRecord, data)

    def step_runs(self, run_id: str) -> list[StepRunRecord]:
        items = self._pages(
            f"/runs/{_seg(run_id)}/step-runs", f"listing the step runs of run {run_id}", {}, 0, 0
        )
        return decode_list(StepRunRecord, items)

    def get_step_run(self, step_run_id: str) -> StepRunRecord:
        data = self._call(
            "GET", f"/step-runs/{_seg(step_run_id)}", f"looking up step run {step_run_id!r}"
        )
        return decode(StepRunRecord, data)  # type: ignore[no-any-return]

    def find_cached(self, cache_key: str) -> CacheHit | None:
        data = self._call("GET", f"/cache/{_seg(cache_key)}", "looking up the cache")
        return None if data is None or data.get("hit") is None else decode(CacheHit, data["hit"])

    def previous_step_run(
        self, pipeline: str, step_id: str, before: datetime
    ) -> StepRunRecord | None:
        data = self._call(
            "GET", f"/pipelines/{_seg(pipeline)}/steps/{_seg(step_id)}/previous",
            f"looking up the previous run of step {step_id!r}",
            params={"before": encode(before)},
        )  # fmt: skip
        return (
            None
            if data is None or data.get("step_run") is None
            else (decode(StepRunRecord, data["step_run"]))
        )

    # --- artifacts & lineage ----------------------------------------------------------------

    def get_artifact(self, id_or_prefix: str) -> ArtifactRecord:
        data = self._call(
            "GET", f"/artifacts/{_seg(id_or_prefix)}", f"looking up artifact {id_or_prefix!r}"
        )
        return decode(ArtifactRecord, data)  # type: ignore[no-any-return]

    def list_artifacts(self, flt: ArtifactFilter = _ALL_ARTIFACTS) -> list[ArtifactRecord]:
        params = {"name": flt.name, "run_id": flt.run_id, "content_hash": flt.content_hash}
        items = self._pages(
            "/artifacts", "listing artifacts", params, flt.limit, max(flt.offset, 0)
        )
        return decode_list(ArtifactRecord, items)

    def lineage(
        self, *, step_run_id: str | None = None, artifact_id: str | None = None
    ) -> list[LineageEdge]:
        if step_run_id is None and artifact_id is None:
            raise ValueError("lineage() needs step_run_id or artifact_id")
        data = self._call(
            "GET", "/lineage", "reading lineage",
            params={"step_run_id": step_run_id, "artifact_id": artifact_id},
        )  # fmt: skip
        return decode_list(LineageEdge, data)

    def step_details(self, step_run_ids: Sequence[str]) -> StepDetails:
        data = self._call(
            "POST", "/step-runs/details", "reading step runs",
            body={"ids": list(dict.fromkeys(step_run_ids))},
        )  # fmt: skip
        return decode(StepDetails, data)  # type: ignore[no-any-return]

    def step_io(self, run_id: str) -> StepIO:
        data = self._call(
            "GET",
            f"/runs/{_seg(run_id)}/step-io",
            f"reading the inputs and outputs of run {run_id}",
        )
        return decode(_STEP_IO, data)  # type: ignore[no-any-return]

    # --- metrics, metadata, pipelines -------------------------------------------------------

    def log_metadata(self, entries: Sequence[MetadataEntry]) -> None:
        if entries:
            self._call(
                "POST", "/metadata", "logging metadata", body={"entries": encode(list(entries))}
            )

    def get_metadata(self, entity: str, entity_id: str) -> dict[str, Any]:
        data = self._call(
            "GET", f"/metadata/{_seg(entity)}/{_seg(entity_id)}",
            f"reading metadata of {entity} {entity_id}",
        )  # fmt: skip
        return dict(data)

    def metadata_of(self, entity: str, entity_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not entity_ids:
            return {}
        data = self._call(
            "POST", "/metadata/query", f"reading metadata of {len(entity_ids)} {entity}(s)",
            body={"entity": entity, "ids": list(dict.fromkeys(entity_ids))},
        )  # fmt: skip
        return dict(data)

    def metrics(self, run_id: str) -> list[MetricRecord]:
        items = self._pages(
            f"/runs/{_seg(run_id)}/metrics", f"reading metrics of run {run_id}", {}, 0, 0
        )
        return decode_list(MetricRecord, items)

    def latest_metrics(
        self, run_ids: Sequence[str], keys: Sequence[str] | None = None
    ) -> dict[str, dict[str, float]]:
        if not run_ids or (keys is not None and not keys):
            return {}
        data = self._call(
            "POST", "/metrics/latest", f"reading the metrics of {len(run_ids)} run(s)",
            body={"run_ids": list(dict.fromkeys(run_ids)), "keys": None if keys is None else list(keys)},
        )  # fmt: skip
        return decode(dict[str, dict[str, float]], data)  # type: ignore[no-any-return]

    def list_pipelines(self) -> list[PipelineRecord]:
        return decode_list(PipelineRecord, self._pages("/pipelines", "listing pipelines", {}, 0, 0))

    # --- stack definitions (DefinitionStore) --------------------------------------------------

    def create_component(
        self, component: ComponentRecord, *, replace: bool = False
    ) -> ComponentRecord:
        data = self._call(
            "POST", "/components", f"saving stack component {component.name!r}",
            params={"replace": _flag(replace)}, body=encode(component),
        )  # fmt: skip
        return decode(ComponentRecord, data)  # type: ignore[no-any-return]

    def get_component(self, name: str) -> ComponentRecord:
        data = self._call(
            "GET", f"/components/{_seg(name)}", f"looking up stack component {name!r}"
        )
        return decode(ComponentRecord, data)  # type: ignore[no-any-return]

    def list_components(self, type: str | None = None) -> list[ComponentRecord]:
        items = self._pages("/components", "listing stack components", {"type": type}, 0, 0)
        return decode_list(ComponentRecord, items)

    def update_component(
        self, name: str, config: dict[str, Any], *, updated: datetime
    ) -> ComponentRecord:
        data = self._call(
            "PUT", f"/components/{_seg(name)}/config", f"updating stack component {name!r}",
            body={"config": config, "updated": encode(updated)},
        )  # fmt: skip
        return decode(ComponentRecord, data)  # type: ignore[no-any-return]

    def delete_component(self, name: str) -> None:
        self._call("DELETE", f"/components/{_seg(name)}", f"deleting stack component {name!r}")

    def create_stack(
        self, stack: StackRecord, *, replace: bool = False, require: Sequence[str] = ()
    ) -> StackRecord:
        data = self._call(
            "POST", "/stacks", f"saving stack {stack.name!r}",
            params={"replace": _flag(replace)},
            body={"stack": encode(stack), "require": list(require)},
        )  # fmt: skip
        return decode(StackRecord, data)  # type: ignore[no-any-return]

    def get_stack(self, name: str) -> StackRecord:
        data = self._call("GET", f"/stacks/{_seg(name)}", f"looking up stack {name!r}")
        return decode(StackRecord, data)  # type: ignore[no-any-return]

    def list_stacks(self) -> list[StackRecord]:
        return decode_list(StackRecord, self._pages("/stacks", "listing stacks", {}, 0, 0))

    def delete_stack(self, name: str) -> None:
        self._call("DELETE", f"/stacks/{_seg(name)}", f"deleting stack {name!r}")

    def stacks_using(self, component: str) -> list[str]:
        data = self._call(
            "GET", f"/components/{_seg(component)}/stacks",
            f"looking up the stacks using {component!r}",
        )  # fmt: skip
        return [str(name) for name in data]

    def put_secret(self, secret: SecretRecord, *, replace: bool = False) -> None:
        self._call(
            "PUT", f"/secrets/{_seg(secret.name)}", f"saving secret {secret.name!r}",
            params={"replace": _flag(replace)}, body=encode(secret),
        )  # fmt: skip

    def get_secret(self, name: str) -> SecretRecord:
        data = self._call("GET", f"/secrets/{_seg(name)}", f"looking up secret {name!r}")
        return decode(SecretRecord, data)  # type: ignore[no-any-return]

    def list_secrets(self) -> list[SecretRecord]:
        return decode_list(SecretRecord, self._pages("/secrets", "listing secrets", {}, 0, 0))

    def delete_secret(self, name: str) -> None:
        self._call("DELETE", f"/secrets/{_seg(name)}", f"deleting secret {name!r}")


def _flag(value: bool) -> str:
    return "true" if value else "false"
