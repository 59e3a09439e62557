"""MLflow flavors: an experiment tracker and a model registry, both over an MLflow server.

Behind the ``mlflow`` extra (``mlflow-skinny``, the HTTP client: the full ``mlflow`` package is
the server, whose pins would downgrade bevel's pyarrow). Nothing here imports mlflow until a
component is used, and ``import bevel.integrations.mlflow`` imports none of it.

- :mod:`~bevel.integrations.mlflow.tracker`: ``experiment_tracker/mlflow``; at the end of a run,
  one MLflow run for the bevel run and one nested run per step, with their parameters, metrics
  (series point by point) and tags linking back to bevel (``bevel.run_id``, ``bevel.step``,
  ``bevel.step_run_id``); bevel records the MLflow run ids as metadata ``mlflow``.
- :mod:`~bevel.integrations.mlflow.registry`: ``model_registry/mlflow``; a trained version's
  model files become an MLflow model version (in the trainer step's MLflow run), bevel's
  stages become MLflow aliases (``staging``, ``production``; MLflow's own stages are
  deprecated), and ``bevel models show`` reads the registry back.
- :mod:`~bevel.integrations.mlflow.connection`: the client, a reachability check whose error
  names the URL, experiments and the runs both flavors share (found again by their tags).
"""
