"""Read-only views over recorded runs, steps and artifacts (notebook, CLI and server use them).

A view is a frozen snapshot of records plus a reference to the :class:`~bevel.client.Client`
that made it (excluded from equality and repr). Navigation (``producer()``, ``consumers()``,
``load()``, ``logs()``...) is lazy and goes back through that client, so building a view never
walks the lineage graph. Views never look up a global stack.

Example::

    run = Client().last_run("training")
    run.steps["train"].output.load()      # the trained model
    run.metrics["accuracy"]
    run.steps["train"].explain()          # why it was (not) cached
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import field, fields
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass
from bevel._lazy import lazy_module
from bevel.client import format as fmt
from bevel.client.liveness import Liveness, assess
from bevel.client.metrics import MetricSeries
from bevel.errors import NotFound
from bevel.metadata.records import (
    ArtifactRecord,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)

if TYPE_CHECKING:
    from bevel.client import render, visualize
    from bevel.client.client import Client
    from bevel.client.visualize import ArtifactVisualization
else:  # HTML for notebooks and visualizations: loaded when one is shown, never by a listing
    render = lazy_module("bevel.client.render")
    visualize = lazy_module("bevel.client.visualize")


def from_fields(record: Any, view: type) -> dict[str, Any]:
    """The fields of ``record`` that ``view`` has too, by name: how every view is made from its
    record, so that a field added to both needs no copying code. Dicts are copied (a view never
    shares a mutable value with the record it came from)."""
    wanted = {f.name for f in fields(view)}
    return {
        f.name: dict(value) if isinstance(value := getattr(record, f.name), dict) else value
        for f in fields(record)
        if f.name in wanted
    }


@dataclass(frozen=True, repr=False)
class ArtifactView:
    """One versioned artifact: what it is, where its files are, and who made and used it."""

    id: str
    name: str
    version: int
    uri: str
    type_ref: str
    materializer: str
    materializer_version: str
    content_hash: str
    size: int
    metadata: dict[str, Any]
    visualizations: dict[str, str]
    created: datetime
    run_id: str | None
    producer_step_run_id: str | None
    output_name: str
    python_version: str | None
    _client: Client = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, record: ArtifactRecord, client: Client) -> ArtifactView:
        return cls(**from_fields(record, cls), _client=client)

    def load(self) -> Any:
        """Read the object back through its materializer (verifying the content hash)."""
        return self._client.load_artifact(self)

    def visualize(self) -> ArtifactVisualization:
        """Its visualizations (statistics, previews, plots...), rendered: in a notebook the
        result shows itself; ``.html()`` is one self-contained page, ``.save(path)`` writes it.
        See :mod:`bevel.client.visualize`."""
        return visualize.visualize(self)

    def path(self) -> str:
        """Where the files are: a local folder for a local store, else the store uri."""
        return self._client.artifact_location(self.uri)

    def producer(self) -> StepView | None:
        """The step run that wrote this artifact (``None`` when it was not made by a step)."""
        if self.producer_step_run_id is None:
            return None
        return self._client.step_views([self.producer_step_run_id])[0]

    def consumers(self) -> list[StepView]:
        """Step runs that took this artifact as an input, oldest first."""
        return self._client.consumers(self.id)

    def upstream(self) -> list[ArtifactView]:
        """The artifacts this one was computed from (the producer step's inputs)."""
        producer = self.producer()
        return list(producer.inputs.values()) if producer else []

    def downstream(self) -> list[ArtifactView]:
        """The artifacts computed from this one (outputs of the steps that consumed it)."""
        seen: dict[str, ArtifactView] = {}
        for step in self.consumers():
            for artifact in step.outputs.values():
                seen.setdefault(artifact.id, artifact)
        return list(seen.values())

    def __hash__(self) -> int:  # by identity of the record, so views can go in sets
        return hash((type(self).__name__, self.id))

    def __repr__(self) -> str:
        return (
            f"ArtifactView({self.name!r} v{self.version}, id={fmt.short_id(self.id)!r}, "
            f"type={fmt.type_name(self.type_ref)!r}, size={fmt.size(self.size)!r})"
        )

    def _repr_html_(self) -> str:
        return render.artifact_html(self)


@dataclass(frozen=True, repr=False)
class StepView:
    """One executed step invocation (``step_id`` is the invocation id, e.g. ``"train_2"``)."""

    id: str
    run_id: str
    pipeline: str
    step_id: str
    name: str
    status: StepStatus
    started: datetime
    ended: datetime | None
    cache_key: str | None
    cached_from: str | None
    attempts: int
    params: dict[str, Any]
    code_hash: str
    error: str | None
    traceback: str | None
    logs_uri: str | None
    cache_ingredients: dict[str, Any]
    inputs: dict[str, ArtifactView]
    outputs: dict[str, ArtifactView]
    metrics: dict[str, float]  # the last value of each key (see metric_series for all)
    metric_series: dict[str, MetricSeries]  # every point of each key, in logging order
    metadata: dict[str, Any]  # what the step logged with log_metadata()
    _client: Client = field(repr=False, compare=False)

    @classmethod
    def from_record(
        cls,
        record: StepRunRecord,
        *,
        pipeline: str,
        inputs: dict[str, ArtifactView],
        outputs: dict[str, ArtifactView],
        metric_series: dict[str, MetricSeries],
        metadata: dict[str, Any],
        client: Client,
    ) -> StepView:
        known = {
            "pipeline": pipeline,
            "name": record.step_name,
            "status": StepStatus(record.status),
            "inputs": inputs,
            "outputs": outputs,
            "metrics": {key: series.last for key, series in metric_series.items()},
            "metric_series": metric_series,
            "metadata": metadata,
        }
        return cls(**{**from_fields(record, cls), **known}, _client=client)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end; ``None`` while still running."""
        return fmt.seconds_between(self.started, self.ended)

    @property
    def output(self) -> ArtifactView:
        """The single output; an error naming the outputs when there are several or none.

        The elements of a list output that a step is mapped over (``output[0]``...) are
        artifacts too, in ``outputs``; they do not count here."""
        whole = [a for name, a in self.outputs.items() if not name.endswith("]")]
        if len(whole) == 1:
            return whole[0]
        if not self.outputs:
            raise NotFound(
                f"step {self.step_id!r} has no recorded outputs (status {self.status.value})",
                hint="a failed or skipped step saves nothing; see .error and .traceback",
            )
        names = ", ".join(sorted(self.outputs))
        raise NotFound(
            f"step {self.step_id!r} has {len(self.outputs)} outputs: {names}",
            hint=f"pick one by name: .outputs[{sorted(self.outputs)[0]!r}]",
        )

    def logs(self) -> str:
        """Captured stdout, stderr and logging of the step (``""`` when nothing was captured).

        A cached step ran nothing: its logs are those of the step run that produced its outputs
        (:meth:`cached_source`; ``""`` when that run was deleted since: ``cached_from`` is set
        and ``cached_source()`` is None). While the step runs this is what it wrote so far (on
        a local artifact store; object stores receive the log when the step ends)."""
        source = self.cached_source()
        return self._client.read_logs(source or self)

    def follow_logs(self, poll: float = 0.5) -> Iterator[str]:
        """Yield the step's output as it is written, until the step run ends (``bevel logs
        -f``) or its run's driver is known to be dead (a killed ``bevel run`` never ends it);
        checks every ``poll`` seconds. For a step that already ended, its whole log."""
        source = self.cached_source()
        if source is not None:
            yield self._client.read_logs(source)
            return
        yield from self._client.follow_logs(self, poll)

    def cached_source(self) -> StepView | None:
        """The step run whose outputs this cached step reused (``None`` when not cached)."""
        if self.status is not StepStatus.CACHED or not self.cached_from:
            return None
        found = self._client.step_views([self.cached_from])
        return found[0] if found else None

    def explain(self) -> list[str]:
        """Why this step was (or was not) taken from the cache, one reason per line."""
        return self._client.explain(self)

    def run(self) -> RunView:
        """The run this step belongs to."""
        return self._client.get_run(self.run_id)

    def __hash__(self) -> int:  # by identity of the record, so views can go in sets
        return hash((type(self).__name__, self.id))

    def __repr__(self) -> str:
        return (
            f"StepView({self.step_id!r}, status={self.status.value!r}, "
            f"duration={fmt.duration(self.duration)!r}, outputs={sorted(self.outputs)!r})"
        )

    def _repr_html_(self) -> str:
        return render.step_html(self)


@dataclass(frozen=True)
class StepCounts:
    """How many step runs of a run ended in each state."""

    total: int = 0
    completed: int = 0
    cached: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    running: int = 0


@dataclass(frozen=True)
class _RunDetails:
    steps: dict[str, StepView]
    metric_series: dict[str, MetricSeries]


@dataclass(frozen=True, repr=False)
class RunView:
    """One pipeline run.

    The summary fields come from a single row, so listing runs is one query. ``steps``,
    ``metrics``, ``metric_series`` and ``counts`` are loaded together on first access (four more
    queries, however many steps) and then kept; ``metadata`` is one more query, on first access.
    A view is a snapshot: :meth:`refresh` takes a new one.
    """

    id: str
    name: str
    pipeline: str
    status: RunStatus
    created: datetime
    ended: datetime | None
    params: dict[str, Any]
    config: dict[str, Any]
    error: str | None
    stack: str
    code_fingerprint: str
    host: str
    heartbeat: datetime | None
    plan: dict[str, Any] = field(repr=False, compare=False)
    _client: Client = field(repr=False, compare=False)

    @classmethod
    def from_record(cls, record: RunRecord, client: Client) -> RunView:
        status = RunStatus(record.status)
        return cls(**{**from_fields(record, cls), "status": status}, _client=client)

    @property
    def duration(self) -> float | None:
        """Seconds from creation to end; ``None`` while still running."""
        return fmt.seconds_between(self.created, self.ended)

    @property
    def liveness(self) -> Liveness | None:
        """What is known, now, about the process driving a RUNNING run (``None`` otherwise):
        ``.dead`` when it is gone (``bevel runs reap`` then records the run as failed),
        ``.describe()`` for display ("running, no heartbeat for 6 min")."""
        return assess(self)

    @property
    def status_text(self) -> str:
        """The status as listings show it: ``running`` says what is known about its driver."""
        verdict = self.liveness
        return verdict.describe() if verdict is not None else self.status.value

    @cached_property
    def _details(self) -> _RunDetails:
        steps, series = self._client.run_details(self.id, self.pipeline)
        return _RunDetails(steps=steps, metric_series=series)

    @property
    def steps(self) -> dict[str, StepView]:
        """Step runs keyed by invocation id (``"train"``, ``"train_2"``), in execution order."""
        return self._details.steps

    @property
    def metrics(self) -> dict[str, float]:
        """The last logged value of every metric key, across all steps."""
        return {key: series.last for key, series in self._details.metric_series.items()}

    @property
    def metric_series(self) -> dict[str, MetricSeries]:
        """Every logged point of every metric key, across all steps, in logging order."""
        return self._details.metric_series

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """What the steps logged for the whole run (``log_metadata(..., run=True)``)."""
        return self._client.metadata("run", self.id)

    @property
    def counts(self) -> StepCounts:
        tally = Counter(step.status.value for step in self.steps.values())
        return StepCounts(total=len(self.steps), **tally)

    @property
    def planned_steps(self) -> int:
        """How many steps the compiled plan had (more than ``len(steps)`` if the run stopped early)."""
        return len(self.plan.get("steps", ()))

    def step(self, id_or_name: str) -> StepView:
        """A step by invocation id (``"train_2"``) or by function name when that is unambiguous."""
        if id_or_name in self.steps:
            return self.steps[id_or_name]
        matches = [s for s in self.steps.values() if s.name == id_or_name]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(self.steps) or "none"
        if matches:
            ids = ", ".join(s.step_id for s in matches)
            raise NotFound(
                f"step {id_or_name!r} ran {len(matches)} times in run {self.name!r}: {ids}",
                hint="name the invocation id instead",
            )
        raise NotFound(f"run {self.name!r} has no step {id_or_name!r}", hint=f"steps: {known}")

    def refresh(self) -> RunView:
        """A fresh snapshot of this run (views are immutable; this one is left unchanged)."""
        return self._client.get_run(self.id)

    def __hash__(self) -> int:  # by identity of the record, so views can go in sets
        return hash((type(self).__name__, self.id))

    def __repr__(self) -> str:
        return (
            f"RunView({self.name!r}, pipeline={self.pipeline!r}, status={self.status.value!r}, "
            f"duration={fmt.duration(self.duration)!r}, id={fmt.short_id(self.id)!r})"
        )

    def _repr_html_(self) -> str:
        return render.run_html(self)


@dataclass(frozen=True, repr=False)
class PipelineView:
    """A pipeline that has been run at least once."""

    name: str
    created: datetime
    last_run: datetime | None
    runs: int
    source: str
    _client: Client = field(repr=False, compare=False)

    def list_runs(self, limit: int = 50) -> list[RunView]:
        return self._client.runs(pipeline=self.name, limit=limit)

    def __repr__(self) -> str:
        return f"PipelineView({self.name!r}, runs={self.runs}, last_run={fmt.timestamp(self.last_run)!r})"

    def _repr_html_(self) -> str:
        return render.pipelines_html([self])
