"""A real Jupyter kernel: define and run a pipeline in cells, then look at rich HTML views."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client", reason="pip install -e '.[dev]'")
pytest.importorskip("ipykernel", reason="pip install -e '.[dev]'")

CELLS = [
    """
from typing import Annotated
from bevel import step, pipeline, log_metric, Client

@step
def numbers(n: int = 5) -> list[int]:
    return list(range(n))

@step
def stats(xs: list[int]) -> tuple[Annotated[float, "mean"], Annotated[int, "count"]]:
    log_metric("mean", sum(xs) / len(xs))
    return sum(xs) / len(xs), len(xs)

@pipeline
def nb(n: int = 5):
    stats(numbers(n))
""",
    "run = nb(n=9)\nstr(run.status)",
    "run",
    "run.steps['stats']",
    "run.steps['stats'].outputs['mean']",
    "Client().runs(limit=5)",
    "str(nb(n=9).steps['stats'].status)",
    "run.steps['stats'].outputs['count'].load()",
]


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Any]:
    env = {**os.environ, "BEVEL_HOME": str(tmp_path / ".bevel")}
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env=env, cwd=str(tmp_path))
    client = km.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    try:
        yield client
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def execute(client: Any, code: str) -> dict[str, Any]:
    """Run one cell; return its result's mime bundle (raise with the traceback on error)."""
    msg_id = client.execute(code)
    result: dict[str, Any] = {}
    while True:
        msg = client.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "execute_result":
            result = content["data"]
        elif kind == "error":
            raise AssertionError("\n".join(content["traceback"]))
        elif kind == "status" and content["execution_state"] == "idle":
            return result


def test_pipeline_in_a_kernel_with_html_views(kernel: Any) -> None:
    assert sys.executable  # the kernel runs this interpreter (ipykernel's native spec)
    outputs = [execute(kernel, cell) for cell in CELLS]
    assert outputs[1]["text/plain"] == "'completed'"
    run_html = outputs[2]["text/html"]
    assert "numbers" in run_html and "stats" in run_html and "completed" in run_html
    step_html = outputs[3]["text/html"]
    assert "mean" in step_html and "count" in step_html
    artifact_html = outputs[4]["text/html"]
    assert "nb.stats.mean" in artifact_html and "blake3:" in artifact_html
    runs_html = outputs[5]["text/html"]
    assert runs_html.count("<tr") >= 2 and "nb" in runs_html
    assert outputs[6]["text/plain"] == "'cached'"  # cells re-run: same code, cache hit
    assert outputs[7]["text/plain"] == "9"


def test_classes_defined_in_cells_work_in_the_kernel(kernel: Any) -> None:
    execute(
        kernel,
        """
import json, os
from dataclasses import dataclass
from bevel import pipeline, step
from bevel.materializers import Materializer, register_materializer

class Vocab:
    def __init__(self, words):
        self.words = words

class VocabMaterializer(Materializer):
    def save(self, obj, directory):
        with open(os.path.join(directory, "w.json"), "w") as fh:
            json.dump(obj.words, fh)
    def load(self, directory, type_):
        with open(os.path.join(directory, "w.json")) as fh:
            return Vocab(json.load(fh))

@dataclass
class Stats:
    n: int

register_materializer(Vocab, VocabMaterializer)

@step
def build() -> Vocab:
    return Vocab(["a", "b"])

@step
def count(v: Vocab) -> Stats:
    return Stats(len(v.words))

@pipeline
def cells():
    count(build())

run = cells()
""",
    )
    refs = execute(
        kernel, "run.steps['build'].output.materializer, run.steps['count'].output.type_ref"
    )
    # No file holds these classes (the kernel's __main__ file is ipykernel's launcher).
    assert refs["text/plain"] == "('__main__:VocabMaterializer', '__main__:Stats')"
    loaded = execute(
        kernel, "run.steps['build'].output.load().words, run.steps['count'].output.load()"
    )
    assert loaded["text/plain"] == "(['a', 'b'], Stats(n=2))"
