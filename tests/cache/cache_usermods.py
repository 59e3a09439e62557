"""Real user modules written to a temporary directory, imported, edited and re-imported.

Fingerprints are about source files, so the tests use real files rather than mocks. Each test
gets a unique module-name prefix (``{p}`` in the source text is replaced by it), bytecode
caching is off (a ``.pyc`` written in the same second as an edit could be reused by the
import system), and every write moves the file's mtime forward so that ``linecache`` notices.
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
import time
import uuid
from pathlib import Path
from types import ModuleType


class UserModules:
    """Write, import and reload modules of a throwaway "user project"."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = f"u{uuid.uuid4().hex[:10]}_"

    def name(self, short: str) -> str:
        return self.prefix + short

    def write(self, short: str, source: str) -> Path:
        """Write ``<prefix><short>.py`` (dots make packages); ``{p}`` becomes the prefix."""
        parts = self.name(short).split(".")
        folder = self.root.joinpath(*parts[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, len(parts)):
            init = self.root.joinpath(*parts[:i], "__init__.py")
            if not init.exists():
                init.write_text("")
        path = folder / f"{parts[-1]}.py"
        old = path.stat().st_mtime_ns if path.exists() else 0
        path.write_text(textwrap.dedent(source).replace("{p}", self.prefix).lstrip())
        stamp = max(time.time_ns(), old + 1_000_000_000)
        os.utime(path, ns=(stamp, stamp))
        return path

    def load(self, short: str) -> ModuleType:
        """Import the module, or reload it when it was imported before (after an edit)."""
        importlib.invalidate_caches()
        full = self.name(short)
        if full in sys.modules:
            return importlib.reload(sys.modules[full])
        return importlib.import_module(full)

    def cleanup(self) -> None:
        for name in [n for n in sys.modules if n.startswith(self.prefix)]:
            del sys.modules[name]
