"""examples/notebooks/explore.ipynb, executed top to bottom by a real Jupyter kernel (nbclient +
ipykernel): any error in a cell fails the test, and the outputs hold the rendered reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install -e '.[dev]'")
nbclient = pytest.importorskip("nbclient", reason="pip install -e '.[dev]'")
pytest.importorskip("ipykernel", reason="pip install -e '.[dev]'")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebooks" / "explore.ipynb"


def html_outputs(nb: object) -> list[str]:
    found = []
    for cell in nb.cells:  # type: ignore[attr-defined]
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                found.append(data["text/html"])
    return found


@pytest.mark.slow
def test_explore_notebook_executes_and_renders_its_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEVEL_HOME", str(tmp_path / ".bevel"))  # the kernel inherits it
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    executed = tmp_path / "explore.executed.ipynb"
    nbformat.write(nb, executed)
    keep = os.environ.get("BEVEL_SCREENSHOTS")
    if keep:  # keep the executed notebook with the other artefacts of the browser tests
        Path(keep).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(keep, "explore.executed.ipynb"))
    html = "\n".join(html_outputs(nb))
    for marker in (
        "Preview",  # artifact.visualize() of a DataFrame
        "Statistics",  # the profile step's artifact
        "Anomalies",
        "missing column",
        "type changed",
        "unseen category",
        "Drift",
        "drifted",
        "Runs side by side",  # the comparison report
        "Parameters → accuracy",
    ):
        assert marker in html, marker
    assert "<svg" in html
    errors = [
        out
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert errors == []
    warnings = [
        out["text"]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("name") == "stderr" and "Warning" in out.get("text", "")
    ]
    assert warnings == []  # the step logs (INFO) are echoed to stderr; warnings must not be
