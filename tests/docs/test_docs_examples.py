"""Every ```python block in README.md and docs/*.md runs, in order, in a fresh bevel home.

A documented snippet that breaks fails CI. The YAML examples are checked as run configs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bevel.dag.config import parse_run_config

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(path: Path, lang: str) -> list[str]:
    return [code for kind, code in BLOCK.findall(path.read_text()) if kind == lang]


def test_readme_has_python_examples() -> None:
    assert len(blocks(ROOT / "README.md", "python")) >= 2


@pytest.mark.parametrize("doc", [d for d in DOCS if blocks(d, "python")], ids=lambda d: d.name)
def test_python_blocks_run(doc: Path, tmp_path: Path) -> None:
    script = tmp_path / f"{doc.stem}_examples.py"
    script.write_text("\n\n".join(blocks(doc, "python")))
    env = {"BEVEL_HOME": str(tmp_path / ".bevel"), "PATH": "/usr/bin:/bin", "DO_NOT_TRACK": "1"}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"{doc.name} examples failed:\n{proc.stderr[-4000:]}"


@pytest.mark.parametrize("doc", [d for d in DOCS if blocks(d, "yaml")], ids=lambda d: d.name)
def test_yaml_run_configs_are_valid(doc: Path) -> None:
    for text in blocks(doc, "yaml"):
        parse_run_config(yaml.safe_load(text), source=doc.name)
