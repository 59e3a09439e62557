"""A thread-pool orchestrator: the implementation of flavor ``orchestrator/threads``."""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor


class ThreadsOrchestrator:
    """Runs steps on ``workers`` threads; ``remote`` is configurable to exercise validation."""

    in_process = True

    def __init__(self, *, workers: int, remote: bool, name: str) -> None:
        self.workers = workers
        self.remote = remote
        self.name = name  # bevel passes the component's name because __init__ accepts it

    def executor(self) -> Executor:
        return ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=self.name)
