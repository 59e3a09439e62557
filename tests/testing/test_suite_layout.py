"""The test suite's own layout: test folders are not packages, so pytest puts each on
``sys.path`` and imports its helper modules by their bare names. Two folders with a helper of the
same name, or a test importing ``conftest`` by name, then get whichever module was imported first
when both folders are collected in one run (``pytest tests/dashboard tests/browser`` failed with
``cannot import name 'LiveServer' from 'conftest' (tests/browser/conftest.py)``)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).parents[1]


def _modules() -> list[Path]:
    return [p for p in TESTS.rglob("*.py") if "thirdparty" not in p.parts]


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
    return names


def test_no_test_module_imports_a_conftest_by_name() -> None:
    found = [str(p.relative_to(TESTS)) for p in _modules() if "conftest" in _imported(p)]
    assert found == [], "import helpers from a module with a name of its own, not conftest"


def test_helper_modules_have_names_no_other_test_folder_uses() -> None:
    folders: dict[str, set[str]] = defaultdict(set)
    for path in _modules():
        if path.name != "conftest.py" and not path.name.startswith("test_"):
            folders[path.stem].add(str(path.parent.relative_to(TESTS)))
    assert {name: where for name, where in folders.items() if len(where) > 1} == {}
