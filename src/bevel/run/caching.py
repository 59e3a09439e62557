"""The cache side of running a step: the run-time ingredients of its key, and reusing a hit.

Most ingredients come from the plan (:func:`bevel.cache.key.ingredients_for`); three things are
only known where the step runs: the content hashes of its input artifacts, the fingerprints of
its external files (``bevel.ExternalPath``) and the value of its ``cache_key`` hook.

A hit is reused only when it is still good: not older than ``cache_expiration``, every output
intact by the cheap check (:func:`bevel.artifacts.publish.is_intact`), written by the current
materializer version, and still recorded when the CACHED step run is written (a concurrent
``bevel runs delete`` may have removed it meanwhile: the store refuses the record in the same
transaction, with :class:`~bevel.errors.CacheHitLost`, and the step runs instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bevel._dataclass import replace
from bevel.artifacts.hashing import fingerprint_path
from bevel.artifacts.materializers.registry import get_materializer, import_ref
from bevel.artifacts.publish import is_intact
from bevel.cache import CacheIngredients, canonical_json, ingredients_for
from bevel.dag.plan import StepSpec
from bevel.errors import BevelError, CacheHitLost, StepFailed
from bevel.metadata.records import (
    ArtifactRecord,
    MetadataEntry,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.stack.stack import Stack


def step_ingredients(
    spec: StepSpec, inputs: dict[str, ArtifactRecord], definition: Any
) -> CacheIngredients:
    """The cache ingredients of ``spec`` with these inputs; StepFailed naming the step when its
    ``cache_key`` hook raises or returns something that is not JSON."""
    hashes = {name: art.content_hash for name, art in inputs.items()}
    externals = {
        name: fingerprint_path(str(spec.params[name]), check)
        for name, check in spec.externals.items()
    }
    custom = _hook_value(spec, hashes, definition) if spec.options.cache_key else None
    return ingredients_for(spec, hashes, externals=externals, custom=custom)


def _hook_value(spec: StepSpec, hashes: dict[str, str], definition: Any) -> Any:
    ref = spec.options.cache_key or ""
    try:
        hook = getattr(getattr(definition, "config", None), "cache_key", None) or import_ref(ref)
        value = hook(step=spec.id, params=dict(spec.params), inputs=dict(hashes))
    except Exception as exc:
        raise StepFailed(
            f"the cache_key hook {ref} of step '{spec.id}' raised {type(exc).__name__}: {exc}",
            step=spec.id,
            where=spec.where,
            hint="a cache_key hook is called as fn(*, step, params, inputs, **_) and returns a "
            "JSON value",
        ) from exc
    try:
        canonical_json(value)
    except TypeError as exc:
        raise StepFailed(
            f"the cache_key hook {ref} of step '{spec.id}' returned a value that is not JSON:"
            f" {exc}",
            step=spec.id,
            where=spec.where,
            hint="return a str, number, bool, None, or a list/dict of them (e.g. a version)",
        ) from exc
    return value


def reuse(
    stack: Stack,
    base: StepRunRecord,
    input_edges: tuple[tuple[str, str], ...],
    spec: StepSpec,
    notes: Sequence[MetadataEntry] = (),
) -> tuple[StepRunRecord, dict[str, ArtifactRecord]] | None:
    """Record ``base`` as CACHED from the latest good hit of its key (with ``notes``, its
    metadata); None when there is none."""
    store = stack.metadata_store
    hit = store.find_cached(base.cache_key or "")
    if hit is None or expired(hit.step_run, spec.options.cache_expiration, base.started):
        return None
    for art in hit.outputs.values():
        # Files deleted or modified, or recorded by a stack with another artifact store (that
        # shares this metadata store, so its files are not reachable from here): compute the
        # step again rather than hand out a broken artifact. The check reads no data.
        if not is_intact(stack.artifact_store, art.uri, art.content_hash):
            return None
        if _stale_format(art):
            return None
    record = replace(base, status=StepStatus.CACHED, ended=_now(), cached_from=hit.step_run.id)
    try:
        store.finish_step_run(
            StepCompletion(
                step_run=record,
                reused_outputs=tuple((name, art.id) for name, art in hit.outputs.items()),
                inputs=input_edges,
                metadata=tuple(notes),
            )
        )
    except CacheHitLost:  # deleted since find_cached: compute the step instead
        return None
    return record, dict(hit.outputs)


def expired(hit: StepRunRecord, expiration: float | None, now: datetime) -> bool:
    """Whether a cached step run is older than ``expiration`` seconds at ``now``."""
    if expiration is None:
        return False
    finished = hit.ended or hit.started
    return (now - finished).total_seconds() > expiration


def _stale_format(art: ArtifactRecord) -> bool:
    """Whether ``art`` was written by another version of its materializer.

    Annotated outputs have their materializer version in the cache key; an unannotated output's
    materializer is only known once the step has run, so it is checked here instead.
    """
    try:
        return str(get_materializer(art.materializer).version) != art.materializer_version
    except BevelError:  # the materializer is gone (an uninstalled extra): cannot reuse
        return True


def _now() -> datetime:
    return datetime.now(UTC)
