"""How ``step.map(...)`` and lists of step outputs bind when a pipeline is compiled.

A list of outputs as one argument becomes inputs ``name[0]``, ``name[1]``... (and the argument
is listed in ``StepSpec.lists``); the step-output arguments of a mapped call are what it maps
over (``map_over``); a mapped step's outputs passed to a plain call are gathered (``gather``).
The producers of lists that are mapped over save each element too (:func:`mark_elements`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bevel._dataclass import dataclass
from bevel.authoring.tracing import MappedRef, OutputRef, StepInvocation, Unmapped
from bevel.dag.checks import check_list_output
from bevel.dag.plan import StepSpec, element
from bevel.errors import DefinitionError


@dataclass
class Bound:
    """A call's arguments, sorted: literals, single inputs (list elements as ``name[i]``),
    arguments mapped over, fan-ins of mapped steps, and which arguments are lists."""

    params: dict[str, Any]
    inputs: dict[str, OutputRef]
    map_over: dict[str, OutputRef]
    gather: dict[str, OutputRef]
    lists: list[str]


def bind_wired(out: Bound, name: str, value: Any, inv: StepInvocation) -> bool:
    """Bind ``value`` when it wires outputs in a way only lists and maps do (True if so)."""
    if isinstance(value, Unmapped):
        if not inv.mapped:
            raise DefinitionError(
                f"unmapped() is for arguments of .map(), and '{inv.step.name}' is called plainly",
                where=inv.where,
                hint=f"pass the value itself: {inv.step.name}(..., {name}=value)",
            )
        inner = value.value
        if isinstance(inner, MappedRef):
            out.gather[name] = inner
            out.lists.append(name)
        elif isinstance(inner, OutputRef):
            out.inputs[name] = inner
        elif bind_list(out, name, inner, inv):
            pass
        else:
            return False  # a literal: a parameter, as without unmapped()
        return True
    if isinstance(value, MappedRef):
        if inv.mapped:
            out.map_over[name] = value
        else:
            out.gather[name] = value
            out.lists.append(name)
        return True
    if isinstance(value, OutputRef) and inv.mapped:
        out.map_over[name] = value
        return True
    return bind_list(out, name, value, inv)


def bind_list(out: Bound, name: str, value: Any, inv: StepInvocation) -> bool:
    """A list (or tuple) of step outputs as one argument: fan-in, one input per element."""
    if not isinstance(value, list | tuple) or not value:
        return False
    refs = [v for v in value if isinstance(v, OutputRef)]
    if not refs:
        return False
    if len(refs) != len(value) or any(isinstance(r, MappedRef) for r in refs):
        raise DefinitionError(
            f"argument '{name}' of step '{inv.step.name}' mixes step outputs with other values"
            " in one list",
            where=inv.where,
            hint="a list argument holds only plain step outputs (fan-in), e.g."
            " select_best([a, b, c]); pass a mapped step's outputs directly, not in a list",
        )
    producers = {r.step_id for r in refs}
    if isinstance(value, tuple) and len(producers) == 1:
        return False  # a whole multi-output tuple: refused below with the unpacking hint
    for index, ref in enumerate(refs):
        out.inputs[element(name, index)] = ref
    out.lists.append(name)
    return True


def mark_elements(specs: list[StepSpec], by_id: dict[str, StepInvocation]) -> list[StepSpec]:
    """Mark the list outputs that a step is mapped over: their producer saves each element as
    an artifact of its own (part of its cache key, so an earlier run without them is no hit)."""
    mapped = {s.id for s in specs if s.map_over}
    wanted: dict[str, set[str]] = {}
    for spec in specs:
        for ref in spec.map_over.values():
            if ref.step not in mapped:
                wanted.setdefault(ref.step, set()).add(ref.output)
    marked = []
    for spec in specs:
        names = wanted.get(spec.id)
        if not names:
            marked.append(spec)
            continue
        for out in spec.outputs:
            if out.name in names:
                check_list_output(by_id[spec.id].step.hints.get("return"), spec, out.name)
        outputs = tuple(replace(o, elements=o.name in names) for o in spec.outputs)
        marked.append(replace(spec, outputs=outputs))  # elements are in its cache key too
    return marked
