"""Reading documents that users hand in (YAML and JSON files, ``-p`` values), within limits.

A run config, a stack file or a command-line value is small; a hostile or broken one must not
hang bevel, exhaust its memory or crash it with a traceback. Every such input is read through
this module, which turns each of these into a :class:`~bevel.errors.ConfigError` naming the
input (and the line, where known):

- a file larger than :data:`MAX_BYTES` (read at most that much: ``/dev/zero`` is fine too);
- bytes that are not UTF-8 (the error gives the line and byte offset);
- nesting deeper than :data:`MAX_DEPTH` (JSON and YAML alike: no ``RecursionError``);
- YAML aliases (``*name``) used more than :data:`MAX_ALIASES` times, or expanding the document
  past :data:`MAX_VALUES` values (the "billion laughs" bomb: a 1 KB file that expands to 10^9
  values), and aliases that refer to themselves;
- numbers too long to convert (Python refuses integers of more than 4300 digits).

``check_nesting`` applies the depth and size limits to a value built in Python (``run_pipeline
(params=...)``, a component config given as a dict), so later code that walks it recursively
(canonical JSON, masking, secret resolution) never meets one it cannot handle.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from bevel.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

MAX_BYTES = 10 * 1024 * 1024  # a run config or stack file; parameters are data, not datasets
MAX_DEPTH = 64  # levels of nested lists/mappings (real configs use fewer than 10)
MAX_ALIASES = 1000  # uses of YAML aliases (*name) in one document
MAX_VALUES = 1_000_000  # values in a document once its aliases are expanded

_HINT = "keep it under the limit; pass large data between steps as step outputs instead"


def _too_big(what: str) -> ConfigError:
    return ConfigError(
        f"{what} is larger than {MAX_BYTES // (1024 * 1024)} MiB",
        hint="a config holds settings and parameters; pass large data as step outputs or files",
    )


def read_text(path: str | os.PathLike[str], *, what: str) -> str:
    """The text of a UTF-8 file of at most :data:`MAX_BYTES` (``what`` names it in errors)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise ConfigError(
            f"{what} is a folder, not a file", hint="give the path of a file"
        ) from None
    except OSError as err:
        raise ConfigError(
            f"cannot read {what}: {err.strerror or err}", hint="check the path and permissions"
        ) from None
    if len(data) > MAX_BYTES:
        raise _too_big(what)
    return decode(data, what=what)


def decode(data: bytes, *, what: str) -> str:
    """``data`` as UTF-8 text, or a ConfigError giving the line and offset of the bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(
            f"{what} is not UTF-8 text: byte 0x{data[err.start]:02x} at line {line} "
            f"(offset {err.start}) cannot be decoded",
            hint="save the file as UTF-8 (most editors offer it in 'Save as')",
        ) from None


def too_deep(what: str, where: str = "") -> ConfigError:
    return ConfigError(
        f"{what} is nested deeper than {MAX_DEPTH} levels{where}",
        hint=f"flatten it: lists and mappings may nest at most {MAX_DEPTH} levels deep",
    )


def _too_many_values(what: str) -> ConfigError:
    return ConfigError(
        f"{what} expands to more than {MAX_VALUES:,} values",
        hint="YAML aliases (*name) repeat what they refer to; use fewer of them, or " + _HINT,
    )


def check_nesting(value: Any, *, what: str) -> None:
    """Raise a ConfigError when ``value`` nests deeper than :data:`MAX_DEPTH` or holds more than
    :data:`MAX_VALUES` values (counting shared objects each time they appear), or contains
    itself. Iterative: any depth is checked without recursion."""
    count = 0
    stack: list[tuple[Any, int, tuple[int, ...]]] = [(value, 0, ())]
    while stack:
        item, depth, parents = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise _too_many_values(what)
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth >= MAX_DEPTH:
            raise too_deep(what)
        if id(item) in parents:
            raise ConfigError(f"{what} contains itself", hint="give it plain nested values")
        inner = (*parents, id(item))
        stack.extend((child, depth + 1, inner) for child in children)


def load_json(text: str, *, what: str) -> Any:
    """Parse JSON text within the limits (``ValueError`` for text that is not JSON at all)."""
    if len(text) > MAX_BYTES:
        raise _too_big(what)
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep(what) from None
    check_nesting(value, what=what)
    return value


def load_yaml(text: str, *, what: str) -> Any:
    """Parse one YAML document (safe types only) within the limits.

    Raises ``yaml.YAMLError`` for text that is not YAML (callers say how to fix their syntax)
    and ConfigError for a document over a limit.
    """
    # Function-local import: PyYAML is needed only when a document is read, never on `--help`.
    import yaml

    if len(text) > MAX_BYTES:
        raise _too_big(what)
    loader = _bounded_loader(yaml)(text)
    loader.what = what
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _count_values(node, what)
        return loader.construct_document(node)
    except ValueError:  # the only one PyYAML lets through: an integer too long to convert
        raise ConfigError(
            f"{what} holds a number too long to read (more than "
            f"{sys.get_int_max_str_digits()} digits)",
            hint="write long numbers as strings, in quotes",
        ) from None
    finally:
        loader.dispose()


def _count_values(root: Any, what: str) -> None:
    """Count the values of a composed YAML graph as if its aliases were expanded (memoised, so
    this is linear in the graph, not in the expansion)."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            in_progress.discard(key)
            total = 1 + sum(sizes[id(child)] for child in children)
            sizes[key] = total
            if total > MAX_VALUES:
                raise _too_many_values(what)
            continue
        if key in sizes:
            continue
        if key in in_progress:
            mark = node.start_mark
            raise ConfigError(
                f"{what}: an alias at line {mark.line + 1} refers to itself",
                hint="a YAML anchor (&name) cannot contain an alias (*name) to itself",
            )
        in_progress.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: Any) -> list[Any]:
    value = node.value
    if not isinstance(value, list):
        return []  # a scalar
    if value and isinstance(value[0], tuple):  # a mapping: (key, value) pairs
        return [part for pair in value for part in pair]
    return list(value)


_loader_class: Any = None


def _bounded_loader(yaml: Any) -> Any:
    """A ``yaml.SafeLoader`` that counts nesting and aliases while composing (made once)."""
    global _loader_class
    if _loader_class is not None:
        return _loader_class

    class BoundedLoader(yaml.SafeLoader):  # type: ignore[name-defined,misc]
        what = "the document"

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._depth = 0
            self._aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            line = f" (line {event.start_mark.line + 1})"
            if isinstance(event, yaml.AliasEvent):
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    raise ConfigError(
                        f"{self.what} uses aliases (*name) more than {MAX_ALIASES} times{line}",
                        hint="repeat fewer values through aliases, or " + _HINT,
                    )
            if not isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                return super().compose_node(parent, index)
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise too_deep(self.what, line)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    _loader_class = BoundedLoader
    return BoundedLoader


def load_yaml_file(path: str | Path, *, what: str) -> Any:
    """:func:`read_text` then :func:`load_yaml`."""
    return load_yaml(read_text(path, what=what), what=what)
