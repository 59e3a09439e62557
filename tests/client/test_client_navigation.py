"""Views navigate through the Client's public API only, so another Client can serve them.

Before, ``RunView``, ``StepView`` and ``ArtifactView`` fetched their steps, lineage, logs and
explanations through the Client's private methods (``client._run_details`` ...), so a Client on
another home store (the REST store of a later issue) would have had to copy private names. Here
every view hangs off a Client that refuses private attribute access from the views module, and
every navigation a user does still works.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from client_seed import Seeded

from bevel.client.client import Client
from bevel.stack.stack import Stack


class PublicOnly(Client):
    """A Client that fails any view reaching into one of its private attributes."""

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("_") and not name.startswith("__"):
            caller = sys._getframe(1).f_globals.get("__name__")
            if caller == "bevel.client.views":
                raise AssertionError(f"a view used the Client's private {name!r}")
        return super().__getattribute__(name)


@pytest.fixture
def public(stack: Stack, seeded: Seeded) -> Iterator[Client]:
    with PublicOnly(stack) as client:
        yield client


def test_run_and_step_navigation(public: Client) -> None:
    run = public.get_run("training-1")
    assert list(run.steps) == ["load", "train", "evaluate"]
    assert run.metadata == {"dataset": "iris-v2"}
    assert run.metric_series["loss"].last == 0.3
    load = run.steps["load"]
    assert load.logs() == "loading 3 rows\n[bold]not markup[/bold]\n"
    assert "".join(load.follow_logs(poll=0.01)) == load.logs()  # an ended step: its whole log
    assert load.explain()[0].startswith("not cached: no earlier completed run")
    assert load.run().id == run.id
    cached = public.get_run("training-2").steps["load"]
    source = cached.cached_source()
    assert source is not None and source.id == load.id
    assert cached.logs() == load.logs()
    assert cached.explain()[0].startswith("cached: reused the outputs of step run")


def test_artifact_navigation(public: Client, seeded: Seeded) -> None:
    data = public.get_artifact(seeded.artifacts["training-1/load.output"])
    assert data.load() == [1, 2, 3]
    assert Path(data.path()).is_dir()
    producer = data.producer()
    assert producer is not None and producer.id == seeded.steps["training-1/load"]
    assert [c.id for c in data.consumers()] == [
        seeded.steps["training-1/train"],
        seeded.steps["training-2/train"],
    ]
    assert [a.name for a in data.downstream()] == ["training.train.model"]
    model = public.get_artifact(seeded.artifacts["training-1/train.model"])
    assert [a.id for a in model.upstream()] == [data.id]


def test_the_navigation_api_answers_directly(public: Client, seeded: Seeded) -> None:
    """The same calls, made by hand: what a Client on another store must provide."""
    run = public.get_run("training-1")
    steps, series = public.run_details(run.id, run.pipeline)
    assert list(steps) == ["load", "train", "evaluate"] and series["loss"].last == 0.3
    [train] = public.step_views([seeded.steps["training-1/train"]])
    assert train.step_id == "train"
    consumers = public.consumers(seeded.artifacts["training-1/load.output"])
    assert [c.step_id for c in consumers] == ["train", "train"]
    assert public.metadata("run", run.id) == {"dataset": "iris-v2"}
    assert public.explain(train) == train.explain()
    assert public.read_logs(steps["load"]) == steps["load"].logs()
