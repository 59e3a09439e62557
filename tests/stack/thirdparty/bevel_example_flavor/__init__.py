"""An example third-party package adding flavors to bevel through entry points.

It is not installed: its folder goes on ``sys.path`` / ``PYTHONPATH`` and ``importlib.metadata``
finds ``bevel_example_flavor-0.1.0.dist-info/entry_points.txt`` there, exactly as it would find
an installed package's. This module is what the entry points load, so it holds only the flavor
declarations and their config classes (cheap); the implementations are named by strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from bevel.stack.config import option
from bevel.stack.flavors import Flavor


@dataclass(frozen=True)
class ThreadsConfig:
    workers: int = option(2, help="threads running steps at once")
    remote: bool = option(False, help="pretend the steps run on other machines (for tests)")

    def check(self) -> None:
        if self.workers < 1:
            raise ValueError("field 'workers' must be at least 1")


@dataclass(frozen=True)
class FileAlerterConfig:
    path: str = option(help="file that alerts are appended to", path=True)
    token: str | None = option(None, help="a pretend API token", sensitive=True)


@dataclass(frozen=True)
class FileTrackerConfig:
    path: str = option(help="file that tracked parameters and metrics are appended to", path=True)
    fail: bool = option(False, help="fail every call (for tests)")


@dataclass(frozen=True)
class JournalConfig:
    url: str = option(help="journal:///absolute/path/to/metadata.db")


@dataclass(frozen=True)
class FlakyConfig:
    path: str = option(help="folder that holds the files", path=True)
    failures: int = option(1, help="how many uploads fail before they work")
    error: str = option("reset", help="how they fail: reset, timeout, slowdown or denied")


FILE_TRACKER = Flavor(
    type="experiment_tracker",
    name="file",
    implementation="bevel_example_flavor.tracker:FileTracker",
    config=FileTrackerConfig,
    description="appends parameters and metrics to a file",
)

THREADS = Flavor(
    type="orchestrator",
    name="threads",
    implementation="bevel_example_flavor.orchestrator:ThreadsOrchestrator",
    config=ThreadsConfig,
    description="steps run on a thread pool in this process",
)

FILE_ALERTER = Flavor(
    type="alerter",
    name="file",
    implementation="bevel_example_flavor.alerter:FileAlerter",
    config=FileAlerterConfig,
    description="appends alerts to a file",
)

NEEDS_MISSING = Flavor(
    type="metadata_store",
    name="missing-lib",
    implementation="bevel_example_flavor.alerter:FileAlerter",
    config=FileAlerterConfig,
    requires=("bevel_example_not_installed_lib",),
    install="pip install 'bevel-example-flavor[tracker]'",
)

JOURNAL = Flavor(
    type="metadata_store",
    name="journal",
    implementation="bevel_example_flavor.journal:JournalStore",
    config=JournalConfig,
    description="SQLite, journaling every call (can be the home store: BEVEL_STORE_URL)",
)

FLAKY = Flavor(
    type="artifact_store",
    name="flaky",
    implementation="bevel_example_flavor.flaky:FlakyStore",
    config=FlakyConfig,
    description="a folder behaving like an object store whose first uploads fail",
)
