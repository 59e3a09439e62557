"""How a step's return annotation becomes named outputs (one rule, no source inspection).

* no annotation          -> one output ``"output"`` whose type is taken from the returned value
* ``-> None``            -> no outputs
* ``-> T``               -> one output ``"output"`` of type ``T``
* ``-> Annotated[T, "name"]``                       -> one output ``"name"``
* ``-> tuple[Annotated[A, "a"], Annotated[B, "b"]]`` -> two outputs ``"a"`` and ``"b"``; a fixed-length
  ``tuple[...]`` always means several outputs, unnamed elements are ``"output_0"``, ``"output_1"``...
* to output ONE tuple, name it: ``-> Annotated[tuple[int, int], "pair"]``.

Whether the step returns a tuple of outputs is decided by the annotation alone
(:func:`returns_tuple`), never by the output names: ``-> Annotated[Path, "output_dir"]`` is one
output, ``-> tuple[Annotated[int, "a"]]`` a one-element tuple.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args, get_origin

from bevel._dataclass import dataclass

SINGLE_OUTPUT = "output"

MISSING = object()  # no return annotation at all


@dataclass(frozen=True)
class OutputDecl:
    name: str
    annotation: Any  # the type (Annotated stripped); None when unannotated


def _split_annotated(tp: Any) -> tuple[Any, str | None]:
    if get_origin(tp) is Annotated:
        base, *extras = get_args(tp)
        names = [e for e in extras if isinstance(e, str)]
        return base, (names[0] if names else None)
    return tp, None


def _tuple_elements(return_annotation: Any) -> tuple[Any, ...] | None:
    """The element annotations when ``return_annotation`` declares several outputs, else None."""
    if return_annotation is MISSING or return_annotation is None:
        return None
    base, name = _split_annotated(return_annotation)
    if name is not None or get_origin(base) is not tuple:
        return None
    args = get_args(base)
    if args and not (len(args) == 2 and args[1] is Ellipsis) and args != ((),):
        return args
    return None


def returns_tuple(return_annotation: Any) -> bool:
    """Whether the step returns its outputs as a fixed-length tuple (one value per output)."""
    return _tuple_elements(return_annotation) is not None


def parse_outputs(return_annotation: Any) -> tuple[OutputDecl, ...]:
    """Named outputs for a step's (already evaluated) return annotation; see the module doc."""
    if return_annotation is MISSING:
        return (OutputDecl(SINGLE_OUTPUT, None),)
    if return_annotation is None or return_annotation is type(None):
        return ()
    elements = _tuple_elements(return_annotation)
    if elements is not None:
        decls = []
        for index, arg in enumerate(elements):
            elem, elem_name = _split_annotated(arg)
            decls.append(OutputDecl(elem_name or f"output_{index}", elem))
        return tuple(decls)
    base, name = _split_annotated(return_annotation)
    return (OutputDecl(name or SINGLE_OUTPUT, base),)
