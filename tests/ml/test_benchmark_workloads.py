"""Every workload `benchmarks/run.py --only` accepts is a benchmark it can run.

Regression: a merge had nested the sweep and predict methods inside a module-level function,
so `benchmarks/run.py --only sweep` failed with AttributeError (this test failed on main then).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


def test_every_workload_is_a_method_of_the_bench() -> None:
    sys.path.insert(0, str(BENCH.parent))
    try:
        spec = importlib.util.spec_from_file_location("bevel_benchmarks_run", BENCH)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while defined
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH.parent))
        sys.modules.pop("bevel_benchmarks_run", None)
    missing = [w for w in module.WORKLOADS if not callable(getattr(module.Bench, w, None))]
    assert not missing, f"workloads without a Bench method: {missing}"
    assert {"sweep", "predict"} <= set(module.WORKLOADS)
