"""What ``./scripts/demo`` installs is enough for what it runs: the README's quick start on a
fresh clone (its own ``.venv``, not the dev environment the rest of the suite runs in).

Regression: the quickstart stores its model with skops (bevel's sklearn materializer), but the
``examples`` extra the demo installs listed scikit-learn without skops, so on a fresh clone the
first run failed with "cannot import materializer ...SklearnMaterializer: No module named
'skops'". Every test here ran in the dev environment, which has skops, so nothing noticed.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from e2e_helpers import ROOT

from bevel import Client
from bevel.artifacts.materializers.registry import _EXTRAS

_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def _requirements(extras: dict[str, list[str]], extra: str) -> set[str]:
    """The distribution names ``pip install 'bevel[EXTRA]'`` installs (bevel[...] followed)."""
    names: set[str] = set()
    for requirement in extras[extra]:
        name = _NAME.match(requirement)[0].lower()  # type: ignore[index]
        if name == "bevel":
            for inner in re.search(r"\[([^\]]*)\]", requirement)[1].split(","):  # type: ignore[index]
                names |= _requirements(extras, inner.strip())
        else:
            names.add(name)
    return names


def _imported(module: str) -> set[str]:
    """The top-level packages ``module``'s source imports (at the top or inside functions)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    tree = ast.parse(Path(spec.origin).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.partition(".")[0])
    return found


def test_the_demos_extra_installs_what_the_quickstart_stores_its_outputs_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = (ROOT / "scripts" / "demo").read_text()
    extra = re.search(r'_venv\.sh" (\S+)', demo)[1]  # type: ignore[index]
    target = re.search(r"bevel run (\S+)", demo)[1]  # type: ignore[index]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras: dict[str, list[str]] = pyproject["project"]["optional-dependencies"]
    installed = _requirements(extras, extra)
    home = tmp_path / ".bevel"
    prepared = subprocess.run(  # records the run's plan, runs no step
        [sys.executable, "-m", "bevel.entrypoint", "prepare", target],
        cwd=ROOT, env={**os.environ, "BEVEL_HOME": str(home)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    monkeypatch.setenv("BEVEL_HOME", str(home))
    with Client() as client:
        plan = client.runs(limit=1)[0].plan
    materializers = {o["materializer"] for s in plan["steps"] for o in s["outputs"]}
    assert "bevel.integrations.sklearn:SklearnMaterializer" in materializers  # the model
    missing = {}
    for ref in sorted(materializers):
        for package in sorted(_imported(ref.partition(":")[0])):
            needed = _EXTRAS.get(package)
            if needed and not _requirements(extras, needed) <= installed:
                missing[ref] = (package, needed, sorted(_requirements(extras, needed) - installed))
    assert not missing, f"the {extra!r} extra that scripts/demo installs lacks: {missing}"
