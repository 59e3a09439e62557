"""Deleting runs and collecting garbage without breaking runs that are going on.

A run's records go first, in one transaction (:meth:`MetadataStore.delete_run`). Its files can
be in use by another run that is saving the same content right now (it found the folder and
has not recorded it yet), so they are removed by a sweep (:mod:`bevel.artifacts.gc`) that
checks, for each folder, right before deleting it: no record names it, and no save used it
recently. "Recently" is the grace period (one hour) while any run is in progress, and "since
this deletion began" when none is, so that deleting runs frees their space at once in the
common case and never under a live run's feet. What a sweep leaves is removed by a later
``bevel gc``.
"""

from __future__ import annotations

import time
from dataclasses import field

from bevel._dataclass import dataclass
from bevel.artifacts.base import ArtifactStore
from bevel.artifacts.content import discard
from bevel.artifacts.gc import (
    GRACE_SECONDS,
    LOGS_DIR,
    Garbage,
    Sweep,
    sweep_orphans,
    sweep_tmp,
)
from bevel.artifacts.gc import sweep_unreferenced as sweep_content
from bevel.artifacts.publish import artifact_path
from bevel.errors import ArtifactError
from bevel.metadata.base import MetadataStore, RunFilter
from bevel.metadata.records import RunStatus


@dataclass(frozen=True)
class Deleted:
    """What deleting a run did with its files."""

    run: str  # the run's name
    removed: list[str]  # uris of artifact folders deleted
    kept: list[str]  # no longer referenced, but used recently while runs are going on
    freed: int  # bytes


@dataclass
class Collected:
    """What ``bevel gc`` removed (or, in a dry run, would remove) and what it left."""

    removed: list[Garbage] = field(default_factory=list)
    kept_recent: list[Garbage] = field(default_factory=list)
    dry_run: bool = False

    @property
    def freed(self) -> int:
        return sum(g.size for g in self.removed)

    def add(self, sweep: Sweep) -> None:
        self.removed.extend(sweep.removed)
        self.kept_recent.extend(sweep.kept_recent)


def runs_in_progress(store: MetadataStore) -> bool:
    return bool(store.list_runs(RunFilter(status=RunStatus.RUNNING, limit=1)))


def delete_run(
    store: MetadataStore,
    artifacts: ArtifactStore,
    id_or_name: str,
    *,
    force: bool = False,
    grace: float = GRACE_SECONDS,
) -> Deleted:
    """Delete a run's records, then the files nothing refers to any more (see above)."""
    started = time.time()  # before looking for live runs: a save after this is kept anyway
    record = store.get_run(id_or_name)
    logs = [s.logs_uri for s in store.step_runs(record.id) if s.logs_uri]
    uris = store.delete_run(record.id, force=force)
    paths = {}
    for uri in uris:
        try:
            paths[artifact_path(artifacts, uri)] = uri
        except ArtifactError:  # recorded in another artifact store: not ours to delete
            continue
    still = store.references(artifacts.uri(""), list(paths.values())).uris
    window = grace if runs_in_progress(store) else 0.0
    sweep = sweep_content(artifacts, still, grace=window, only=list(paths), now=started)
    for uri in logs:
        try:
            path = artifact_path(artifacts, uri)
        except ArtifactError:
            continue
        if artifacts.exists(path):
            artifacts.rm(path)
    discard(artifacts, f"{LOGS_DIR}/{record.id}")  # the run's own logs folder, now empty
    return Deleted(
        run=record.name,
        removed=[paths[g.path] for g in sweep.removed],
        kept=[paths[g.path] for g in sweep.kept_recent],
        freed=sweep.freed,
    )


def collect_garbage(
    store: MetadataStore,
    artifacts: ArtifactStore,
    *,
    grace: float = GRACE_SECONDS,
    dry_run: bool = False,
) -> Collected:
    """Remove from ``artifacts`` what no record of ``store`` refers to: content folders (unless
    used within ``grace`` seconds), their visualizations, logs of deleted runs, and what killed
    saves left in ``.tmp/``. With ``dry_run`` nothing is removed: the result says what would be.
    """
    found = Collected(dry_run=dry_run)
    found.add(sweep_tmp(artifacts, grace=grace, dry_run=dry_run))
    refs = store.references(artifacts.uri(""))
    found.add(sweep_content(artifacts, refs.uris, grace=grace, dry_run=dry_run))
    live = {artifact_path(artifacts, uri).rpartition("/")[2] for uri in refs.uris}
    found.add(sweep_orphans(artifacts, live, refs.run_ids, dry_run=dry_run, grace=grace))
    return found
