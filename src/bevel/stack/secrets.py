"""Secrets: named sets of key/value credentials, encrypted at rest, referenced from configs.

``bevel secret create s3 --key=AKIA... --secret=...`` stores ``{"key": ..., "secret": ...}`` in
the home metadata store, encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the
``cryptography`` package). A component config refers to one value as ``{{s3.key}}``; references
are resolved only when a stack is built, so definitions, exports and ``describe`` output never
hold the value.

The key comes from ``$BEVEL_SECRETS_KEY`` or else ``.bevel/secrets.key``, created with mode 0600
on first use. A team sharing one metadata store must share the key too (put it in
``BEVEL_SECRETS_KEY`` from the team's password manager): a key that does not match is reported,
not guessed around.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from bevel.errors import BevelWarning, ConfigError, NotFound, StackError
from bevel.metadata.base import DefinitionStore
from bevel.metadata.records import SecretRecord
from bevel.names import MAX_NAME, shown
from bevel.redaction import MASK_ANYWHERE_LENGTH, masking, remember_secret
from bevel.settings import ENV_SECRETS_KEY, Settings
from bevel.stack.config import REFERENCE, SEALED, credentials, is_sealed, map_credentials

NAME = re.compile(r"[A-Za-z0-9_-]+")
_KEY_HINT = (
    'generate one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def check_name(kind: str, name: str) -> str:
    """Component, stack and secret names (and secret keys): letters, digits, '-' and '_', at
    most :data:`bevel.names.MAX_NAME` characters, so every database stores the same ones."""
    if not NAME.fullmatch(name) or len(name) > MAX_NAME:
        too_long = f" ({len(name)} characters)" if len(name) > MAX_NAME else ""
        raise ConfigError(
            f"invalid {kind} name {shown(name)}{too_long}",
            hint=f"use 1 to {MAX_NAME} letters, digits, '-' and '_' (it appears in "
            "{{secret.key}} references)",
        )
    return name


def load_key(settings: Settings) -> bytes:
    """``$BEVEL_SECRETS_KEY``, else the key file (created, mode 0600, when missing)."""
    env = os.environ.get(ENV_SECRETS_KEY, "").strip()
    if env:
        return env.encode()
    path = settings.secrets_key_path
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    key: bytes = _fernet().generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


def _fernet() -> Any:
    # Function-local import: cryptography costs ~20 ms to import and only secrets need it, so
    # building a stack without secret references (and every default-stack run) never loads it.
    from cryptography.fernet import Fernet

    return Fernet


class SecretBox:
    """Encrypts and decrypts secret values with one key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = _fernet()(key)
        except ValueError as err:
            raise StackError(
                f"the secrets key (${ENV_SECRETS_KEY} or .bevel/secrets.key) is not a valid key",
                hint=_KEY_HINT,
            ) from err

    def seal(self, values: Mapping[str, str]) -> str:
        data = json.dumps(dict(values), separators=(",", ":"), sort_keys=True).encode()
        return str(self._fernet.encrypt(data).decode("ascii"))

    def open(self, name: str, blob: str) -> dict[str, str]:
        # Function-local import: see _fernet.
        from cryptography.fernet import InvalidToken

        try:
            data = self._fernet.decrypt(blob.encode("ascii"))
        except (InvalidToken, ValueError) as err:
            raise StackError(
                f"cannot decrypt secret {name!r}: it was encrypted with another key",
                hint=f"set ${ENV_SECRETS_KEY} to the key it was created with (a team shares "
                "one key), or create the secret again",
            ) from err
        values: dict[str, str] = json.loads(data)
        return values

    def seal_text(self, text: str) -> str:
        """One credential as ``{{sealed:TOKEN}}``, to store in place of the literal."""
        return "{{sealed:" + str(self._fernet.encrypt(text.encode()).decode("ascii")) + "}}"

    def open_text(self, token: str, *, where: str, field: str, again: str) -> str:
        """The credential of a ``{{sealed:TOKEN}}`` (``token`` without the braces); ``again``
        is the command that stores the component's credentials anew (for the hint)."""
        # Function-local import: see _fernet.
        from cryptography.fernet import InvalidToken

        try:
            return str(self._fernet.decrypt(token.encode("ascii")).decode())
        except (InvalidToken, ValueError):
            raise StackError(
                f"{where}: cannot decrypt the credential in field {field!r}: it was encrypted "
                "with another key",
                hint=f"set ${ENV_SECRETS_KEY} to the key it was stored with (a team shares one "
                f"key), or give the credentials again: {again}",
            ) from None


class Secrets:
    """The secrets kept in a definition store, encrypted with the project's key.

    The key is loaded (or created) only when a value is sealed or opened: listing secrets and
    deleting them need no key.
    """

    def __init__(self, store: DefinitionStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._box: SecretBox | None = None

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            self._box = SecretBox(load_key(self.settings))
        return self._box

    def create(self, name: str, values: Mapping[str, str], *, replace: bool = False) -> bool:
        """Store the secret; True when it replaced an existing one."""
        check_name("secret", name)
        if not values:
            raise ConfigError(
                f"secret {name!r} has no values",
                hint=f"give them as options: bevel secret create {name} --key=... --secret=...",
            )
        for key in values:
            check_name("secret key", key)
        existed = self.exists(name)
        now = datetime.now(UTC)
        record = SecretRecord(name=name, blob=self.box.seal(values), created=now, updated=now)
        self.store.put_secret(record, replace=replace)
        for key, value in sorted(values.items()):
            how = masking(value)
            if how is not None:  # stored all the same: the user may have no choice of value
                warnings.warn(
                    f"{{{{{name}.{key}}}}} is {len(value)} characters long: {how} (values of"
                    f" {MASK_ANYWHERE_LENGTH} or more characters are masked everywhere)",
                    BevelWarning,
                    stacklevel=2,
                )
        return existed

    def exists(self, name: str) -> bool:
        return any(r.name == name for r in self.store.list_secrets())

    def users(self, name: str) -> list[str]:
        """The components whose settings refer to secret ``name``."""
        return [
            c.name
            for c in self.store.list_components()
            if any(secret == name for secret, _ in references(c.config))
        ]

    def get(self, name: str) -> dict[str, str]:
        """The decrypted values (for building stacks; never print them)."""
        return self.box.open(name, self.store.get_secret(name).blob)

    def list(self) -> list[SecretRecord]:
        return self.store.list_secrets()

    def seal_credentials(
        self, config_cls: type | None, values: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """``values`` with every credential typed as a literal encrypted in place
        (``{{sealed:...}}``), and the fields that had one. References and credentials sealed
        before are kept; the key is loaded (or created) only when there is something to seal.
        """
        fields: dict[str, None] = {}

        def seal(field: str, text: str) -> str:
            if is_sealed(text):
                return text
            fields[field] = None
            return self.box.seal_text(text)

        return map_credentials(config_cls, values, seal), tuple(fields)

    def open_sealed(
        self, values: Mapping[str, Any], *, where: str, component: str = "NAME"
    ) -> dict[str, Any]:
        """``values`` with sealed credentials decrypted (references left as they are)."""
        unseal = self._unsealer(values, where, component)
        return resolve(values, _no_lookup, where=where, unseal=unseal)

    def resolve(
        self, values: Mapping[str, Any], *, where: str, component: str = "NAME"
    ) -> dict[str, Any]:
        """``values`` (the config of component ``component``) with references resolved and
        sealed credentials decrypted, for building it; every value found is remembered, so no
        error or log shows it."""
        unseal = self._unsealer(values, where, component)
        return resolve(values, self.get, where=where, unseal=unseal)

    def _unsealer(
        self, values: Mapping[str, Any], where: str, component: str
    ) -> Callable[[str, str], str]:
        sealed = [k for k, v in values.items() if any(SEALED.search(t) for t in _strings(v))]
        options = " ".join(f"--{k.replace('_', '-')}=..." for k in sealed)
        again = f"bevel component update {component} {options}"

        def unseal(field: str, token: str) -> str:
            text = self.box.open_text(token, where=where, field=field, again=again)
            remember(text)
            return text

        return unseal

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete a secret; refused while components refer to it, unless ``force``."""
        self.store.get_secret(name)  # NotFound with a hint, before anything else
        users = self.users(name)
        if users and not force:
            raise ConfigError(
                f"secret {name!r} is used by component(s) {', '.join(users)}",
                hint="update those components first, or delete it anyway with --force "
                "(they will fail to build until the secret exists again)",
            )
        self.store.delete_secret(name)


def references(values: Any) -> list[tuple[str, str]]:
    """Every ``(secret, key)`` referenced anywhere in a config value."""
    if isinstance(values, Mapping):
        return [ref for v in values.values() for ref in references(v)]
    if isinstance(values, list):
        return [ref for v in values for ref in references(v)]
    if isinstance(values, str):
        return [(m[1], m[2]) for m in REFERENCE.finditer(values)]
    return []


def _strings(values: Any) -> list[str]:
    if isinstance(values, Mapping):
        return [text for v in values.values() for text in _strings(v)]
    if isinstance(values, list):
        return [text for v in values for text in _strings(v)]
    return [values] if isinstance(values, str) else []


def needs_secrets(values: Any) -> bool:
    """Whether a config holds ``{{secret.key}}`` references or sealed credentials."""
    return any(REFERENCE.search(t) or SEALED.search(t) for t in _strings(values))


def remember(value: str) -> None:
    """Mask ``value`` in every error and log from now on, also as it appears inside URLs."""
    for form in {value, quote(value, safe=""), quote_plus(value)}:
        remember_secret(form)


def remember_credentials(config_cls: type | None, values: Mapping[str, Any]) -> None:
    """Remember the credentials of a resolved config (whatever their origin: a secret, a
    sealed literal, or a plain literal stored by an earlier bevel)."""
    for texts in credentials(config_cls, values).values():
        for text in texts:
            remember(text)


def _no_lookup(name: str) -> Mapping[str, str]:
    raise NotFound(f"secret {name!r} is not looked up here")


def resolve(
    values: Mapping[str, Any],
    lookup: Callable[[str], Mapping[str, str]],
    *,
    where: str,
    unseal: Callable[[str, str], str] | None = None,
) -> dict[str, Any]:
    """``values`` with every ``{{secret.key}}`` replaced by the secret's value (and, given
    ``unseal(field, token)``, every ``{{sealed:...}}`` by the credential it holds). Every
    value put in is remembered (:func:`remember`): no error or log line will show it.

    Raises StackError naming ``where`` (the component), the field, and the missing secret or
    key. ``lookup`` is called once per secret name; with :func:`_no_lookup` references stay.
    """
    cache: dict[str, Mapping[str, str]] = {}

    def value_of(field: str, secret: str, key: str) -> str:
        if secret not in cache:
            try:
                cache[secret] = lookup(secret)
            except NotFound as err:
                raise StackError(
                    f"{where}: field {field!r} refers to secret {secret!r}, which does not exist",
                    hint=f"create it: bevel secret create {secret} --{key}=...",
                ) from err
        found = cache[secret]
        if key not in found:
            raise StackError(
                f"{where}: field {field!r} refers to key {key!r} of secret {secret!r}, "
                "which has no such key",
                hint=f"its keys are: {', '.join(sorted(found)) or '(none)'}; recreate it with "
                f"that key: bevel secret create {secret} --force --{key}=... (and the others)",
            )
        remember(found[key])
        return found[key]

    def walk(field: str, value: Any) -> Any:
        if isinstance(value, str):
            if unseal is not None:
                value = SEALED.sub(lambda m: unseal(field, m[1]), value)
            if lookup is _no_lookup:
                return value
            return REFERENCE.sub(lambda m: value_of(field, m[1], m[2]), value)
        if isinstance(value, Mapping):
            return {k: walk(f"{field}.{k}", v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(field, v) for v in value]
        return value

    return {field: walk(field, value) for field, value in values.items()}
