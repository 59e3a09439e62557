"""The Materializer protocol and the lazy type -> materializer table.

A materializer turns one Python object into files in a local directory and back. It declares a
``version`` string that goes into the cache key (bump it when the on-disk format changes) and may
describe the object with ``metadata()`` (shape, dtypes, row count...) and ``visualizations()``.

Materializers are registered by type through a table of lazy ``"module:qualname"`` strings, so
registering the pandas materializer never imports pandas::

    from bevel.artifacts.materializers import register_materializer
    register_materializer("mylib.models:Forest", "mylib.bevel_io:ForestMaterializer")
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol


class Materializer(Protocol):
    version: ClassVar[str]

    def save(self, obj: Any, directory: str) -> None:
        """Write ``obj`` into the (existing, empty, local) ``directory``."""
        ...

    def load(self, directory: str, type_: type | None) -> Any:
        """Read the object back from ``directory``; ``type_`` is the recorded type, if importable."""
        ...

    def metadata(self, obj: Any) -> dict[str, Any]:
        """JSON-able facts about ``obj`` recorded with the artifact (may be empty)."""
        ...

    def visualizations(self, obj: Any) -> dict[str, str]:
        """name -> HTML or Markdown text (``"<table>..."`` / ``"# ..."``) shown by the CLI,
        notebooks and the dashboard (may be empty)."""
        ...
