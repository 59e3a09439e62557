"""The component types a stack is made of, and the built-in components (constants only).

Kept apart from :mod:`bevel.stack.stack` so that the flavor table and the home store can use
them without importing the stack (which builds the home store through the flavor table).
"""

from __future__ import annotations

#: Every component type, in display order. A stack has at most one component of each. A type is
#: here only when bevel calls its components: the optional ones by :mod:`bevel.run.notify` at
#: the end of a run, the model registry when a model version is trained, evaluated or promoted,
#: the model deployer by ``bevel models deploy`` and ``current.model.deploy`` (protocols in
#: :mod:`bevel.stack.protocols`). Data validators come with the feature that calls them.
COMPONENT_TYPES: tuple[str, ...] = (
    "orchestrator",
    "artifact_store",
    "metadata_store",
    "experiment_tracker",
    "model_registry",
    "model_deployer",
    "alerter",
)
#: The types every stack has (the attributes of :class:`~bevel.stack.stack.Stack`); the others
#: are optional.
REQUIRED_TYPES: tuple[str, ...] = ("orchestrator", "artifact_store", "metadata_store")


def type_order(type: str) -> int:
    """Where ``type`` sorts in displays; a type this bevel does not know (a stored definition
    from another version) sorts last instead of failing."""
    return COMPONENT_TYPES.index(type) if type in COMPONENT_TYPES else len(COMPONENT_TYPES)


DEFAULT_STACK = "default"
#: The built-in components, never stored, always there: the default stack is made of them, and
#: other stacks may use them by name (``bevel stack register team -o local -a s3-store``).
BUILTIN_COMPONENTS: dict[str, str] = {
    "orchestrator": "local",
    "artifact_store": "local-artifacts",
    "metadata_store": "home-metadata",
}
