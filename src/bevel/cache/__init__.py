"""bevel.cache: code fingerprints and the cache key.

* :func:`code_hash` fingerprints a step's code *and the project helpers it calls*;
  :func:`helpers_of` and :func:`code_parts` say what went in.
* :func:`cache_key` is the one pure, versioned function that decides whether a step run can be
  reused; :func:`explain` says why it was or was not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bevel._lazy import lazy_getattr

# Loaded on first use: the CLI imports ``bevel.cache._project`` (is a frame the user's code?)
# without the cache key and the fingerprinting, which ``bevel runs list`` never needs.
_EXPORTS = {
    "CACHE_KEY_VERSION": "bevel.cache.key:CACHE_KEY_VERSION",
    "SELF": "bevel.cache.fingerprint:SELF",
    "CacheIngredients": "bevel.cache.key:CacheIngredients",
    "cache_key": "bevel.cache.key:cache_key",
    "canonical_json": "bevel.cache.key:canonical_json",
    "code_hash": "bevel.cache.fingerprint:code_hash",
    "code_parts": "bevel.cache.fingerprint:code_parts",
    "explain": "bevel.cache.key:explain",
    "helpers_of": "bevel.cache.fingerprint:helpers_of",
    "ingredients_for": "bevel.cache.key:ingredients_for",
    "key_of": "bevel.cache.key:key_of",
}

if TYPE_CHECKING:
    from bevel.cache.fingerprint import SELF, code_hash, code_parts, helpers_of
    from bevel.cache.key import (
        CACHE_KEY_VERSION,
        CacheIngredients,
        cache_key,
        canonical_json,
        explain,
        ingredients_for,
        key_of,
    )

__getattr__ = lazy_getattr("bevel.cache", _EXPORTS, globals())

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
    "key_of",
]
