"""``/runs/{ref}``: one run. Its header (status, counts, duration, stack, code, params), the
DAG (``static/js/dag.js`` lays the plan out with dagre once and then only recolours nodes from
``/live/runs/{id}``), a table of its steps, and a step's panel (``/runs/{ref}/steps/{step}``,
its own URL: parameters, inputs and outputs, metadata, metrics, the error with its hint and
traceback, why it was or was not cached, and its log, followed while it runs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from bevel._dataclass import dataclass
from bevel.dag.plan import split_instance
from bevel.errors import NotFound
from bevel.metadata.records import RunRecord, StepRunRecord, StepStatus, is_final
from bevel.metadata.sql.store import SqlMetadataStore
from bevel.server.auth.keys import VIEWER
from bevel.server.dashboard.render import html, json_etag
from bevel.server.dashboard.views import (
    DRAW_LIMIT,
    Producer,
    RunGraph,
    build_graph,
    driver_gone,
    latest_by_step,
    now_utc,
    run_counts_line,
    run_seconds,
    step_seconds,
)
from bevel.server.routes import route, state_of

router = APIRouter(tags=["dashboard"], include_in_schema=False)
LOG_CHUNK = 256 * 1024  # a poll returns at most this much of a log
LOG_TAIL = 64 * 1024  # the panel opens on the last 64 KB
MAX_LOG_DOWNLOAD = 64 * 1024 * 1024


@dataclass
class RunData:
    run: RunRecord
    step_runs: list[StepRunRecord]
    graph: RunGraph


def load_run(store: SqlMetadataStore, ref: str) -> RunData:
    """The run, its step runs and graph: three queries plus one per run a cached step reused."""
    run = store.get_run(ref)
    step_runs = store.step_runs(run.id)
    return RunData(run, step_runs, build_graph(run, step_runs, producers(store, step_runs),
                                                now_utc()))  # fmt: skip


def producers(store: SqlMetadataStore, step_runs: list[StepRunRecord]) -> dict[str, Producer]:
    """Cached step run id -> the step run (and run) that produced the outputs it reused."""
    wanted = {s.id: s.cached_from for s in step_runs if s.cached_from}
    if not wanted:
        return {}
    sources = {s.id: s for s in store.step_details(sorted(set(wanted.values()))).step_runs}
    names: dict[str, str | None] = {}
    for source in sources.values():
        if source.run_id not in names:
            try:
                names[source.run_id] = store.get_run(source.run_id).name
            except NotFound:
                names[source.run_id] = None
    found = {}
    for cached, source_id in wanted.items():
        if source_id is None or source_id not in sources:
            continue
        src = sources[source_id]
        found[cached] = Producer(src.id, src.step_id, src.run_id, names[src.run_id])
    return found


@route(router, "GET", "/runs/{ref}", role=VIEWER)
def run_page(request: Request, ref: str) -> Response:
    data = load_run(state_of(request).store, ref)
    return _page(request, data, data.graph.focus())


@route(router, "GET", "/runs/{ref}/steps/{step_id}", role=VIEWER)
def step_page(request: Request, ref: str, step_id: str) -> Response:
    """The run page with the step's panel open; from htmx, the panel only."""
    data = load_run(state_of(request).store, ref)
    headers = request.headers
    if headers.get("hx-target") == "step-panel" and not headers.get("hx-history-restore-request"):
        return html(request, "_step.html", p=step_context(request, data, step_id))
    return _page(request, data, step_id)


def _page(request: Request, data: RunData, step_id: str | None) -> Response:
    run = data.run
    panel = step_context(request, data, step_id) if step_id else None
    graph = data.graph
    return html(
        request, "run.html", run=run, seconds=run_seconds(run, now_utc()), gone=driver_gone(run),
        counts=run_counts_line(graph.counts()), graph=graph, graph_json=graph.to_json(),
        draw=len(graph.nodes) <= DRAW_LIMIT, draw_limit=DRAW_LIMIT, panel=panel,
        selected=step_id, live=not is_final(run.status), now=now_utc(),
    )  # fmt: skip


def step_context(request: Request, data: RunData, step_id: str) -> dict[str, Any]:
    """What the step panel shows for ``step_id`` (a step, a mapped instance, or a mapped
    step's group: then its instances)."""
    store = state_of(request).store
    run = data.run
    node = data.graph.node(step_id)
    record = latest_by_step(data.step_runs).get(step_id)
    if node is None:
        steps = ", ".join(n.id for n in data.graph.nodes) or "none"
        raise NotFound(f"run {run.name!r} has no step {step_id!r}", hint=f"its steps: {steps}")
    spec = next((s for s in run.plan.get("steps", ()) if s.get("id") == node.id), None)
    ctx: dict[str, Any] = {"run": run, "step_id": step_id, "node": node, "record": record,
                           "spec": spec, "now": now_utc()}  # fmt: skip
    if record is None:
        ctx["group"] = node.instances if node.mapped and split_instance(step_id)[1] is None else []
        return {**ctx, "io": {}, "metadata": {}, "metrics": {}, "seconds": None, "producer": None,
                "previous": None, "changed": [], "error": None, "hint": None}  # fmt: skip
    io = store.step_io(run.id).get(record.id, {})
    metrics: dict[str, float] = {}
    for m in store.metrics(run.id):
        if m.step_run_id == record.id:
            metrics[m.key] = m.value
    producer = producers(store, [record]).get(record.id) if node.mapped else node.producer
    previous, changed = None, []
    if record.status in (StepStatus.COMPLETED, StepStatus.FAILED) and record.cache_key:
        previous = store.previous_step_run(run.pipeline, record.step_id, record.started)
        if previous is not None:
            changed = _changed(previous.cache_ingredients, record.cache_ingredients)
    error, hint = _split_hint(record.error)
    return {**ctx, "group": [], "io": io, "metadata": store.get_metadata("step_run", record.id),
            "metrics": metrics, "seconds": step_seconds(record, now_utc()), "producer": producer,
            "previous": previous, "changed": changed, "error": error, "hint": hint,
            "running": record.status is StepStatus.RUNNING}  # fmt: skip


def _changed(before: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, str]]:
    """Cache-key ingredients that differ from the previous run of the step: (name, how)."""
    out = []
    for key in sorted(set(before) | set(now)):
        if key not in before:
            out.append((key, "new"))
        elif key not in now:
            out.append((key, "gone"))
        elif before[key] != now[key]:
            out.append((key, "changed"))
    return out


def _split_hint(error: str | None) -> tuple[str | None, str | None]:
    """``"message\\n  hint: do X"`` (a bevel error's text) -> ``("message", "do X")``."""
    if not error:
        return error, None
    head, sep, hint = error.partition("\n  hint: ")
    return (head, hint.strip()) if sep else (error, None)


@route(router, "GET", "/live/runs/{run_id}", role=VIEWER)
def live_run(request: Request, run_id: str) -> Response:
    """The run's status and every node's status and time, for the run page's poll (ETag: 304
    while nothing changed; running steps carry their start so the page ticks them)."""
    data = load_run(state_of(request).store, run_id)
    run = data.run
    nodes = {}
    for n in data.graph.nodes:
        entry = n.to_json()
        entry.pop("label")
        if n.step_run is not None and n.status == "running":
            entry["seconds"] = None
            entry["started"] = n.step_run.started.timestamp()
        elif entry["seconds"] is not None:
            entry["seconds"] = round(entry["seconds"], 2)
        nodes[n.id] = entry
    if any(n.mapped and n.status == "running" for n in data.graph.nodes):
        for n in data.graph.nodes:
            if n.mapped:
                nodes[n.id]["seconds"] = None
    return json_etag(request, {
        "status": run.status.value, "started": run.created.timestamp(),
        "ended": None if run.ended is None else run.ended.timestamp(),
        "counts": run_counts_line(data.graph.counts()), "nodes": nodes,
    })  # fmt: skip


def _log_source(request: Request, run_id: str, step_id: str) -> StepRunRecord:
    """The step run whose log to show: a cached step's is the producing step run's."""
    store = state_of(request).store
    run = store.get_run(run_id)
    record = latest_by_step(store.step_runs(run.id)).get(step_id)
    if record is None:
        raise NotFound(f"step {step_id!r} of run {run.name!r} has not started")
    if record.status is StepStatus.CACHED and record.cached_from:
        try:
            return store.get_step_run(record.cached_from)
        except NotFound:
            return record
    return record


@route(router, "GET", "/runs/{run_id}/steps/{step_id}/log", role=VIEWER)
def step_log(
    request: Request, run_id: str, step_id: str,
    offset: int = Query(-LOG_TAIL, ge=-LOG_CHUNK, le=2**53),
) -> Response:  # fmt: skip
    """A piece of the step's log from ``offset`` (negative: the tail), its new offset, and
    whether more may come (the step is still running)."""
    record = _log_source(request, run_id, step_id)
    running = record.status is StepStatus.RUNNING
    if not record.logs_uri:
        return json_etag(request, {"text": "", "start": 0, "offset": 0, "size": 0,
                                   "running": running})  # fmt: skip
    data, start, size = state_of(request).artifacts.read_log(record.logs_uri, offset, LOG_CHUNK)
    # never split a UTF-8 character: hold back an incomplete tail for the next poll
    text, used = _decode(data)
    return json_etag(request, {"text": text, "start": start, "offset": start + used,
                               "size": size, "running": running})  # fmt: skip


@route(router, "GET", "/runs/{run_id}/steps/{step_id}/log.txt", role=VIEWER)
def step_log_download(request: Request, run_id: str, step_id: str) -> Response:
    record = _log_source(request, run_id, step_id)
    data = b""
    if record.logs_uri:
        data, _, _ = state_of(request).artifacts.read_log(record.logs_uri, 0, MAX_LOG_DOWNLOAD)
    name = f"{record.step_id}-{record.id[:8]}.log".replace("/", "_")
    return Response(data, media_type="text/plain; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _decode(data: bytes) -> tuple[str, int]:
    for cut in range(0, 4):
        end = len(data) - cut
        try:
            return data[:end].decode("utf-8"), end
        except UnicodeDecodeError as err:
            if err.start < end - 3:  # a bad byte inside, not a cut character: replace it
                return data.decode("utf-8", errors="replace"), len(data)
    return data.decode("utf-8", errors="replace"), len(data)
