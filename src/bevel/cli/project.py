"""The project a command works in, for commands that only read.

Reading must not write: ``bevel runs list`` in a folder that is not a project would otherwise
create ``.bevel/`` and an empty database there (the first run creates them on purpose; a look
around must not). Such commands take their settings from :func:`existing_project`, which says
there is no project here and how to start one instead.
"""

from __future__ import annotations

import os

from bevel.errors import ConfigError
from bevel.settings import ENV_HOME, HOME_DIRNAME, Settings, load_settings


def existing_project() -> Settings:
    """The settings of the project here, or a ConfigError saying how to start one; creates
    nothing. A team store (``$BEVEL_STORE_URL``) counts as a project even without a local
    ``.bevel/`` folder: its runs and stacks are there."""
    settings = load_settings(create=False)
    if settings.store_url or os.path.isdir(settings.home_dir):  # os.path: no pathlib to import
        return settings
    blocked = next((p for p in settings.home.parents if p.exists() and not p.is_dir()), None)
    if blocked is not None:  # no project can ever be made there: say why, not just "missing"
        raise ConfigError(
            f"cannot create bevel's home folder {settings.home}: {blocked} is a file",
            hint=f"point ${ENV_HOME} at a folder (it is created when missing), or move the file",
        )
    if os.environ.get(ENV_HOME):
        raise ConfigError(
            f"no bevel project at ${ENV_HOME}={os.environ[ENV_HOME]} (that folder does not exist)",
            hint=f"run a pipeline to create it (bevel run file.py:pipeline), or unset {ENV_HOME}",
        )
    raise ConfigError(
        f"no bevel project here: no {HOME_DIRNAME}/ folder in {settings.home.parent} or above",
        hint="start one here with `bevel init` (a first `bevel run file.py:pipeline` makes it "
        "too), or cd into your project",
    )
