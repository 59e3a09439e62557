"""Every workload `benchmarks/run.py --only` accepts is a benchmark it can run.

Regression: a merge had nested the sweep and predict methods inside a module-level function,
so `benchmarks/run.py --only sweep` failed with AttributeError (this test failed on main then).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


def _bench_module() -> ModuleType:
    sys.path.insert(0, str(BENCH.parent))
    try:
        spec = importlib.util.spec_from_file_location("bevel_benchmarks_run", BENCH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while defined
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH.parent))
        sys.modules.pop("bevel_benchmarks_run", None)


def test_every_workload_is_a_method_of_the_bench() -> None:
    module = _bench_module()
    missing = [w for w in module.WORKLOADS if not callable(getattr(module.Bench, w, None))]
    assert not missing, f"workloads without a Bench method: {missing}"
    assert {"sweep", "predict"} <= set(module.WORKLOADS)


def test_the_help_names_each_workload_as_only_accepts_it() -> None:
    # The help listed `import`, `cached` and `list`, which --only did not know.
    module = _bench_module()
    doc = module.__doc__
    listed = [line.split()[0] for line in doc.splitlines() if re.match(r"^  [a-z]+ ", line)]
    assert listed == list(module.WORKLOADS)


def test_an_unknown_workload_is_named_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--only", "chain,import"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "unknown workload 'import'" in result.stderr
    assert "imports" in result.stderr  # the names it knows, to pick from
    assert result.stdout == ""  # nothing ran before the error
