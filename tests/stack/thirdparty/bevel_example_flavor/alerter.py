"""An alerter that appends to a file: the implementation of flavor ``alerter/file``."""

from __future__ import annotations

from pathlib import Path


class FileAlerter:
    def __init__(self, *, path: str, token: str | None) -> None:
        self.path = Path(path)
        self.token = token

    def post(self, message: str) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(message + "\n")
