"""Where bevel keeps its state, found without any setup.

State lives in a project-local ``.bevel/`` folder, found by walking up from the working directory
(like ``.git``). ``BEVEL_HOME`` overrides the search. When nothing is found, the first run creates
``.bevel/`` in the working directory (``bevel init`` does it explicitly).
"""

from __future__ import annotations

import os
from pathlib import Path

from bevel._dataclass import dataclass
from bevel.errors import ConfigError
from bevel.redaction import url_without_password

HOME_DIRNAME = ".bevel"
ENV_HOME = "BEVEL_HOME"
ENV_STORE_URL = "BEVEL_STORE_URL"
ENV_STACK = "BEVEL_STACK"
ENV_SECRETS_KEY = "BEVEL_SECRETS_KEY"


@dataclass(frozen=True)
class Settings:
    """Resolved locations of bevel's local state."""

    home: Path
    store_url: str | None = None  # the home metadata store, when not .bevel/metadata.db
    stack: str | None = None  # $BEVEL_STACK: the stack to use when none is given explicitly

    @property
    def database_path(self) -> Path:
        return self.home / "metadata.db"

    @property
    def database_url(self) -> str:
        """The home metadata store: ``$BEVEL_STORE_URL`` (e.g. a team's PostgreSQL), else SQLite
        in ``.bevel/``. It holds the default stack's runs and the stack definitions."""
        return self.store_url or f"sqlite:///{self.database_path}"

    @property
    def artifacts_path(self) -> Path:
        return self.home / "artifacts"

    @property
    def project_root(self) -> Path:
        """The folder holding ``.bevel/``: relative paths in component configs start here."""
        return self.home.parent

    @property
    def active_stack_path(self) -> Path:
        """A one-line text file naming the stack ``bevel stack set`` chose (per project, not
        shared: it is not in the metadata store)."""
        return self.home / "active-stack"

    @property
    def secrets_key_path(self) -> Path:
        """The key that encrypts secrets when ``$BEVEL_SECRETS_KEY`` is not set (mode 0600)."""
        return self.home / "secrets.key"


def find_home(start: Path | None = None, *, environ: dict[str, str] | None = None) -> Path:
    """Return the ``.bevel`` folder to use: ``$BEVEL_HOME``, else the nearest one upward, else ``./.bevel``."""
    env = os.environ if environ is None else environ
    if env.get(ENV_HOME):
        return Path(env[ENV_HOME]).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / HOME_DIRNAME
        if candidate.is_dir():
            return candidate
    return here / HOME_DIRNAME


def load_settings(start: Path | None = None, *, create: bool = True) -> Settings:
    """Resolve the settings; with ``create`` make the home folder if it does not exist yet.

    A home that is not a folder (``BEVEL_HOME`` naming a file, a stray ``.bevel`` file) or that
    cannot be created is a ConfigError saying which path and where it came from.
    """
    home = find_home(start)
    origin = f"${ENV_HOME}" if os.environ.get(ENV_HOME) else "the project's .bevel"
    if home.exists() and not home.is_dir():
        raise ConfigError(
            f"bevel's home {home} ({origin}) is a file, not a folder",
            hint=f"point ${ENV_HOME} at a folder (it is created when missing), or move the file "
            "away",
        )
    if create:
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                f"cannot create bevel's home folder {home} ({origin}): {err.strerror or err}",
                hint=f"point ${ENV_HOME} at a folder you can write to",
            ) from None
    return Settings(
        home=home,
        store_url=_checked_store_url(os.environ.get(ENV_STORE_URL) or None),
        stack=os.environ.get(ENV_STACK) or None,
    )


def _checked_store_url(url: str | None) -> str | None:
    """``$BEVEL_STORE_URL`` as given, once its port is known to be one: a bad port otherwise
    surfaces as a parser's ValueError deep in a database driver, or as "cannot connect"."""
    if url is None:
        return None
    problem = port_problem(url)
    if problem is not None:
        raise ConfigError(
            f"${ENV_STORE_URL} has {problem}: {url_without_password(url)}",
            hint=f"write the port as a number from 1 to 65535 (PostgreSQL's is usually 5432, "
            f"MySQL's and MariaDB's 3306, a bevel server's 8237), e.g. "
            f"postgresql://user@127.0.0.1:5432/bevel; or unset ${ENV_STORE_URL} to use the "
            f"project's .bevel/metadata.db",
        )
    return url


def port_problem(url: str) -> str | None:
    """What is wrong with the port of ``url`` (``"a port that is not a number ('abc')"``), or
    None when it has none or a valid one (1 to 65535)."""
    _, sep, rest = url.partition("://")
    if not sep:
        return None
    host = rest.partition("/")[0].rpartition("@")[2]
    if host.startswith("["):  # [::1]:5432
        host = host.partition("]")[2]
    if ":" not in host:
        return None
    port = host.rpartition(":")[2]
    if port == "":
        return None  # "host:" is the default port, as parsers read it
    if not port.isascii() or not port.isdigit():
        return f"a port that is not a number ({port!r})"
    if not 1 <= int(port) <= 65535:
        return f"a port out of range ({port}; ports are 1 to 65535)"
    return None
