"""The cache key: one pure, documented, versioned function (DESIGN principle 7).

A step run is reused instead of executed when a previous completed run of a step had the same
cache key. Everything that can change a step's outputs must therefore be an ingredient, and
nothing else should be (a retry count, a log level or an ``@step(...)`` option edit must not force a rerun).
:func:`cache_key` lists the ingredients; :func:`explain` turns two recorded ingredient sets
into the sentences ``bevel runs explain`` prints.

Example::

    >>> ing = CacheIngredients(
    ...     code_hash="sha256:ab12",
    ...     params={"lr": 0.1},
    ...     inputs={"data": "sha256:cd34"},
    ...     materializers={"output": "bevel.artifacts.materializers.builtin:JSON@1"},
    ...     options={},
    ... )
    >>> cache_key(ing)[:7]
    'sha256:'
    >>> explain(None, ing.as_dict())
    ['no previous run of this step']
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from bevel._dataclass import dataclass
from bevel._json import encoder
from bevel._text import with_article
from bevel.dag.plan import StepSpec

__all__ = [
    "CACHE_KEY_VERSION",
    "CacheIngredients",
    "cache_key",
    "canonical_json",
    "explain",
    "ingredients_for",
]

# Bump when the key's recipe changes (an ingredient added, the JSON canonicalisation changed):
# every step then misses the cache once, instead of a stale hit under a different recipe.
CACHE_KEY_VERSION = 1


@dataclass(frozen=True)
class CacheIngredients:
    """Everything that decides whether a step's previous outputs can be reused.

    ``params`` and ``options`` hold JSON values; ``inputs`` maps each input name to the content
    hash of the artifact fed to it; ``materializers`` maps each output name to
    ``"module:Class@version"``.
    """

    code_hash: str
    params: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    materializers: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    externals: Mapping[str, str] = field(default_factory=dict)
    custom: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The ingredients as canonical JSON-able data, tagged with the key format version.

        This is what a step run records (so that :func:`explain` can compare runs later) and
        what :func:`cache_key` hashes. Raises ``TypeError`` naming the path of a value that is
        not JSON (``"params.lr"``).
        """
        data = {
            "version": CACHE_KEY_VERSION,
            "code_hash": _check_str(self.code_hash, "code_hash"),
            "params": _normalise(self.params, "params", set()),
            "inputs": _str_map(self.inputs, "inputs"),
            "materializers": _str_map(self.materializers, "materializers"),
            "options": _normalise(self.options, "options", set()),
        }
        # Present only when used, so that adding them did not change any other step's key.
        if self.externals:
            data["externals"] = _str_map(self.externals, "externals")
        if self.custom is not None:
            data["custom"] = _normalise(self.custom, "custom", set())
        return data


def cache_key(ing: CacheIngredients) -> str:
    """``"sha256:<hex>"`` of the canonical JSON of every ingredient of a step run.

    The ingredients, all of them:

    1. ``version``: :data:`CACHE_KEY_VERSION`, the format of this recipe;
    2. ``code_hash``: the step's code *and the project helpers, classes and literal constants
       it uses* (:func:`bevel.cache.fingerprint.code_hash`), without comments, docstrings or
       bevel's ``@step`` decorator (a user decorator under it is code and counts);
    3. ``params``: the step's parameters as canonical JSON (sorted keys; ``1``, ``1.0`` and
       ``true`` are three different values);
    4. ``inputs``: the content hash of each input artifact, by input name (not the producing
       run's id: identical data from a different run still hits);
    5. ``materializers``: ``"module:Class@version"`` of each output's materializer (a new
       on-disk format invalidates old outputs);
    6. ``options``: what else changes what the step outputs (JSON): in an inference pipeline
       (``@pipeline(model=Model("churn", version="production"))``), ``model_version``, the id of
       the version resolved when the run started, so a step never reuses a result computed with
       another version; for a step whose list output a mapped step maps over, ``elements``, those
       outputs (they are saved element by element too, so a run without the element artifacts
       must not be reused); otherwise ``{}``, as in keys recorded before (the other step options
       change how a step runs, not what it outputs);
    7. ``externals`` (only for steps with ``bevel.ExternalPath`` parameters): a fingerprint of
       each external file or folder, by parameter name: its content's SHA-256, or with
       ``External(check="mtime")`` a hash of names, sizes and modification times
       (:func:`bevel.artifacts.hashing.fingerprint_path`);
    8. ``custom`` (only for steps with ``@step(cache_key=fn)``): the JSON value ``fn`` returned.

    ``cache_expiration`` is not an ingredient: it limits how old a hit may be, not what it is.

    Not ingredients: retries, hooks, resources, ``enable_cache``, the run's name or the stack:
    they change how a step runs, not what it returns. The function is pure: the same
    ingredients give the same key in any process, on any machine, with any dict order.
    """
    return key_of(ing.as_dict())


def key_of(data: dict[str, Any]) -> str:
    """:func:`cache_key` of ingredients given as :meth:`CacheIngredients.as_dict` made them
    (a step run computes that once: it records it too). That data is canonical already (plain
    types, checked), so it is encoded as it is, without a second pass over every value."""
    text = _CANONICAL(data)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def ingredients_for(
    step: StepSpec,
    inputs: Mapping[str, str],
    *,
    externals: Mapping[str, str] | None = None,
    custom: Any = None,
) -> CacheIngredients:
    """The ingredients of one step of a plan, given its inputs' content hashes (and, when it
    has them, its external inputs' fingerprints and its ``cache_key`` hook's value).

    An output that opted into pickle records the Python version with its materializer: a
    pickle written by one Python version is not guaranteed to load in another.
    """
    materializers = {}
    for out in step.outputs:
        text = f"{out.materializer}@{out.materializer_version}"
        if out.pickle:
            text += f"+pickle-py{sys.version_info.major}.{sys.version_info.minor}"
        materializers[out.name] = text
    return CacheIngredients(
        code_hash=step.code_hash,
        params=step.params,
        inputs=dict(inputs),
        materializers=materializers,
        options=_options(step),
        externals=dict(externals or {}),
        custom=custom,
    )


def _options(step: StepSpec) -> dict[str, Any]:
    """The ``options`` ingredient: only what changes the step's outputs, ``{}`` for most."""
    options: dict[str, Any] = {}
    if step.options.model_version:
        options["model_version"] = step.options.model_version
    elements = sorted(out.name for out in step.outputs if out.elements)
    if elements:
        options["elements"] = elements
    return options


# -- canonical JSON --------------------------------------------------------------------------


# Built once: json.dumps with options builds an encoder per call (bevel._json).
_CANONICAL = encoder(sort_keys=True, ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    """One text for one JSON value: sorted keys, no whitespace, UTF-8 kept as is.

    Floats are written with ``repr`` (exact round trip) and keep their ``.0``, so ``1``,
    ``1.0`` and ``True`` give ``1``, ``1.0`` and ``true``. Tuples are arrays (as they become
    after a JSON round trip); subclasses of ``int``/``float``/``str`` (an ``IntEnum``, a
    ``numpy.float64``) are written as their plain value, as ``json.dumps`` would. Anything
    else, NaN, infinities, non-string keys and circular structures raise ``TypeError`` naming
    the offending path (``"params.layers[2]"``)::

        >>> canonical_json({"b": [1, 1.0, True], "a": "é"})
        '{"a":"é","b":[1,1.0,true]}'
    """
    return _CANONICAL(_normalise(value, "", set()))


def _child(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


_PLAIN = frozenset({str, int, bool, type(None)})  # exact types that are their own JSON


def _normalise(value: Any, path: str, active: set[int]) -> Any:
    """A plain-typed copy of a JSON value; ``TypeError`` with the path of anything else."""
    if type(value) in _PLAIN:  # the common leaf: nothing to convert, no path to build
        return value
    where = path or "value"
    if value is None or value is True or value is False:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where}: {value!r} is not a JSON number (NaN and infinity are not)")
        return float(value)
    if isinstance(value, Mapping | list | tuple):
        if id(value) in active:
            raise TypeError(f"{where}: circular reference")
        active.add(id(value))
        try:
            if isinstance(value, Mapping):
                result: dict[str, Any] = {}
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise TypeError(
                            f"{where}: key {key!r} is {with_article(type(key).__name__)}; JSON keys are strings"
                        )
                    if type(item) in _PLAIN:
                        result[str(key)] = item
                    else:
                        result[str(key)] = _normalise(item, _child(path, str(key)), active)
                return result
            return [_normalise(item, f"{where}[{i}]", active) for i, item in enumerate(value)]
        finally:
            active.discard(id(value))
    raise TypeError(f"{where}: {with_article(type(value).__name__)} is not a JSON value")


def _check_str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{path}: expected a string, got {with_article(type(value).__name__)}")
    return str(value)


def _str_map(value: Mapping[str, Any], path: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{path}: expected a mapping, got {with_article(type(value).__name__)}")
    return {
        _check_str(k, path): v if type(v) is str else _check_str(v, _child(path, str(k)))
        for k, v in value.items()
    }


# -- explain ---------------------------------------------------------------------------------

_SHOWN = 60  # characters of a value shown by explain()
# The step's own entry in code_parts (bevel.cache.fingerprint.SELF; not imported, so that the
# key stays importable without the fingerprint machinery).
_SELF = "<step>"


def explain(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """Why a step was (not) cached: the ingredients that differ, one line each.

    ``previous`` and ``current`` are :meth:`CacheIngredients.as_dict` results, as recorded with
    each step run; ``previous`` is None when the step never ran before. When a record also
    holds ``"code_parts"`` (:func:`bevel.cache.fingerprint.code_parts`), a code change names
    the helper or constant that changed::

        >>> explain({"version": 1, "code_hash": "a", "params": {"lr": 1}},
        ...         {"version": 1, "code_hash": "a", "params": {"lr": 1.0}})
        ['param lr changed: 1 -> 1.0']
    """
    if previous is None:
        return ["no previous run of this step"]
    lines: list[str] = []
    old_version, new_version = previous.get("version"), current.get("version")
    if old_version != new_version:
        lines.append(
            f"cache key format changed (version {old_version} -> {new_version}): "
            "every step runs again once"
        )
    if previous.get("code_hash") != current.get("code_hash"):
        lines.extend(_explain_code(previous, current))
    lines.extend(
        _explain_values("param", _mapping(previous, "params"), _mapping(current, "params"))
    )
    lines.extend(_explain_inputs(_mapping(previous, "inputs"), _mapping(current, "inputs")))
    old_mat, new_mat = _mapping(previous, "materializers"), _mapping(current, "materializers")
    for name in sorted(old_mat.keys() | new_mat.keys()):
        old, new = old_mat.get(name), new_mat.get(name)
        if old != new:
            lines.append(f"materializer of output {name!r} changed: {old or '-'} -> {new or '-'}")
    lines.extend(
        _explain_values("option", _mapping(previous, "options"), _mapping(current, "options"))
    )
    lines.extend(_explain_externals(previous, current))
    if previous.get("custom") != current.get("custom"):
        lines.append(
            f"cache_key hook value changed: {_show(previous.get('custom'))} -> "
            f"{_show(current.get('custom'))}"
        )
    known = {
        "version",
        "code_hash",
        "params",
        "inputs",
        "materializers",
        "options",
        "code_parts",
        "externals",
        "custom",
    }
    for name in sorted((previous.keys() | current.keys()) - known):
        if previous.get(name) != current.get(name):
            lines.append(f"ingredient {name!r} changed")
    if not lines:
        lines.append("nothing changed: same code, parameters, inputs, materializers and options")
    return lines


def _mapping(record: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = record.get(name)
    return value if isinstance(value, Mapping) else {}


def _show(value: Any) -> str:
    try:
        text = canonical_json(value)
    except TypeError:
        text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _short(digest: Any) -> str:
    text = str(digest)
    algo, sep, hexdigest = text.partition(":")
    return f"{algo}:{hexdigest[:12]}" if sep else text[:19]


def _explain_code(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    old_parts, new_parts = previous.get("code_parts"), current.get("code_parts")
    if isinstance(old_parts, Mapping) and isinstance(new_parts, Mapping):
        lines = []
        for name in sorted(old_parts.keys() | new_parts.keys(), key=lambda n: (n != _SELF, n)):
            old, new = old_parts.get(name), new_parts.get(name)
            if old == new:
                continue
            what = "constant" if str(old or new).startswith("=") else "helper"
            if name == _SELF:
                lines.append("code changed: the step's own code")
            elif old is None:
                lines.append(f"code changed: now uses {what} {name}")
            elif new is None:
                lines.append(f"code changed: no longer uses {what} {name}")
            elif what == "constant" and str(new).startswith("="):
                lines.append(f"code changed: constant {name} {str(old)[1:]} -> {str(new)[1:]}")
            else:
                lines.append(f"code changed: helper {name}")
        if lines:
            return lines
    old, new = previous.get("code_hash"), current.get("code_hash")
    return [f"code changed ({_short(old)} -> {_short(new)})"]


def _explain_values(kind: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            lines.append(f"{kind} {name} removed (was {_show(old[name])})")
        elif name not in old:
            lines.append(f"{kind} {name} added: {_show(new[name])}")
        elif _show_exact(old[name]) != _show_exact(new[name]):
            lines.append(f"{kind} {name} changed: {_show(old[name])} -> {_show(new[name])}")
    return lines


def _show_exact(value: Any) -> str:
    try:
        return canonical_json(value)
    except TypeError:
        return repr(value)


def _explain_inputs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    lines = []
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            lines.append(f"input {name} removed")
        elif name not in old:
            lines.append(f"input {name} added")
        elif old[name] != new[name]:
            lines.append(
                f"input {name} changed: its data differs "
                f"({_short(old[name])} -> {_short(new[name])})"
            )
    return lines


def _explain_externals(previous: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """One line per external input whose data changed, naming its path."""
    old, new = _mapping(previous, "externals"), _mapping(current, "externals")
    params = _mapping(current, "params")
    lines = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        where = f" ({params[name]})" if isinstance(params.get(name), str) else ""
        if before is None:
            lines.append(f"external input {name}{where} added")
        elif after is None:
            lines.append(f"external input {name}{where} removed")
        elif after == "missing":
            lines.append(f"external input {name}{where} changed: it no longer exists")
        elif before == "missing":
            lines.append(f"external input {name}{where} changed: it exists now")
        else:
            lines.append(
                f"external input {name}{where} changed: its data differs "
                f"({_short(before)} -> {_short(after)})"
            )
    return lines
