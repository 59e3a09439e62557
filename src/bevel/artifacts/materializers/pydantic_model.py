"""pydantic models as JSON (``model_dump_json`` / ``model_validate_json``).

Loading validates the JSON against the recorded model class, so it needs that class to be
importable where the artifact is loaded.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from bevel.errors import ArtifactError

FILENAME = "model.json"


class PydanticMaterializer:
    version: ClassVar[str] = "1"

    def save(self, obj: Any, directory: str) -> None:
        with open(os.path.join(directory, FILENAME), "w", encoding="utf-8") as f:
            f.write(obj.model_dump_json())

    def load(self, directory: str, type_: type | None) -> Any:
        if type_ is None or not hasattr(type_, "model_validate_json"):
            raise ArtifactError(
                "a pydantic model artifact can only be loaded with its model class, "
                f"which is not importable here (got {type_!r})",
                hint="make the module that defines the model importable (install it or add it "
                "to PYTHONPATH), then load again",
            )
        with open(os.path.join(directory, FILENAME), encoding="utf-8") as f:
            return type_.model_validate_json(f.read())

    def metadata(self, obj: Any) -> dict[str, Any]:
        return {"model": type(obj).__qualname__, "fields": list(type(obj).model_fields)}

    def visualizations(self, obj: Any) -> dict[str, str]:
        return {}
