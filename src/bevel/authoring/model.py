"""``Model``: the model a pipeline builds or uses, named in ``@pipeline(model=...)``.

A *training* pipeline names a model without a version: each run builds a new version of it,
which its ``@trainer`` step's output becomes (and its ``@evaluator``'s metrics describe)::

    @pipeline(model=Model("churn", description="who leaves next month"))
    def training(): ...

An *inference* pipeline names the version it uses: a number, a version name, ``"latest"`` or a
stage (``"staging"``, ``"production"``), resolved once when the run starts (and recorded with
it, so every step of the run sees the same version, and the cache knows which one it was)::

    @pipeline(model=Model("churn", version="production"))
    def scoring():
        predict(load_new_customers())   # predict() uses current.model.load_artifact("model")

Pure data (no I/O): the run layer resolves it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bevel._dataclass import dataclass
from bevel.errors import DefinitionError

STAGE_REFS = ("staging", "production", "latest")


@dataclass(frozen=True)
class Model:
    """A model by name, optionally one of its versions.

    ``version``: None (a training pipeline: a new version per run), a version number, a version
    name, ``"latest"``, ``"staging"`` or ``"production"``. ``version_name`` names the new
    version a training run builds (unique per model). ``description`` describes the model.
    """

    name: str
    version: str | int | None = None
    version_name: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DefinitionError(
                f"a model needs a name, got {self.name!r}", hint='e.g. Model("churn")'
            )
        version = self.version
        if version is not None and (
            isinstance(version, bool)
            or not isinstance(version, int | str)
            or (isinstance(version, int) and version < 1)
            or (isinstance(version, str) and not version.strip())
        ):
            raise DefinitionError(
                f"Model version must be a number from 1, a version name, or one of "
                f"{', '.join(STAGE_REFS)}; got {version!r}",
                hint='e.g. Model("churn", version="production") or Model("churn", version=3)',
            )
        if version is not None and self.version_name is not None:
            raise DefinitionError(
                "Model(version=...) uses an existing version; version_name= names the new one "
                "a training run builds: give one or the other",
                hint='training: Model("churn", version_name="wide-trees"); '
                'inference: Model("churn", version="production")',
            )

    @property
    def builds(self) -> bool:
        """Whether a run builds a new version (training) rather than using one (inference)."""
        return self.version is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(**{k: data[k] for k in ("name", "version", "version_name", "description")})
