"""``model_registry/mlflow``: bevel's model versions and stages, mirrored to MLflow's registry.

- **A version** (:meth:`MlflowModelRegistry.register_version`, when a ``@trainer`` completes):
  the model artifact's files (exactly what bevel's materializer wrote: skops, safetensors...,
  plus ``bevel-model.json`` saying which bevel version and materializer they are) are uploaded
  into the trainer step's MLflow run (nested in the bevel run's, the same runs the MLflow
  tracker fills) under ``model/``, and registered as a version of the registered model of the
  same name with ``source=runs:/<run>/model``. Tags link back (``bevel.version_id``,
  ``bevel.version``, ``bevel.run_id``, ``bevel.step_run_id``, ``bevel.content_hash``); an
  evaluator's metrics become tags ``bevel.metric.<name>``. Registering again (an evaluator, or
  ``bevel models sync``) updates that version: it is found by its ``bevel.version_id`` tag.
- **Stages** (:meth:`~MlflowModelRegistry.set_stages`, after every promotion): MLflow's stages
  are deprecated, so bevel's ``staging`` and ``production`` are MLflow *aliases* of the same
  name (``models:/churn@production``); MLflow keeps one version per alias, as bevel keeps one
  holder per stage. ``archived`` has no alias: the version simply loses its alias.
- :meth:`~MlflowModelRegistry.versions` reads the registry back for ``bevel models show``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bevel.artifacts.publish import artifact_path
from bevel.integrations.mlflow.connection import MlflowComponent, clean_key, text

ALIASED = ("staging", "production")
VERSION_TAG = "bevel.version_id"


class MlflowModelRegistry(MlflowComponent):
    """Model versions and aliases in an MLflow server's registry."""

    what = "model registry"

    def register_version(self, version: Any) -> dict[str, Any]:
        """Create (or update) the MLflow version of a bevel ``ModelVersion``."""
        conn = self.conn
        conn.check()
        client = conn.client
        name = version.model
        found = self._find(name, version.record.id)
        if found is None:
            found = self._create(version)
        tags = {f"bevel.metric.{clean_key(k)}": text(v) for k, v in version.metrics.items()}
        for key, value in tags.items():
            if found.tags.get(key) != value:
                conn.call("tag a model version", client.set_model_version_tag, name,
                          found.version, key, value)  # fmt: skip
        return {
            "registry": "mlflow", "tracking_uri": conn.uri, "name": name,
            "version": str(found.version), "uri": f"models:/{name}/{found.version}",
            "run_id": found.run_id,
        }  # fmt: skip

    def set_stages(self, model: str, holders: dict[str, str]) -> None:
        """Aliases ``staging``/``production`` on the versions ``holders`` names, or none."""
        conn = self.conn
        conn.check()
        client = conn.client
        current = self._aliases(model)
        for alias in ALIASED:
            wanted = holders.get(alias)
            if wanted is not None and current.get(alias) != str(wanted):
                conn.call("set an alias", client.set_registered_model_alias, model, alias,
                          str(wanted))  # fmt: skip
            elif wanted is None and alias in current:
                conn.call("delete an alias", client.delete_registered_model_alias, model, alias)

    def versions(self, model: str) -> list[dict[str, Any]]:
        """The registry's versions of ``model`` (newest first), as bevel shows them."""
        self.conn.check()
        found = self.conn.call(
            "search model versions", self.conn.client.search_model_versions, f"name='{model}'"
        )
        rows = []
        for mv in sorted(found, key=lambda v: int(v.version), reverse=True):
            number = mv.tags.get("bevel.version")
            rows.append({
                "version": str(mv.version), "aliases": sorted(mv.aliases or ()),
                "bevel_version": int(number) if number and number.isdigit() else None,
                "source": mv.source, "run_id": mv.run_id, "status": mv.status,
                "uri": f"models:/{model}/{mv.version}",
            })  # fmt: skip
        return rows

    # --- helpers -----------------------------------------------------------------------------

    def _aliases(self, model: str) -> dict[str, str]:
        registered = self.conn.call(
            "read a registered model", self.conn.client.get_registered_model, model
        )
        return {alias: str(v) for alias, v in (registered.aliases or {}).items()}

    def _find(self, name: str, version_id: str) -> Any | None:
        found = self.conn.call(
            "search model versions", self.conn.client.search_model_versions,
            f"name='{name}' and tags.`{VERSION_TAG}` = '{version_id}'",
        )  # fmt: skip
        return found[0] if found else None

    def _create(self, version: Any) -> Any:
        conn = self.conn
        client = conn.client
        store = version.stack.metadata_store
        artifact = version.artifact("model")
        run = store.get_run(version.run_id) if version.run_id else None
        trained = version.metadata.get("trained_by") or {}
        step_run = None
        if run is not None:
            step_run = next(
                (s for s in store.step_runs(run.id) if s.step_id == trained.get("step")), None
            )
        experiment = conn.experiment_id(self.experiment or (run.pipeline if run else version.model))
        if run is not None:
            _, mlflow_run = conn.bevel_runs(experiment, run, step_run)
        else:  # a version made outside a run: a run of its own
            mlflow_run = conn.ensure_run(
                experiment, {VERSION_TAG: version.record.id}, name=str(version), tags={},
                start=version.created,
            )  # fmt: skip
        uploaded = conn.call("list artifacts", client.list_artifacts, mlflow_run, "model")
        if not uploaded:
            self._upload(version, artifact, mlflow_run)
        try:
            client.create_registered_model(version.model, tags={"bevel": "true"})
        except Exception as err:
            if getattr(err, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                conn.fail("create a registered model", err)
        tags = {
            VERSION_TAG: version.record.id, "bevel.version": str(version.number),
            "bevel.content_hash": artifact.content_hash,
            "bevel.run_id": version.run_id or "", "bevel.step_run_id": step_run.id if step_run else "",
        }  # fmt: skip
        return conn.call(
            "create a model version", client.create_model_version, version.model,
            source=f"runs:/{mlflow_run}/model", run_id=mlflow_run, tags=tags,
            description=version.record.description or None,
        )  # fmt: skip

    def _upload(self, version: Any, artifact: Any, mlflow_run: str) -> None:
        store = version.stack.artifact_store
        with tempfile.TemporaryDirectory(prefix="bevel-mlflow-") as tmp:
            folder = Path(tmp) / "model"
            path = artifact_path(store, artifact.uri)
            local = store.local_path(path)
            if local is None:
                store.get(path, str(folder), recursive=True)
            else:
                shutil.copytree(local, folder)
            about = {
                "model": version.model, "version": version.number,
                "bevel_version_id": version.record.id, "artifact_id": artifact.id,
                "type": artifact.type_ref, "materializer": artifact.materializer,
                "materializer_version": artifact.materializer_version,
                "content_hash": artifact.content_hash,
                "load": "bevel: Client().models.version(model, version).load_artifact('model')",
            }  # fmt: skip
            (folder / "bevel-model.json").write_text(json.dumps(about, indent=2) + "\n")
            self.conn.call("upload the model's files", self.conn.client.log_artifacts,
                           mlflow_run, str(folder), "model")  # fmt: skip
