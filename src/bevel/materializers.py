"""The public materializer API: subclass :class:`Materializer`, then register it.

::

    from bevel.materializers import Materializer, register_materializer

    class VocabularyMaterializer(Materializer):
        def save(self, obj, directory): ...
        def load(self, directory, type_): ...

    register_materializer(Vocabulary, VocabularyMaterializer)   # or, per output:
    @step(materializers={"vocab": VocabularyMaterializer})

The contract (``save``, ``load``, the optional ``version``, ``metadata()`` and
``visualizations()``) is documented on :class:`Materializer` and in ``docs/extending.md``.
"""

from __future__ import annotations

from bevel.artifacts.materializers.base import Materializer
from bevel.artifacts.materializers.registry import register_materializer

__all__ = ["Materializer", "register_materializer"]
