"""Pillow images as a lossless PNG (or TIFF for modes PNG cannot hold, such as CMYK or F).

The mode and size round-trip; the visualization is a PNG, scaled down to at most 1024 pixels
on its longer side.
"""

from __future__ import annotations

import io
import os
from typing import Any

from PIL import Image

from bevel.artifacts.materializers.base import Materializer, VisualizationValue

_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"}
_PREVIEW = 1024


def _filename(mode: str) -> str:
    return "image.png" if mode in _PNG_MODES else "image.tiff"


class ImageMaterializer(Materializer):
    def save(self, obj: Any, directory: str) -> None:
        name = _filename(obj.mode)
        obj.save(os.path.join(directory, name), format="PNG" if name.endswith(".png") else "TIFF")

    def load(self, directory: str, type_: type | None) -> Any:
        (name,) = [n for n in os.listdir(directory) if n.startswith("image.")]
        with Image.open(os.path.join(directory, name)) as opened:
            opened.load()  # read the pixels now: the file is closed when this returns
            return opened.copy()

    def metadata(self, obj: Any) -> dict[str, Any]:
        return {"width": obj.width, "height": obj.height, "mode": obj.mode}

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        preview = obj if obj.mode in ("RGB", "RGBA", "L", "LA", "P", "1") else obj.convert("RGB")
        if max(preview.size) > _PREVIEW:
            preview = preview.copy()
            preview.thumbnail((_PREVIEW, _PREVIEW))
        buffer = io.BytesIO()
        preview.save(buffer, format="PNG")
        return {"image": buffer.getvalue()}
