"""A materializer that says so (``describes_beside_save``) has a big object's metadata and
visualizations computed on a thread while ``save()`` writes it: the same facts and pictures,
the same warnings when they fail, and no thread left behind, also when saving fails."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from bevel.artifacts.hashing import THREAD_MIN
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.numpy_array import NumpyMaterializer
from bevel.artifacts.materializers.registry import NUMPY_MATERIALIZER, get_materializer
from bevel.artifacts.publish import save_artifact
from bevel.errors import ArtifactError, BevelWarning
from bevel.materializers import Materializer


class Recording(Materializer):
    """Saves bytes-like objects; records which thread described them and when."""

    describes_beside_save: ClassVar[bool] = True
    seen: ClassVar[dict[str, str]] = {}
    fail: ClassVar[str] = ""
    release: ClassVar[threading.Event] = threading.Event()

    def save(self, obj: Any, directory: str) -> None:
        Recording.seen["save"] = threading.current_thread().name
        if Recording.fail == "save":
            raise RuntimeError("disk on fire")
        # the description of a big object runs meanwhile: wait until it has started
        Recording.release.wait(5)
        with open(os.path.join(directory, "data.bin"), "wb") as f:
            f.write(memoryview(obj))

    def load(self, directory: str, type_: type | None) -> Any:
        return np.fromfile(os.path.join(directory, "data.bin"), dtype=np.uint8)

    def metadata(self, obj: Any) -> dict[str, Any]:
        Recording.seen["metadata"] = threading.current_thread().name
        if Recording.fail == "metadata":
            raise ValueError("no facts today")
        return {"nbytes": int(obj.nbytes)}

    def visualizations(self, obj: Any) -> dict[str, Any]:
        Recording.seen["visualizations"] = threading.current_thread().name
        Recording.release.set()
        if Recording.fail == "visualizations":
            raise ValueError("no pictures today")
        return {"size": f"<p>{obj.nbytes} bytes</p>"}


REF = f"{__name__}:Recording"


@pytest.fixture(autouse=True)
def fresh() -> None:
    Recording.seen = {}
    Recording.fail = ""
    Recording.release = threading.Event()


def no_describing_thread() -> bool:
    return not any(t.name == "bevel-describe" for t in threading.enumerate())


def test_a_big_object_is_described_while_it_is_saved(tmp_path: Path) -> None:
    store = LocalArtifactStore(str(tmp_path))
    saved = save_artifact(store, np.zeros(THREAD_MIN, dtype=np.uint8), REF)
    assert Recording.seen["metadata"] == Recording.seen["visualizations"] == "bevel-describe"
    assert Recording.seen["save"] != "bevel-describe"
    assert saved.metadata == {"nbytes": THREAD_MIN}
    stored = Path(saved.visualizations["size"].removeprefix("file://")).read_text()
    assert stored == f"<p>{THREAD_MIN} bytes</p>"
    assert no_describing_thread()


def test_a_small_object_is_described_after_its_save_on_the_saving_thread(
    tmp_path: Path,
) -> None:
    Recording.release.set()  # nothing runs beside the save
    save_artifact(LocalArtifactStore(str(tmp_path)), np.zeros(100, dtype=np.uint8), REF)
    assert Recording.seen["metadata"] == Recording.seen["save"] != "bevel-describe"


@pytest.mark.parametrize("what", ["metadata", "visualizations"])
def test_a_failing_description_beside_the_save_warns_and_keeps_the_artifact(
    tmp_path: Path, what: str
) -> None:
    Recording.fail = what
    if what == "metadata":
        Recording.release.set()
    with pytest.warns(BevelWarning, match=f"{what}\\(\\) failed") as caught:
        saved = save_artifact(
            LocalArtifactStore(str(tmp_path)), np.ones(THREAD_MIN, dtype=np.uint8), REF
        )
    assert "today" in str(caught[0].message)
    assert (saved.metadata == {}) == (what == "metadata")
    assert (saved.visualizations == {}) == (what == "visualizations")
    assert no_describing_thread()


def test_a_failing_save_leaves_no_describing_thread_and_no_files(tmp_path: Path) -> None:
    Recording.fail = "save"
    store = LocalArtifactStore(str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ArtifactError, match="disk on fire"):
            save_artifact(store, np.ones(THREAD_MIN, dtype=np.uint8), REF)
    assert no_describing_thread()
    assert not list((tmp_path / ".tmp").iterdir()) and not (tmp_path / "data").exists()


def test_a_big_array_is_described_as_when_it_was_described_after_its_save(
    tmp_path: Path,
) -> None:
    array = np.random.default_rng(3).random(THREAD_MIN // 8 + 10)
    saved = save_artifact(LocalArtifactStore(str(tmp_path)), array, NUMPY_MATERIALIZER)
    mat = get_materializer(NUMPY_MATERIALIZER)
    assert NumpyMaterializer.describes_beside_save and mat.describes_beside_save
    assert saved.metadata == mat.metadata(array)
    (uri,) = saved.visualizations.values()
    stored = Path(uri.removeprefix("file://")).read_text()
    assert stored == mat.visualizations(array)["array"]
