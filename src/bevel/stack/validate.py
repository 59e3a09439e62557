"""Checking, before a run starts, that a stack can run a plan.

:func:`check_reachable` then probes remote stores once. The rule that matters today: an orchestrator that runs steps on other machines
(``orchestrator.remote``) needs an artifact store and a metadata store those machines can reach.
A local folder, a ``memory://`` filesystem or a SQLite file would "work" on the machine that
starts the run and fail, or silently lose data, on the workers. A component may say what it is
with a boolean ``remote`` attribute; otherwise a store that has a local path, a ``memory://``
root or a ``sqlite`` URL is local.
"""

from __future__ import annotations

from bevel.artifacts.base import ArtifactStore
from bevel.dag.plan import Plan
from bevel.errors import StackError
from bevel.metadata.base import MetadataStore
from bevel.stack.stack import Stack


def artifact_store_is_remote(store: ArtifactStore) -> bool:
    flag = getattr(store, "remote", None)
    if isinstance(flag, bool):
        return flag
    if store.local_path("") is not None:
        return False
    return not store.uri("").startswith("memory:")


def metadata_store_is_remote(store: MetadataStore) -> bool:
    flag = getattr(store, "remote", None)
    if isinstance(flag, bool):
        return flag
    return not str(getattr(store, "url", "")).startswith("sqlite")


def validate_stack(stack: Stack, plan: Plan | None = None) -> None:
    """Raise StackError (with a hint) when ``stack`` cannot run ``plan``; plan-specific checks
    (resources a step asks for: the orchestrator's ``check_plan``) belong here too."""
    _check_remote(stack, plan)
    check_plan = getattr(stack.orchestrator, "check_plan", None)
    if plan is not None and callable(check_plan):
        check_plan(plan)


def _check_remote(stack: Stack, plan: Plan | None) -> None:
    if not getattr(stack.orchestrator, "remote", False):
        return
    names = stack.component_names
    problems = []
    if not artifact_store_is_remote(stack.artifact_store):
        problems.append(
            f"artifact store {names.get('artifact_store', '?')!r} "
            f"({stack.artifact_store.uri('')}) is only reachable from this machine"
        )
    if not metadata_store_is_remote(stack.metadata_store):
        problems.append(
            f"metadata store {names.get('metadata_store', '?')!r} "
            f"({getattr(stack.metadata_store, 'url', '?')}) is a SQLite file on this machine"
        )
    if problems:
        what = f" pipeline {plan.pipeline!r}" if plan is not None else ""
        raise StackError(
            f"stack {stack.name!r} cannot run{what}: its orchestrator "
            f"{names.get('orchestrator', '?')!r} runs steps on other machines, but "
            + " and ".join(problems),
            hint="give the stack a remote artifact store (flavor s3, gcs, azure) and a server "
            "metadata store (flavor postgresql, mysql): bevel component register ..., then "
            f"bevel stack register {stack.name} --force -o ... -a ... -m ...",
        )


def check_reachable(stack: Stack) -> None:
    """Fail fast, naming the component and its address, when a remote artifact store cannot be
    reached: one request (``probe()``, see :mod:`bevel.stack.guard`) instead of a run that fails
    in its first step after retries. The metadata store needs no probe: recording the run is
    its first request. Stores without ``probe`` (local ones) are skipped."""
    probe = getattr(stack.artifact_store, "probe", None)
    if callable(probe):
        probe()
