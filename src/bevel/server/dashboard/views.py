"""What the pages show, shaped from store records: pure functions, no I/O (tested directly).

The run page's graph is built from the run's plan (every step, started or not) and its step
runs (status, times, where a cached step's outputs came from). A mapped step's instances
(``evaluate[0]``, ``evaluate[1]``...) are one node with a count per status (Prefect #16081):
a fan-out of 500 does not draw 500 boxes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import field
from datetime import UTC, datetime
from typing import Any

from bevel._dataclass import dataclass
from bevel.client.liveness import assess
from bevel.dag.plan import split_instance
from bevel.metadata.records import RunRecord, RunStatus, StepRunRecord, StepStatus

#: A group's status: the first of these any instance has ("failed" wins over "running"...).
_GROUP_ORDER = ("failed", "running", "cancelled", "skipped", "pending", "completed", "cached")
#: Above this many nodes the page opens on the step table; the graph is drawn on request.
DRAW_LIMIT = 1500


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def run_seconds(run: RunRecord, now: datetime) -> float | None:
    end = run.ended if run.ended is not None else (now if run.status is RunStatus.RUNNING else None)
    return seconds_between(run.created, end)


def step_seconds(step: StepRunRecord, now: datetime) -> float | None:
    if step.status is StepStatus.CACHED:
        return None
    end = (
        step.ended
        if step.ended is not None
        else (now if step.status is StepStatus.RUNNING else None)
    )
    return seconds_between(step.started, end)


def driver_gone(run: RunRecord) -> str | None:
    """What the CLI's listings say of a RUNNING run whose process is gone ("running, but its
    process is gone (pid 123 on this host no longer exists)"), else None. Judged from the record
    alone: the dashboard, a reader, never reaps (``bevel runs reap`` or a server's timer does)."""
    verdict = assess(run)
    return verdict.describe() if verdict is not None and verdict.dead else None


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Producer:
    """The step run (and its run) whose outputs a cached step reused."""

    step_run_id: str
    step_id: str
    run_id: str
    run_name: str | None  # None: the run was deleted since


@dataclass
class Node:
    id: str  # the plan's step id (a mapped step: its base id)
    label: str
    status: str
    seconds: float | None = None
    step_run: StepRunRecord | None = None  # a plain step's record
    instances: list[StepRunRecord] = field(default_factory=list)  # a mapped step's
    producer: Producer | None = None
    upstream: list[str] = field(default_factory=list)

    @property
    def mapped(self) -> bool:
        return bool(self.instances)

    def counts(self) -> dict[str, int]:
        return dict(Counter(str(s.status) for s in self.instances))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "label": self.label, "status": self.status,
                               "seconds": self.seconds}  # fmt: skip
        if self.mapped:
            out["counts"] = self.counts()
            out["total"] = len(self.instances)
        if self.producer is not None:
            out["cached_from"] = self.producer.run_name or "a deleted run"
        return out


@dataclass
class RunGraph:
    nodes: list[Node]
    edges: list[tuple[str, str]]

    def node(self, step_id: str) -> Node | None:
        base, _ = split_instance(step_id)
        return next((n for n in self.nodes if n.id in (step_id, base)), None)

    def counts(self) -> dict[str, int]:
        """Step runs (and planned steps not started) by status, mapped instances counted."""
        found: Counter[str] = Counter()
        for n in self.nodes:
            if n.mapped:
                found.update(n.counts())
            else:
                found[n.status] += 1
        return dict(found)

    def focus(self) -> str | None:
        """The step a page opens on: the first failed one."""
        for n in self.nodes:
            if n.status == "failed":
                if n.mapped:
                    return next(s.step_id for s in n.instances if s.status is StepStatus.FAILED)
                return n.id
        return None

    def to_json(self) -> dict[str, Any]:
        return {"nodes": [n.to_json() for n in self.nodes],
                "edges": [list(e) for e in self.edges]}  # fmt: skip


def latest_by_step(step_runs: list[StepRunRecord]) -> dict[str, StepRunRecord]:
    """Step id -> its latest step run (a resumed run may have recorded a step twice)."""
    latest: dict[str, StepRunRecord] = {}
    for s in sorted(step_runs, key=lambda s: (s.started, s.id)):
        latest[s.step_id] = s
    return latest


def build_graph(
    run: RunRecord,
    step_runs: list[StepRunRecord],
    producers: dict[str, Producer],
    now: datetime,
) -> RunGraph:
    """The run's steps as nodes in plan order, edges from each step's upstream steps;
    ``producers``: cached step run id -> where its outputs came from."""
    latest = latest_by_step(step_runs)
    specs = [s for s in run.plan.get("steps", ()) if isinstance(s, dict) and "id" in s]
    nodes: list[Node] = []
    edges: list[tuple[str, str]] = []
    seen: set[str] = set()
    instances: dict[str, list[StepRunRecord]] = {}
    for s in latest.values():
        base, index = split_instance(s.step_id)
        if index is not None:
            instances.setdefault(base, []).append(s)
    for spec in specs:
        sid = str(spec["id"])
        up = _upstream(spec)
        node = _node(sid, str(spec.get("name", sid)), latest.get(sid), instances.get(sid),
                     producers, now)  # fmt: skip
        node.upstream = up
        nodes.append(node)
        seen.add(sid)
        edges.extend((u, sid) for u in up)
    # step runs the plan does not name (a plan-less record, a sweep's trials): nodes too
    for sid, s in latest.items():
        base, index = split_instance(sid)
        key = base if index is not None else sid
        if key in seen:
            continue
        seen.add(key)
        nodes.append(_node(key, s.step_name, None if index is not None else s,
                           instances.get(key), producers, now))  # fmt: skip
    known = {n.id for n in nodes}
    return RunGraph(nodes, [(a, b) for a, b in edges if a in known and b in known])


def _upstream(spec: dict[str, Any]) -> list[str]:
    seen: dict[str, None] = {}
    for group in ("inputs", "map_over", "gather"):
        for ref in (spec.get(group) or {}).values():
            if isinstance(ref, dict) and "step" in ref:
                seen[str(ref["step"])] = None
    for sid in spec.get("after") or ():
        seen[str(sid)] = None
    return list(seen)


def _node(
    sid: str,
    label: str,
    record: StepRunRecord | None,
    mapped: list[StepRunRecord] | None,
    producers: dict[str, Producer],
    now: datetime,
) -> Node:
    if mapped:
        mapped = sorted(mapped, key=lambda s: split_instance(s.step_id)[1] or 0)
        present = {str(s.status) for s in mapped}
        status = next((st for st in _GROUP_ORDER if st in present), "pending")
        starts = [s.started for s in mapped]
        ends = [s.ended or now for s in mapped if s.status is not StepStatus.CACHED]
        seconds = seconds_between(min(starts), max(ends)) if ends else None
        return Node(sid, label, status, seconds, instances=mapped)
    if record is None:
        return Node(sid, label, "pending")
    return Node(sid, label, str(record.status), step_seconds(record, now), step_run=record,
                producer=producers.get(record.id))  # fmt: skip


def run_counts_line(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Counts in a fixed order for display: ``[("completed", 8), ("cached", 3)...]``."""
    order = ("completed", "cached", "running", "pending", "failed", "skipped", "cancelled")
    return [(k, counts[k]) for k in order if counts.get(k)]


def diff_keys(rows: dict[str, list[Any]]) -> set[str]:
    """Keys whose values are not all equal across the columns (compare's diff-only)."""
    return {k for k, values in rows.items() if len({repr(v) for v in values}) > 1}
