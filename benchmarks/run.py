"""bevel's benchmark: whole-process timings beside plain-Python references, as ratios.

Run:  .venv/bin/python benchmarks/run.py [--repeat 5] [--only chain,array,...]

Every number is the median wall time of ``--repeat`` fresh processes, so interpreter start and
imports are included, as a user feels them (with bevel's bytecode compiled, as after a pip
install). Each bevel workload is printed beside a reference that
does the same work without bevel, run in the same invocation (so machine noise hits both);
array, load and frame run bevel and its reference in turn (each side after clearing its last
output), print the ratio pair by pair, and both sides' CPU time (user + system, every thread),
which a busy machine's wall time hides:

  imports    `import bevel` / `bevel --help`          vs `python -c pass`
  chain      10- and 100-step int->int+1 chains, caching off; per-step overhead is the slope
             vs a loop writing each result to its own file and one SQLite row per step;
             the 10-step chain run by `bevel run FILE:PIPELINE`      vs the same from Python;
             then the 10-step chain re-run fully cached     vs the same reference
  array      a step making a 100 MiB float64 array, a step summing it   vs np.save + np.load
  load       loading that array's artifact in a new process through the Client, verified
             against its content hash                                    vs np.load of the file
             (then the same with the frame below                         vs pd.read_parquet)
  frame      the same with a 1M x 10 DataFrame                          vs to_parquet + read_parquet
  listing    `bevel runs list`, `bevel runs show RUN` and a Client listing 50 runs with their
             status                                                      vs `python -c pass`
  cold       the 10-step chain as the first run of a new project (creating .bevel/)
             vs the same run on an existing project
  scale      a store holding 10,000 runs and 100,000 step runs (copied from real ones): the
             10-step chain, `bevel runs list` and `bevel runs show`   vs the same on a small store
             (two homes side by side, their processes alternating, so load falls on both)
  team       the 10-step chain and the array pipeline on an S3 (moto) + PostgreSQL stack
             vs the same on the local stack (needs the dev extras and PostgreSQL binaries)
  rest       the 10-step chain on a REST metadata store (bevel server, auth on) vs SQLite
             directly; listing 50 runs through it; the server's RSS with 10,000 runs
  sweep      20 trivial trials of a step sweep (Optuna), local and local_parallel   see ml.py
  predict    /predict latency p50/p99 of a served scikit-learn model              see ml.py
  data       bevel.data on 1M x 10 frames (5 normal, 1 int, 1 lognormal, 3 categories), timed
             inside one process after a warm-up: profile (vs df.describe(include="all")),
             drift of two 1M-row frames (vs scipy.stats ks_2samp / chi2_contingency per
             column), and saving the frame with its preview + statistics (vs the same save with
             visualizations off)
  fanout     1 -> 20 -> 1 trivial steps, whole process, on local, local_parallel and Dask
             (a scheduler and 2 workers started beforehand)  vs Kedro's 0.78 s, ZenML's 7.1 s
  parallel   8 steps sleeping 1 s: on 2 local_parallel processes and on 2 Dask workers of
             1 thread (the run's recorded duration)           vs the ideal 4 s
  daskstep   per-step overhead of a 20-step chain on Dask     vs bare client.submit chains
  dashboard  first paint of the dashboard's runs page in Chromium with 10,000 runs recorded
             vs the same page over 50 runs                            see dashboard.py
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dashboard
import ml

PY = sys.executable
BEVEL = str(Path(PY).with_name("bevel"))

CHAIN = """
import sys
from bevel import pipeline, step

@step
def inc(x: int) -> int:
    return x + 1

@step
def start() -> int:
    return 0

@pipeline
def chain(n: int = 10):
    x = start()
    for _ in range(n - 1):
        x = inc(x)

if __name__ == "__main__":
    chain.with_options(enable_cache=sys.argv[2] == "cache")(n=int(sys.argv[1]))
"""

CHAIN_REF = """
import sqlite3, sys, os, json
n, folder = int(sys.argv[1]), sys.argv[2]
db = sqlite3.connect(os.path.join(folder, "ref.db"))
db.execute("pragma journal_mode=wal")
db.execute("create table if not exists steps (run int, step int, uri text, value text)")
x = 0
for i in range(n):
    x = x + 1
    path = os.path.join(folder, f"out-{i}.json")
    with open(path + ".tmp", "w") as fh:
        json.dump(x, fh)
    os.replace(path + ".tmp", path)
    with db:
        db.execute("insert into steps values (?, ?, ?, ?)", (1, i, path, json.dumps(x)))
"""

# Work per step, counted (bevel.testing.work): the difference between a 30- and a 10-step chain
# of fresh values (nothing deduplicated), of the same values again, and fully cached.
STEP_WORK = """
import json, sys
from bevel import pipeline, step
from bevel.testing.work import counting

@step
def first(base: int) -> int:
    return base

@step
def inc(x: int) -> int:
    return x + 1

@pipeline
def chain(n: int = 10, base: int = 0):
    x = first(base)
    for _ in range(n - 1):
        x = inc(x)

def per_step(base, cache):
    counts = []
    for n in (10, 30):
        with counting() as work:
            chain.with_options(enable_cache=cache)(n=n, base=base + n)
        counts.append(work)
    keys = sorted(set(counts[0]) | set(counts[1]))
    return {k: (counts[1][k] - counts[0][k]) / 20 for k in keys}

chain.with_options(enable_cache=False)(n=2, base=-1)
fresh = per_step(10_000, False)
again = per_step(10_000, False)
per_step(20_000, True)
cached = per_step(20_000, True)
print(json.dumps({"fresh": fresh, "stored already": again, "cached": cached}))
"""

ARRAY = """
import sys
import numpy as np
from bevel import pipeline, step

@step
def make() -> np.ndarray:
    return np.random.default_rng().random(100 * 2**20 // 8)  # fresh bytes: no dedup

@step
def total(a: np.ndarray) -> float:
    return float(a.sum())

@pipeline
def arrays():
    total(make())

if __name__ == "__main__":
    arrays.with_options(enable_cache=False)()
"""

ARRAY_REF = """
import sys, os
import numpy as np
a = np.random.default_rng(0).random(100 * 2**20 // 8)
path = os.path.join(sys.argv[1], "a.npy")
np.save(path, a)
b = np.load(path)
float(b.sum())
"""

LOAD = """
from bevel import Client
with Client() as client:
    float(client.last_run("arrays").steps["make"].output.load().sum())
"""

LOAD_REF = """
import sys
import numpy as np
float(np.load(sys.argv[1]).sum())
"""

LOAD_FRAME = """
from bevel import Client
with Client() as client:
    float(client.last_run("frames").steps["make"].output.load().to_numpy().sum())
"""

LOAD_FRAME_REF = """
import sys
import pandas as pd
float(pd.read_parquet(sys.argv[1]).to_numpy().sum())
"""

FRAME = """
import numpy as np
import pandas as pd
from bevel import pipeline, step

@step
def make() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.random((1_000_000, 10)), columns=[f"c{i}" for i in range(10)])

@step
def total(df: pd.DataFrame) -> float:
    return float(df.to_numpy().sum())

@pipeline
def frames():
    total(make())

if __name__ == "__main__":
    frames.with_options(enable_cache=False)()
"""

FRAME_REF = """
import sys, os
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame(rng.random((1_000_000, 10)), columns=[f"c{i}" for i in range(10)])
path = os.path.join(sys.argv[1], "f.parquet")
df.to_parquet(path)
float(pd.read_parquet(path).to_numpy().sum())
"""

BIG_STORE = """
# Grow a real store to RUNS runs of 10 steps each by copying its newest run's rows with new ids,
# names, times, cache keys and artifact versions: the shapes bevel writes, at scale, in seconds.
import json, sqlite3, sys, uuid
from datetime import datetime, timedelta
db = sqlite3.connect(sys.argv[1])
target = int(sys.argv[2])
db.row_factory = sqlite3.Row
def rows(sql, *args):
    return [dict(r) for r in db.execute(sql, args)]
run = rows("SELECT * FROM runs ORDER BY created DESC LIMIT 1")[0]
steps = rows("SELECT * FROM step_runs WHERE run_id = ?", run["id"])
arts = rows("SELECT * FROM artifacts WHERE run_id = ?", run["id"])
edges = rows("SELECT l.* FROM lineage l JOIN step_runs s ON s.id = l.step_run_id WHERE s.run_id = ?",
             run["id"])
have = db.execute("SELECT count(*) FROM runs").fetchone()[0]
top = {r["name"]: r["v"] for r in rows("SELECT name, max(version) AS v FROM artifacts GROUP BY name")}
start = datetime(2020, 1, 1)
def at(k, value):  # shift a stored time (SQLite text) into the past, one minute per copy
    if value is None:
        return None
    return (start + timedelta(minutes=k)).strftime("%Y-%m-%d %H:%M:%S.%f")
def insert(table, items):
    if items:
        cols = list(items[0])
        db.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                       f"({', '.join('?' for _ in cols)})", [tuple(i[c] for c in cols) for i in items])
new_runs, new_steps, new_arts, new_edges = [], [], [], []
for k in range(target - have):
    rid = uuid.uuid4().hex
    new_runs.append({**run, "id": rid, "name": f"{run['name']}-copy-{k}", "created": at(k, run["created"]),
                     "ended": at(k, run["ended"]), "heartbeat": at(k, run["heartbeat"]),
                     "status": "completed"})
    sid = {s["id"]: uuid.uuid4().hex for s in steps}
    aid = {a["id"]: uuid.uuid4().hex for a in arts}
    for s in steps:
        new_steps.append({**s, "id": sid[s["id"]], "run_id": rid, "started": at(k, s["started"]),
                          "ended": at(k, s["ended"]), "cache_key": "sha256:" + uuid.uuid4().hex * 2})
    for a in arts:
        top[a["name"]] += 1
        new_arts.append({**a, "id": aid[a["id"]], "run_id": rid, "version": top[a["name"]],
                         "producer_step_run_id": sid.get(a["producer_step_run_id"]),
                         "created": at(k, a["created"])})
    for e in edges:
        new_edges.append({**e, "step_run_id": sid[e["step_run_id"]],
                          "artifact_id": aid.get(e["artifact_id"], e["artifact_id"])})
with db:
    for table, items in (("runs", new_runs), ("step_runs", new_steps), ("artifacts", new_arts),
                         ("lineage", new_edges)):
        insert(table, items)
db.execute("ANALYZE")
print(db.execute("SELECT count(*) FROM runs").fetchone()[0],
      db.execute("SELECT count(*) FROM step_runs").fetchone()[0])
"""

DATA = """
import json, statistics, sys, tempfile, time
import numpy as np
import pandas as pd

def frame(seed, shift=0.0):
    rng = np.random.default_rng(seed)
    n = 1_000_000
    df = pd.DataFrame({f"x{i}": rng.normal(shift, 1.0, n) for i in range(5)})
    df["n"] = rng.integers(0, 1000, n)
    df["price"] = rng.lognormal(3, 1, n)
    df["city"] = rng.choice([f"city{i}" for i in range(50)], n)
    df["plan"] = pd.Categorical(rng.choice(["free", "pro", "team"], n))
    df["flag"] = rng.choice(["yes", "no"], n)
    return df

def median(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)

repeat = int(sys.argv[1])
from bevel.data import drift, profile
from bevel.artifacts.local import LocalArtifactStore
from bevel.artifacts.materializers.registry import DATAFRAME_MATERIALIZER
from bevel.artifacts.publish import save_artifact
from scipy import stats

a, b = frame(0), frame(1, shift=0.05)
profile(a.head(1000)); drift(a.head(1000), b.head(1000))  # warm up (imports, first calls)
out = {
    "profile": median(lambda: profile(a), repeat),
    "describe": median(lambda: a.describe(include="all"), repeat),
    "drift": median(lambda: drift(a, b), repeat),
}

def scipy_tests():
    for c in a.columns:
        if c in ("city", "plan", "flag"):
            table = pd.crosstab(np.r_[np.zeros(len(a)), np.ones(len(b))], np.r_[a[c].to_numpy(), b[c].to_numpy()])
            stats.chi2_contingency(table.to_numpy())
        else:
            stats.ks_2samp(a[c], b[c], method="asymp")

out["scipy"] = median(scipy_tests, max(1, repeat // 2))
with tempfile.TemporaryDirectory() as folder:
    store = LocalArtifactStore(folder)
    plain, shown = [], []
    for i in range(repeat):  # interleaved, so machine noise hits both; fresh bytes each time
        df = a.assign(x0=a.x0 + i)
        start = time.perf_counter(); save_artifact(store, df, DATAFRAME_MATERIALIZER, visualize=False)
        plain.append(time.perf_counter() - start)
        df = a.assign(x0=a.x0 - i - 1)
        start = time.perf_counter(); save_artifact(store, df, DATAFRAME_MATERIALIZER, visualize=True)
        shown.append(time.perf_counter() - start)
    out["save_plain"] = statistics.median(plain)
    out["save_viz"] = statistics.median(shown)
print(json.dumps(out))
"""

FANOUT = """
import sys
from bevel import pipeline, step

@step
def start() -> int:
    return 1

@step
def inc(x: int, i: int) -> int:
    return x + i

@step
def total(xs: list[int]) -> int:
    return sum(xs)

@pipeline
def fanout():
    s = start()
    total([inc(s, i) for i in range(20)])

if __name__ == "__main__":
    fanout.with_options(enable_cache=False, stack=sys.argv[1])()
"""

SLEEPS = """
import sys, time
from bevel import Client, pipeline, step

@step
def nap(i: int) -> int:
    time.sleep(1)
    return i

@pipeline
def naps():
    for i in range(8):
        nap(i)

if __name__ == "__main__":
    run = naps.with_options(enable_cache=False, stack=sys.argv[1])()
    print((run.ended - run.created).total_seconds())
"""

CHAIN_ON = """
import sys, time
from bevel import pipeline, step

@step
def start() -> int:
    return 0

@step
def inc(x: int) -> int:
    return x + 1

@pipeline
def chain(n: int = 20):
    x = start()
    for _ in range(n - 1):
        x = inc(x)

if __name__ == "__main__":
    run = chain.with_options(enable_cache=False, stack=sys.argv[1])(n=int(sys.argv[2]))
    print((run.ended - run.created).total_seconds())
"""

BARE_SUBMIT = """
import sys, time
from distributed import Client

def start():
    return 0

def inc(x):
    return x + 1

client = Client(sys.argv[1])
client.submit(start, pure=False).result()  # warm: the functions are known to the workers
t = time.perf_counter()
x = client.submit(start, pure=False)
for _ in range(int(sys.argv[2]) - 1):
    x = client.submit(inc, x, pure=False)
x.result()
print(time.perf_counter() - t)
client.close()
"""

LIST = """
from bevel import Client
runs = Client().runs(limit=50)
assert len(runs) == 50, len(runs)
statuses = [r.status for r in runs]
"""


@dataclass
class Row:
    name: str
    bevel: float
    reference: float
    ref_name: str
    target: str

    @property
    def ratio(self) -> float:
        return self.bevel / self.reference if self.reference else float("nan")


def timed(
    cmd: list[str],
    env: dict[str, str],
    repeat: int,
    setup: Callable[[], None] | None = None,
    cpu: list[float] | None = None,
) -> float:
    """Median wall time of ``repeat`` fresh processes running ``cmd``; with ``cpu``, the median
    CPU time (user + system, all threads) of those processes is appended to it: on a busy
    machine wall time hides work that threads overlap, and CPU time shows what was done."""
    times = []
    cpus = []
    for _ in range(repeat):
        if setup:
            setup()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(
                f"benchmark command failed: {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
            )
        times.append(elapsed)
    if cpu is not None:
        cpu.append(statistics.median(cpus))
    return statistics.median(times)


class Bench:
    def __init__(self, repeat: int, workdir: Path) -> None:
        self.repeat = repeat
        self.work = workdir
        self.env = {**os.environ, "BEVEL_HOME": str(workdir / ".bevel"), "DO_NOT_TRACK": "1"}
        # Measure what users get: compiled bytecode, as pip leaves an installed package.
        # (Some sandboxes set PYTHONDONTWRITEBYTECODE, which would recompile bevel's sources in
        # every process of an editable install.)
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        import bevel

        subprocess.run(
            [PY, "-m", "compileall", "-q", str(Path(bevel.__file__).parent)],
            env=self.env,
            check=True,
        )
        self.rows: list[Row] = []
        self.extra: list[str] = []

    def script(self, name: str, text: str) -> str:
        path = self.work / name
        path.write_text(textwrap.dedent(text))
        return str(path)

    def run(
        self,
        args: list[str],
        repeat: int | None = None,
        setup: Callable[[], None] | None = None,
        cpu: list[float] | None = None,
    ) -> float:
        return timed([PY, *args], self.env, repeat or self.repeat, setup, cpu)

    def pairs(
        self,
        label: str,
        bevel: tuple[list[str], Callable[[], None] | None],
        reference: tuple[list[str], Callable[[], None] | None],
        cpu: list[float],
    ) -> tuple[float, float]:
        """Median wall times of bevel's command and its reference, run in turn (bevel,
        reference, bevel, ...), ``repeat`` times each, each after its setup: what the VM is
        doing at a moment (its load, the state of its memory) falls on both sides alike. Run
        one batch after the other, the 100 MiB array pipeline read 1.23x-1.62x in five
        invocations on a noisy VM. Appends both sides' median CPU time to ``cpu``, and notes
        the ratio pair by pair."""
        times: dict[str, list[float]] = {"bevel": [], "reference": []}
        cpus: dict[str, list[float]] = {"bevel": [], "reference": []}
        for _ in range(self.repeat):
            for side, (cmd, setup) in (("bevel", bevel), ("reference", reference)):
                times[side].append(timed(cmd, self.env, 1, setup, cpus[side]))
        ratios = sorted(b / r for b, r in zip(times["bevel"], times["reference"], strict=True))
        self.extra.append(
            f"{label}: bevel / reference pair by pair, median {statistics.median(ratios):.2f}x "
            f"(range {ratios[0]:.2f}x-{ratios[-1]:.2f}x over {len(ratios)} pairs)"
        )
        cpu += [statistics.median(cpus["bevel"]), statistics.median(cpus["reference"])]
        return statistics.median(times["bevel"]), statistics.median(times["reference"])

    def add_cpu(self, label: str, cpu: list[float]) -> None:
        bevel, reference = cpu
        self.extra.append(
            f"{label}: CPU time (user + system) {bevel * 1000:.0f} ms vs {reference * 1000:.0f} ms"
            f" for the reference, {bevel / reference:.2f}x"
        )

    def add(self, name: str, bevel: float, reference: float, ref_name: str, target: str) -> None:
        self.rows.append(Row(name, bevel, reference, ref_name, target))

    def reset_home(self) -> None:
        shutil.rmtree(self.work / ".bevel", ignore_errors=True)
        subprocess.run(
            [
                PY,
                "-c",
                "from bevel.stack.stack import default_stack; default_stack().metadata_store.list_runs()",
            ],
            env=self.env,
            check=True,
        )

    # ------------------------------------------------------------------------------------------
    def imports(self) -> None:
        bare = self.run(["-c", "pass"])
        imp = self.run(["-c", "import bevel"])
        helptime = timed([BEVEL, "--help"], self.env, self.repeat)
        self.add(
            "import bevel",
            imp,
            bare,
            "python -c pass",
            f"+{(imp - bare) * 1000:.0f} ms (target <= +40 ms)",
        )
        self.add("bevel --help", helptime, bare, "python -c pass", "<= 150 ms total")

    def chain(self) -> None:
        self.reset_home()
        script = self.script("chain.py", CHAIN)
        ref = self.script("chain_ref.py", CHAIN_REF)
        refdir = self.work / "ref"
        refdir.mkdir(exist_ok=True)
        results = {}
        for n in (10, 100):
            results[n] = self.run([script, str(n), "nocache"])
            reference = self.run([ref, str(n), str(refdir)])
            self.add(
                f"{n}-step chain, first run",
                results[n],
                reference,
                "file + sqlite row per step",
                "<= 0.15 s, <= 4x" if n == 10 else "",
            )
        slope_ms = (results[100] - results[10]) / 90 * 1000
        # what the command line adds to a run: click, the pipeline file found and imported
        cli_run = self.cli(["run", f"{script}:chain", "--no-cache"])
        self.add(
            "10-step chain, `bevel run` in a pipe", cli_run, results[10], "the same from Python", ""
        )
        self.extra.append(
            f"per-step overhead (slope 10 -> 100 steps): {slope_ms:.2f} ms (target <= 1.0 ms)"
        )
        self._step_work()
        self.run([script, "10", "cache"], repeat=1)  # warm the cache
        cached = self.run([script, "10", "cache"])
        reference = self.run([ref, "10", str(refdir)])
        self.add(
            "10-step chain, fully cached",
            cached,
            reference,
            "file + sqlite row per step",
            "<= 0.12 s",
        )

    def _step_work(self) -> None:
        """What one step does, counted: a table beside the timings (they vary with the load)."""
        counted = json.loads(self._output([PY, self.script("step_work.py", STEP_WORK)]))
        names = sorted({k for work in counted.values() for k, v in work.items() if v})
        self.extra.append("work per step (30- minus 10-step chain, / 20):")
        self.extra.append(f"  {'':28}" + "".join(f"{case:>16}" for case in counted))
        for name in names:
            cells = "".join(f"{counted[case].get(name, 0):16.2f}" for case in counted)
            self.extra.append(f"  {name:28}{cells}")

    def _data_pipeline(
        self, label: str, script: str, ref: str, libs: str, ref_name: str, target: str
    ) -> None:
        """Whole processes, then the same with each side's start-up (interpreter + imports) taken
        off, so the ratio also shows the cost of the work itself."""
        self.reset_home()
        cpu: list[float] = []
        # the reference's 100 MiB files go outside the project folder: a Dask run later in the
        # same invocation ships that folder to its workers, and would refuse it
        with tempfile.TemporaryDirectory(prefix="bevel-bench-ref-") as outside:

            def clear_reference() -> None:  # each side starts without its last run's output
                for entry in os.scandir(outside):
                    os.remove(entry.path)

            bevel, reference = self.pairs(
                f"{label} pipeline",
                ([PY, self.script(f"{label}.py", script)], self._clear_artifacts),
                ([PY, self.script(f"{label}_ref.py", ref), outside], clear_reference),
                cpu,
            )
        self.add_cpu(f"{label} pipeline", cpu)
        bevel_start = self.run(["-c", f"import {libs}, bevel.api"])
        ref_start = self.run(["-c", f"import {libs}"])
        self.add(f"{label} pipeline", bevel, reference, ref_name, target)
        self.add(
            f"{label} pipeline, less start-up",
            bevel - bevel_start,
            reference - ref_start,
            f"{ref_name}, less start-up",
            "",
        )

    def array(self) -> None:
        self._data_pipeline(
            "100 MiB array", ARRAY, ARRAY_REF, "numpy", "np.save + np.load", "<= 1.3x"
        )

    def load(self) -> None:
        """Loading the 100 MiB array artifact, then the 1M x 10 DataFrame artifact, in a new
        process through the Client (its content hash verified as it is read, or as it is
        decoded) vs np.load / pd.read_parquet of the same file."""
        self.reset_home()
        data = self.work / ".bevel" / "artifacts" / "data"
        for label, script, ref, filename, ref_name in (
            ("100 MiB array", LOAD, LOAD_REF, "array.npy", "np.load"),
            ("1M x 10 DataFrame", LOAD_FRAME, LOAD_FRAME_REF, "data.parquet", "pd.read_parquet"),
        ):
            pipeline = ARRAY if filename == "array.npy" else FRAME
            subprocess.run([PY, self.script(f"{filename}.py", pipeline)], env=self.env, check=True)
            files = list(data.rglob(filename))
            assert len(files) == 1, files
            cpu: list[float] = []
            bevel, reference = self.pairs(
                f"load a {label} artifact",
                ([PY, self.script(f"load {filename}.py", script)], None),
                ([PY, self.script(f"ref {filename}.py", ref), str(files[0])], None),
                cpu,
            )
            self.add_cpu(f"load a {label} artifact", cpu)
            self.add(f"load a {label} artifact (verified)", bevel, reference, ref_name, "")

    def frame(self) -> None:
        self._data_pipeline(
            "1M x 10 DataFrame", FRAME, FRAME_REF, "pandas", "to_parquet + read_parquet", "<= 1.15x"
        )

    def listing(self) -> None:
        self.reset_home()
        script = self.script("chain.py", CHAIN)
        for _ in range(49):
            subprocess.run(
                [PY, script, "2", "cache"], env=self.env, check=True, capture_output=True
            )
        subprocess.run([PY, script, "10", "cache"], env=self.env, check=True, capture_output=True)
        bare = self.run(["-c", "pass"])
        cli = self.cli(["runs", "list"])
        show = self.cli(["runs", "show", self.last_run()])
        client = self.run(["-c", LIST])
        self.add("bevel runs list (50 runs)", cli, bare, "python -c pass", "<= 0.12 s, <= 8x")
        self.add("bevel runs show RUN (10 steps)", show, bare, "python -c pass", "<= 0.15 s")
        self.add("list 50 runs via Client", client, bare, "python -c pass", "<= 0.25 s")

    def cli(self, args: list[str]) -> float:
        return timed([BEVEL, *args], self.env, self.repeat)

    def last_run(self) -> str:
        return self._last_run(self.env)

    def _last_run(self, env: dict[str, str]) -> str:
        out = subprocess.run(
            [PY, "-c", "from bevel import Client; print(Client().runs(limit=1)[0].name)"],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout.strip()

    def cold(self) -> None:
        """The first run of a new project creates .bevel/ (database, schema, folders)."""
        script = self.script("chain.py", CHAIN)
        self.reset_home()
        warm = self.run([script, "10", "nocache"])
        cold = self.run([script, "10", "nocache"], setup=self._remove_home)
        self.add("first run in a new project", cold, warm, "the same run, project exists",
                 "<= 0.3 s")  # fmt: skip

    def scale(self) -> None:
        """10,000 runs and 100,000 step runs in the store make nothing measurably slower.

        Two stores side by side (two BEVEL_HOMEs: a few runs, and the same grown to 10,000), and
        their processes alternate, small then big, ``repeat`` times: whatever else loads the
        machine meanwhile falls on both sides alike (measured one after the other, the same
        code read 1.07x once and 1.37x once on a shared machine)."""
        script = self.script("chain.py", CHAIN)
        grow = self.script("grow.py", BIG_STORE)
        homes = {size: self.work / size / ".bevel" for size in ("small", "big")}
        envs = {size: {**self.env, "BEVEL_HOME": str(home)} for size, home in homes.items()}
        for size, env in envs.items():
            shutil.rmtree(homes[size], ignore_errors=True)
            for _ in range(2):
                subprocess.run([PY, script, "10", "nocache"], env=env, check=True,
                               capture_output=True)  # fmt: skip
        subprocess.run([PY, grow, str(homes["big"] / "metadata.db"), "10000"], env=envs["big"],
                       check=True)  # fmt: skip
        commands = {
            size: {
                "chain": [PY, script, "10", "nocache"],
                "list": [BEVEL, "runs", "list"],
                "show": [BEVEL, "runs", "show", self._last_run(env)],
            }
            for size, env in envs.items()
        }
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(self.repeat):
            for key in ("chain", "list", "show"):
                for size in ("small", "big"):
                    took = timed(commands[size][key], envs[size], 1)
                    times.setdefault((key, size), []).append(took)
        for key, label in (("chain", "10-step chain"), ("list", "bevel runs list"),
                           ("show", "bevel runs show RUN")):  # fmt: skip
            big, small = (statistics.median(times[(key, size)]) for size in ("big", "small"))
            self.add(f"{label}, 10,000 runs stored", big, small,
                     "the same on a store of a few runs", "<= 1.1x")  # fmt: skip

    def _remove_home(self) -> None:
        shutil.rmtree(self.work / ".bevel", ignore_errors=True)

    def data(self) -> None:
        script = self.script("data.py", DATA)
        proc = subprocess.run(
            [PY, script, str(self.repeat)], env=self.env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(f"the data benchmark failed:\n{proc.stdout}\n{proc.stderr}")
        t = json.loads(proc.stdout.splitlines()[-1])
        self.add("profile 1M x 10", t["profile"], t["describe"], 'df.describe(include="all")',
                 "<= 1.5 s")  # fmt: skip
        self.add("drift of two 1M x 10 frames", t["drift"], t["scipy"],
                 "scipy.stats per column", "<= 2 s")  # fmt: skip
        self.add("save 1M x 10 with preview + statistics", t["save_viz"], t["save_plain"],
                 "the same save, visualizations off", "<= 1.3x")  # fmt: skip

    def _clear_artifacts(self) -> None:
        shutil.rmtree(self.work / ".bevel" / "artifacts", ignore_errors=True)

    def report(self) -> None:
        head = f"{'workload':44} {'bevel':>9} {'reference':>10} {'ratio':>7}  {'reference is':40} target"
        print(head)
        print("-" * len(head))
        for r in self.rows:
            print(
                f"{r.name:44} {r.bevel * 1000:7.0f}ms {r.reference * 1000:8.0f}ms {r.ratio:6.2f}x  {r.ref_name:40} {r.target}"
            )
        for line in self.extra:
            print(line)

    def team(self) -> None:
        """The 10-step chain and the 100 MiB array pipeline on an S3 (moto) + PostgreSQL stack,
        registered with the CLI exactly as a team would, beside the same work on the local stack.
        """
        from bevel.testing.servers import moto_s3_server, postgres_server

        with postgres_server() as pg, moto_s3_server() as s3:
            saved = dict(self.env)
            self.reset_home()
            bucket, db = s3.new_bucket(), pg.new_database()
            cli = [BEVEL]
            for args in (
                ["component", "register", "artifact_store", "s3-store", "--flavor", "s3",
                 "--path", f"s3://{bucket}/bench", "--endpoint-url", s3.endpoint_url,
                 "--key", "testing", "--secret", "testing"],
                ["component", "register", "metadata_store", "team-db", "--flavor", "postgresql",
                 "--url", db],
                ["stack", "register", "team", "-a", "s3-store", "-m", "team-db", "-o", "local"],
            ):  # fmt: skip
                subprocess.run(cli + args, env=self.env, check=True, capture_output=True)
            chain = self.script("chain.py", CHAIN)
            array = self.script("100 MiB array.py", ARRAY)
            local_chain = self.run([chain, "10", "nocache"])
            local_array = self.run([array], setup=self._clear_artifacts)
            self.env = {**self.env, "BEVEL_STACK": "team"}
            try:
                team_chain = self.run([chain, "10", "nocache"])
                team_array = self.run([array])
            finally:
                self.env = saved
        self.add("10-step chain, S3 + PostgreSQL stack", team_chain, local_chain,
                 "the same on the local stack", "")  # fmt: skip
        self.add("100 MiB array, S3 + PostgreSQL stack", team_array, local_array,
                 "the same on the local stack", "")  # fmt: skip

    def rest(self) -> None:
        """The 10-step chain and listing 50 runs on a REST metadata store (a bevel server on
        127.0.0.1, auth on) beside SQLite directly; the server's RSS with 10,000 runs."""
        from bevel.testing.servers import bevel_server

        self.reset_home()
        chain = self.script("chain.py", CHAIN)
        local_chain = self.run([chain, "10", "nocache"])
        with bevel_server() as srv:
            saved = dict(self.env)
            key = srv.new_key("editor")
            self.env = {**self.env, "BEVEL_STORE_URL": srv.url, "BEVEL_API_KEY": key}
            try:
                rest_chain = self.run([chain, "10", "nocache"])
                srv.reset()
                for _ in range(50):
                    subprocess.run([PY, chain, "2", "cache"], env=self.env, check=True,
                                   capture_output=True)  # fmt: skip
                listing = self.run(["-c", LIST])
            finally:
                self.env = saved
            idle = _rss_mib(srv.process.pid)
            _record_runs(srv.db_url, 10_000)
            pages = 0
            offset: int | None = 0
            while offset is not None and pages < 200:  # every run, a page of 50 at a time
                page = srv.call("GET", f"/runs?limit=50&offset={offset}")
                offset, pages = page["next_offset"], pages + 1
            loaded = _rss_mib(srv.process.pid)
        self.add("10-step chain, REST store (bevel server)", rest_chain, local_chain,
                 "the same on SQLite directly", "<= 2x")  # fmt: skip
        bare = self.run(["-c", "pass"])
        self.add("list 50 runs via Client, REST store", listing, bare, "python -c pass",
                 "<= 0.3 s")  # fmt: skip
        self.extra.append(
            f"bevel server RSS: {idle:.0f} MiB idle, {loaded:.0f} MiB with 10,000 runs recorded "
            f"and all of them listed ({pages} pages of 50)"
        )

    def dashboard(self) -> None:
        dashboard.runs_page(self, _rss_mib)

    def sweep(self) -> None:
        ml.sweep(self)

    def predict(self) -> None:
        ml.predict(self)

    # --- orchestrators -------------------------------------------------------------------------
    def _register(self, *commands: list[str]) -> None:
        for args in commands:
            subprocess.run([BEVEL, *args], env=self.env, check=True, capture_output=True)

    def _orchestrator_stacks(self, address: str | None) -> None:
        self._register(
            ["component", "register", "orchestrator", "par", "--flavor", "local_parallel",
             "--processes", "2", "--cpus", "2"],
            ["stack", "register", "parallel", "-o", "par", "-a", "local-artifacts"],
        )  # fmt: skip
        if address:
            self._register(
                ["component", "register", "orchestrator", "cluster", "--flavor", "dask",
                 "--address", address],
                ["stack", "register", "dask", "-o", "cluster", "-a", "local-artifacts"],
            )  # fmt: skip

    def fanout(self) -> None:
        """1 -> 20 -> 1 trivial steps, whole process, on each orchestrator."""
        with dask_cluster(self.work / "dask-fanout", workers=2) as address:
            self.reset_home()
            self._orchestrator_stacks(address)
            script = self.script("fanout.py", FANOUT)
            bare = self.run(["-c", "pass"])
            for stack, target in (("default", "<= 0.5 s"), ("parallel", "<= 1.0 s"),
                                  ("dask", "")):  # fmt: skip
                took = self.run([script, stack])
                self.add(f"fan-out 1->20->1, {stack}", took, bare, "python -c pass", target)

    def parallel(self) -> None:
        """8 steps of 1 s on 2 processes / 2 Dask workers: the run's duration vs the ideal."""
        with dask_cluster(self.work / "dask-sleeps", workers=2) as address:
            self.reset_home()
            self._orchestrator_stacks(address)
            script = self.script("sleeps.py", SLEEPS)
            for stack, target in (("parallel", "<= 1.15x"), ("dask", "<= 1.2x")):
                took = statistics.median(
                    float(self._output([PY, script, stack]).split()[-1]) for _ in range(3)
                )
                self.add(f"8 x 1 s steps, {stack}, 2 workers", took, 4.0, "ideal 4 s", target)

    def daskstep(self) -> None:
        """Per-step overhead of a chain on Dask vs the same chain of bare client.submit calls
        (both on the same running cluster; bevel's run duration from its record)."""
        n = 20
        with dask_cluster(self.work / "dask-steps", workers=2) as address:
            self.reset_home()
            self._orchestrator_stacks(address)
            script = self.script("chain_on.py", CHAIN_ON)
            bare = self.script("bare_submit.py", BARE_SUBMIT)
            self._output([PY, script, "dask", str(n)])  # warm: workers build the stack once
            ours = statistics.median(
                float(self._output([PY, script, "dask", str(n)]).split()[-1]) for _ in range(3)
            )
            theirs = statistics.median(
                float(self._output([PY, bare, address, str(n)]).split()[-1]) for _ in range(3)
            )
        self.add(f"{n}-step chain on Dask, per step", ours / n, theirs / n,
                 "bare client.submit, per step", "<= 3x")  # fmt: skip

    def _output(self, cmd: list[str]) -> str:
        done = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{done.stderr}")
        return done.stdout


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int) -> Iterator[str]:
    """A Dask scheduler and ``workers`` workers of 1 thread, as processes on 127.0.0.1."""
    dask = str(Path(PY).with_name("dask"))
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(info)], **quiet)]  # fmt: skip
    while not info.exists() or not info.read_text().strip():
        time.sleep(0.1)
    time.sleep(0.1)
    address = json.loads(info.read_text())["address"]
    procs += [
        subprocess.Popen(
            [dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard"],
            cwd=folder,
            **quiet,
        )
        for _ in range(workers)
    ]
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(workers, timeout=60)
    try:
        yield address
    finally:
        with Client(address, timeout=10) as client:
            client.shutdown()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _record_runs(db_url: str, count: int) -> None:
    """``count`` completed runs with a 10-step plan, written straight into the database."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from bevel.metadata.records import RunStatus
    from bevel.metadata.sql.store import SqlMetadataStore
    from bevel.testing.records import make_run

    store = SqlMetadataStore(db_url)
    plan = {"steps": {f"s{i}": {"fn": "m:f", "params": {"x": i}} for i in range(10)}}
    t0 = datetime.now(UTC)
    for i in range(count):
        run = replace(make_run(), name=f"bench-{i}", plan=plan, created=t0 + timedelta(seconds=i))
        store.create_run(run)
        store.finish_run(run.id, RunStatus.COMPLETED, ended=run.created + timedelta(seconds=1))
    store.close()


WORKLOADS = (
    "imports", "chain", "array", "load", "frame", "listing", "cold", "scale", "team", "rest",
    "sweep", "predict", "data", "fanout", "parallel", "daskstep", "dashboard",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--only", default=",".join(WORKLOADS), help=f"comma-separated subset of {WORKLOADS}"
    )
    args = parser.parse_args()
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    for name in names:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r} in --only (pick from {', '.join(WORKLOADS)})")
    with tempfile.TemporaryDirectory(prefix="bevel-bench-") as tmp:
        bench = Bench(args.repeat, Path(tmp))
        for name in names:
            getattr(bench, name)()
        bench.report()


if __name__ == "__main__":
    main()
