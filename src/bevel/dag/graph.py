"""Pure graph helpers over a Plan: upstream/downstream closures and ready-set computation."""

from __future__ import annotations

from collections.abc import Iterable

from bevel.dag.plan import Plan


def downstream_of(plan: Plan, step_ids: Iterable[str]) -> set[str]:
    """Every step that (transitively) waits for any of ``step_ids`` (excluding them)."""
    children: dict[str, list[str]] = {s.id: [] for s in plan.steps}
    for spec in plan.steps:
        for parent in spec.upstream:
            children[parent].append(spec.id)
    seen: set[str] = set()
    stack = list(step_ids)
    while stack:
        for child in children[stack.pop()]:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def upstream_of(plan: Plan, step_id: str) -> set[str]:
    """Every step that ``step_id`` (transitively) waits for."""
    by_id = {s.id: s for s in plan.steps}
    seen: set[str] = set()
    stack = [step_id]
    while stack:
        for parent in by_id[stack.pop()].upstream:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def is_topological(plan: Plan) -> bool:
    """True when every step comes after all the steps it waits for."""
    done: set[str] = set()
    for spec in plan.steps:
        if not set(spec.upstream) <= done:
            return False
        done.add(spec.id)
    return True
