"""The home metadata store, chosen by its URL through the flavor table.

The home store (``$BEVEL_STORE_URL``, else ``.bevel/metadata.db``) records the default stack's
runs and keeps the stack definitions. Which implementation serves it is not hard-wired: the URL's
scheme names a ``metadata_store`` flavor (``sqlite:///...`` -> ``sqlite``,
``postgresql+psycopg://...`` -> ``postgresql``, ``mariadb://`` -> ``mysql``; any other scheme is
a flavor of that name, built in or from the ``bevel.flavors`` entry point), and that flavor's
implementation is called with ``url=``. So a REST store (flavor ``rest`` for ``http(s)://``) can
be the home store without touching the stack code. Nothing here imports SQLAlchemy: the SQL
store is imported when the flavor is built, not when this module is.

Example::

    store = home_metadata_store(load_settings())   # SqlMetadataStore for sqlite:///...
    defs = definition_store(store)                  # the same object, as a DefinitionStore
"""

from __future__ import annotations

from bevel.errors import ConfigError, StackError
from bevel.metadata.base import DefinitionStore, MetadataStore
from bevel.redaction import url_without_password
from bevel.settings import ENV_STORE_URL, Settings
from bevel.stack.flavors import get_flavor

#: URL schemes that name a flavor other than themselves.
SCHEME_FLAVORS = {"postgres": "postgresql", "mariadb": "mysql", "http": "rest", "https": "rest"}


def home_metadata_flavor(url: str) -> str:
    """The metadata flavor of a store URL (``postgresql+psycopg://`` -> ``postgresql``)."""
    backend = url.split(":", 1)[0].split("+", 1)[0].lower()
    return SCHEME_FLAVORS.get(backend, backend)


def shown_url(url: str) -> str:
    """A store URL of any flavor for display: a password in it (``//user:pw@``) as ``***``."""
    return url_without_password(url)


def _where(settings: Settings) -> str:
    return f"${ENV_STORE_URL}" if settings.store_url else "the default .bevel/metadata.db"


def home_metadata_store(settings: Settings) -> MetadataStore:
    """Build the home metadata store of ``settings`` from its URL's flavor.

    Raises StackError when no flavor serves the URL's scheme, or when the flavor's package is
    not installed (with its ``pip install`` hint).
    """
    url = settings.database_url
    try:
        flavor = get_flavor("metadata_store", home_metadata_flavor(url))
    except ConfigError as err:
        raise StackError(
            f"the home metadata store {shown_url(url)!r} (from {_where(settings)}) has a URL that "
            "no metadata store flavor serves",
            hint="use a sqlite:///, postgresql+psycopg://, mysql+pymysql:// or a bevel "
            f"server's http(s):// URL; {err.hint}",
        ) from None
    missing = flavor.missing()
    if missing:
        raise StackError(
            f"the home metadata store {shown_url(url)!r} (flavor {flavor.name}) needs the Python "
            f"package {missing[0]!r}, which is not installed here",
            hint=flavor.install_hint(missing[0]),
        )
    store: MetadataStore = flavor.load_implementation()(url=url)
    return store


def definition_store(store: MetadataStore) -> DefinitionStore:
    """``store`` as the keeper of stack definitions, or a StackError if it cannot keep them."""
    if not isinstance(store, DefinitionStore):
        raise StackError(
            f"the home metadata store {store.url!r} cannot keep stack definitions "
            f"({type(store).__name__} is not a DefinitionStore)",
            hint=f"point ${ENV_STORE_URL} at a store that keeps components, stacks and secrets",
        )
    return store
