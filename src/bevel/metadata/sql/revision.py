"""The schema revisions this bevel knows, as plain constants.

Kept apart from the Alembic scripts so that the check done on every connect (one ``SELECT`` on
``alembic_version``) never imports Alembic, which costs ~400 ms. A test asserts that these
constants match the scripts in ``migrations/versions``: add a revision there, add it here.
"""

from __future__ import annotations

# Oldest first; the last one is the head this bevel writes.
KNOWN_REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005")
HEAD: str = KNOWN_REVISIONS[-1]
