"""Taking write access away, for the tests of read-only use (shared by tests/client and tests/cli).

- :func:`read_only_tree`: a folder and everything in it read-only while the block runs;
- :func:`without_write_override`: a command prefix under which those permissions bind for root;
- :func:`read_only_role`: a PostgreSQL role granted only ``SELECT``, and its URL.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bevel.testing.servers import DatabaseServer


@contextmanager
def read_only_tree(root: Path) -> Iterator[None]:
    """``root`` and everything below it read-only (folders 0555, files 0444), then writable."""
    for folder, _, files in os.walk(root):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
        os.chmod(folder, 0o555)
    try:
        yield
    finally:
        for folder, _, files in os.walk(root):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)


def without_write_override() -> list[str]:
    """A command prefix under which file permissions bind: root ignores them unless it drops
    the capabilities that override them (it stays root, so its files stay readable)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv (util-linux) to drop root's permission override")
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot drop capabilities here: {probe.stderr.decode().strip()}")
    return prefix


def read_only_role(postgres: DatabaseServer, url: str) -> str:
    """The URL of ``url``'s database for a new role that may only ``SELECT`` its tables."""
    role = f"reader_{uuid.uuid4().hex[:8]}"
    postgres.execute(f"CREATE ROLE {role} LOGIN")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    admin.dispose()
    return url.replace(f"//{postgres.user}@", f"//{role}@")
