"""The dashboard workload of ``benchmarks/run.py``: the runs page with 10,000 recorded runs.

runs page  first contentful paint of /runs in headless Chromium (Debian's /usr/bin/chromium,
           Playwright with executable_path), a bevel server (``bevel server start``, auth on,
           a viewer's session cookie) over a store holding 10,000 completed runs, the newest
           200 with 10 step runs each; median of --repeat page loads in fresh browser contexts
           vs the same page over a store of 50 runs (target: <= 1 s)
           Also printed: the server's RSS before and after, and the time to first byte.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]  # fmt: skip
PAINT = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {fcp: fcp ? fcp.startTime : null, ttfb: nav.responseStart, load: nav.loadEventEnd,
          rows: document.querySelectorAll("table.runs tbody tr").length};
}"""


def record(db_url: str, count: int, with_steps: int = 200) -> None:
    """``count`` completed runs with a 10-step plan; the newest ``with_steps`` have their 10
    step runs too (the page counts their statuses)."""
    from bevel.metadata.records import RunStatus, StepCompletion
    from bevel.metadata.sql.store import SqlMetadataStore
    from bevel.testing.records import done, make_run, make_step

    store = SqlMetadataStore(db_url)
    steps = [{"id": f"s{i}", "name": f"s{i}", "inputs": {} if i == 0 else
              {"x": {"step": f"s{i - 1}", "output": "output"}}, "after": []} for i in range(10)]  # fmt: skip
    t0 = datetime.now(UTC) - timedelta(seconds=count)
    for i in range(count):
        run = replace(make_run("bench"), name=f"bench-{i:05d}", plan={"steps": steps},
                      created=t0 + timedelta(seconds=i))  # fmt: skip
        store.create_run(run)
        if i >= count - with_steps:
            for k in range(10):
                step = make_step(run, f"s{k}", at=k)
                store.start_step_run(step)
                store.finish_step_run(StepCompletion(step_run=done(step)))
        store.finish_run(run.id, RunStatus.COMPLETED, ended=run.created + timedelta(seconds=12))
    store.close()


def first_paint(browser: Any, url: str, cookie: dict[str, Any], repeat: int) -> dict[str, float]:
    """Median first contentful paint, time to first byte and load (ms) of ``url``."""
    seen: list[dict[str, Any]] = []
    for _ in range(repeat + 1):  # the first load warms the server's caches; not counted
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([cookie])
        page = context.new_page()
        page.goto(url, wait_until="load")
        deadline = time.monotonic() + 10
        result = page.evaluate(PAINT)
        while result["fcp"] is None and time.monotonic() < deadline:
            time.sleep(0.02)
            result = page.evaluate(PAINT)
        seen.append(result)
        context.close()
    counted = seen[1:]
    assert all(r["rows"] == 50 for r in counted), counted
    return {k: statistics.median(r[k] for r in counted) for k in ("fcp", "ttfb", "load")}


def runs_page(bench: Any, rss: Any) -> None:
    from playwright.sync_api import sync_playwright

    from bevel.server.auth.guard import COOKIE
    from bevel.testing.servers import bevel_server

    with bevel_server() as small, bevel_server() as big, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            record(small.db_url, 50, with_steps=50)
            idle = rss(big.process.pid)
            started = time.perf_counter()
            record(big.db_url, 10_000)
            filled = time.perf_counter() - started
            results = {}
            for name, srv in (("small", small), ("big", big)):
                cookie = {"name": COOKIE, "value": srv.new_key("viewer"), "url": srv.url,
                          "httpOnly": True, "sameSite": "Strict"}  # fmt: skip
                results[name] = first_paint(browser, f"{srv.url}/runs", cookie, bench.repeat)
            loaded = rss(big.process.pid)
        finally:
            browser.close()
    big_r, small_r = results["big"], results["small"]
    bench.add("runs page first paint, 10,000 runs", big_r["fcp"] / 1000, small_r["fcp"] / 1000,
              "the same page over 50 runs", "<= 1 s")  # fmt: skip
    bench.extra.append(
        f"runs page, 10,000 runs: first byte {big_r['ttfb']:.0f} ms, first contentful paint "
        f"{big_r['fcp']:.0f} ms, load {big_r['load']:.0f} ms (50 runs: {small_r['ttfb']:.0f} / "
        f"{small_r['fcp']:.0f} / {small_r['load']:.0f} ms); server RSS {idle:.0f} MiB empty, "
        f"{loaded:.0f} MiB with 10,000 runs after serving the page; recording them took "
        f"{filled:.0f} s"
    )
