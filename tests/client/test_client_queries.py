"""Client queries: filters pushed into the store, fixed query counts, lookups and deletion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from client_seed import CountingStore, Seeded

from bevel.client.client import Client
from bevel.client.lists import ArtifactList, RunList
from bevel.errors import ConfigError, NotFound
from bevel.metadata.records import RunStatus
from bevel.stack.stack import Stack


def test_runs_newest_first_with_filters(client: Client) -> None:
    runs = client.runs()
    assert isinstance(runs, RunList)
    assert [r.name for r in runs] == ["etl-1", "training-2", "training-1"]
    assert [r.name for r in client.runs(pipeline="training")] == ["training-2", "training-1"]
    assert [r.name for r in client.runs(status="failed")] == ["training-2"]
    assert [r.name for r in client.runs(status=RunStatus.COMPLETED, limit=1)] == ["etl-1"]
    assert [r.name for r in client.runs(limit=1, offset=1)] == ["training-2"]
    assert [r.name for r in client.runs(name="training-1")] == ["training-1"]


def test_unknown_status_is_a_config_error_listing_the_valid_ones(client: Client) -> None:
    with pytest.raises(ConfigError, match="unknown run status 'done'") as info:
        client.runs(status="done")
    assert info.value.hint is not None and "completed" in info.value.hint


def test_listing_runs_is_one_query_even_when_rendered(
    counting: tuple[Client, CountingStore],
) -> None:
    client, store = counting
    runs = client.runs(limit=50)
    for run in runs:
        _ = (run.name, run.status, run.duration, run.params, repr(run))
    runs._repr_html_()
    assert store.calls == ["list_runs"]


def test_a_run_costs_a_fixed_number_of_queries(counting: tuple[Client, CountingStore]) -> None:
    client, store = counting
    run = client.get_run("training-1")
    for step in run.steps.values():
        _ = (step.inputs, step.outputs, step.metrics, step.metric_series, step.metadata)
        _ = step.output.name
    _ = (run.metrics, run.metric_series, run.metadata, run.counts, run.steps)
    run._repr_html_()
    assert sorted(store.calls) == [
        "get_metadata",  # the run's own metadata
        "get_run",
        "metadata_of",  # every step's metadata at once
        "metrics",  # every point of every metric, series included
        "step_io",
        "step_runs",
    ]


def test_get_run_by_name_id_and_prefix(client: Client, seeded: Seeded) -> None:
    run_id = seeded.runs["training-1"]
    assert client.get_run("training-1").id == run_id
    assert client.get_run(run_id).name == "training-1"
    assert client.get_run(run_id[:8]).name == "training-1"
    with pytest.raises(NotFound, match="no run with id or name 'nope'"):
        client.get_run("nope")


def test_last_run(client: Client) -> None:
    assert client.last_run().name == "etl-1"
    assert client.last_run("training").name == "training-2"
    with pytest.raises(NotFound, match="no runs of pipeline 'nope'") as info:
        client.last_run("nope")
    assert info.value.hint == "pipelines with runs: etl, training"


def test_last_run_without_any_run_says_how_to_make_one(stack: Stack) -> None:
    with Client(stack) as client, pytest.raises(NotFound, match="no runs recorded yet") as info:
        client.last_run()
    assert info.value.hint is not None and "bevel run" in info.value.hint


def test_pipelines(client: Client) -> None:
    pipes = client.pipelines()
    assert [(p.name, p.runs) for p in pipes] == [("etl", 1), ("training", 2)]
    assert [r.name for r in pipes[1].list_runs()] == ["training-2", "training-1"]
    assert "training" in pipes._repr_html_()


def test_artifacts_filters_and_lookup(client: Client, seeded: Seeded) -> None:
    all_artifacts = client.artifacts()
    assert isinstance(all_artifacts, ArtifactList)
    assert len(all_artifacts) == 5
    assert {a.name for a in client.artifacts(run="training-1")} == {
        "training.load.output",
        "training.train.model",
        "training.evaluate.report",
    }
    assert [a.output_name for a in client.artifacts(name="training.train.model")] == ["model"]
    art_id = seeded.artifacts["training-1/train.model"]
    assert client.get_artifact(art_id[:10]).id == art_id
    assert len(client.artifacts(limit=2)) == 2


def test_delete_run_removes_records_and_unshared_files(client: Client, seeded: Seeded) -> None:
    model = client.get_artifact(seeded.artifacts["training-1/train.model"])
    data = client.get_artifact(seeded.artifacts["training-1/load.output"])
    logs_uri = client.get_run("training-1").steps["load"].logs_uri
    assert logs_uri and os.path.exists(logs_uri)

    removed = client.delete_run("training-1").removed

    assert model.uri in removed and not Path(model.path()).exists()
    with pytest.raises(NotFound):
        client.get_run("training-1")
    assert not os.path.exists(logs_uri)
    # training-2 reused the loaded data (cached step): it stays, and still loads.
    assert data.uri not in removed
    assert client.get_artifact(data.id).load() == [1, 2, 3]
    assert client.get_run("training-2").steps["load"].output.load() == [1, 2, 3]


def test_client_without_a_stack_uses_the_project_default(seeded: Seeded) -> None:
    # BEVEL_HOME points at the seeded project (tests/conftest.py).
    with Client() as client:
        assert client.last_run().name == "etl-1"
        assert "Client(stack='default'" in repr(client)


def test_lineage_views_cost_a_fixed_number_of_queries(
    counting: tuple[Client, CountingStore],
) -> None:
    """An artifact read by many steps in many runs: consumers and downstream stay two calls."""
    client, store = counting
    run = client.get_run("training-1")
    artifact = next(a for s in run.steps.values() for a in s.inputs.values())
    store.calls.clear()
    consumers = artifact.consumers()
    downstream = artifact.downstream()
    assert consumers and downstream is not None
    assert sorted(set(store.calls)) == ["lineage", "metadata_of", "step_details"]
    assert store.calls.count("step_details") == 2  # one per call, whatever the number of runs
    assert store.calls.count("metadata_of") == 2  # the steps' metadata, all at once
    store.calls.clear()
    producer = artifact.producer()
    assert producer is not None and store.calls == ["step_details", "metadata_of"]


def test_latest_metrics_of_a_page_of_runs_is_one_query(
    counting: tuple[Client, CountingStore],
) -> None:
    client, store = counting
    runs = client.runs()
    latest = runs.latest_metrics(["accuracy", "loss"])
    by_name = {r.name: latest.get(r.id, {}) for r in runs}
    assert by_name == {"training-1": {"accuracy": 0.9, "loss": 0.3}, "training-2": {}, "etl-1": {}}
    assert store.calls == ["list_runs", "latest_metrics"]


def test_run_list_to_pandas(counting: tuple[Client, CountingStore]) -> None:
    client, store = counting
    frame = client.runs(pipeline="training").to_pandas()
    assert store.calls == ["list_runs", "latest_metrics", "metadata_of"]
    assert list(frame["name"]) == ["training-2", "training-1"]
    assert list(frame.columns) == [
        "id",
        "name",
        "pipeline",
        "status",
        "created",
        "ended",
        "duration",
        "stack",
        "params.C",
        "metrics.accuracy",
        "metrics.f1",
        "metrics.loss",
        "metadata.dataset",
    ]
    first = frame.set_index("name").loc["training-1"]
    assert (first["params.C"], first["metrics.accuracy"], first["metrics.loss"]) == (0.5, 0.9, 0.3)
    assert first["metadata.dataset"] == "iris-v2" and first["status"] == "completed"
    assert first["duration"] == pytest.approx(6.0)
    assert str(frame["created"].dt.tz) == "UTC"  # timezone-aware datetimes, not strings
    failed = frame.set_index("name").loc["training-2"]
    assert failed["params.C"] == -1 and failed.isna()["metrics.accuracy"]
    empty = client.runs(pipeline="nope").to_pandas()
    assert len(empty) == 0 and list(empty.columns)[:3] == ["id", "name", "pipeline"]


def test_listing_runs_does_not_import_pandas(seeded: Seeded) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from bevel import Client\n"
        "runs = Client().runs()\n"
        "runs._repr_html_(); runs.latest_metrics()\n"
        "assert len(runs) == 3, len(runs)\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
