"""Materializers: one Python object <-> files in a directory.

The table that maps types to materializers lives in :mod:`.registry`; each materializer is a
small module of its own, imported only when an object of its type is saved or loaded.
"""

from __future__ import annotations

from bevel.artifacts.materializers.registry import register_materializer

__all__ = ["register_materializer"]
