"""bevel.cache: code fingerprints and the cache key.

* :func:`code_hash` fingerprints a step's code *and the project helpers it calls*;
  :func:`helpers_of` and :func:`code_parts` say what went in.
* :func:`cache_key` is the one pure, versioned function that decides whether a step run can be
  reused; :func:`explain` says why it was or was not.
"""

from __future__ import annotations

from bevel.cache.fingerprint import SELF, code_hash, code_parts, helpers_of
from bevel.cache.key import (
    CACHE_KEY_VERSION,
    CacheIngredients,
    cache_key,
    canonical_json,
    explain,
    ingredients_for,
)

__all__ = [
    "CACHE_KEY_VERSION",
    "SELF",
    "CacheIngredients",
    "cache_key",
    "canonical_json",
    "code_hash",
    "code_parts",
    "explain",
    "helpers_of",
    "ingredients_for",
]
