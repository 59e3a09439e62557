"""Flavor config classes: plain frozen dataclasses, validated with errors that say how to fix.

A flavor's config is a frozen dataclass whose fields are the component's settings; declare them
with :func:`option` to give each a help text and to mark credentials ``sensitive`` (masked in
``bevel component describe`` and ``bevel stack export``). Dataclasses instead of pydantic keep the
class importable in microseconds and without the flavor's heavy library, so ``bevel flavor list``
and validation stay fast. Supported field types: ``str``, ``int``, ``float``, ``bool``,
``dict[str, Any]``, ``list[...]``, ``Any`` and ``X | None``. An optional ``check(self)`` method
raises ``ValueError`` (naming the field) for rules beyond types.

Example (a third-party flavor's config)::

    @dataclass(frozen=True)
    class SlackConfig:
        channel: str = option(help="channel to post to, e.g. #ml-alerts")
        token: str | None = option(None, help="bot token", sensitive=True)

Text fields may hold ``{{secret.key}}`` references, resolved only when a stack is built.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING
from functools import cache
from typing import Any, Union

from bevel._dataclass import dataclass
from bevel._text import with_article
from bevel.bounded import check_nesting, load_json
from bevel.errors import ConfigError
from bevel.redaction import MASK as MASK

#: ``{{secret_name.key}}``: a reference to one key of a stored secret.
REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\s*\}\}")
#: ``{{sealed:TOKEN}}``: a credential typed as a literal, stored encrypted in the component's
#: config (Fernet, the secrets key); see :meth:`bevel.stack.secrets.Secrets.seal_credentials`.
SEALED = re.compile(r"\{\{sealed:([A-Za-z0-9_=-]+)\}\}")
# The password runs to the first '@', as SQLAlchemy parses it: it may hold '/', '?', '#' or ':'
# (generated passwords often do), and stopping at any of them would show it whole.
_URL_PASSWORD = re.compile(r"(?P<head>://[^/:@]*:)(?P<password>[^@]+)(?P<tail>@)")
_SENSITIVE_KEY = re.compile(
    r"secret|password|passwd|token|credential|private|access_key|key$", re.I
)


def about(help: str = "", *, sensitive: bool | str = False, path: bool = False) -> dict[str, Any]:
    """Field metadata for :func:`dataclasses.field` (what :func:`option` sets), for fields with
    a ``default_factory``: ``x: dict[str, Any] = field(default_factory=dict, metadata=about(...))``."""
    return {"help": help, "sensitive": sensitive, "path": path}


def option(
    default: Any = MISSING,
    *,
    help: str = "",
    sensitive: bool | str = False,
    path: bool = False,
    default_factory: Any = MISSING,
) -> Any:
    """A config field with a help text.

    ``sensitive=True`` masks the whole value on display, ``sensitive="url"`` only a URL's
    password; ``{{secret.key}}`` references are shown as they are. ``path=True`` marks a local
    path, resolved against the project root (the folder holding ``.bevel/``) when relative.
    """
    metadata = about(help, sensitive=sensitive, path=path)
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class FieldInfo:
    """One config field, as shown by ``bevel flavor list`` and used by validation."""

    name: str
    kinds: tuple[type, ...]  # accepted Python types; () = anything
    optional: bool  # None is accepted
    required: bool
    default: Any
    help: str
    sensitive: bool | str
    path: bool

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def type_name(self) -> str:
        kinds = [k for k in self.kinds if not (k is int and float in self.kinds)]
        names = [_KIND_NAMES.get(k, k.__name__) for k in kinds] or ["any"]
        return " or ".join(names) + (" (optional)" if self.optional and not self.required else "")


_KIND_NAMES = {str: "text", int: "integer", float: "number", bool: "true/false", dict: "mapping"}


def _kinds(hint: Any) -> tuple[tuple[type, ...], bool]:
    """(accepted types, accepts None) of a field's type hint."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        kinds: list[type] = []
        optional = False
        for arg in typing.get_args(hint):
            if arg is type(None):
                optional = True
                continue
            sub, _ = _kinds(arg)
            if not sub:
                return (), True
            kinds.extend(sub)
        return tuple(dict.fromkeys(kinds)), optional
    if hint is Any:
        return (), True
    if origin is not None:
        hint = origin
    if hint is float:
        return (float, int), False
    if isinstance(hint, type):
        return (hint,), False
    return (), True


@cache
def config_fields(config_cls: type) -> tuple[FieldInfo, ...]:
    """The fields of a flavor config class, in declaration order."""
    hints = typing.get_type_hints(config_cls)
    found = []
    for f in dataclasses.fields(config_cls):
        kinds, optional = _kinds(hints.get(f.name, Any))
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        default = f.default if f.default is not MISSING else None
        if f.default_factory is not MISSING:
            default = f.default_factory()
        found.append(
            FieldInfo(
                name=f.name,
                kinds=kinds,
                optional=optional,
                required=not has_default,
                default=default,
                help=str(f.metadata.get("help", "")),
                sensitive=f.metadata.get("sensitive", False),
                path=bool(f.metadata.get("path", False)),
            )
        )
    return tuple(found)


def option_name(text: str) -> str:
    """``--endpoint-url`` / ``endpoint-url`` / ``endpoint_url`` -> ``endpoint_url``."""
    return text.lstrip("-").replace("-", "_")


def _from_string(info: FieldInfo, text: str, where: str) -> Any:
    """Read a command-line value as the field's type (``--connect-timeout 5`` -> 5.0)."""
    if not info.kinds or str in info.kinds or REFERENCE.search(text):
        return text
    lowered = text.strip().lower()
    if info.optional and lowered in ("", "none", "null"):
        return None
    if bool in info.kinds and lowered in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return lowered in ("true", "yes", "on", "1")
    for kind in (int, float):
        if kind in info.kinds:
            try:
                return kind(text)
            except ValueError:
                pass
    if dict in info.kinds or list in info.kinds:
        try:
            return load_json(text, what=f"{where}: field {info.name!r}")
        except ValueError:
            return text
    return text


def _type_ok(info: FieldInfo, value: Any) -> bool:
    if value is None:
        return info.optional
    if not info.kinds:
        return True
    if isinstance(value, bool) and bool not in info.kinds:
        return False
    return isinstance(value, info.kinds)


def validate_config(
    config_cls: type,
    values: Mapping[str, Any],
    *,
    where: str,
    from_strings: bool = False,
) -> Any:
    """Build ``config_cls`` from ``values``, or raise a ConfigError naming ``where`` and the field.

    ``where`` names the component (``"artifact_store 's3-store' (flavor s3)"``).
    ``from_strings`` reads command-line text as each field's type first.
    """
    fields = {f.name: f for f in config_fields(config_cls)}
    known = ", ".join(f.option for f in fields.values()) or "(none)"
    for key in values:
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            guess = f"did you mean --{close[0].replace('_', '-')}? " if close else ""
            raise ConfigError(
                f"{where}: unknown field {key!r}",
                hint=f"{guess}its fields are: {known} (see: bevel flavor list)",
            )
    kwargs: dict[str, Any] = {}
    for name, info in fields.items():
        if name not in values:
            if info.required:
                what = f" ({info.help})" if info.help else ""
                raise ConfigError(
                    f"{where}: missing required field {name!r}{what}",
                    hint=f"give it: {info.option} VALUE",
                )
            continue
        value = values[name]
        if from_strings and isinstance(value, str):
            value = _from_string(info, value, where)
        check_nesting(value, what=f"{where}: field {name!r}")
        if (
            isinstance(value, str)
            and REFERENCE.search(value)
            and info.kinds
            and str not in info.kinds
        ):
            raise ConfigError(
                f"{where}: field {name!r} is {with_article(info.type_name)}, so it cannot hold the secret "
                f"reference {value!r}",
                hint="only text fields may refer to secrets",
            )
        if not _type_ok(info, value):
            raise ConfigError(
                f"{where}: field {name!r} must be {with_article(info.type_name)}, got {_show(info, value)} "
                f"({type(value).__name__})",
                hint=f"give it as: {info.option} VALUE" + (" (JSON)" if dict in info.kinds else ""),
            )
        kwargs[name] = value
    config = config_cls(**kwargs)
    check = getattr(config, "check", None)
    if callable(check):
        try:
            check()
        except ValueError as err:
            raise ConfigError(f"{where}: {err}", hint="fix it: bevel component update ...") from err
    return config


def _show(info: FieldInfo, value: Any) -> str:
    return repr(MASK) if info.sensitive else repr(value)


def has_reference(value: Any) -> bool:
    return isinstance(value, str) and REFERENCE.search(value) is not None


def _only_references(text: str) -> bool:
    return REFERENCE.sub("", text).strip() == ""


def is_sealed(text: str) -> bool:
    """Whether ``text`` is one sealed credential (``{{sealed:...}}``), nothing else."""
    return SEALED.fullmatch(text.strip()) is not None


def replace_credentials(value: Any, sensitive: bool | str, replace: Callable[[str], str]) -> Any:
    """``value`` with each credential in it passed through ``replace``: the whole text of a
    sensitive value, only the password of a ``sensitive="url"`` one, and the values of mapping
    keys that name a credential (``secret``, ``password``, ``token``...). ``{{secret.key}}``
    references are no credentials: they are kept as they are."""
    if isinstance(value, Mapping):
        return {
            k: replace_credentials(v, bool(_SENSITIVE_KEY.search(str(k))), replace)
            for k, v in value.items()
        }
    if not isinstance(value, str) or not sensitive or value == "":
        return value
    if sensitive == "url":

        def hide(m: re.Match[str]) -> str:
            password = m["password"]
            kept = password if _only_references(password) else replace(password)
            return m["head"] + kept + m["tail"]

        return _URL_PASSWORD.sub(hide, value)
    return value if _only_references(value) else replace(value)


def map_credentials(
    config_cls: type | None, values: Mapping[str, Any], replace: Callable[[str, str], str]
) -> dict[str, Any]:
    """``values`` (a component's config) with ``replace(field, text)`` applied to each
    credential (see :func:`replace_credentials`). Without the config class (its flavor's
    package is not installed) credentials are found by field name, and URLs' passwords."""
    fields = {f.name: f for f in config_fields(config_cls)} if config_cls else {}
    done = {}
    for key, value in values.items():
        info = fields.get(key)
        sensitive = info.sensitive if info else bool(_SENSITIVE_KEY.search(key))
        if info is None and isinstance(value, str) and "://" in value:
            sensitive = sensitive or "url"
        done[key] = replace_credentials(value, sensitive, _for_field(replace, key))
    return done


def _for_field(replace: Callable[[str, str], str], field: str) -> Callable[[str], str]:
    return lambda text: replace(field, text)


def mask_value(value: Any, sensitive: bool | str) -> Any:
    """``value`` with credentials replaced by ``***``; secret references are kept as they are."""
    return replace_credentials(value, sensitive, lambda _: MASK)


def mask_config(config_cls: type | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """A stored config fit for display or export: credentials, sealed ones included, are
    ``***``; ``{{secret.key}}`` references are shown."""
    return map_credentials(config_cls, values, lambda _field, _text: MASK)


def credentials(config_cls: type | None, values: Mapping[str, Any]) -> dict[str, list[str]]:
    """field -> the credential texts in it (literal or sealed), as :func:`mask_config` hides."""
    found: dict[str, list[str]] = {}

    def collect(field: str, text: str) -> str:
        found.setdefault(field, []).append(text)
        return text

    map_credentials(config_cls, values, collect)
    return found


def sealed_fields(config_cls: type | None, values: Mapping[str, Any]) -> list[str]:
    """The fields holding a credential stored encrypted (``{{sealed:...}}``)."""
    found = credentials(config_cls, values)
    return [field for field, texts in found.items() if any(map(is_sealed, texts))]


def plain_credentials(config_cls: type | None, values: Mapping[str, Any]) -> list[str]:
    """The fields holding a credential in plain text (stored by an earlier bevel, which did not
    encrypt them): ``bevel component update NAME --encrypt`` encrypts them."""
    found = credentials(config_cls, values)
    return [field for field, texts in found.items() if not all(map(is_sealed, texts))]


def masked_fields(values: Mapping[str, Any]) -> list[str]:
    """Fields whose value was masked on export (``***``): they cannot be imported as they are."""
    found = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            found += [f"{key}.{k}" for k in masked_fields(value)]
        elif isinstance(value, str) and (value == MASK or f":{MASK}@" in value):
            found.append(key)
    return found
