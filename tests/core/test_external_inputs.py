"""External data in the cache key: files a step reads by path, a ``cache_key`` hook, expiry.

Before, a step reading ``data/train.csv`` by a path parameter stayed cached after the file
changed, and nothing told the user. Now an ``ExternalPath`` parameter's data is an ingredient,
and ``bevel runs explain`` names the external input that changed.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from click.testing import Result

from bevel import External, ExternalPath, pipeline, step
from bevel.api import run_pipeline
from bevel.client.views import RunView
from bevel.errors import DefinitionError, ParameterError

# A deque, not a list: module-level list/dict/set literals a step reads are part of its key.
CALLS: deque[str] = deque()


@step
def count_rows(csv: ExternalPath = Path("data/train.csv")) -> int:
    CALLS.append(type(csv).__name__)
    return len(csv.read_text().splitlines()) if csv.exists() else -1


@pipeline
def rows(csv: str = "data/train.csv") -> None:
    count_rows(csv=csv)


@step
def count_images(images: Annotated[Path, External(check="mtime")] = Path("data/images")) -> int:
    CALLS.append("images")
    return len(list(images.iterdir()))


@pipeline
def images() -> None:
    count_images()


def statuses(run: RunView) -> list[str]:
    return [str(s.status) for s in run.steps.values()]


@pytest.fixture
def data(bevel_home: Path, tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    csv = tmp_path / "data" / "train.csv"
    csv.write_text("a,b\n1,2\n")
    CALLS.clear()
    return csv


def test_changing_an_external_file_reruns_the_step_and_explain_names_it(
    data: Path, invoke: Callable[..., Result]
) -> None:
    first = run_pipeline(rows, run_name="first")
    assert first.steps["count_rows"].output.load() == 2
    assert list(CALLS) == ["PosixPath"]  # the step receives a Path
    assert first.steps["count_rows"].params == {"csv": "data/train.csv"}  # recorded as given
    assert statuses(run_pipeline(rows)) == ["cached"]
    data.write_text("a,b\n1,2\n3,4\n")
    changed = run_pipeline(rows, run_name="changed")
    assert statuses(changed) == ["completed"] and changed.steps["count_rows"].output.load() == 3
    explained = invoke("runs", "explain", "changed", "count_rows")
    assert explained.exit_code == 0, explained.output
    assert "external input csv (data/train.csv) changed: its data differs" in explained.output
    data.write_text("a,b\n1,2\n")  # back to the first content: the first result is reused
    back = run_pipeline(rows)
    assert statuses(back) == ["cached"] and back.steps["count_rows"].output.load() == 2


def test_a_missing_external_file_runs_and_is_named(data: Path) -> None:
    run_pipeline(rows)
    data.unlink()
    gone = run_pipeline(rows)
    assert statuses(gone) == ["completed"] and gone.steps["count_rows"].output.load() == -1
    assert any("csv (data/train.csv) changed: it no longer exists" in line
               for line in gone.steps["count_rows"].explain())  # fmt: skip


def test_an_external_path_from_the_command_line(
    data: Path, tmp_path: Path, invoke: Callable[..., Result]
) -> None:
    (tmp_path / "pipe.py").write_text(
        "from bevel import ExternalPath, pipeline, step\n"
        "@step\n"
        "def size(f: ExternalPath) -> int:\n"
        "    return f.stat().st_size\n"
        "@pipeline\n"
        "def p(f: str = 'data/train.csv'):\n"
        "    size(f=f)\n"
    )
    assert invoke("run", "pipe.py:p", "-p", "f=data/train.csv").exit_code == 0
    again = invoke("run", "pipe.py:p", "-p", "f=data/train.csv")
    assert "0 ran, 1 cached" in again.output
    data.write_text("different content\n")
    assert "1 ran, 0 cached" in invoke("run", "pipe.py:p", "-p", "f=data/train.csv").output


def test_mtime_check_reads_no_data(data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "images"
    folder.mkdir()
    image = folder / "a.png"
    image.write_bytes(b"png1")
    assert statuses(run_pipeline(images)) == ["completed"]
    assert statuses(run_pipeline(images)) == ["cached"]
    stat = image.stat()
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # touched only
    assert statuses(run_pipeline(images)) == ["completed"]
    stat = image.stat()
    image.write_bytes(b"png2")  # same size, and the time put back: not seen (documented)
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert statuses(run_pipeline(images)) == ["cached"]
    (folder / "b.png").write_bytes(b"x")
    assert statuses(run_pipeline(images)) == ["completed"]


def test_external_parameters_are_checked_when_compiling(bevel_home: Path) -> None:
    @pipeline
    def bad() -> None:
        count_rows(csv=3)

    with pytest.raises(ParameterError, match="external input and needs a path"):
        run_pipeline(bad)

    @step
    def plain(path: str) -> int:
        return 1

    @pipeline
    def given_a_path() -> None:
        plain(path=Path("x.csv"))  # type: ignore[arg-type]

    with pytest.raises(ParameterError) as err:
        run_pipeline(given_a_path)
    assert "ExternalPath" in str(err.value.hint)
    with pytest.raises(DefinitionError, match="check is one of content, mtime"):
        External(check="sha1")  # type: ignore[arg-type]


DATASET = {"version": "v1"}


def dataset_version(*, step: str, params: dict[str, Any], inputs: dict[str, str], **_: Any) -> str:
    return f"{DATASET['version']}:{step}:{params['n']}"


@step(cache_key=dataset_version)
def fetch(n: int = 2) -> list[int]:
    CALLS.append("fetch")
    return list(range(n))


@pipeline
def fetching(n: int = 2) -> None:
    fetch(n=n)


def test_a_cache_key_hook_is_an_ingredient(bevel_home: Path, invoke: Callable[..., Result]) -> None:
    CALLS.clear()
    run_pipeline(fetching)
    assert statuses(run_pipeline(fetching)) == ["cached"] and list(CALLS) == ["fetch"]
    DATASET["version"] = "v2"
    try:
        changed = run_pipeline(fetching, run_name="new-version")
    finally:
        DATASET["version"] = "v1"
    assert statuses(changed) == ["completed"]
    recorded = changed.steps["fetch"].cache_ingredients
    assert recorded["custom"] == "v2:fetch:2"
    out = invoke("runs", "explain", "new-version", "fetch").output
    assert 'cache_key hook value changed: "v1:fetch:2" -> "v2:fetch:2"' in out


def test_a_failing_cache_key_hook_fails_the_step_clearly(bevel_home: Path) -> None:
    def broken(**_: Any) -> str:
        raise RuntimeError("catalog unreachable")

    def not_json(**_: Any) -> object:
        return object()

    for hook, text in [(broken, "raised RuntimeError: catalog unreachable"),
                       (not_json, "returned a value that is not JSON")]:  # fmt: skip

        @step(cache_key=hook)
        def keyed() -> int:
            return 1

        @pipeline
        def p() -> None:
            keyed()

        run = run_pipeline(p, raise_on_failure=False)
        assert statuses(run) == ["failed"]
        error = str(run.steps["keyed"].error)
        assert "the cache_key hook" in error and text in error


@pytest.mark.parametrize(
    ("expiration", "second"), [(timedelta(hours=1), "cached"), (1e-6, "completed")]
)
def test_cache_expiration(bevel_home: Path, expiration: Any, second: str) -> None:
    @step(cache_expiration=expiration)
    def stamp() -> int:
        return 1

    @pipeline
    def p() -> None:
        stamp()

    run_pipeline(p)
    again = run_pipeline(p)
    assert statuses(again) == [second]
    if second == "completed":
        assert any("had expired" in line for line in again.steps["stamp"].explain())


@pytest.mark.parametrize("bad", [0, -5, "1h", True])
def test_a_bad_cache_expiration_is_a_definition_error(bad: Any) -> None:
    with pytest.raises(DefinitionError, match="cache_expiration must be a positive number"):

        @step(cache_expiration=bad)
        def f() -> int:
            return 1
