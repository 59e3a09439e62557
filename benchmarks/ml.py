"""The ML workloads of ``benchmarks/run.py``: a sweep of 20 trivial trials and /predict latency.

sweep    20 trivial trials (``step.sweep``, Optuna TPE, seeded), caching off, whole process,
         on ``local`` and, when that flavor exists, ``local_parallel`` (4 at a time)
         vs Optuna alone: the same 20 trials in memory (target: <= 1.5 s on local)
predict  p50 / p99 latency of POST /predict on a served scikit-learn model (1,000 requests
         over one keep-alive connection on 127.0.0.1, server in its own process)
         vs the model's own predict() call in that process (target: p50 <= 5 ms)
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

SWEEP = """
import sys
from bevel import log_metric, pipeline, step

@step
def trial(x: float = 0.0) -> float:
    log_metric("score", -(x - 2.0) ** 2)
    return x

@pipeline(enable_cache=False)
def sweep20(parallel: int = 1):
    trial.sweep({"x": (-10.0, 10.0)}, n_trials=20, metric="score", parallel=parallel)()

if __name__ == "__main__":
    sweep20(parallel=int(sys.argv[1]))
"""

OPTUNA_REF = """
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(lambda t: -(t.suggest_float("x", -10.0, 10.0) - 2.0) ** 2, n_trials=20)
"""

TRAIN = """
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
import numpy as np
from bevel import Client, Model, pipeline, step, trainer

@step
def data() -> np.ndarray:
    return load_iris().data

@step
def labels() -> np.ndarray:
    return load_iris().target

@trainer
def fit(X: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(max_iter=500).fit(X, y)

@pipeline(model=Model("bench_iris"))
def train():
    fit(data(), labels())

if __name__ == "__main__":
    train()
    Client().models.promote("bench_iris", 1, stage="production")
"""

PREDICT_REF = """
import json, sys, time
from bevel import Client
model = Client().models.version("bench_iris", "production").load_artifact()
times = []
for _ in range(1000):
    start = time.perf_counter()
    model.predict([[5.1, 3.5, 1.4, 0.2]])
    times.append(time.perf_counter() - start)
times.sort()
print(json.dumps([times[500], times[990]]))
"""


def _has_flavor(bench: Any, flavor: str) -> bool:
    probe = f"from bevel.stack.flavors import get_flavor\nget_flavor('orchestrator', {flavor!r})"
    return (
        subprocess.run([sys.executable, "-c", probe], env=bench.env, capture_output=True).returncode
        == 0
    )


def sweep(bench: Any) -> None:
    bench.reset_home()
    script = bench.script("sweep20.py", SWEEP)
    local = bench.run([script, "1"])
    reference = bench.run(["-c", OPTUNA_REF])
    bench.add("sweep, 20 trivial trials, local", local, reference, "Optuna alone, in memory",
              "<= 1.5 s")  # fmt: skip
    if not _has_flavor(bench, "local_parallel"):
        bench.extra.append("sweep on local_parallel: not measured (no such orchestrator flavor)")
        return
    bevel = [str(__import__("pathlib").Path(sys.executable).with_name("bevel"))]
    for args in (
        ["component", "register", "orchestrator", "bench-parallel", "--flavor", "local_parallel"],
        ["stack", "register", "bench-par", "-o", "bench-parallel", "-a", "local-artifacts"],
    ):
        subprocess.run(bevel + args, env=bench.env, check=True, capture_output=True)
    saved = dict(bench.env)
    bench.env = {**bench.env, "BEVEL_STACK": "bench-par"}
    try:
        parallel = bench.run([script, "4"])
    finally:
        bench.env = saved
    bench.add("sweep, 20 trivial trials, local_parallel x4", parallel, reference,
              "Optuna alone, in memory", "")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def predict(bench: Any) -> None:
    bench.reset_home()
    subprocess.run([sys.executable, bench.script("train_iris.py", TRAIN)], env=bench.env,
                   check=True, capture_output=True)  # fmt: skip
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bevel", "models", "serve", "bench_iris", "--port", str(port)],
        env=bench.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        conn = None
        while conn is None:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/health")
                conn.getresponse().read()
            except OSError:
                conn = None
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the model server did not start") from None
                time.sleep(0.1)
        body = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]})
        headers = {"Content-Type": "application/json"}
        for _ in range(50):  # warm up
            conn.request("POST", "/predict", body, headers)
            conn.getresponse().read()
        times = []
        for _ in range(1000):
            start = time.perf_counter()
            conn.request("POST", "/predict", body, headers)
            response = conn.getresponse()
            response.read()
            times.append(time.perf_counter() - start)
            assert response.status == 200
        conn.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    times.sort()
    ref = subprocess.run([sys.executable, "-c", PREDICT_REF], env=bench.env, check=True,
                         capture_output=True, text=True)  # fmt: skip
    ref_p50, ref_p99 = json.loads(ref.stdout.strip().splitlines()[-1])
    bench.add("POST /predict p50 (1,000 requests)", times[500], ref_p50,
              "model.predict() alone, p50", "<= 5 ms")  # fmt: skip
    bench.add("POST /predict p99", times[990], ref_p99, "model.predict() alone, p99", "")
    bench.extra.append(
        f"/predict mean {statistics.mean(times) * 1000:.2f} ms over 1,000 requests "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
