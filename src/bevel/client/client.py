"""The Client: read-only queries over recorded runs, with filters pushed into the metadata store.

Reads never write: listing works with read-only database credentials, and a run whose process
died is shown as what is known about it (``run.liveness``) until a writer reaps it (a run that
starts, :meth:`Client.reap`, ``bevel runs reap``). The explicit writes are :meth:`Client.reap`
and :meth:`Client.delete_run`.

The stack is built at the edge: ``Client()`` builds the active stack once (``$BEVEL_STACK``, else
the one chosen with ``bevel stack set``, else ``default``), ``Client(stack="team")`` a named one,
or it takes one you built. Nothing here looks up a global. Listing is one query; a run's steps, lineage and
metrics are three more, however many steps it has (no N+1).

Example::

    from bevel import Client

    with Client() as client:
        for run in client.runs(pipeline="training", status="failed", limit=10):
            print(run.name, run.error)
        model = client.last_run("training").steps["train"].output.load()
"""

from __future__ import annotations

import codecs
import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bevel._lazy import lazy_module
from bevel.artifacts._paths import artifact_path
from bevel.artifacts.base import ArtifactStore
from bevel.client import format as fmt
from bevel.client.lists import ArtifactList, PipelineList, RunList
from bevel.client.liveness import Reaped, assess, reap_dead_runs
from bevel.client.metrics import MetricSeries, series_of
from bevel.client.views import ArtifactView, PipelineView, RunView, StepView, from_fields
from bevel.errors import ArtifactMissing, ConfigError, NotFound
from bevel.metadata.base import ArtifactFilter, MetadataStore, RunFilter, StepDetails
from bevel.metadata.records import (
    ArtifactRecord,
    MetricRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)
from bevel.stack.build import build_stack
from bevel.stack.stack import Stack

_LIVENESS_CHECK_S = 5.0  # how often a log follower checks that the run's driver still lives

if TYPE_CHECKING:
    import pandas as pd

    from bevel.artifacts import gc, publish
    from bevel.cache import key as cache_key
    from bevel.client import cleanup
    from bevel.client.cleanup import Collected, Deleted
    from bevel.client.compare_report import ComparisonReport
    from bevel.models import control
    from bevel.models.control import Models
else:  # what listing and showing runs never needs loads on first use (``bevel runs list``)
    cleanup = lazy_module("bevel.client.cleanup")
    gc = lazy_module("bevel.artifacts.gc")
    cache_key = lazy_module("bevel.cache.key")
    control = lazy_module("bevel.models.control")
    publish = lazy_module("bevel.artifacts.publish")


def _parse_status(status: RunStatus | str | None) -> RunStatus | None:
    if status is None or isinstance(status, RunStatus):
        return status
    try:
        return RunStatus(status.lower())
    except ValueError:
        known = ", ".join(s.value for s in RunStatus)
        raise ConfigError(f"unknown run status {status!r}", hint=f"use one of: {known}") from None


class Client:
    """Read-only access to runs, steps, artifacts and pipelines of one stack.

    ``Client()`` builds the project's active stack (``.bevel/`` found like ``.git``) and
    ``Client(stack="team")`` the stack named ``team``; either is closed in :meth:`close`. A
    :class:`Stack` you pass in stays yours to close.
    """

    def __init__(self, stack: Stack | str | None = None) -> None:
        self._owns_stack = not isinstance(stack, Stack)
        self.stack: Stack = stack if isinstance(stack, Stack) else build_stack(stack)

    @property
    def store(self) -> MetadataStore:
        return self.stack.metadata_store

    @property
    def artifact_store(self) -> ArtifactStore:
        return self.stack.artifact_store

    @property
    def models(self) -> Models:
        """The model control plane: ``client.models.version("churn", "production")``."""
        return control.Models(self.stack)

    # --- runs ---------------------------------------------------------------------------------
    def runs(
        self,
        pipeline: str | None = None,
        status: RunStatus | str | None = None,
        name: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> RunList:
        """Runs, newest first, filtered in the store: one query (steps load only when used)."""
        flt = RunFilter(
            pipeline=pipeline, status=_parse_status(status), name=name, limit=limit, offset=offset
        )
        return RunList(RunView.from_record(r, self) for r in self.store.list_runs(flt))

    def get_run(self, id_or_name: str) -> RunView:
        """A run by id, unique id prefix (6+ characters) or name."""
        return RunView.from_record(self.store.get_run(id_or_name), self)

    def last_run(self, pipeline: str | None = None) -> RunView:
        """The newest run, of one pipeline or of any."""
        found = self.store.list_runs(RunFilter(pipeline=pipeline, limit=1))
        if found:
            return RunView.from_record(found[0], self)
        if pipeline is None:
            raise NotFound(
                "no runs recorded yet", hint="run a pipeline: bevel run my_file.py:my_pipeline"
            )
        known = [p.name for p in self.store.list_pipelines()]
        hint = f"pipelines with runs: {', '.join(known)}" if known else "no pipeline has run yet"
        raise NotFound(f"no runs of pipeline {pipeline!r}", hint=hint)

    def delete_run(self, id_or_name: str, *, force: bool = False) -> Deleted:
        """Delete a run's records, then the files of artifacts (and logs) nothing else refers to.

        Metadata goes first, so an interruption leaves orphan files rather than records pointing
        at missing files. A run still RUNNING is refused unless ``force`` (its process died).
        While other runs are in progress, files one of them may be saving right now (used within
        the last hour) are left for ``bevel gc`` (see :mod:`bevel.client.cleanup`).
        """
        return cleanup.delete_run(self.store, self.artifact_store, id_or_name, force=force)

    def collect_garbage(self, *, grace: float | None = None, dry_run: bool = False) -> Collected:
        """Remove (or with ``dry_run`` list) what no record refers to: ``bevel gc``. Files saved
        within ``grace`` seconds are kept (default: ``artifacts.gc.GRACE_SECONDS``, an hour)."""
        grace = gc.GRACE_SECONDS if grace is None else grace
        return cleanup.collect_garbage(
            self.store, self.artifact_store, grace=grace, dry_run=dry_run
        )

    def reap(self, *, dry_run: bool = False) -> list[Reaped]:
        """Record the runs whose driving process died as failed, with their running steps.

        An explicit write (reading never does it): what ``bevel runs reap`` runs, and what a
        starting run does first. Each reaped run's error names its own driver; ``dry_run``
        only says which runs it would reap. See :mod:`bevel.client.liveness` for the rules.
        """
        return reap_dead_runs(self.store, dry_run=dry_run)

    def pipelines(self) -> PipelineList:
        return PipelineList(
            PipelineView(**from_fields(p, PipelineView), _client=self)
            for p in self.store.list_pipelines()
        )

    # --- artifacts ----------------------------------------------------------------------------
    def artifacts(
        self, name: str | None = None, run: str | None = None, limit: int = 50, offset: int = 0
    ) -> ArtifactList:
        """Artifacts, newest first; ``run`` is a run id, id prefix or name."""
        run_id = self.store.get_run(run).id if run is not None else None
        flt = ArtifactFilter(name=name, run_id=run_id, limit=limit, offset=offset)
        return ArtifactList(
            ArtifactView.from_record(a, self) for a in self.store.list_artifacts(flt)
        )

    def get_artifact(self, id_or_prefix: str) -> ArtifactView:
        return ArtifactView.from_record(self.store.get_artifact(id_or_prefix), self)

    # --- comparing runs -----------------------------------------------------------------------
    def compare(self, runs: Iterable[RunView | str], *, trials: bool = False) -> pd.DataFrame:
        """Runs side by side: one row per run (names, ids, id prefixes or views, in the given
        order) with ``params.*``, ``steps.<step>.*``, ``metrics.*`` (last values) and duration
        columns; with ``trials``, a row per trial of each run's sweeps after its run's. See
        :mod:`bevel.client.compare`."""
        from bevel.client import compare  # pandas: only when comparing

        return compare.frame(compare.gather(self, runs, trials=trials))

    def compare_report(
        self, runs: Iterable[RunView | str], *, metric: str | None = None, trials: bool = False
    ) -> ComparisonReport:
        """The comparison with charts (each metric per run, metric series over steps, parallel
        coordinates of the parameters that differ -> ``metric``): shows itself in a notebook,
        ``.save(path)`` writes one self-contained HTML page."""
        from bevel.client import compare
        from bevel.client.compare_report import ComparisonReport

        return ComparisonReport(compare.gather(self, runs, trials=trials), metric=metric)

    # --- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        """Release the stack's connections if this client built the stack."""
        if self._owns_stack:
            self.stack.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(stack={self.stack.name!r}, metadata={self.store.url!r})"

    # --- navigation: what the views call to fetch more, public so that another Client (one on a
    # REST server) can serve the same views. Each is a fixed number of store calls. ---------------
    def run_details(
        self, run_id: str, pipeline: str
    ) -> tuple[dict[str, StepView], dict[str, MetricSeries]]:
        """Steps (with their inputs, outputs, metrics and metadata) and the metric series of a
        run, in four queries."""
        step_runs = self.store.step_runs(run_id)
        details = StepDetails(
            step_runs, self.store.step_io(run_id), self.store.metrics(run_id), {run_id: pipeline}
        )
        views = self._assemble(details)
        return {v.step_id: v for v in views}, series_of(details.metrics)

    def metadata(self, entity: str, entity_id: str) -> dict[str, Any]:
        """What was logged on one ``"run"``, ``"step_run"`` or ``"artifact"`` (by id)."""
        return self.store.get_metadata(entity, entity_id)

    def _assemble(self, details: StepDetails) -> list[StepView]:
        """Step views from fetched details (plus one query for their metadata); each artifact
        becomes one shared view."""
        artifacts: dict[str, ArtifactView] = {}

        def view(record: ArtifactRecord) -> ArtifactView:
            if record.id not in artifacts:
                artifacts[record.id] = ArtifactView.from_record(record, self)
            return artifacts[record.id]

        by_step: dict[str | None, list[MetricRecord]] = {}
        for metric in details.metrics:
            by_step.setdefault(metric.step_run_id, []).append(metric)
        metadata = self.store.metadata_of("step_run", [r.id for r in details.step_runs])
        result = []
        for record in details.step_runs:
            edges = details.io.get(record.id, {})
            result.append(
                StepView.from_record(
                    record,
                    pipeline=details.pipelines.get(record.run_id, ""),
                    inputs={n: view(a) for n, a in edges.get("in", {}).items()},
                    outputs={n: view(a) for n, a in edges.get("out", {}).items()},
                    metric_series=series_of(by_step.get(record.id, [])),
                    metadata=metadata.get(record.id, {}),
                    client=self,
                )
            )
        return result

    def step_views(self, step_run_ids: Sequence[str]) -> list[StepView]:
        """Step views by step run id, in a fixed number of queries (however many runs)."""
        return self._assemble(self.store.step_details(step_run_ids))

    def consumers(self, artifact_id: str) -> list[StepView]:
        """The step runs that took artifact ``artifact_id`` as an input, oldest first."""
        ids = [
            e.step_run_id
            for e in self.store.lineage(artifact_id=artifact_id)
            if e.direction == "in"
        ]
        views = self.step_views(list(dict.fromkeys(ids)))
        return sorted(views, key=lambda v: (v.started, v.id))

    def load_artifact(self, artifact: ArtifactView) -> Any:
        """The artifact's value, through its materializer (its content hash verified)."""
        return publish.load_recorded(self.artifact_store, artifact)

    def artifact_location(self, uri: str) -> str:
        """Where an artifact uri's files are: a local folder for a local store, else the uri."""
        return self.artifact_store.local_path(artifact_path(self.artifact_store, uri)) or uri

    def read_logs(self, step: StepView) -> str:
        """The step run's own captured output so far (``StepView.logs`` follows a cached step
        to the run that produced its outputs)."""
        if not step.logs_uri:
            return ""
        path = artifact_path(self.artifact_store, step.logs_uri)
        if not self.artifact_store.exists(path):
            if step.status is StepStatus.RUNNING:
                return ""  # an object store: nothing uploaded yet
            raise ArtifactMissing(
                f"the logs of step {step.step_id!r} are gone: {step.logs_uri}",
                hint="they were deleted from the artifact store",
            )
        return _read_log(self.artifact_store, path, 0).decode("utf-8", errors="replace")

    def follow_logs(self, step: StepView, poll: float) -> Iterator[str]:
        """New text of a step's log as it is written, until the step run ends, or until its
        run's driver is known to be dead (it would never end it; reaping is a writer's job).

        The status is read before the log, so once it is final the last read gets the rest. On
        object stores the log is uploaded every few seconds while the step writes.
        """
        store = self.artifact_store
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        offset = 0
        # Now and then the run's driver is checked (read-only, as RunView.liveness): a driver
        # that was killed never ends its step, so the follow ends once it is known to be dead.
        liveness_every = max(1, round(_LIVENESS_CHECK_S / poll)) if poll > 0 else 1
        polls = 0
        orphaned = False
        while True:
            record = self.store.get_step_run(step.id)
            done = orphaned or StepStatus(record.status) is not StepStatus.RUNNING
            path = artifact_path(store, record.logs_uri) if record.logs_uri else None
            if path is not None and store.exists(path):
                data = _read_log(store, path, offset)
                offset += len(data)
                text = decoder.decode(data, final=done)
                if text:
                    yield text
            if done:
                return
            polls += 1
            if polls % liveness_every == 0:
                run = self.store.get_run(step.run_id)
                verdict = assess(run)
                orphaned = run.status is not RunStatus.RUNNING or bool(verdict and verdict.dead)
                if orphaned:
                    continue  # one last read of the log, then stop
            time.sleep(poll)

    def explain(self, step: StepView) -> list[str]:
        """Why a step was or was not cached (what ``bevel runs explain`` prints)."""
        if step.status is StepStatus.CACHED and step.cached_from:
            source = self.store.get_step_run(step.cached_from)
            source_run = self.store.get_run(source.run_id)
            return [
                f"cached: reused the outputs of step run {fmt.short_id(source.id)} "
                f"({source.step_id} in run {source_run.name}, {fmt.timestamp(source.started)})",
                f"same cache key: {step.cache_key or '-'}",
            ]
        lines = self._cache_disabled(step)
        previous = self.store.previous_step_run(step.pipeline, step.step_id, step.started)
        if previous is None:
            lines.append(
                f"not cached: no earlier completed run of step {step.step_id!r} "
                f"in pipeline {step.pipeline!r}"
            )
            return lines
        previous_run = self.store.get_run(previous.run_id)
        lines.append(
            f"not cached: compared with step run {fmt.short_id(previous.id)} "
            f"(run {previous_run.name}, {fmt.timestamp(previous.started)})"
        )
        lines.extend(cache_key.explain(previous.cache_ingredients, step.cache_ingredients))
        if previous.cache_ingredients == step.cache_ingredients and len(lines) == 2:
            lines.append(self._same_key_ran(step, previous))
        return lines

    def _same_key_ran(self, step: StepView, previous: StepRunRecord) -> str:
        """Why a step whose key had a hit ran anyway: the hit expired, or its outputs were not
        intact any more (deleted, or modified: the cache check compares them with their
        completion markers)."""
        source = previous
        if previous.cached_from:
            with contextlib.suppress(NotFound):
                source = self.store.get_step_run(previous.cached_from)
        expiration = _step_option(self.store.get_run(step.run_id).plan, step.step_id)
        finished = source.ended or source.started
        if expiration and (step.started - finished).total_seconds() > expiration:
            return (
                f"the cached result (from {fmt.timestamp(finished)}) had expired: the step "
                f"keeps results for {fmt.duration(expiration)} (cache_expiration)"
            )
        return (
            "the earlier outputs were deleted or modified since, so the step ran again and "
            "stored them afresh"
        )

    def _cache_disabled(self, step: StepView) -> list[str]:
        plan = self.store.get_run(step.run_id).plan
        if plan and not plan.get("enable_cache", True):
            return ["caching was disabled for the whole run (--no-cache / enable_cache=False)"]
        for spec in plan.get("steps", ()):
            if spec.get("id") == step.step_id and not spec.get("options", {}).get(
                "enable_cache", True
            ):
                return [f"caching is disabled for step {step.step_id!r} (enable_cache=False)"]
        return []


def _step_option(plan: dict[str, Any], step_id: str) -> float | None:
    """The ``cache_expiration`` (seconds) a recorded plan gave a step, if any."""
    for spec in plan.get("steps", ()):
        if spec.get("id") == step_id:
            value = spec.get("options", {}).get("cache_expiration")
            return float(value) if isinstance(value, int | float) else None
    return None


def _read_log(store: ArtifactStore, path: str, offset: int) -> bytes:
    """The bytes of a log from ``offset``. On an object store a running step's log is replaced
    by a longer one every few seconds, and a read that spans a replacement is refused (S3: the
    object's ETag changed, a failed precondition): read again, from the new object."""
    tries = 0
    while True:
        try:
            with store.open(path, "rb") as fh:
                fh.seek(offset)
                return bytes(fh.read())
        except OSError:
            tries += 1
            if tries == 3:  # not a replacement: a store that keeps failing
                raise
