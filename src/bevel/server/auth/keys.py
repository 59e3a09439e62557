"""Roles and API keys: what a key looks like, how it is stored, who may do what.

A key is ``bvl_<id>_<secret>``: ``id`` (16 hex characters) finds its row, ``secret`` (256 random
bits) proves it. Only SHA-256 of the whole key is stored, compared in constant time; the key
is shown once, when it is created. Because the secret is random, not chosen by a person, a fast
hash is enough (a slow password hash would cost every request milliseconds and protect nothing
more), as for GitHub's and Stripe's tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

VIEWER, EDITOR, ADMIN = "viewer", "editor", "admin"
#: Weakest first: each role may do what the ones before it may.
ROLES: tuple[str, ...] = (VIEWER, EDITOR, ADMIN)
#: Declared by the few endpoints anyone may call (health).
PUBLIC = "public"
KINDS = ("user", "service")

_KEY = re.compile(r"^bvl_(?P<id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,79}$")


def allows(role: str, needed: str) -> bool:
    """Whether ``role`` may call an endpoint that needs ``needed``."""
    if needed == PUBLIC:
        return True
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


def new_key() -> tuple[str, str]:
    """A fresh ``(key id, key)``."""
    key_id = secrets.token_hex(8)
    return key_id, f"bvl_{key_id}_{secrets.token_urlsafe(32)}"


def key_id(key: str) -> str | None:
    """The id part of a well-formed key, else None (nothing to look up)."""
    match = _KEY.match(key)
    return match["id"] if match else None


def key_hash(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(key), stored_hash)


def valid_name(name: str) -> bool:
    """User and service account names: 1-80 of letters, digits, ``_ . @ -``."""
    return bool(_NAME.match(name))
