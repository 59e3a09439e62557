"""Where the REST store finds its API key: given, ``$BEVEL_API_KEY``, or ``bevel login``'s file.

``bevel login URL`` stores one key per server in ``~/.config/bevel/credentials.json``
(``$XDG_CONFIG_HOME/bevel/...`` when set, ``$BEVEL_CREDENTIALS`` to name the file), created
with mode 0600 in a 0700 folder and replaced atomically, so the key is never readable by other
users, not even for an instant. Keys are matched by the server URL without a trailing slash.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from bevel.errors import ConfigError

ENV_API_KEY = "BEVEL_API_KEY"
ENV_CREDENTIALS = "BEVEL_CREDENTIALS"


def credentials_path() -> Path:
    """The file ``bevel login`` writes."""
    if os.environ.get(ENV_CREDENTIALS):
        return Path(os.environ[ENV_CREDENTIALS]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "bevel" / "credentials.json"


def server_key(url: str) -> str:
    return url.rstrip("/")


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"cannot read the bevel credentials file {path}: {err}",
            hint=f"delete it and log in again (bevel login URL), or set ${ENV_API_KEY}",
        ) from None
    servers = data.get("servers") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in servers.items()} if isinstance(servers, dict) else {}


def find_api_key(url: str, explicit: str | None = None) -> str | None:
    """The key to send to the server at ``url``: ``explicit``, else ``$BEVEL_API_KEY``, else the
    one ``bevel login`` stored for that URL, else None (a server without auth)."""
    if explicit:
        return explicit
    if os.environ.get(ENV_API_KEY):
        return os.environ[ENV_API_KEY]
    return _read(credentials_path()).get(server_key(url))


def store_api_key(url: str, api_key: str) -> Path:
    """Save ``api_key`` for ``url`` (mode 0600); returns the file."""
    path = credentials_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    servers = _read(path)
    servers[server_key(url)] = api_key
    _write(path, servers)
    return path


def forget_api_key(url: str) -> bool:
    """Remove the key stored for ``url``; whether there was one."""
    path = credentials_path()
    servers = _read(path)
    if servers.pop(server_key(url), None) is None:
        return False
    _write(path, servers)
    return True


def _write(path: Path, servers: dict[str, str]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credentials-")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"servers": servers}, out, indent=2, sort_keys=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
