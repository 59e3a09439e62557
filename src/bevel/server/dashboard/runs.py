"""``/runs``: the runs list. Filters, sort and page are in the URL and in SQL (one query for
the page, one for its step counts: never a request per row); rows of running runs update in
place from ``/live/runs`` (statuses and start/end times: the page ticks durations itself, so
the answer, and its ETag, change only when a run does) (``static/js/live.js``) without a reload, keeping filters and the
selection; selected rows open the comparison."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from bevel.errors import ConfigError, NotFound
from bevel.metadata.base import RUN_SORTS, RunFilter, check_run_sort
from bevel.metadata.records import RunStatus
from bevel.server.auth.keys import VIEWER
from bevel.server.dashboard.render import html, json_etag
from bevel.server.dashboard.views import driver_gone, now_utc, run_counts_line, run_seconds
from bevel.server.routes import route, state_of

router = APIRouter(tags=["dashboard"], include_in_schema=False)
PAGE_SIZES = (25, 50, 100, 200)
MAX_LIVE = 200


@route(router, "GET", "/", role=VIEWER)
def home() -> Response:
    return RedirectResponse("/runs", status_code=303)


@route(router, "GET", "/runs", role=VIEWER)
def runs_page(
    request: Request,
    pipeline: str = Query("", max_length=255),
    status: str = Query("", max_length=20),
    q: str = Query("", max_length=255),
    sort: str = Query("-created", max_length=40),
    page: int = Query(1, ge=1, le=10**6),
    per: int = Query(50, ge=1, le=200),
) -> Response:
    check_run_sort(sort)
    if status and status not in {s.value for s in RunStatus}:
        raise ConfigError(
            f"unknown run status {status!r}",
            hint=f"one of {', '.join(s.value for s in RunStatus)}",
        )
    store = state_of(request).store
    flt = RunFilter(
        pipeline=pipeline or None, status=RunStatus(status) if status else None, name=q or None,
        limit=per + 1, offset=(page - 1) * per, sort=sort,
    )  # fmt: skip
    found = store.list_runs(flt)
    more, runs = len(found) > per, found[:per]
    counts = store.step_status_counts([r.id for r in runs])
    now = now_utc()
    rows = [
        {"run": r, "seconds": run_seconds(r, now), "counts": run_counts_line(counts[r.id]),
         "steps": sum(counts[r.id].values()), "gone": driver_gone(r)}
        for r in runs
    ]  # fmt: skip
    query: dict[str, Any] = {"pipeline": pipeline, "status": status, "q": q,
                             "sort": "" if sort == "-created" else sort,
                             "per": "" if per == 50 else per}  # fmt: skip
    return html(
        request, "runs.html", fragment="_runs_table.html", rows=rows, query=query,
        sort=sort, page=page, per=per, more=more, first=(page - 1) * per + 1,
        pipelines=[p.name for p in store.list_pipelines()], statuses=[s.value for s in RunStatus],
        sorts=RUN_SORTS, page_sizes=PAGE_SIZES, filtered=bool(pipeline or status or q),
    )  # fmt: skip


@route(router, "GET", "/live/runs", role=VIEWER)
def live_runs(request: Request, ids: str = Query("", max_length=MAX_LIVE * 33)) -> Response:
    """Status, duration and step counts of the runs named (comma-separated ids): what the
    runs list polls for its running rows (ETag: 304 while nothing changed)."""
    wanted = [i for i in ids.split(",") if i][:MAX_LIVE]
    store = state_of(request).store
    counts = store.step_status_counts(wanted)
    out: dict[str, Any] = {}
    for run_id in wanted:
        try:
            run = store.get_run(run_id)
        except NotFound:  # deleted since the page was drawn: left out of the answer
            continue
        out[run_id] = {
            "status": run.status.value,
            "started": run.created.timestamp(),
            "ended": None if run.ended is None else run.ended.timestamp(),
            "counts": run_counts_line(counts.get(run_id, {})),
        }
    return json_etag(request, out)
