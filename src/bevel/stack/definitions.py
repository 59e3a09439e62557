"""Managing stack definitions: components, stacks and secrets in the home metadata store.

The store (:class:`~bevel.metadata.base.DefinitionStore`) keeps rows; this layer adds what it
does not know: flavors and their config validation, the built-in components and the ``default``
stack (never stored, always there), and the rules that protect a working setup (the active
stack and ``default`` cannot be deleted, a stack names existing components of the right type).

Example::

    defs = Definitions(load_settings())
    defs.register_component("artifact_store", "s3-store", "s3",
                            {"path": "s3://ml-artifacts", "key": "{{s3.key}}"})
    defs.register_stack("team", {"orchestrator": "local", "artifact_store": "s3-store"})
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from bevel._text import did_you_mean, with_article
from bevel.errors import ConfigError, NotFound, StackError
from bevel.metadata.base import DefinitionStore, MetadataStore
from bevel.metadata.records import ComponentRecord, StackRecord
from bevel.settings import Settings
from bevel.stack.active import StackChoice, chosen_stack, resolve_stack
from bevel.stack.components import (
    BUILTIN_COMPONENTS,
    COMPONENT_TYPES,
    DEFAULT_STACK,
    REQUIRED_TYPES,
)
from bevel.stack.config import option_name, validate_config
from bevel.stack.flavors import Flavor, check_type, get_flavor
from bevel.stack.home import definition_store, home_metadata_flavor, home_metadata_store
from bevel.stack.secrets import Secrets, check_name

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def builtin_components(settings: Settings) -> dict[str, ComponentRecord]:
    """The components of the ``default`` stack, by name; other stacks may use them too."""
    url = settings.database_url
    specs: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("orchestrator", "local", {}),
        ("artifact_store", "local", {"path": str(settings.artifacts_path)}),
        ("metadata_store", home_metadata_flavor(url), {"url": url}),
    )
    return {
        BUILTIN_COMPONENTS[type_]: ComponentRecord(
            BUILTIN_COMPONENTS[type_], type_, flavor, config, _EPOCH, _EPOCH
        )
        for type_, flavor, config in specs
    }


def ordered(record: StackRecord) -> StackRecord:
    """The record with its components in :data:`COMPONENT_TYPES` order (for display)."""
    order = {t: i for i, t in enumerate(COMPONENT_TYPES)}
    members = dict(sorted(record.components.items(), key=lambda item: order.get(item[0], 99)))
    return StackRecord(record.name, members, record.created)


def describe_where(type: str, name: str, flavor: str) -> str:
    """How errors name a component: ``artifact_store 's3-store' (flavor s3)``."""
    return f"{type} {name!r} (flavor {flavor})"


def validate_component(
    type: str, name: str, flavor_name: str, values: Mapping[str, Any], *, from_strings: bool
) -> tuple[Flavor, dict[str, Any]]:
    """Check ``values`` against the flavor's config; return the flavor and the values as stored
    (read as the fields' types when ``from_strings``; defaults are not stored)."""
    flavor = get_flavor(type, flavor_name)
    config = validate_config(
        flavor.config_class(),
        values,
        where=describe_where(type, name, flavor_name),
        from_strings=from_strings,
    )
    return flavor, {key: getattr(config, key) for key in values}


class Definitions:
    """Components, stacks and secrets: the stored ones plus the built-ins.

    Opens the home metadata store (``Settings.database_url``, built through its flavor: see
    :mod:`bevel.stack.home`) unless given a store; closes only what it opened.
    """

    def __init__(self, settings: Settings, store: DefinitionStore | None = None) -> None:
        self.settings = settings
        self._opened: MetadataStore | None = None
        if store is None:
            self._opened = home_metadata_store(settings)
            store = definition_store(self._opened)
        self.store: DefinitionStore = store
        self.secrets = Secrets(self.store, settings)
        self.builtins = builtin_components(settings)

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()

    def __enter__(self) -> Definitions:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- components -------------------------------------------------------------------------

    def get_component(self, name: str) -> ComponentRecord:
        return self.builtins.get(name) or self.store.get_component(name)

    def list_components(self, type: str | None = None) -> list[ComponentRecord]:
        if type is not None:
            check_type(type)
        builtins = [c for c in self.builtins.values() if type in (None, c.type)]
        found = builtins + self.store.list_components(type)
        order = {t: i for i, t in enumerate(COMPONENT_TYPES)}
        return sorted(found, key=lambda c: (order.get(c.type, 99), c.name not in self.builtins))

    def _refuse_builtin(self, name: str, action: str) -> None:
        if name in self.builtins:
            raise ConfigError(
                f"cannot {action} {name!r}: it is a built-in component",
                hint="register a component of your own under another name",
            )

    def register_component(
        self,
        type: str,
        name: str,
        flavor: str,
        values: Mapping[str, Any],
        *,
        from_strings: bool = False,
        replace: bool = False,
    ) -> ComponentRecord:
        """Validate and store a component (``replace`` overwrites one of the same name)."""
        check_type(type)
        check_name("component", name)
        self._refuse_builtin(name, "register a component named")
        found, config = validate_component(type, name, flavor, values, from_strings=from_strings)
        config, _ = self.secrets.seal_credentials(found.config_class(), config)  # never plain
        now = datetime.now(UTC)
        record = ComponentRecord(name, type, flavor, config, now, now)
        return self.store.create_component(record, replace=replace)

    def update_component(
        self, name: str, values: Mapping[str, Any], *, from_strings: bool = False
    ) -> ComponentRecord:
        """Change some fields of a component; an empty command-line value resets a field."""
        self._refuse_builtin(name, "update")
        current = self.store.get_component(name)
        merged = dict(current.config)
        for key, value in values.items():
            if from_strings and value == "":
                merged.pop(option_name(key), None)
            else:
                merged[option_name(key)] = value
        found, config = validate_component(
            current.type, name, current.flavor, merged, from_strings=from_strings
        )
        config, _ = self.secrets.seal_credentials(found.config_class(), config)  # never plain
        return self.store.update_component(name, config, updated=datetime.now(UTC))

    def delete_component(self, name: str) -> None:
        self._refuse_builtin(name, "delete")
        self.store.delete_component(name)

    # --- stacks -----------------------------------------------------------------------------

    def default_stack_record(self) -> StackRecord:
        return StackRecord(DEFAULT_STACK, dict(BUILTIN_COMPONENTS), _EPOCH)

    def stack_names(self) -> list[str]:
        return [DEFAULT_STACK] + [s.name for s in self.store.list_stacks()]

    def get_stack(self, name: str) -> StackRecord:
        if name == DEFAULT_STACK:
            return self.default_stack_record()
        try:
            return ordered(self.store.get_stack(name))
        except NotFound as err:
            known = self.stack_names()
            raise NotFound(
                f"no stack named {name!r}",
                hint=f"{did_you_mean(name, known)}known stacks: {', '.join(known)}",
            ) from err

    def list_stacks(self) -> list[StackRecord]:
        return [self.default_stack_record(), *map(ordered, self.store.list_stacks())]

    def chosen(self, name: str | None = None) -> StackChoice:
        """The stack to use (``name`` if given) and why; see :mod:`bevel.stack.active`."""
        return resolve_stack(name, self.settings)

    def stack_for_build(self, choice: StackChoice) -> StackRecord:
        """The definition of the chosen stack, or a StackError saying how to pick a known one."""
        try:
            return self.get_stack(choice.name)
        except NotFound as err:
            fixes = {
                "$BEVEL_STACK": "unset BEVEL_STACK or set it to a known stack",
                "bevel stack set": "pick a known stack: bevel stack set NAME",
            }
            fix = fixes.get(
                choice.source,
                f"or register it: bevel stack register {choice.name} -a ARTIFACT_STORE",
            )
            known = self.stack_names()
            raise StackError(
                f"no stack named {choice.name!r} ({choice.reason})",
                hint=f"{did_you_mean(choice.name, known)}{fix}; known stacks: {', '.join(known)}",
            ) from err

    def register_stack(
        self, name: str, components: Mapping[str, str | None], *, replace: bool = False
    ) -> StackRecord:
        """Store a stack of existing components; the metadata store defaults to the home one."""
        chosen = self.check_stack(name, components)
        record = StackRecord(name=name, components=chosen, created=datetime.now(UTC))
        stored = [c for c in chosen.values() if c not in self.builtins]
        return ordered(self.store.create_stack(record, replace=replace, require=stored))

    def check_stack(
        self,
        name: str,
        components: Mapping[str, str | None],
        planned: Mapping[str, ComponentRecord] | None = None,
    ) -> dict[str, str]:
        """The members of stack ``name`` as it would be stored, or the ConfigError saying why it
        cannot be. ``planned`` components (by name) count as existing: ``bevel stack import``
        checks the whole file before it writes anything."""
        check_name("stack", name)
        if name == DEFAULT_STACK:
            raise ConfigError(
                "the 'default' stack is built in and cannot be redefined",
                hint="register a stack under another name",
            )
        chosen = {check_type(t): c for t, c in components.items() if c}
        chosen.setdefault("metadata_store", BUILTIN_COMPONENTS["metadata_store"])
        for type_ in REQUIRED_TYPES:
            if type_ not in chosen:
                raise ConfigError(
                    f"stack {name!r} needs {with_article(type_.replace('_', ' '))}",
                    hint=f"give one: --{type_.replace('_', '-')} NAME "
                    f"(e.g. {BUILTIN_COMPONENTS[type_]}; see: bevel component list {type_})",
                )
        for type_, component in chosen.items():
            self._check_member(name, type_, component, planned or {})
        return chosen

    def _check_member(
        self, stack: str, type: str, component: str, planned: Mapping[str, ComponentRecord]
    ) -> None:
        try:
            found = planned.get(component) or self.get_component(component)
        except NotFound:
            known = [c.name for c in self.list_components(type)]
            raise ConfigError(
                f"stack {stack!r}: no {type} component named {component!r}",
                hint=f"{type} components: {', '.join(known) or '(none)'}; register one: "
                f"bevel component register {type} {component} --flavor ...",
            ) from None
        if found.type != type:
            raise ConfigError(
                f"stack {stack!r}: component {component!r} is {with_article(found.type)}, "
                f"not {with_article(type)}",
                hint=f"use it as --{found.type.replace('_', '-')} {component}",
            )

    def delete_stack(self, name: str) -> None:
        """Delete a stack; ``default`` and the active stack are refused."""
        if name == DEFAULT_STACK:
            raise ConfigError("the 'default' stack is built in and cannot be deleted")
        active = self.chosen()
        if active.name == name:
            raise ConfigError(
                f"cannot delete stack {name!r}: it is the active stack (set by {active.source})",
                hint="switch to another stack first: bevel stack set default",
            )
        if chosen_stack(self.settings) == name:
            # $BEVEL_STACK hides this choice only for now: once it is unset, every command
            # would fail on a stack that no longer exists.
            raise ConfigError(
                f"cannot delete stack {name!r}: it is this project's stack (set by bevel stack "
                f"set), which {active.source}={active.name} overrides for now",
                hint="choose another stack first: bevel stack set default",
            )
        self.store.delete_stack(name)
