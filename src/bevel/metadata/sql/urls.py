"""Which Python driver a database URL uses: the one bevel's extras install, unless it names one.

SQLAlchemy reads a plain ``postgresql://`` as ``postgresql+psycopg2://`` and ``mysql://`` as
``mysql+mysqldb://``, drivers that ``pip install 'bevel[postgresql]'`` and ``'bevel[mysql]'`` do
not install (they install psycopg 3 and PyMySQL). Most people write the plain form, so bevel
reads it as the driver its extras provide: ``postgresql://`` (and the ``postgres://`` that cloud
providers hand out, which SQLAlchemy refuses) is ``postgresql+psycopg://``, ``mysql://`` is
``mysql+pymysql://``, ``mariadb://`` is ``mariadb+pymysql://``. A URL that names a driver
(``postgresql+psycopg2://``) keeps it.

Pure string functions, no SQLAlchemy: the flavor config classes use them to check the driver
is installed before anything connects, the engine to pick it, and both to say what to install.
"""

from __future__ import annotations

from typing import NamedTuple


class Driver(NamedTuple):
    name: str  # SQLAlchemy's driver name, after the "+"
    module: str  # the module to import
    extra: str  # the bevel extra that installs it


#: backend -> the driver bevel's extras install (the one a plain URL gets)
DEFAULT_DRIVERS: dict[str, Driver] = {
    "postgresql": Driver("psycopg", "psycopg", "postgresql"),
    "mysql": Driver("pymysql", "pymysql", "mysql"),
    "mariadb": Driver("pymysql", "pymysql", "mysql"),
}
#: (backend, driver named in the URL) -> the module it imports
DRIVER_MODULES: dict[tuple[str, str], str] = {
    ("postgresql", "psycopg"): "psycopg",
    ("postgresql", "psycopg2"): "psycopg2",
    ("postgresql", "psycopg2cffi"): "psycopg2cffi",
    ("postgresql", "pg8000"): "pg8000",
    ("postgresql", "asyncpg"): "asyncpg",
    ("mysql", "pymysql"): "pymysql",
    ("mysql", "mysqldb"): "MySQLdb",
    ("mysql", "mysqlconnector"): "mysql",
    ("mysql", "mariadbconnector"): "mariadb",
    ("mysql", "asyncmy"): "asyncmy",
    ("mysql", "aiomysql"): "aiomysql",
}
_ALIASES = {"postgres": "postgresql"}


def _split(url: str) -> tuple[str, str, str] | None:
    """``"postgres+psycopg2://u@h/db"`` -> ``("postgresql", "psycopg2", "u@h/db")``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    backend, _, driver = scheme.partition("+")
    backend = backend.lower()
    return _ALIASES.get(backend, backend), driver.lower(), rest


def with_default_driver(url: str) -> str:
    """``postgresql://u@h/db`` -> ``postgresql+psycopg://u@h/db``; a URL naming its driver, or of
    another database, is returned as it is (``postgres`` is spelled ``postgresql``)."""
    parts = _split(url)
    if parts is None or parts[0] not in DEFAULT_DRIVERS:
        return url
    backend, driver, rest = parts
    return f"{backend}+{driver or DEFAULT_DRIVERS[backend].name}://{rest}"


def driver_module(url: str) -> str | None:
    """The module the URL's driver imports (``psycopg`` for ``postgresql://``), or None when
    bevel does not know it (it is then left to SQLAlchemy to report)."""
    parts = _split(url)
    if parts is None or parts[0] not in DEFAULT_DRIVERS:
        return None
    backend, driver, _ = parts
    family = "mysql" if backend == "mariadb" else backend
    return DRIVER_MODULES.get((family, driver or DEFAULT_DRIVERS[backend].name))


def install_hint(url: str) -> str:
    """What to do when the URL's driver is not installed: only commands that install it.

    The driver bevel installs: ``pip install 'bevel[postgresql]'``. Another named driver: drop
    it from the URL to use bevel's, or install that driver's own package.
    """
    parts = _split(url)
    if parts is None or parts[0] not in DEFAULT_DRIVERS:
        return "install the Python driver that the URL names"
    backend, driver, _ = parts
    default = DEFAULT_DRIVERS[backend]
    install = f"pip install 'bevel[{default.extra}]'"
    if not driver or driver == default.name:
        return f"install the driver: {install}"
    return (
        f"the URL asks for the driver {driver!r}, which is not installed here: write "
        f"{backend}:// (or {backend}+{default.name}://) to use {default.name}, which "
        f"{install} installs, or install {driver} yourself"
    )
