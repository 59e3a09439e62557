"""The status part of the metadata store contract: a final status never changes.

Part of :class:`~bevel.testing.metadata_contract.MetadataStoreContract` (every store runs it).
Every status change follows ``RUN_TRANSITIONS`` / ``STEP_TRANSITIONS`` in
:mod:`bevel.metadata.records`, enforced by the store itself, so the tests below write as two
processes would: one ends a run while another still reports on it. The race tests use threads on
one store object; on server databases each thread has its own connection and transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from bevel.errors import NotFound, StatusConflict
from bevel.metadata.base import ArtifactFilter, MetadataStore
from bevel.metadata.records import (
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    RunRecord,
    RunStatus,
    StepCompletion,
    StepStatus,
    is_final,
)
from bevel.testing.records import T0, done, make_artifact, make_run, make_step, new_id

ENDED = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)


class StatusContract:
    """Tests of status changes; mixed into ``MetadataStoreContract``."""

    @pytest.fixture
    def store(self) -> Iterator[MetadataStore]:
        raise NotImplementedError("provide a `store` fixture")

    def test_the_transition_table_ends_running_once(self) -> None:
        assert RUN_TRANSITIONS[RunStatus.RUNNING] == frozenset(ENDED)
        assert all(is_final(s) for s in ENDED) and not is_final(RunStatus.RUNNING)
        assert {s for s in StepStatus if not is_final(s)} == {StepStatus.RUNNING}
        assert STEP_TRANSITIONS[StepStatus.RUNNING] == {
            StepStatus.COMPLETED,
            StepStatus.FAILED,
            StepStatus.CANCELLED,
        }

    @pytest.mark.parametrize("first", ENDED)
    def test_an_ended_run_never_changes_status(
        self, store: MetadataStore, first: RunStatus
    ) -> None:
        run = store.create_run(make_run())
        store.finish_run(run.id, first, ended=T0, error="first" if first != "completed" else None)
        before = store.get_run(run.id)
        for second in ENDED:
            with pytest.raises(StatusConflict) as err:
                store.finish_run(run.id, second, ended=T0 + timedelta(hours=1), error="second")
            conflict = err.value
            assert (conflict.entity, conflict.id, conflict.current) == ("run", run.id, first)
            assert f"already ended as {first.value}" in str(conflict)
        with pytest.raises(StatusConflict):
            store.heartbeat(run.id, T0 + timedelta(hours=2))
        assert store.get_run(run.id) == before

    def test_a_heartbeat_on_an_unknown_run_is_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFound):
            store.heartbeat(new_id(), T0)

    def test_a_run_marked_stale_tells_its_driver(self, store: MetadataStore) -> None:
        """The process a reader declared dead finds out at its next write, and loses nothing it
        already recorded; what it records afterwards is refused, its artifacts included."""
        run = store.create_run(make_run())
        early = make_step(run, "early")
        store.start_step_run(early)
        (kept,) = store.finish_step_run(
            StepCompletion(done(early), outputs=(make_artifact("train.early.output"),))
        )
        late = make_step(run, "late", at=1)
        store.start_step_run(late)
        assert store.mark_stale_runs(T0 + timedelta(minutes=10), reason="driver died") == [run.id]

        with pytest.raises(StatusConflict) as err:
            store.heartbeat(run.id, T0 + timedelta(minutes=11))
        assert err.value.current == "failed" and err.value.error == "driver died"
        assert "driver died" in str(err.value)
        with pytest.raises(StatusConflict):
            store.finish_step_run(
                StepCompletion(done(late), outputs=(make_artifact("train.late.output"),))
            )
        with pytest.raises(StatusConflict):
            store.start_step_run(make_step(run, "later", at=2))
        with pytest.raises(StatusConflict):
            store.finish_step_run(StepCompletion(done(make_step(run, "x"), StepStatus.SKIPPED)))
        with pytest.raises(StatusConflict):
            store.finish_run(run.id, RunStatus.COMPLETED, ended=T0 + timedelta(minutes=12))

        got = store.get_run(run.id)
        assert (got.status, got.error) == (RunStatus.FAILED, "driver died")
        steps = {s.step_id: s for s in store.step_runs(run.id)}
        assert set(steps) == {"early", "late"}
        assert steps["early"].status == StepStatus.COMPLETED
        assert (steps["late"].status, steps["late"].error) == (StepStatus.FAILED, "driver died")
        assert [a.id for a in store.list_artifacts(ArtifactFilter(run_id=run.id))] == [kept.id]

    def test_mark_stale_runs_spares_a_run_that_beat_since(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())  # last seen at T0
        store.heartbeat(run.id, T0 + timedelta(minutes=9))  # beats after a reader looked
        assert store.mark_stale_runs(T0 + timedelta(minutes=5), run_ids=[run.id]) == []
        assert store.get_run(run.id).status == RunStatus.RUNNING

    @pytest.mark.parametrize(
        ("ending", "step_status"),
        [(RunStatus.CANCELLED, StepStatus.CANCELLED), (RunStatus.FAILED, StepStatus.FAILED)],
    )
    def test_ending_a_run_ends_its_running_step_runs(
        self, store: MetadataStore, ending: RunStatus, step_status: StepStatus
    ) -> None:
        run = store.create_run(make_run())
        finished = make_step(run, "finished")
        store.start_step_run(finished)
        store.finish_step_run(StepCompletion(done(finished)))
        running = make_step(run, "running", at=1)
        store.start_step_run(running)
        ended = T0 + timedelta(minutes=1)
        store.finish_run(run.id, ending, ended=ended, error="stopped by the user")
        steps = {s.step_id: s for s in store.step_runs(run.id)}
        assert steps["finished"].status == StepStatus.COMPLETED
        left = steps["running"]
        assert (left.status, left.ended) == (step_status, ended)
        assert left.error is not None and ending.value in left.error
        assert "stopped by the user" in left.error

    def test_a_run_cannot_complete_while_a_step_runs(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        store.start_step_run(make_step(run, "train"))
        with pytest.raises(StatusConflict) as err:
            store.finish_run(run.id, RunStatus.COMPLETED, ended=T0)
        assert "train" in str(err.value)
        assert store.get_run(run.id).status == RunStatus.RUNNING

    @pytest.mark.parametrize(
        "first", [StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.CANCELLED]
    )
    def test_an_ended_step_run_never_changes_status(
        self, store: MetadataStore, first: StepStatus
    ) -> None:
        run = store.create_run(make_run())
        step = make_step(run, "train")
        store.start_step_run(step)
        store.finish_step_run(StepCompletion(done(step, first)))
        for second in (StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.CANCELLED):
            with pytest.raises(StatusConflict) as err:
                store.finish_step_run(
                    StepCompletion(done(step, second), outputs=(make_artifact("train.x.output"),))
                )
            assert (err.value.entity, err.value.current) == ("step_run", first)
        assert store.get_step_run(step.id).status == first
        assert store.list_artifacts() == []

    def test_a_step_run_recorded_without_running_is_final(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        skipped = done(make_step(run, "after"), StepStatus.SKIPPED)
        store.finish_step_run(StepCompletion(skipped))
        with pytest.raises(StatusConflict):
            store.finish_step_run(StepCompletion(done(skipped, StepStatus.COMPLETED)))
        assert store.get_step_run(skipped.id).status == StepStatus.SKIPPED

    @pytest.mark.parametrize("never_ran", [StepStatus.SKIPPED, StepStatus.CACHED])
    def test_a_step_run_that_runs_is_not_replaced_by_one_that_never_ran(
        self, store: MetadataStore, never_ran: StepStatus
    ) -> None:
        """A driver recording "not run" under the id of a step run a worker has just started
        (the task was cancelled too late) is told so (StatusConflict), not a store error."""
        run = store.create_run(make_run())
        step = make_step(run, "train")
        store.start_step_run(step)
        with pytest.raises(StatusConflict) as err:
            store.finish_step_run(StepCompletion(done(step, never_ran)))
        assert (err.value.entity, err.value.current) == ("step_run", StepStatus.RUNNING)
        assert store.get_step_run(step.id).status == StepStatus.RUNNING
        assert len(store.step_runs(run.id)) == 1

    def test_step_runs_of_an_unknown_run_are_not_found(self, store: MetadataStore) -> None:
        ghost = make_run()
        with pytest.raises(NotFound):
            store.start_step_run(make_step(ghost, "s"))

    # --- races ------------------------------------------------------------------------------

    def test_of_racing_enders_exactly_one_wins(self, store: MetadataStore) -> None:
        endings = [RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.FAILED, RunStatus.CANCELLED]
        for attempt in range(5):
            run = store.create_run(make_run(at=attempt))
            store.start_step_run(make_step(run, "s"))
            won, lost = _race_to_end(store, run, endings)
            assert len(won) == 1 and len(lost) == len(endings) - 1
            final = store.get_run(run.id)
            assert final.status == won[0] and final.error == f"by {won[0].value}"
            assert set(lost) == {won[0].value}
            (step,) = store.step_runs(run.id)
            assert step.status != StepStatus.RUNNING

    def test_a_run_ended_while_steps_report_keeps_every_accepted_write(
        self, store: MetadataStore
    ) -> None:
        """A driver keeps recording steps while another process cancels its run: every write
        the store accepted is there, none after the end got in, and nothing is left running."""
        run = store.create_run(make_run())
        accepted: list[str] = []
        refused: list[BaseException] = []
        started = threading.Event()

        def driver() -> None:
            try:
                for i in range(500):
                    step = make_step(run, f"s_{i}", at=i)
                    store.start_step_run(step)
                    started.set()
                    store.finish_step_run(
                        StepCompletion(done(step), outputs=(make_artifact(f"p.s_{i}.output"),))
                    )
                    accepted.append(step.id)
            except StatusConflict as err:
                refused.append(err)
            finally:
                started.set()

        def canceller() -> None:
            started.wait(30)
            store.finish_run(run.id, RunStatus.CANCELLED, ended=T0, error="cancelled elsewhere")

        _together([driver, canceller])
        assert len(refused) == 1, "the driver must be told once, at its first refused write"
        steps = store.step_runs(run.id)
        completed = [s.id for s in steps if s.status == StepStatus.COMPLETED]
        assert completed == accepted
        assert all(s.status in (StepStatus.COMPLETED, StepStatus.CANCELLED) for s in steps)
        assert len(steps) - len(completed) <= 1  # at most the one step running at the end
        produced = {a.producer_step_run_id for a in store.list_artifacts(ArtifactFilter(limit=0))}
        assert produced == set(accepted)


def _race_to_end(
    store: MetadataStore, run: RunRecord, endings: list[RunStatus]
) -> tuple[list[RunStatus], list[str]]:
    """End ``run`` with each status at once; the statuses that won and what the losers saw."""
    won: list[RunStatus] = []
    lost: list[str] = []

    def end(status: RunStatus) -> None:
        try:
            store.finish_run(run.id, status, ended=T0, error=f"by {status.value}")
            won.append(status)
        except StatusConflict as err:
            lost.append(err.current)

    _together([lambda s=s: end(s) for s in endings])  # type: ignore[misc]
    return won, lost


def _together(work: list[Callable[[], Any]]) -> None:
    """Run callables in threads started at the same moment; re-raise what any of them raised."""
    barrier = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def go(fn: Callable[[], Any]) -> None:
        try:
            barrier.wait(30)
            fn()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=go, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]
