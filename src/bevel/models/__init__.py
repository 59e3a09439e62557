"""The model control plane: model versions built by runs, stages, promotion rules.

The records live in the metadata store (``MetadataStore.create_model_version`` & co.); this
package adds what sits above the store and below the run layer:

- :mod:`bevel.models.views`: :class:`ModelVersion`, a version with ``load_artifact()``;
- :mod:`bevel.models.binding`: ``current.model`` inside a step (the version the run builds or
  uses), with ``log_metadata``, ``log_metrics``, ``promote`` and ``promote_if_better``;
- :mod:`bevel.models.register`: what ``@trainer`` and ``@evaluator`` steps record, and the
  resolution of ``Model("churn", version="production")`` when an inference run starts;
- :mod:`bevel.models.control`: :class:`Models`, the Python face of ``bevel models``
  (``Client().models``), and the promotion rule shared by all of them;
- :mod:`bevel.models.mirror`: what the stack's model registry (MLflow's) is told, and
  ``bevel models sync``.
"""
