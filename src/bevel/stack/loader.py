"""Building a non-default stack from its stored definition (what :func:`build_stack` delegates to).

Per component: find the flavor, resolve ``{{secret.key}}`` references, validate the config,
check the flavor's packages are installed (with the ``pip install`` hint when not), import the
implementation and call it. Every failure names the component. This module pulls in the whole
definitions machinery (flavors, config validation, secrets), so :mod:`bevel.stack.build` imports
it only for stacks other than ``default``.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Iterable
from typing import Any

from bevel._text import with_article
from bevel.errors import BevelError, ConfigError, StackError
from bevel.metadata.records import ComponentRecord
from bevel.redaction import holds_secret
from bevel.settings import Settings
from bevel.stack.active import StackChoice
from bevel.stack.components import BUILTIN_COMPONENTS, COMPONENT_TYPES, REQUIRED_TYPES, type_order
from bevel.stack.config import validate_config
from bevel.stack.definitions import Definitions, describe_where
from bevel.stack.flavors import get_flavor
from bevel.stack.guard import GuardedArtifactStore
from bevel.stack.home import definition_store, home_metadata_store
from bevel.stack.secrets import Secrets, needs_secrets, remember_credentials
from bevel.stack.stack import Stack


def _check_types(stack: str, members: dict[str, str]) -> None:
    """A stored stack may name a component of a type this bevel does not use (registered with
    another version): say so, rather than build a component nothing would call."""
    unknown = [t for t in members if t not in COMPONENT_TYPES]
    if unknown:
        raise StackError(
            f"stack {stack!r} has a component of type {unknown[0]} ({members[unknown[0]]!r}),"
            " which this bevel does not use",
            hint=f"register the stack again without it: bevel stack register {stack} --force"
            f" ... (bevel stack describe {stack} lists its components; the types are:"
            f" {', '.join(COMPONENT_TYPES)})",
        )


def build_defined_stack(choice: StackChoice, settings: Settings) -> Stack:
    """Build the stored stack ``choice.name`` (not ``default``)."""
    home = home_metadata_store(settings)
    built: dict[str, Any] = {}
    try:
        with Definitions(settings, definition_store(home)) as defs:
            record = defs.stack_for_build(choice)
            _check_types(record.name, record.components)
            for type_ in sorted(record.components, key=type_order):
                component = record.components[type_]
                if type_ == "metadata_store" and component == BUILTIN_COMPONENTS[type_]:
                    built[type_] = home  # the home store itself: no second connection pool
                    continue
                definition = defs.get_component(component)
                if definition.type != type_:
                    raise StackError(
                        f"stack {record.name!r} uses {definition.type} {component!r} as its "
                        f"{type_}",
                        hint=f"register the stack again with {with_article(type_)}",
                    )
                built[type_] = build_component(definition, settings, defs.secrets)
        missing = [t for t in REQUIRED_TYPES if t not in built]
        if missing:
            raise StackError(
                f"stack {record.name!r} has no {missing[0].replace('_', ' ')}",
                hint=f"register it again with one: bevel stack register {record.name} --force ...",
            )
    except BaseException:
        _close([c for c in built.values() if c is not home])
        home.close()
        raise
    if built["metadata_store"] is not home:
        home.close()
    return Stack(
        name=record.name,
        orchestrator=built.pop("orchestrator"),
        artifact_store=built.pop("artifact_store"),
        metadata_store=built.pop("metadata_store"),
        components=built,
        component_names=dict(record.components),
    )


def _close(components: Iterable[Any]) -> None:
    for component in components:
        close = getattr(component, "close", None)
        if callable(close):
            close()


def build_component(
    record: ComponentRecord, settings: Settings, secrets: Secrets | None = None
) -> Any:
    """Build one component from its definition (see the module docstring for the steps)."""
    where = describe_where(record.type, record.name, record.flavor)
    try:
        flavor = get_flavor(record.type, record.flavor)
    except ConfigError as err:
        raise StackError(f"cannot build {where}: {err.message}", hint=err.hint) from err
    values = record.config
    if needs_secrets(values):
        if secrets is None:
            raise StackError(f"{where} refers to secrets, but no secret store was given")
        values = secrets.resolve(values, where=where, component=record.name)
    remember_credentials(flavor.config_class(), values)  # masked in every error from now on
    config = validate_config(flavor.config_class(), values, where=where)
    missing = flavor.missing(config)
    if missing:
        raise StackError(
            f"{where} needs the Python package {missing[0]!r}, which is not installed here",
            hint=flavor.install_hint(missing[0], config),
        )
    kwargs = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    for f in dataclasses.fields(config):
        if f.metadata.get("path") and isinstance(kwargs[f.name], str):
            kwargs[f.name] = _project_path(kwargs[f.name], settings)
    try:
        impl = flavor.load_implementation()
        if _accepts_name(impl):
            kwargs["name"] = record.name
        component = impl(**kwargs)
    except BevelError as err:
        if holds_secret(err.__cause__ or err.__context__):  # a traceback would show it
            err.__cause__, err.__suppress_context__ = None, True
        raise
    except Exception as err:
        hint = f"check its settings: bevel component describe {record.name}"
        if isinstance(err, ImportError):
            hint = flavor.install or "install the package that provides this flavor"
        failure = StackError(f"cannot build {where}: {type(err).__name__}: {err}", hint=hint)
        raise failure from (None if holds_secret(err) else err)  # the message itself is masked
    if record.type == "artifact_store" and record.flavor != "local":
        address = getattr(config, "address", None)
        component = GuardedArtifactStore(
            component,
            component=record.name,
            address=address() if callable(address) else str(component.root),
        )
    return component


def _project_path(path: str, settings: Settings) -> str:
    """A config path as an absolute one; relative paths start at the project root."""
    expanded = os.path.expanduser(path)
    if "://" in expanded or os.path.isabs(expanded):
        return expanded
    return str(settings.project_root / expanded)


def _accepts_name(impl: Callable[..., Any]) -> bool:
    try:
        parameter = inspect.signature(impl).parameters.get("name")
    except (TypeError, ValueError):
        return False
    return parameter is not None and parameter.kind in (
        parameter.KEYWORD_ONLY,
        parameter.POSITIONAL_OR_KEYWORD,
    )
