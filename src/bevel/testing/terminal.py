"""``bevel`` on a real terminal, for tests: run a command in a pseudo-terminal and read the screen.

What users see on a terminal differs from captured output: rich's live display draws only on a
tty, and logging is routed through it there. :func:`run_in_pty` runs a command with a
pseudo-terminal as stdin/stdout/stderr and returns every byte it wrote; :func:`screen` replays
them on a terminal emulator (pyte, a test-time dependency) and returns the lines left on screen.
POSIX only.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

COLUMNS, LINES = 120, 60


def run_in_pty(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    *,
    code: int = 0,
    columns: int = COLUMNS,
    lines: int = LINES,
    timeout: float = 120,
) -> bytes:
    """Run ``args`` on a ``columns`` x ``lines`` pseudo-terminal; every byte it wrote.

    Raises AssertionError (with the output) when it exits with another status than ``code``.
    """
    # Function-local imports: POSIX-only modules, not needed by anything else in bevel.testing.
    import fcntl
    import pty
    import struct
    import termios

    primary, secondary = pty.openpty()
    os.set_inheritable(secondary, True)
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    proc = subprocess.Popen(
        list(args), cwd=cwd, env=dict(env), stdin=secondary, stdout=secondary, stderr=secondary,
        close_fds=True, start_new_session=True,
    )  # fmt: skip
    os.close(secondary)
    out = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(primary)
    if proc.returncode != code:
        raise AssertionError(
            f"exit status {proc.returncode}, expected {code}:\n{out.decode(errors='replace')}"
        )
    return bytes(out)


def screen(data: bytes, *, columns: int = COLUMNS, lines: int = LINES) -> list[str]:
    """The lines a terminal shows after receiving ``data`` (trailing spaces stripped)."""
    import pyte  # a test-time dependency (the dev extra)

    emulator = pyte.Screen(columns, lines)
    stream = pyte.ByteStream(emulator)
    stream.feed(data.replace(b"\n", b"\r\n") if b"\r\n" not in data else data)
    return [line.rstrip() for line in emulator.display]
