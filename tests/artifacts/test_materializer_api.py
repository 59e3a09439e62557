"""The public materializer API: the base class and its defaults, classes in
``@step(materializers=...)``, contract errors at compile time, and classes defined in the script
being run (recorded by file path, loaded from another process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from bevel import Client, pipeline, step
from bevel.api import compile_pipeline
from bevel.artifacts.materializers import registry
from bevel.errors import DefinitionError
from bevel.materializers import Materializer, register_materializer


@pytest.fixture(autouse=True)
def _isolated_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_table", dict(registry._table))
    monkeypatch.setattr(registry, "_instances", {})


class Box:
    def __init__(self, value: int) -> None:
        self.value = value


def _write(directory: str, value: int) -> None:
    with open(os.path.join(directory, "box.json"), "w") as fh:
        json.dump(value, fh)


def _read(directory: str) -> Box:
    with open(os.path.join(directory, "box.json")) as fh:
        return Box(json.load(fh))


class MinimalBox(Materializer):
    """Only the two required methods."""

    def save(self, obj: Box, directory: str) -> None:
        _write(directory, obj.value)

    def load(self, directory: str, type_: type | None) -> Box:
        return _read(directory)


class DuckBox:
    """No base class, no version, no metadata, no visualizations."""

    def save(self, obj: Box, directory: str) -> None:
        _write(directory, obj.value)

    def load(self, directory: str, type_: type | None) -> Box:
        return _read(directory)


@step
def make_box(value: int = 7) -> Box:
    return Box(value)


@pipeline
def boxes(value: int = 7) -> None:
    make_box(value)


@pytest.mark.parametrize("materializer", [MinimalBox, DuckBox])
def test_a_materializer_with_only_save_and_load_works(bevel_home: Path, materializer: type) -> None:
    # Before: subclassing the base Protocol without metadata()/visualizations() crashed the save
    # with "could not save ... check that the returned value matches the output annotation".
    register_materializer(Box, materializer)
    run = boxes(value=5)
    art = run.steps["make_box"].output
    assert art.load().value == 5
    assert art.metadata == {}
    assert art.visualizations == {}
    assert art.materializer_version == "1"


def test_the_legacy_import_path_is_the_same_base_class() -> None:
    from bevel.artifacts.materializers.base import Materializer as Legacy

    assert Legacy is Materializer


class Sized(MinimalBox):
    version = "3"

    def metadata(self, obj: Box) -> dict[str, Any]:
        return {"value": obj.value, "odd": obj.value % 2 == 1}

    def visualizations(self, obj: Box) -> dict[str, str]:
        return {"box": f"<b>{obj.value}</b>"}


def test_overridden_methods_and_version_are_used(bevel_home: Path) -> None:
    register_materializer(Box, Sized)
    art = boxes(value=5).steps["make_box"].output
    assert art.materializer_version == "3"
    assert art.metadata == {"value": 5, "odd": True}
    assert list(art.visualizations) == ["box"]


class NoneMetadata(MinimalBox):
    def metadata(self, obj: Box) -> Any:
        return None

    def visualizations(self, obj: Box) -> Any:
        raise RuntimeError("plotting broke")


def test_bad_optional_methods_warn_and_the_artifact_is_kept(bevel_home: Path) -> None:
    register_materializer(Box, NoneMetadata)
    with pytest.warns(Warning) as warned:
        art = boxes(value=2).steps["make_box"].output
    texts = [str(w.message) for w in warned]
    assert any("metadata() failed" in t and "NoneType, not a dict" in t for t in texts), texts
    assert any("visualizations() failed" in t and "plotting broke" in t for t in texts), texts
    assert art.load().value == 2 and art.metadata == {}


class NoLoad(Materializer):
    def save(self, obj: Any, directory: str) -> None:
        pass


class IntVersion(MinimalBox):
    version = 2  # type: ignore[assignment]


class NeedsArgs(MinimalBox):
    def __init__(self, compression: str) -> None:
        self.compression = compression


@pytest.mark.parametrize(
    ("materializer", "expected", "hint"),
    [
        (NoLoad, "does not define load()", "load(self, directory, type_)"),
        (IntVersion, "has version 2, which is not a non-empty string", 'version = "1"'),
        (NeedsArgs, "cannot create materializer", "no arguments"),
    ],
)
def test_a_broken_materializer_fails_at_compile_time_naming_the_step(
    materializer: type, expected: str, hint: str
) -> None:
    register_materializer(Box, materializer)
    with pytest.raises(DefinitionError) as err:
        compile_pipeline(boxes)
    assert expected in err.value.message and materializer.__qualname__ in err.value.message
    assert "make_box" in err.value.message
    assert err.value.where and err.value.where.startswith(__file__)
    assert err.value.hint and hint in err.value.hint


class Marker:
    pass


@step(materializers={"output": MinimalBox})
def boxed(value: int = 3) -> Box:
    return Box(value)


@pipeline
def boxed_pipeline() -> None:
    boxed()


def test_step_materializers_accept_a_class(bevel_home: Path) -> None:
    # Before: "'type' object has no attribute 'partition'" when compiling.
    art = boxed_pipeline().steps["boxed"].output
    assert art.materializer == f"{__name__}:MinimalBox"
    assert art.load().value == 3


def test_with_options_materializers_accept_a_class(bevel_home: Path) -> None:
    @pipeline
    def p() -> None:
        make_box.with_options(materializers={"output": DuckBox})(9)

    art = p().steps["make_box"].output
    assert art.materializer == f"{__name__}:DuckBox" and art.load().value == 9


def test_step_materializers_refuse_other_values() -> None:
    with pytest.raises(DefinitionError) as err:

        @step(materializers={"output": MinimalBox()})
        def bad() -> Box:
            return Box(1)

    assert "expected a materializer class or a 'module:Class' string" in err.value.message
    assert err.value.where and err.value.where.startswith(__file__)


def test_step_materializers_for_an_unknown_output_are_refused() -> None:
    @step(materializers={"boxx": MinimalBox})
    def typo() -> Box:
        return Box(1)

    @pipeline
    def p() -> None:
        typo()

    with pytest.raises(DefinitionError) as err:
        compile_pipeline(p)
    assert "'boxx'" in err.value.message and err.value.hint == "its outputs are: output"


SCRIPT = """
import json, os
from dataclasses import dataclass
from bevel import pipeline, step
from bevel.materializers import Materializer, register_materializer


class Vocab:
    def __init__(self, words):
        self.words = sorted(words)


class VocabMaterializer(Materializer):
    def save(self, obj, directory):
        with open(os.path.join(directory, "words.json"), "w") as fh:
            json.dump(obj.words, fh)

    def load(self, directory, type_):
        with open(os.path.join(directory, "words.json")) as fh:
            return Vocab(json.load(fh))


@dataclass
class Stats:
    n: int


register_materializer(Vocab, VocabMaterializer)


@step
def build() -> Vocab:
    return Vocab(["b", "a"])


@step
def stats(v: Vocab) -> Stats:
    return Stats(len(v.words))


@pipeline
def words():
    stats(build())

"""

READ_BACK = """
from bevel import Client
run = Client().last_run("words")
vocab = run.steps["build"].output
stats = run.steps["stats"].output
print(vocab.materializer, vocab.type_ref, stats.type_ref)
print(type(vocab.load()).__name__, vocab.load().words, stats.load())
print(len(Client().runs()))
"""


def _python(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("how", ["python", "bevel run"])
def test_classes_defined_in_the_script_load_from_another_process(tmp_path: Path, how: str) -> None:
    # Before: recorded as "__main__:Vocab", which no other process can import.
    project = tmp_path / "project"
    project.mkdir()
    main_block = 'if __name__ == "__main__":\n    words()\n' if how == "python" else ""
    (project / "words.py").write_text(SCRIPT + main_block)
    env = {**os.environ, "BEVEL_HOME": str(tmp_path / ".bevel")}
    if how == "python":
        ran = _python("words.py", cwd=project, env=env)
    else:
        bevel = str(Path(sys.executable).with_name("bevel"))
        ran = subprocess.run(
            [bevel, "run", "words.py:words"], cwd=project, env=env, capture_output=True, text=True
        )
    assert ran.returncode == 0, ran.stderr
    elsewhere = tmp_path / "elsewhere"  # not the script's folder: nothing importable by name
    elsewhere.mkdir()
    read = _python("-c", READ_BACK, cwd=elsewhere, env=env)
    assert read.returncode == 0, read.stderr
    refs, loaded, runs = read.stdout.splitlines()
    path = str(project / "words.py")
    assert refs == f"{path}:VocabMaterializer {path}:Vocab {path}:Stats"
    assert loaded == "Vocab ['a', 'b'] Stats(n=2)"
    assert runs == "1"  # importing the script to load its classes did not run it again


def test_loading_refuses_a_script_that_runs_a_pipeline_when_imported(tmp_path: Path) -> None:
    script = tmp_path / "words.py"
    script.write_text(SCRIPT + "words()\n")  # no __main__ guard
    env = {**os.environ, "BEVEL_HOME": str(tmp_path / ".bevel")}
    assert _python(str(script), cwd=tmp_path, env=env).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    read = _python(
        "-c",
        textwrap.dedent("""
            from bevel import Client
            from bevel.errors import BevelError
            try:
                Client().last_run("words").steps["build"].output.load()
            except BevelError as exc:
                print(exc)
            print(len(Client().runs()))
        """),
        cwd=elsewhere,
        env=env,
    )
    assert read.returncode == 0, read.stderr
    assert "runs a pipeline when imported" in read.stdout
    assert 'if __name__ == "__main__":' in read.stdout
    assert read.stdout.splitlines()[-1] == "1"  # no second run was started


def test_a_class_from_an_interactive_session_gets_a_clear_load_error(tmp_path: Path) -> None:
    env = {**os.environ, "BEVEL_HOME": str(tmp_path / ".bevel")}
    made = _python("-c", SCRIPT + "words()\n", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    read = _python(
        "-c",
        "from bevel import Client\n"
        "from bevel.errors import BevelError\n"
        "try:\n"
        "    Client().last_run('words').steps['build'].output.load()\n"
        "except BevelError as exc:\n"
        "    print(exc)\n",
        cwd=tmp_path,
        env=env,
    )
    assert "__main__:VocabMaterializer" in read.stdout
    assert "interactive session" in read.stdout and "move it into a module" in read.stdout


def test_a_class_in_an_importable_module_keeps_its_module_reference(bevel_home: Path) -> None:
    register_materializer(Box, MinimalBox)
    boxes()
    assert Client().last_run("boxes").steps["make_box"].output.type_ref == f"{__name__}:Box"
