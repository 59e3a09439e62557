"""Deleting runs cannot break runs that are going on (SQLite, PostgreSQL and MariaDB).

Two races, each made to happen exactly: a ``runs delete`` landing between another run's save of
the same content and its record used to leave that run ``completed`` with a missing artifact;
one landing between a cache check and the CACHED record crashed the run with a FOREIGN KEY
error. The deletion is injected at that point by a wrapper around the real metadata store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bevel import Client, pipeline, step
from bevel.api import compile_pipeline, run_pipeline
from bevel.metadata.records import RunRecord, RunStatus
from bevel.run.engine import new_run
from bevel.stack.stack import Stack, default_stack

pytestmark = pytest.mark.all_databases


@step
def make(n: int = 1000) -> list[int]:
    return list(range(n))


@step
def total(xs: list[int]) -> int:
    return sum(xs)


@pipeline
def summed(n: int = 1000) -> None:
    total(make(n))


class Interleaved:
    """The real metadata store; ``action`` runs once, right when ``method`` is called (before
    the call, or after it returned), to put another process's write exactly there."""

    def __init__(self, inner: Any, method: str, action: Callable[[], None], after: bool) -> None:
        self.inner, self.method, self.action, self.after = inner, method, action, after
        self.fired = False

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if name != self.method or self.fired:
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.fired or not self._wanted(name, args):
                return value(*args, **kwargs)
            self.fired = True
            if not self.after:
                self.action()
            result = value(*args, **kwargs)
            if self.after:
                self.action()
            return result

        return call

    def _wanted(self, name: str, args: tuple[Any, ...]) -> bool:
        if name != "finish_step_run":
            return True
        completion = args[0]  # the record of `make`: its saved output, or its cache hit
        return completion.step_run.step_id == "make" and bool(
            completion.outputs or completion.reused_outputs
        )


@pytest.fixture
def stack(bevel_home: Path) -> Iterator[Stack]:
    built = default_stack()
    yield built
    built.close()


def delete(run_id: str) -> Callable[[], None]:
    def action() -> None:
        with Client() as other:  # another process would do this through its own connection
            other.delete_run(run_id)

    return action


def test_a_delete_between_save_and_record_keeps_the_other_runs_files(stack: Stack) -> None:
    first = run_pipeline(summed, stack=stack)
    hooked = Interleaved(stack.metadata_store, "finish_step_run", delete(first.id), after=False)
    racing = dataclasses.replace(stack, metadata_store=hooked)
    second = run_pipeline(summed, stack=racing, enable_cache=False)
    assert hooked.fired
    assert second.status == "completed"
    with Client() as client:
        with pytest.raises(Exception, match="no run"):
            client.get_run(first.id)
        art = client.get_run(second.id).steps["make"].output
        assert art.load() == list(range(1000))  # its files were not swept from under it


def test_a_delete_between_cache_check_and_record_runs_the_step(stack: Stack) -> None:
    first = run_pipeline(summed, stack=stack)
    # after the hit was found and its files checked, right before the CACHED record
    hooked = Interleaved(stack.metadata_store, "finish_step_run", delete(first.id), after=False)
    racing = dataclasses.replace(stack, metadata_store=hooked)
    second = run_pipeline(summed, stack=racing)  # used to crash: FOREIGN KEY constraint failed
    assert hooked.fired
    assert second.status == "completed"
    assert second.steps["make"].status == "completed"  # the lost hit was computed instead
    assert second.steps["total"].output.load() == sum(range(1000))


def running_run(stack: Stack) -> RunRecord:
    """A run recorded as in progress, as another process's would be."""
    plan = compile_pipeline(summed).plan
    return stack.metadata_store.create_run(new_run(plan, stack))


def test_while_runs_are_going_on_a_delete_leaves_recent_files_for_gc(stack: Stack) -> None:
    first = run_pipeline(summed, stack=stack, params={"n": 7})
    uri = first.steps["make"].output.uri
    live = running_run(stack)
    with Client() as client:
        done = client.delete_run(first.id)
        assert uri in done.kept and uri not in done.removed
        assert Path(uri).is_dir()  # another run may be about to record it
        assert client.collect_garbage().removed == []  # within the grace period: kept
        collected = client.collect_garbage(grace=0)
        assert uri in {client.artifact_store.uri(g.path) for g in collected.removed}
    assert not Path(uri).exists()
    assert stack.metadata_store.get_run(live.id).status == RunStatus.RUNNING


def test_with_nothing_going_on_a_delete_frees_at_once(stack: Stack) -> None:
    first = run_pipeline(summed, stack=stack, params={"n": 9})
    uri = first.steps["make"].output.uri
    with Client() as client:
        done = client.delete_run(first.id)
    assert uri in done.removed and done.kept == [] and done.freed > 0
    assert not Path(uri).exists()
