"""A metadata store that journals the calls it serves: the implementation of flavor
``metadata_store/journal`` (URLs ``journal:///path/to/metadata.db``).

It keeps its records in SQLite through bevel's own SQL store and appends the name of every
method called to ``<path>.journal``, so a test can see that bevel chose it by its URL (as the
home store: runs *and* stack definitions) and never fell back to the SQL store directly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bevel.metadata.base import DefinitionStore, MetadataStore
from bevel.metadata.sql.store import SqlMetadataStore

# Every method of the protocols a home store implements (so the journal follows them).
_METHODS = sorted(
    name
    for protocol in (MetadataStore, DefinitionStore)
    for name, value in vars(protocol).items()
    if callable(value) and not name.startswith("_") and name != "close"
)


class JournalStore:
    def __init__(self, *, url: str) -> None:
        scheme, _, path = url.partition("://")
        if scheme != "journal" or not path.startswith("/"):
            raise ValueError(f"not a journal:///absolute/path URL: {url!r}")
        self.url = url
        self.journal = Path(path + ".journal")
        self._inner = SqlMetadataStore(f"sqlite:///{path}")

    def _note(self, name: str) -> None:
        with self.journal.open("a", encoding="utf-8") as fh:
            fh.write(name + "\n")

    def close(self) -> None:
        self._inner.close()


def _delegate(name: str) -> Callable[..., Any]:
    def method(self: JournalStore, *args: Any, **kwargs: Any) -> Any:
        self._note(name)
        return getattr(self._inner, name)(*args, **kwargs)

    method.__name__ = name
    return method


# Real methods on the class (not __getattr__), so runtime protocol checks see them.
for _name in _METHODS:
    setattr(JournalStore, _name, _delegate(_name))
