"""The bevel server's settings (``bevel server start`` options), checked before it starts."""

from __future__ import annotations

import ipaddress
from dataclasses import field

from bevel._dataclass import dataclass
from bevel.errors import ConfigError

DEFAULT_PORT = 8237
#: Largest request body accepted (a step's completion with its records is a few KB; a plan of
#: thousands of steps a few MB).
DEFAULT_MAX_BODY = 16 * 1024 * 1024


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerConfig:
    """``db_url``: the metadata database the server fronts (a SQLAlchemy URL). ``auth``: False
    only for ``--no-auth``, refused on a non-loopback ``host``. ``reap_every``: seconds between
    two passes of the dead-run reaper (0: never). ``cors_origins``: browser origins allowed to
    call the API from another site (none by default). ``access_log``: one line per request
    (method, path without the query, status, who, milliseconds; never a key).
    ``artifact_roots``: artifact store roots (paths or URLs) to read visualizations from,
    besides the artifact_store components the server's definitions hold."""

    db_url: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    auth: bool = True
    reap_every: float = 60.0
    max_body: int = DEFAULT_MAX_BODY
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    access_log: bool = True
    artifact_roots: tuple[str, ...] = field(default_factory=tuple)

    def check(self) -> None:
        if not self.auth and not is_loopback(self.host):
            raise ConfigError(
                f"--no-auth is refused on {self.host}: anyone who can reach that address "
                "could read and change every run",
                hint="bind 127.0.0.1 for a server without auth, or create an admin (bevel "
                "server init-admin) and start it with auth",
            )
        if not 0 < self.port < 65536:
            raise ConfigError(f"port {self.port} is out of range", hint="use 1-65535")
        if self.max_body < 1024:
            raise ConfigError("--max-body must be at least 1024 bytes")
        for origin in self.cors_origins:
            if origin == "*" or not origin.startswith(("http://", "https://")):
                raise ConfigError(
                    f"CORS origin {origin!r} is not allowed",
                    hint="name each origin in full, e.g. --cors-origin https://ml.example.com",
                )
