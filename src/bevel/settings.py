"""Where bevel keeps its state, found without any setup.

State lives in a project-local ``.bevel/`` folder, found by walking up from the working directory
(like ``.git``). ``BEVEL_HOME`` overrides the search. When nothing is found, the first run creates
``.bevel/`` in the working directory (``bevel init`` does it explicitly).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bevel._dataclass import dataclass
from bevel._lazy import lazy_module
from bevel.errors import ConfigError
from bevel.redaction import url_without_password

if TYPE_CHECKING:
    import pathlib
    from pathlib import Path
else:  # a run reads its settings as text paths (os.path): pathlib and the urllib.parse it
    pathlib = lazy_module("pathlib")  # imports are ~18M instructions, a tenth of bevel.api's

HOME_DIRNAME = ".bevel"
ENV_HOME = "BEVEL_HOME"
ENV_STORE_URL = "BEVEL_STORE_URL"
ENV_STACK = "BEVEL_STACK"
ENV_SECRETS_KEY = "BEVEL_SECRETS_KEY"


@dataclass(frozen=True)
class Settings:
    """Resolved locations of bevel's local state (immutable, compared by value).

    ``home`` is a :class:`~pathlib.Path`; the ``*_dir``/``*_file`` twins of the paths are the
    same locations as text, which is what a run uses (it never imports pathlib).
    """

    __match_args__ = ("home", "store_url", "stack")

    home_dir: str  # the home folder, as text
    store_url: str | None  # the home metadata store, when not .bevel/metadata.db
    stack: str | None  # $BEVEL_STACK: the stack to use when none is given explicitly

    def __init__(
        self,
        home: str | os.PathLike[str],
        store_url: str | None = None,
        stack: str | None = None,
    ) -> None:  # takes ``home`` (a Path or text), as when ``home`` was the field
        object.__setattr__(self, "home_dir", os.fspath(home))
        object.__setattr__(self, "store_url", store_url)
        object.__setattr__(self, "stack", stack)

    def __repr__(self) -> str:
        return (
            f"Settings(home={self.home_dir!r}, store_url={self.store_url!r}, stack={self.stack!r})"
        )

    @property
    def home(self) -> Path:
        return pathlib.Path(self.home_dir)

    @property
    def database_path(self) -> Path:
        return pathlib.Path(self.database_file)

    @property
    def database_file(self) -> str:
        return os.path.join(self.home_dir, "metadata.db")

    @property
    def database_url(self) -> str:
        """The home metadata store: ``$BEVEL_STORE_URL`` (e.g. a team's PostgreSQL), else SQLite
        in ``.bevel/``. It holds the default stack's runs and the stack definitions."""
        return self.store_url or f"sqlite:///{self.database_file}"

    @property
    def artifacts_path(self) -> Path:
        return pathlib.Path(self.artifacts_dir)

    @property
    def artifacts_dir(self) -> str:
        return os.path.join(self.home_dir, "artifacts")

    @property
    def project_root(self) -> Path:
        """The folder holding ``.bevel/``: relative paths in component configs start here."""
        return self.home.parent

    @property
    def active_stack_path(self) -> Path:
        """A one-line text file naming the stack ``bevel stack set`` chose (per project, not
        shared: it is not in the metadata store)."""
        return pathlib.Path(self.active_stack_file)

    @property
    def active_stack_file(self) -> str:
        return os.path.join(self.home_dir, "active-stack")

    @property
    def secrets_key_path(self) -> Path:
        """The key that encrypts secrets when ``$BEVEL_SECRETS_KEY`` is not set (mode 0600)."""
        return self.home / "secrets.key"


def find_home(
    start: str | os.PathLike[str] | None = None, *, environ: dict[str, str] | None = None
) -> Path:
    """Return the ``.bevel`` folder to use: ``$BEVEL_HOME``, else the nearest one upward, else ``./.bevel``."""
    return pathlib.Path(_find_home(start, environ))


def _find_home(start: str | os.PathLike[str] | None, environ: dict[str, str] | None) -> str:
    """:func:`find_home` as text, in ``os.path`` terms (``Path.resolve`` is ``realpath``)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_HOME):
        return os.path.realpath(os.path.expanduser(env[ENV_HOME]))
    here = os.path.realpath(os.getcwd() if start is None else start)
    folder = here
    while True:
        candidate = os.path.join(folder, HOME_DIRNAME)
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return os.path.join(here, HOME_DIRNAME)
        folder = parent


def load_settings(start: str | os.PathLike[str] | None = None, *, create: bool = True) -> Settings:
    """Resolve the settings; with ``create`` make the home folder if it does not exist yet.

    A home that is not a folder (``BEVEL_HOME`` naming a file, a stray ``.bevel`` file) or that
    cannot be created is a ConfigError saying which path and where it came from.
    """
    home = _find_home(start, None)
    origin = f"${ENV_HOME}" if os.environ.get(ENV_HOME) else "the project's .bevel"
    if os.path.exists(home) and not os.path.isdir(home):
        raise ConfigError(
            f"bevel's home {home} ({origin}) is a file, not a folder",
            hint=f"point ${ENV_HOME} at a folder (it is created when missing), or move the file "
            "away",
        )
    if create:
        try:
            os.makedirs(home, exist_ok=True)
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
