"""Which stack to use: explicit choice > ``$BEVEL_STACK`` > ``bevel stack set`` > ``default``.

The ``bevel stack set`` choice is per project and per user, not shared: it is a one-line file in
``.bevel/`` (``Settings.active_stack_path``), never a row in the (possibly shared) metadata store.
Resolving costs one environment lookup and at most one small file read, because it runs before
every run.
"""

from __future__ import annotations

from typing import NamedTuple

from bevel.settings import ENV_STACK, Settings
from bevel.stack.components import DEFAULT_STACK

_REASONS = {
    "explicit": "given explicitly",
    f"${ENV_STACK}": f"chosen by ${ENV_STACK}",
    "bevel stack set": "chosen by bevel stack set",
    "default": "the default",
}


class StackChoice(NamedTuple):
    name: str
    source: str  # "explicit", "$BEVEL_STACK", "bevel stack set" or "default"

    @property
    def reason(self) -> str:
        """Why this stack, as a phrase for messages: ``"chosen by $BEVEL_STACK"``."""
        return _REASONS.get(self.source, f"chosen by {self.source}")


def chosen_stack(settings: Settings) -> str | None:
    """The stack ``bevel stack set`` chose in this project, if any."""
    try:
        with open(settings.active_stack_file, encoding="utf-8") as fh:
            text = fh.read().strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return text or None


def resolve_stack(explicit: str | None, settings: Settings) -> StackChoice:
    """The stack to use and why (the reason goes into error hints)."""
    if explicit:
        return StackChoice(explicit, "explicit")
    if settings.stack:
        return StackChoice(settings.stack, f"${ENV_STACK}")
    chosen = chosen_stack(settings)
    if chosen:
        return StackChoice(chosen, "bevel stack set")
    return StackChoice(DEFAULT_STACK, "default")


def set_active_stack(settings: Settings, name: str) -> None:
    """Make ``name`` this project's stack (``default`` removes the choice)."""
    path = settings.active_stack_path
    if name == DEFAULT_STACK:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(name + "\n", encoding="utf-8")
    tmp.replace(path)
