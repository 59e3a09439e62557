"""Run, step and artifact views: fields, navigation, loading, logs, explain, HTML and repr."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from client_seed import Seeded

from bevel.client.client import Client
from bevel.client.views import StepCounts
from bevel.errors import NotFound
from bevel.metadata.records import RunStatus, StepStatus


def test_run_view_fields_steps_metrics_counts(client: Client) -> None:
    run = client.get_run("training-1")
    assert run.pipeline == "training" and run.status is RunStatus.COMPLETED
    assert run.duration == pytest.approx(6.0)
    assert run.params == {"C": 0.5}
    assert list(run.steps) == ["load", "train", "evaluate"]
    assert run.metrics == {"accuracy": 0.9, "loss": 0.3, "f1": 0.7}
    assert run.counts == StepCounts(total=3, completed=3)
    assert run.planned_steps == 3


def test_metric_series_and_metadata_of_steps_and_runs(client: Client) -> None:
    run = client.get_run("training-1")
    train = run.steps["train"]
    loss = train.metric_series["loss"]
    assert (loss.values, loss.steps, loss.last) == ([0.9, 0.6, 0.4, 0.3], [0, 1, 2, 3], 0.3)
    assert train.metrics["loss"] == 0.3  # the last value, as before
    assert run.metric_series["accuracy"].values == [0.8, 0.9]
    assert list(run.metric_series) == ["accuracy", "loss", "f1"]
    assert {p.step_run_id for p in run.metric_series["loss"]} == {train.id}
    assert loss.to_pandas()["value"].tolist() == [0.9, 0.6, 0.4, 0.3]
    assert repr(loss) == "MetricSeries('loss', last=0.3, points=4)"
    assert train.metadata == {"device": "cpu", "rows": 3}
    assert run.steps["load"].metadata == {}
    assert run.metadata == {"dataset": "iris-v2"}
    assert client.get_run("training-2").metadata == {}
    html = run._repr_html_()
    assert "█▄▂▁" in html and "4 points, 0.9 → 0.3" in html
    assert "iris-v2" in html and "device" in html and "cpu" in html
    step_html = train._repr_html_()
    assert "█▄▂▁" in step_html and "rows" in step_html


def test_failed_run_counts_and_errors(client: Client) -> None:
    run = client.get_run("training-2")
    assert run.status is RunStatus.FAILED and run.error == "step train failed"
    assert run.counts == StepCounts(total=3, cached=1, failed=1, skipped=1)
    train = run.steps["train"]
    assert train.status is StepStatus.FAILED
    assert train.error == "ValueError: C must be positive"
    assert train.traceback is not None and "line 9" in train.traceback


def test_step_view_fields_inputs_outputs_metrics(client: Client) -> None:
    run = client.get_run("training-1")
    train = run.steps["train"]
    assert (train.step_id, train.name, train.pipeline) == ("train", "train", "training")
    assert train.params == {"C": 0.5}
    assert train.duration == pytest.approx(1.5)
    assert train.metrics == {"accuracy": 0.9, "loss": 0.3}
    assert list(train.inputs) == ["data"] and list(train.outputs) == ["model"]
    # The same artifact is one view object on both ends of the edge.
    assert train.inputs["data"] is run.steps["load"].outputs["output"]
    assert train.output.load() == {"w": 0.5}


def test_output_with_several_or_no_outputs_names_them(client: Client) -> None:
    extract = client.get_run("etl-1").steps["extract"]
    with pytest.raises(NotFound, match="has 2 outputs: X, y") as info:
        _ = extract.output
    assert info.value.hint is not None and ".outputs['X']" in info.value.hint
    with pytest.raises(NotFound, match="no recorded outputs"):
        _ = client.get_run("training-2").steps["train"].output


def test_step_lookup_by_id_or_name(client: Client) -> None:
    run = client.get_run("training-1")
    assert run.step("train").id == run.steps["train"].id
    with pytest.raises(NotFound, match="has no step 'fit'") as info:
        run.step("fit")
    assert info.value.hint == "steps: load, train, evaluate"


def test_cached_step_reuses_earlier_outputs(client: Client, seeded: Seeded) -> None:
    load = client.get_run("training-2").steps["load"]
    assert load.status is StepStatus.CACHED
    assert load.cached_from == seeded.steps["training-1/load"]
    assert load.output.id == seeded.artifacts["training-1/load.output"]


def test_artifact_view_load_lineage_and_path(client: Client, seeded: Seeded) -> None:
    data = client.get_artifact(seeded.artifacts["training-1/load.output"])
    assert data.load() == [1, 2, 3]
    assert (data.name, data.version, data.output_name) == ("training.load.output", 1, "output")
    assert Path(data.path()).is_dir()

    producer = data.producer()
    assert producer is not None and producer.id == seeded.steps["training-1/load"]
    consumers = data.consumers()
    assert [c.id for c in consumers] == [
        seeded.steps["training-1/train"],
        seeded.steps["training-2/train"],
    ]
    assert [a.name for a in data.downstream()] == ["training.train.model"]
    assert data.upstream() == []

    model = client.get_artifact(seeded.artifacts["training-1/train.model"])
    assert [a.id for a in model.upstream()] == [data.id]
    assert [a.name for a in model.downstream()] == ["training.evaluate.report"]


def test_logs(client: Client) -> None:
    run = client.get_run("training-1")
    assert run.steps["load"].logs() == "loading 3 rows\n[bold]not markup[/bold]\n"
    assert run.steps["train"].logs() == ""


def test_explain_a_cached_step_names_the_reused_step_run(client: Client, seeded: Seeded) -> None:
    lines = client.get_run("training-2").steps["load"].explain()
    assert lines[0].startswith("cached: reused the outputs of step run ")
    assert seeded.steps["training-1/load"][:8] in lines[0]
    assert "training-1" in lines[0]


def test_explain_a_first_run(client: Client) -> None:
    lines = client.get_run("training-1").steps["train"].explain()
    assert lines[0] == "not cached: no earlier completed run of step 'train' in pipeline 'training'"


def test_explain_compares_with_the_previous_run(client: Client, seeded: Seeded) -> None:
    lines = client.get_run("training-2").steps["train"].explain()
    assert lines[0].startswith("not cached: compared with step run ")
    assert seeded.steps["training-1/train"][:8] in lines[0] and "training-1" in lines[0]
    assert lines[1:] == ["param C changed: 0.5 -> -1"]  # from bevel.cache.key.explain


def test_views_are_snapshots_and_refresh_makes_a_new_one(client: Client) -> None:
    run = client.get_run("training-1")
    fresh = run.refresh()
    assert fresh == run and fresh is not run
    assert len({run, fresh, *run.steps.values()}) == 1 + len(run.steps)
    assert run.steps["train"].run() == run


def test_repr_is_short_and_does_not_query(client: Client) -> None:
    run = client.runs(name="training-1")[0]
    assert repr(run).startswith("RunView('training-1', pipeline='training', status='completed'")
    assert "_details" not in run.__dict__  # repr did not load the steps
    step = client.get_run("training-1").steps["train"]
    assert (
        repr(step) == "StepView('train', status='completed', duration='1.50s', outputs=['model'])"
    )
    assert repr(step.output).startswith("ArtifactView('training.train.model' v1, id=")


def test_html_is_self_contained_and_escapes_user_strings(client: Client) -> None:
    run = client.get_run("training-1")
    evil = dataclasses.replace(run, name="<script>alert(1)</script>", params={"x": "a&b"})
    html = evil._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "a&amp;b" in html
    assert "<table" in html and "evaluate" in html
    step_html = run.steps["train"]._repr_html_()
    assert "accuracy" in step_html and "training.load.output" in step_html
    failed_html = client.get_run("training-2").steps["train"]._repr_html_()
    assert "ValueError: C must be positive" in failed_html
    art_html = run.steps["train"].output._repr_html_()
    assert "builtins:dict" in art_html
    assert "training-2" in client.runs()._repr_html_()
    assert "training.train.model" in client.artifacts()._repr_html_()
