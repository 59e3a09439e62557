"""A stack as a plain document: ``bevel stack export`` writes it, ``bevel stack import`` reads it.

The document holds the stack and its components, never a secret value: ``{{secret.key}}``
references are kept as they are and literal credentials in sensitive fields are masked
(``***``). Built-in components appear by name only. Example::

    stack: team
    components:
      orchestrator: local
      artifact_store:
        name: s3-store
        flavor: s3
        config: {path: s3://ml-artifacts, key: '{{s3.key}}', secret: '{{s3.secret}}'}

Import checks everything before writing anything. An existing component or stack with the same
definition is left alone (a file holding the very credentials an existing component stores
encrypted counts as the same); a different one is refused unless ``force``. A masked value
cannot be imported (the credential is not in the file): the error names the field. A literal
credential in the file is stored encrypted, as ``bevel component register`` stores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bevel.errors import ConfigError, NotFound, StackError
from bevel.metadata.records import ComponentRecord
from bevel.stack.components import BUILTIN_COMPONENTS, type_order
from bevel.stack.config import mask_config, masked_fields, plain_credentials, sealed_fields
from bevel.stack.definitions import Definitions, validate_component
from bevel.stack.flavors import check_type, get_flavor


def _config_class(record: ComponentRecord) -> type | None:
    try:
        return get_flavor(record.type, record.flavor).config_class()
    except (ConfigError, ImportError, AttributeError):
        return None  # flavor not installed here: credentials are found by field name


def masked(record: ComponentRecord) -> dict[str, Any]:
    """A component's config for display: credentials masked, references kept."""
    return mask_config(_config_class(record), record.config)


def encrypted(record: ComponentRecord) -> list[str]:
    """The fields whose credentials are stored encrypted (typed as literals)."""
    return sealed_fields(_config_class(record), record.config)


def in_plain_text(record: ComponentRecord) -> list[str]:
    """The fields whose credentials are stored in plain text (by an earlier bevel)."""
    return plain_credentials(_config_class(record), record.config)


def export_stack(defs: Definitions, name: str) -> dict[str, Any]:
    """The document for stack ``name`` (see the module docstring)."""
    stack = defs.get_stack(name)
    components: dict[str, Any] = {}
    for type_ in sorted(stack.components, key=type_order):
        component = defs.get_component(stack.components[type_])
        if component.name in defs.builtins:
            components[type_] = component.name
            continue
        components[type_] = {
            "name": component.name,
            "flavor": component.flavor,
            "config": masked(component),
        }
    return {"stack": stack.name, "components": components}


def _parse(data: Any) -> tuple[str, dict[str, str | dict[str, Any]]]:
    if not isinstance(data, Mapping) or not isinstance(data.get("stack"), str):
        raise ConfigError(
            "a stack file needs a 'stack' name and 'components'",
            hint="write one with: bevel stack export NAME > stack.yaml",
        )
    components = data.get("components")
    if not isinstance(components, Mapping):
        raise ConfigError(f"stack file for {data['stack']!r}: 'components' must be a mapping")
    unknown = set(data) - {"stack", "components"}
    if unknown:
        raise ConfigError(
            f"stack file for {data['stack']!r}: unknown key(s) {', '.join(sorted(unknown))}",
            hint="the keys are: stack, components",
        )
    return data["stack"], {check_type(str(t)): c for t, c in components.items()}


def _component(type_: str, entry: Any, stack: str) -> ComponentRecord | str:
    """A component to create (record, timestamps unset) or the name of one that must exist."""
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, Mapping) or not {"name", "flavor"} <= set(entry):
        raise ConfigError(
            f"stack file for {stack!r}: the {type_} must be a component name or a mapping "
            "with name, flavor and config"
        )
    name, flavor = str(entry["name"]), str(entry["flavor"])
    config = entry.get("config") or {}
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"stack file for {stack!r}: the config of component {name!r} must be a mapping of "
            f"settings, got {type(config).__name__}",
            hint="write it as config: {path: s3://bucket, ...} (see: bevel flavor list)",
        )
    _, config = validate_component(type_, name, flavor, config, from_strings=False)
    now = datetime.now(UTC)
    return ComponentRecord(name, type_, flavor, config, now, now)


def import_stack(defs: Definitions, data: Any, *, force: bool = False) -> list[str]:
    """Create the stack and components of an exported document; return what was done."""
    stack_name, entries = _parse(data)
    planned: list[tuple[ComponentRecord, bool]] = []  # (component, replace existing)
    members: dict[str, str] = {}
    done: list[str] = []
    for type_, entry in entries.items():
        wanted = _component(type_, entry, stack_name)
        if isinstance(wanted, str):
            members[type_] = wanted
            continue
        members[type_] = wanted.name
        existing = _existing(defs, wanted.name)
        if existing is not None and _same(defs, existing, wanted):
            done.append(f"component {wanted.name} unchanged")
            continue
        hidden = masked_fields(wanted.config)
        if hidden:
            raise ConfigError(
                f"component {wanted.name!r}: field {hidden[0]!r} was masked on export (***), "
                "so the file does not hold its value",
                hint="edit the file: put the value there, or better a {{secret.key}} reference "
                "to a secret (bevel secret create ...)",
            )
        if existing is not None and not force:
            raise ConfigError(
                f"component {wanted.name!r} already exists with a different definition",
                hint="import with --force to overwrite it, or rename it in the file",
            )
        if wanted.name in defs.builtins:
            raise ConfigError(f"component {wanted.name!r} is built in and cannot be redefined")
        planned.append((wanted, existing is not None))
    defs.check_stack(stack_name, members, {c.name: c for c, _ in planned})
    stack_same = _stack_same(defs, stack_name, members)
    if stack_same is False and not force:
        raise ConfigError(
            f"stack {stack_name!r} already exists with other components",
            hint="import with --force to overwrite it, or rename it in the file",
        )
    for component, replace in planned:
        stored = defs.register_component(
            component.type, component.name, component.flavor, component.config, replace=replace
        )
        sealed = encrypted(stored)
        note = f" ({', '.join(sealed)}: stored encrypted)" if sealed else ""
        done.append(f"{'replaced' if replace else 'created'} component {component.name}{note}")
    if stack_same:
        done.append(f"stack {stack_name} unchanged")
    else:
        defs.register_stack(stack_name, members, replace=stack_same is False)
        done.append(f"{'replaced' if stack_same is False else 'created'} stack {stack_name}")
    return done


def _existing(defs: Definitions, name: str) -> ComponentRecord | None:
    try:
        return defs.get_component(name)
    except NotFound:
        return None


def _same(defs: Definitions, existing: ComponentRecord, wanted: ComponentRecord) -> bool:
    """Whether the file's component is the stored one: as exported (credentials masked), or
    with the very credentials (stored encrypted: compared decrypted, never shown)."""
    if (existing.type, existing.flavor) != (wanted.type, wanted.flavor):
        return False
    if wanted.config in (existing.config, masked(existing)):
        return True
    if not encrypted(existing):
        return False
    try:
        where = f"component {existing.name!r}"
        opened = defs.secrets.open_sealed(existing.config, where=where, component=existing.name)
    except StackError:  # another key: it cannot be the same as far as anyone can tell
        return False
    return wanted.config == opened


def _stack_same(defs: Definitions, name: str, members: Mapping[str, str]) -> bool | None:
    """None when there is no such stack yet, else whether it has exactly these components."""
    try:
        current = defs.get_stack(name)
    except NotFound:
        return None
    wanted = dict(members)
    wanted.setdefault("metadata_store", BUILTIN_COMPONENTS["metadata_store"])
    return current.components == wanted
