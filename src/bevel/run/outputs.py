"""Turning a step's return value into named outputs, with run-time type checks."""

from __future__ import annotations

from typing import Any

from bevel._text import with_article
from bevel.artifacts.materializers.json_builtins import builtin_of_numpy_scalar
from bevel.artifacts.materializers.registry import (
    import_ref,
    resolve_materializer,
    unknown_type_hint,
)
from bevel.dag.plan import StepSpec
from bevel.errors import OutputTypeError, StepFailed


def output_values(spec: StepSpec, result: Any) -> dict[str, Any]:
    """Map the returned value onto the declared outputs (a tuple for several outputs)."""
    outputs = spec.outputs
    where = spec.where
    if not outputs:
        return {}
    if len(outputs) == 1 and not spec.returns_tuple:
        return {outputs[0].name: result}
    if not isinstance(result, tuple | list) or len(result) != len(outputs):
        got = with_article(type(result).__name__)
        if isinstance(result, tuple | list):
            got += f" of length {len(result)}"
        raise OutputTypeError(
            f"step '{spec.id}' declares {len(outputs)} outputs "
            f"({', '.join(o.name for o in outputs)}) but returned {got}",
            step=spec.id,
            where=where,
            hint=f"return a tuple of {len(outputs)} values in the declared order",
        )
    return {o.name: value for o, value in zip(outputs, result)}


# Annotations for which a numpy scalar stands in for the builtin (see check_outputs).
_BUILTIN_SCALARS: tuple[type, ...] = (int, float, bool, str)


def check_outputs(spec: StepSpec, values: dict[str, Any]) -> None:
    """Each value must be an instance of its annotated type (when that type is a class).

    A numpy scalar for an output annotated ``int``, ``float``, ``bool`` or ``str`` (``-> int``
    returning ``df.y.sum()``, an ``np.int64``) is replaced in ``values`` by the builtin equal to
    it, then checked as that (``np.float64(2.5)`` is still no ``int``). The next step then gets
    the Python value the annotation promises, the same in memory as from the store (where the
    JSON materializer keeps a number).
    """
    for out in spec.outputs:
        if not out.type_ref or out.pickle:
            continue
        try:
            expected = import_ref(out.type_ref)
        except Exception:  # a type we cannot import here cannot be checked
            continue
        if not isinstance(expected, type):
            continue
        returned = value = values[out.name]
        if expected in _BUILTIN_SCALARS:
            builtin = builtin_of_numpy_scalar(value)
            if builtin is not None:
                value = values[out.name] = builtin
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, expected):
            kind = type(returned)
            raise OutputTypeError(
                f"step '{spec.id}' returned {kind.__module__}.{kind.__qualname__} "
                f"for the output '{out.name}', annotated {expected.__qualname__}",
                step=spec.id,
                where=spec.where,
                hint="return a value of the annotated type, or fix the return annotation",
            )


def choose_materializer(spec: StepSpec, name: str, value: Any) -> str:
    """The materializer for an unannotated output, from the returned value's type."""
    found = resolve_materializer(type(value))
    if found is None:
        raise StepFailed(
            f"no materializer for the output '{name}' of step '{spec.id}' "
            f"(it returned {with_article(type(value).__module__)}.{type(value).__qualname__})",
            step=spec.id,
            where=spec.where,
            hint=unknown_type_hint(type(value)),
        )
    return found
