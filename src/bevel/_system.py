"""What bevel asks of the system on every run and every ``bevel runs list``, without importing
the standard library modules that usually answer (:mod:`socket`, ~5 ms; :mod:`uuid`, which
imports :mod:`platform`, ~3 ms): this machine's name and fresh ids.

One function each, so that a reader on this host recognises what a writer on it recorded (a
run's ``host``), and every id is made the same way.
"""

from __future__ import annotations

import os


def hostname() -> str:
    """``socket.gethostname()``: on POSIX both read the kernel's host name (``uname``)."""
    uname = getattr(os, "uname", None)
    if uname is not None:
        return str(uname().nodename)
    import socket  # no os.uname (Windows): the standard library's own way

    return socket.gethostname()


def new_id() -> str:
    """A random id: the 32 lowercase hex digits of a version 4 UUID (``uuid.uuid4().hex``)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    return raw.hex()
