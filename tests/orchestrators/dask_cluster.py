"""A real Dask scheduler and workers as separate processes on 127.0.0.1, for the tests.

Workers start in an empty folder with no test code on their path, so everything they run
comes from bevel itself and the code bevel ships to them.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DASK = str(Path(sys.executable).with_name("dask"))


@dataclass
class Cluster:
    address: str
    folder: Path
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, resources: str | None = None) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        args = [DASK, "worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                "--no-dashboard", "--no-nanny", "--death-timeout", "30"]  # fmt: skip
        if resources:
            args += ["--resources", resources]
        log = open(self.folder / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        cwd = self.folder / f"w{len(self.workers)}"
        cwd.mkdir()
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=60)

    def worker_pids(self) -> dict[str, int]:
        """Worker address -> pid of the process running its tasks."""
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            return dict(client.run(os.getpid))

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.folder.glob("*.log")))


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2, resources: str | None = None) -> Iterator[Cluster]:
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "scheduler.json"
    log = open(folder / "scheduler.log", "wb")  # noqa: SIM115
    scheduler = subprocess.Popen(
        [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(info)],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not info.exists() or not info.read_text().strip():
        if scheduler.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((folder / "scheduler.log").read_text())
        time.sleep(0.1)
    time.sleep(0.1)  # the file is written in one go, but let it land
    address = json.loads(info.read_text())["address"]
    cluster = Cluster(address, folder, scheduler)
    try:
        for _ in range(workers):
            cluster.add_worker(resources)
        cluster.wait_for_workers(workers)
        yield cluster
    finally:
        from distributed import Client

        with contextlib.suppress(Exception), Client(address, timeout=10) as client:
            client.shutdown()
        for proc in [*cluster.workers, scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
