"""The contract every :class:`~bevel.metadata.base.MetadataStore` passes, ours and third parties'.

Subclass :class:`MetadataStoreContract` in a test module and provide a ``store`` fixture giving a
fresh, empty store; pytest then runs every test below against it::

    import pytest
    from bevel.testing.metadata_contract import MetadataStoreContract

    class TestMyStore(MetadataStoreContract):
        @pytest.fixture
        def store(self, tmp_path):
            store = MyStore(tmp_path / "db")
            yield store
            store.close()

The tests pin down behaviour that callers rely on and that the protocol's signatures cannot say:
ordering, version numbering, which lineage edges exist, what delete keeps, and the text of the
errors users see.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bevel.errors import BevelError, CacheHitLost, ConfigError, MetadataError, NotFound
from bevel.metadata.base import ArtifactFilter, MetadataStore, RunFilter
from bevel.metadata.records import (
    ArtifactRecord,
    LineageEdge,
    MetadataEntry,
    MetricRecord,
    RunRecord,
    RunStatus,
    StepCompletion,
    StepRunRecord,
    StepStatus,
)
from bevel.testing.definition_contract import DefinitionStoreContract
from bevel.testing.model_contract import ModelStoreContract
from bevel.testing.names_contract import NamesContract
from bevel.testing.records import T0, done, make_artifact, make_run, make_step, new_id
from bevel.testing.status_contract import StatusContract

__all__ = [
    "T0",
    "MetadataStoreContract",
    "done",
    "make_artifact",
    "make_run",
    "make_step",
    "new_id",
]


class MetadataStoreContract(
    StatusContract, NamesContract, DefinitionStoreContract, ModelStoreContract
):
    """Tests every MetadataStore must pass; subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Iterator[MetadataStore]:
        raise NotImplementedError("subclass MetadataStoreContract and provide a `store` fixture")

    # --- helpers ----------------------------------------------------------------------------

    def run_step(
        self,
        store: MetadataStore,
        run: RunRecord,
        step_id: str,
        outputs: tuple[str, ...] = ("output",),
        *,
        inputs: tuple[tuple[str, str], ...] = (),
        cache_key: str | None = None,
        at: int = 0,
    ) -> tuple[StepRunRecord, list[ArtifactRecord]]:
        """Start and complete a step producing one artifact per output name."""
        step = make_step(run, step_id, at=at, cache_key=cache_key)
        store.start_step_run(step)
        arts = tuple(make_artifact(f"{run.pipeline}.{step_id}.{o}", o) for o in outputs)
        saved = store.finish_step_run(StepCompletion(done(step), outputs=arts, inputs=inputs))
        return done(step), saved

    # --- protocol ---------------------------------------------------------------------------

    def test_is_a_metadata_store(self, store: MetadataStore) -> None:
        assert isinstance(store, MetadataStore)
        assert isinstance(store.url, str)

    # --- runs -------------------------------------------------------------------------------

    def test_create_and_get_run_by_id_prefix_and_name(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        assert store.get_run(run.id) == run
        assert store.get_run(run.id[:6]) == run
        assert store.get_run(run.name) == run
        got = store.get_run(run.id)
        assert got.created.tzinfo is not None and got.created.utcoffset() == timedelta(0)
        assert got.params == {"lr": 0.1, "layers": [1, 2], "note": "héllo"}

    def test_get_run_not_found_names_what_was_looked_for(self, store: MetadataStore) -> None:
        with pytest.raises(NotFound) as err:
            store.get_run("no-such-run")
        assert "no-such-run" in str(err.value)
        assert err.value.hint is not None and "bevel runs list" in err.value.hint

    def test_get_run_short_prefix_is_not_enough(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        with pytest.raises(NotFound):
            store.get_run(run.id[:5])

    def test_get_run_ambiguous_prefix_says_so(self, store: MetadataStore) -> None:
        a = store.create_run(make_run(id=new_id("abcdef1")))
        b = store.create_run(make_run(id=new_id("abcdef2")))
        with pytest.raises(NotFound) as err:
            store.get_run("abcdef")
        assert "ambiguous" in str(err.value)
        assert a.id in str(err.value) and b.id in str(err.value)
        assert store.get_run("abcdef1") == a

    def test_run_name_must_be_unique(self, store: MetadataStore) -> None:
        store.create_run(make_run(name="same"))
        with pytest.raises(ConfigError) as err:
            store.create_run(make_run(name="same"))
        assert "'same'" in str(err.value)

    def test_finish_run_and_heartbeat(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        beat = T0 + timedelta(minutes=5)
        store.heartbeat(run.id, beat)
        assert store.get_run(run.id).heartbeat == beat
        ended = T0 + timedelta(minutes=6)
        store.finish_run(run.id, RunStatus.FAILED, ended=ended, error="boom")
        got = store.get_run(run.id)
        assert (got.status, got.ended, got.error) == (RunStatus.FAILED, ended, "boom")
        with pytest.raises(NotFound):
            store.finish_run(new_id(), RunStatus.COMPLETED, ended=ended)

    def test_list_runs_newest_first_with_filters_and_pages(self, store: MetadataStore) -> None:
        runs = [
            store.create_run(make_run("train" if i % 2 else "etl", at=i, name=f"run-{i:02d}"))
            for i in range(12)
        ]
        store.finish_run(runs[3].id, RunStatus.COMPLETED, ended=T0 + timedelta(hours=1))
        newest_first = [r.id for r in reversed(runs)]
        assert [r.id for r in store.list_runs()] == newest_first
        assert [r.id for r in store.list_runs(RunFilter(limit=5))] == newest_first[:5]
        assert [r.id for r in store.list_runs(RunFilter(limit=5, offset=5))] == newest_first[5:10]
        assert [r.id for r in store.list_runs(RunFilter(limit=0))] == newest_first
        train = store.list_runs(RunFilter(pipeline="train"))
        assert [r.id for r in train] == [r.id for r in reversed(runs) if r.pipeline == "train"]
        assert [r.id for r in store.list_runs(RunFilter(status=RunStatus.COMPLETED))] == [
            runs[3].id
        ]
        assert [r.name for r in store.list_runs(RunFilter(name="RUN-1"))] == [
            "run-11",
            "run-10",
        ]
        assert store.list_runs(RunFilter(name="%")) == []  # no wildcard injection
        assert store.list_runs(RunFilter(pipeline="nope")) == []

    def test_list_runs_sorted_by_a_column_in_stable_pages(self, store: MetadataStore) -> None:
        runs = [
            store.create_run(
                make_run("train" if i % 3 else "etl", at=i, name=f"run-{(7 * i) % 10}")
            )
            for i in range(10)
        ]
        by_name = sorted(runs, key=lambda r: r.name)
        assert [r.name for r in store.list_runs(RunFilter(sort="name", limit=0))] == [
            r.name for r in by_name
        ]
        pages = [store.list_runs(RunFilter(sort="-name", limit=3, offset=o)) for o in (0, 3, 6, 9)]
        assert [r.name for p in pages for r in p] == [r.name for r in reversed(by_name)]
        oldest = store.list_runs(RunFilter(sort="created", limit=2))
        assert [r.id for r in oldest] == [runs[0].id, runs[1].id]
        piped = store.list_runs(RunFilter(sort="pipeline", limit=0))
        assert [r.pipeline for r in piped] == ["etl"] * 4 + ["train"] * 6
        # ties in pipeline: newest first within it
        assert [r.id for r in piped[:4]] == [runs[9].id, runs[6].id, runs[3].id, runs[0].id]
        with pytest.raises(ConfigError, match="cannot be sorted by"):
            store.list_runs(RunFilter(sort="name; DROP TABLE runs"))

    def test_list_pipelines_counts_runs(self, store: MetadataStore) -> None:
        for i in range(3):
            store.create_run(make_run("train", at=i))
        store.create_run(make_run("etl", at=10))
        pipes = {p.name: p for p in store.list_pipelines()}
        assert set(pipes) == {"train", "etl"}
        assert pipes["train"].runs == 3
        assert pipes["train"].last_run == T0 + timedelta(seconds=2)
        assert pipes["train"].source == "pipes:train"
        assert pipes["etl"].runs == 1

    # --- step runs --------------------------------------------------------------------------

    def test_step_runs_in_start_order_and_upserted(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        late = make_step(run, "b", at=5)
        early = make_step(run, "a", at=1)
        store.start_step_run(late)
        store.start_step_run(early)
        assert [s.step_id for s in store.step_runs(run.id)] == ["a", "b"]
        assert store.get_step_run(early.id) == early
        final = replace(
            done(early, StepStatus.FAILED), error="ValueError: x", traceback="T" * 200_000
        )
        store.finish_step_run(StepCompletion(final))
        assert store.get_step_run(early.id) == final
        # A CACHED/SKIPPED step run is recorded without having been started.
        skipped = done(make_step(run, "c", at=9), StepStatus.SKIPPED)
        store.finish_step_run(StepCompletion(skipped))
        assert [s.status for s in store.step_runs(run.id)] == [
            StepStatus.FAILED,
            StepStatus.RUNNING,
            StepStatus.SKIPPED,
        ]
        assert store.step_runs(new_id()) == []
        with pytest.raises(NotFound):
            store.get_step_run(new_id())

    def test_artifact_versions_count_up_per_name(self, store: MetadataStore) -> None:
        versions = []
        for i in range(3):
            run = store.create_run(make_run(at=i))
            step, saved = self.run_step(store, run, "train", ("model", "report"))
            assert [a.output_name for a in saved] == ["model", "report"]
            assert all(a.producer_step_run_id == step.id and a.run_id == run.id for a in saved)
            versions.append([a.version for a in saved])
        assert versions == [[1, 1], [2, 2], [3, 3]]
        names = {a.name for a in store.list_artifacts(ArtifactFilter(limit=0))}
        assert names == {"train.train.model", "train.train.report"}

    def test_find_cached_returns_newest_completed_with_outputs(self, store: MetadataStore) -> None:
        assert store.find_cached("key-1") is None
        run1 = store.create_run(make_run(at=0))
        self.run_step(store, run1, "train", ("model",), cache_key="key-1")
        run2 = store.create_run(make_run(at=10))
        step2, saved2 = self.run_step(store, run2, "train", ("model",), cache_key="key-1", at=1)
        failed = make_step(run2, "train_2", at=2, cache_key="key-1")
        store.finish_step_run(StepCompletion(done(failed, StepStatus.FAILED)))
        hit = store.find_cached("key-1")
        assert hit is not None
        assert hit.step_run == step2
        assert hit.outputs == {"model": saved2[0]}
        assert store.find_cached("key-2") is None

    def test_cached_step_records_reused_outputs_as_lineage(self, store: MetadataStore) -> None:
        run1 = store.create_run(make_run(at=0))
        step1, (model,) = self.run_step(store, run1, "train", ("model",), cache_key="k")
        run2 = store.create_run(make_run(at=10))
        cached = replace(
            done(make_step(run2, "train", cache_key="k"), StepStatus.CACHED), cached_from=step1.id
        )
        assert (
            store.finish_step_run(StepCompletion(cached, reused_outputs=(("model", model.id),)))
            == []
        )
        assert store.get_step_run(cached.id).cached_from == step1.id
        assert store.lineage(step_run_id=cached.id) == [
            LineageEdge(cached.id, model.id, "model", "out")
        ]
        producers = {e.step_run_id for e in store.lineage(artifact_id=model.id)}
        assert producers == {step1.id, cached.id}
        assert store.step_io(run2.id) == {cached.id: {"in": {}, "out": {"model": model}}}
        # Only COMPLETED step runs are cache sources.
        hit = store.find_cached("k")
        assert hit is not None and hit.step_run.id == step1.id

    def test_previous_step_run(self, store: MetadataStore) -> None:
        run1 = store.create_run(make_run("train", at=0))
        step1, _ = self.run_step(store, run1, "fit")
        other = store.create_run(make_run("other", at=5))
        self.run_step(store, other, "fit")
        run2 = store.create_run(make_run("train", at=10))
        failed = done(make_step(run2, "fit"), StepStatus.FAILED)
        store.finish_step_run(StepCompletion(failed))
        prev = store.previous_step_run("train", "fit", before=T0 + timedelta(seconds=20))
        assert prev is not None and prev.id == step1.id
        assert store.previous_step_run("train", "fit", before=T0) is None
        assert store.previous_step_run("train", "nope", before=T0 + timedelta(days=1)) is None

    # --- artifacts & lineage ----------------------------------------------------------------

    def test_get_artifact_by_id_prefix_name_and_version(self, store: MetadataStore) -> None:
        arts = []
        for i in range(2):
            run = store.create_run(make_run(at=i))
            arts += self.run_step(store, run, "load", ("data",))[1]
        first, second = arts
        assert store.get_artifact(first.id) == first
        assert store.get_artifact(first.id[:8]) == first
        assert store.get_artifact("train.load.data:1") == first
        assert store.get_artifact("train.load.data") == second  # the latest version
        got = store.get_artifact(second.id)
        assert got.metadata == {"rows": 3}
        assert got.visualizations == {"preview": "/store/x/preview.html"}
        assert got.created.tzinfo is not None
        with pytest.raises(NotFound) as err:
            store.get_artifact("train.load.data:7")
        assert "train.load.data:7" in str(err.value) and err.value.hint

    def test_list_artifacts_filters_and_pages(self, store: MetadataStore) -> None:
        run1 = store.create_run(make_run(at=0))
        _, a1 = self.run_step(store, run1, "load", ("data", "stats"))
        run2 = store.create_run(make_run(at=1))
        _, a2 = self.run_step(store, run2, "load", ("data",))
        by_name = store.list_artifacts(ArtifactFilter(name="train.load.data"))
        assert [a.version for a in by_name] == [2, 1]
        assert {a.id for a in store.list_artifacts(ArtifactFilter(run_id=run1.id))} == {
            a.id for a in a1
        }
        found = store.list_artifacts(ArtifactFilter(content_hash=a2[0].content_hash))
        assert found == a2
        assert len(store.list_artifacts(ArtifactFilter(limit=2))) == 2
        assert len(store.list_artifacts(ArtifactFilter(limit=2, offset=2))) == 1

    def test_lineage_and_step_io(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        load, (data,) = self.run_step(store, run, "load", ("data",))
        train, (model,) = self.run_step(
            store, run, "train", ("model",), inputs=(("df", data.id),), at=1
        )
        idle = make_step(run, "idle", at=2)
        store.start_step_run(idle)
        assert store.lineage(step_run_id=train.id) == [
            LineageEdge(train.id, data.id, "df", "in"),
            LineageEdge(train.id, model.id, "model", "out"),
        ]
        assert sorted(store.lineage(artifact_id=data.id), key=lambda e: e.direction) == [
            LineageEdge(train.id, data.id, "df", "in"),
            LineageEdge(load.id, data.id, "data", "out"),
        ]
        assert store.lineage(step_run_id=train.id, artifact_id=data.id) == [
            LineageEdge(train.id, data.id, "df", "in")
        ]
        assert store.step_io(run.id) == {
            load.id: {"in": {}, "out": {"data": data}},
            train.id: {"in": {"df": data}, "out": {"model": model}},
            idle.id: {"in": {}, "out": {}},
        }
        assert store.step_io(new_id()) == {}

    def test_step_details_across_runs(self, store: MetadataStore) -> None:
        first = store.create_run(make_run(pipeline="etl"))
        second = store.create_run(make_run(pipeline="training", at=5))
        load, (data,) = self.run_step(store, first, "load", ("data",))
        train = make_step(second, "train", at=6)
        store.start_step_run(train)
        (model,) = store.finish_step_run(
            StepCompletion(
                done(train),
                outputs=(make_artifact("training.train.model", "model"),),
                inputs=(("df", data.id),),
                metrics=(MetricRecord(second.id, train.id, "acc", 0.5, None, T0),),
            )
        )
        details = store.step_details([train.id, load.id, new_id(), train.id])
        assert [s.id for s in details.step_runs] == [load.id, train.id]  # start order
        assert details.io == {
            load.id: {"in": {}, "out": {"data": data}},
            train.id: {"in": {"df": data}, "out": {"model": model}},
        }
        assert [(m.step_run_id, m.key, m.value) for m in details.metrics] == [
            (train.id, "acc", 0.5)
        ]
        assert details.pipelines == {first.id: "etl", second.id: "training"}
        assert store.step_details([]).step_runs == []

    # --- metrics & metadata -----------------------------------------------------------------

    def test_metrics_and_metadata_in_one_completion(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        step = make_step(run, "train")
        store.start_step_run(step)
        series = tuple(
            MetricRecord(run.id, step.id, "loss", 1.0 / (i + 1), i, T0) for i in range(3)
        )
        entries = (
            MetadataEntry("step_run", step.id, "gpu", {"name": "H100", "count": 1}, T0),
            MetadataEntry("run", run.id, "tag", "baseline", T0),
        )
        store.finish_step_run(StepCompletion(done(step), metrics=series, metadata=entries))
        got = store.metrics(run.id)
        assert [(m.key, m.value, m.step, m.step_run_id) for m in got] == [
            ("loss", 1.0, 0, step.id),
            ("loss", 0.5, 1, step.id),
            ("loss", 1.0 / 3, 2, step.id),
        ]
        assert got[0].created == T0
        assert store.get_metadata("step_run", step.id) == {"gpu": {"name": "H100", "count": 1}}
        assert store.get_metadata("run", run.id) == {"tag": "baseline"}

    def test_log_metadata_replaces_a_key(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        store.log_metadata([MetadataEntry("run", run.id, "a", 1, T0)])
        store.log_metadata(
            [
                MetadataEntry("run", run.id, "a", [1, 2], T0),
                MetadataEntry("run", run.id, "b", None, T0),
            ]
        )
        assert store.get_metadata("run", run.id) == {"a": [1, 2], "b": None}
        assert store.get_metadata("run", new_id()) == {}
        with pytest.raises(BevelError):
            store.log_metadata([MetadataEntry("planet", run.id, "a", 1, T0)])

    def test_metadata_of_many_entities_at_once(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        a, b, silent = make_step(run, "a"), make_step(run, "b", at=1), make_step(run, "c", at=2)
        store.log_metadata(
            [
                MetadataEntry("step_run", a.id, "rows", 10, T0),
                MetadataEntry("step_run", a.id, "gpu", {"count": 1}, T0),
                MetadataEntry("step_run", b.id, "rows", 20, T0),
                MetadataEntry("run", a.id, "rows", "not a step entry", T0),
            ]
        )
        found = store.metadata_of("step_run", [a.id, b.id, silent.id, a.id])
        assert found == {a.id: {"gpu": {"count": 1}, "rows": 10}, b.id: {"rows": 20}}
        assert list(found[a.id]) == ["gpu", "rows"]  # keys sorted
        assert store.metadata_of("step_run", []) == {}

    def test_latest_metrics_of_many_runs_at_once(self, store: MetadataStore) -> None:
        first = store.create_run(make_run())
        second = store.create_run(make_run(at=1))
        quiet = store.create_run(make_run(at=2))
        step = make_step(first, "train")
        other = make_step(second, "train")
        later = T0 + timedelta(seconds=5)
        store.start_step_run(step)
        store.start_step_run(other)
        store.finish_step_run(
            StepCompletion(
                done(step),
                metrics=(
                    MetricRecord(first.id, step.id, "loss", 0.9, 0, T0),
                    MetricRecord(first.id, step.id, "loss", 0.5, 2, T0),  # same time, later step
                    MetricRecord(first.id, step.id, "loss", 0.7, 1, T0),
                    MetricRecord(first.id, step.id, "acc", 0.1, None, T0),
                    MetricRecord(first.id, step.id, "acc", 0.8, None, later),  # logged last
                ),
            )
        )
        store.finish_step_run(
            StepCompletion(
                done(other), metrics=(MetricRecord(second.id, other.id, "acc", 1, None, T0),)
            )
        )
        ids = [first.id, second.id, quiet.id]
        assert store.latest_metrics(ids) == {
            first.id: {"acc": 0.8, "loss": 0.5},
            second.id: {"acc": 1.0},
        }
        assert store.latest_metrics(ids, ["loss"]) == {first.id: {"loss": 0.5}}
        assert store.latest_metrics(ids, []) == {} and store.latest_metrics([]) == {}

    # --- delete & stale runs ----------------------------------------------------------------

    def test_delete_run_removes_everything_and_returns_uris(self, store: MetadataStore) -> None:
        keep = store.create_run(make_run(at=0))
        _, (kept,) = self.run_step(store, keep, "load", ("data",))
        run = store.create_run(make_run(at=1))
        step = make_step(run, "load")
        store.start_step_run(step)
        shared = make_artifact("train.load.data", "data", uri=kept.uri)  # deduplicated files
        own = make_artifact("train.load.stats", "stats")
        store.finish_step_run(
            StepCompletion(
                done(step),
                outputs=(shared, own),
                inputs=(("seed", kept.id),),
                metrics=(MetricRecord(run.id, step.id, "m", 1.0, None, T0),),
                metadata=(MetadataEntry("step_run", step.id, "k", 1, T0),),
            )
        )
        store.log_metadata([MetadataEntry("run", run.id, "k", 1, T0)])
        store.finish_run(run.id, RunStatus.COMPLETED, ended=T0)
        assert store.delete_run(run.id) == [own.uri]  # kept.uri is still used by `kept`
        with pytest.raises(NotFound):
            store.get_run(run.id)
        assert store.step_runs(run.id) == []
        assert store.metrics(run.id) == []
        assert store.get_metadata("run", run.id) == {}
        assert store.get_metadata("step_run", step.id) == {}
        assert store.list_artifacts(ArtifactFilter(run_id=run.id)) == []
        assert store.get_artifact(kept.id) == kept
        assert store.lineage(artifact_id=kept.id) == [
            LineageEdge(kept.producer_step_run_id or "", kept.id, "data", "out")
        ]
        with pytest.raises(NotFound):
            store.delete_run(run.id)

    def test_delete_run_keeps_artifacts_other_runs_use(self, store: MetadataStore) -> None:
        first = store.create_run(make_run(at=0))
        step1, (model,) = self.run_step(store, first, "train", ("model",), cache_key="k")
        second = store.create_run(make_run(at=1))
        cached = replace(done(make_step(second, "train"), StepStatus.CACHED), cached_from=step1.id)
        store.finish_step_run(StepCompletion(cached, reused_outputs=(("model", model.id),)))
        for run in (first, second):
            store.finish_run(run.id, RunStatus.COMPLETED, ended=T0)
        assert store.delete_run(first.id) == []
        orphan = store.get_artifact(model.id)
        assert (orphan.run_id, orphan.producer_step_run_id) == (None, None)
        assert store.step_io(second.id) == {cached.id: {"in": {}, "out": {"model": orphan}}}
        # The last run referencing a detached artifact takes it along.
        assert store.delete_run(second.id) == [model.uri]
        with pytest.raises(NotFound):
            store.get_artifact(model.id)

    def test_references_name_recorded_uris_under_a_prefix_and_every_run(
        self, store: MetadataStore
    ) -> None:
        run = store.create_run(make_run(at=0))
        _, (a,) = self.run_step(store, run, "load", ("data",))
        other = store.create_run(make_run(at=1))
        step = make_step(other, "odd")
        store.start_step_run(step)
        odd = make_artifact("p.odd.x", "x", uri="/store_x/odd%_name")  # LIKE wildcards
        store.finish_step_run(StepCompletion(done(step), outputs=(odd,)))
        refs = store.references("/store/")
        assert refs.uris == frozenset({a.uri}) and refs.run_ids == frozenset({run.id, other.id})
        assert store.references("/store_x/odd%").uris == frozenset({odd.uri})
        assert store.references("/store_").uris == frozenset({odd.uri})
        only = store.references("/", uris=[a.uri, "/store/never-recorded"])
        assert only.uris == frozenset({a.uri})

    def test_a_cache_hit_whose_run_was_deleted_is_refused(self, store: MetadataStore) -> None:
        first = store.create_run(make_run(at=0))
        step1, (model,) = self.run_step(store, first, "train", ("model",), cache_key="k")
        store.finish_run(first.id, RunStatus.COMPLETED, ended=T0)
        second = store.create_run(make_run(at=1))
        store.delete_run(first.id)
        cached = replace(done(make_step(second, "train"), StepStatus.CACHED), cached_from=step1.id)
        with pytest.raises(CacheHitLost):
            store.finish_step_run(StepCompletion(cached, reused_outputs=(("model", model.id),)))
        assert store.step_runs(second.id) == []  # nothing of it was recorded

    def test_delete_running_run_needs_force(self, store: MetadataStore) -> None:
        run = store.create_run(make_run())
        with pytest.raises(MetadataError) as err:
            store.delete_run(run.id)
        assert "running" in str(err.value)
        store.delete_run(run.id, force=True)
        assert store.list_runs() == []

    def test_mark_stale_runs(self, store: MetadataStore) -> None:
        stale = store.create_run(make_run(at=0))
        silent = store.create_run(make_run(at=0, heartbeat=None))
        fresh = store.create_run(make_run(at=0, heartbeat=T0 + timedelta(minutes=10)))
        ended = store.create_run(make_run(at=0))
        store.finish_run(ended.id, RunStatus.COMPLETED, ended=T0)
        step = make_step(stale, "train")
        store.start_step_run(step)
        marked = store.mark_stale_runs(T0 + timedelta(minutes=5))
        assert sorted(marked) == sorted([stale.id, silent.id])
        got = store.get_run(stale.id)
        assert got.status == RunStatus.FAILED and got.ended is not None
        assert got.error and "heartbeat" in got.error
        assert store.get_step_run(step.id).status == StepStatus.FAILED
        assert store.get_run(fresh.id).status == RunStatus.RUNNING
        assert store.get_run(ended.id).status == RunStatus.COMPLETED
        assert store.mark_stale_runs(T0 + timedelta(minutes=5)) == []

    def test_mark_stale_runs_only_among_given_ids(self, store: MetadataStore) -> None:
        picked = store.create_run(make_run(at=0))
        other = store.create_run(make_run(at=0))
        later = T0 + timedelta(hours=1)
        assert store.mark_stale_runs(later, run_ids=[]) == []
        marked = store.mark_stale_runs(later, run_ids=[picked.id], reason="driver died (h:1)")
        assert marked == [picked.id]
        assert store.get_run(picked.id).error == "driver died (h:1)"
        assert store.get_run(other.id).status == RunStatus.RUNNING
