"""matplotlib figures as a PNG (and the figure's size and dpi).

What is stored is the rendered picture, not the figure's artists: ``load`` gives a new Figure
of the same size showing that picture, which displays and saves like the original but cannot
be re-styled. For an editable figure, opt into pickle for that output
(``@step(pickle=["figure"])``, same Python and matplotlib versions only). The visualization is
the PNG itself.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

from matplotlib.figure import Figure
from matplotlib.image import imread

from bevel.artifacts.materializers.base import Materializer, VisualizationValue

PNG = "figure.png"
INFO = "figure.json"


class FigureMaterializer(Materializer):
    def save(self, obj: Any, directory: str) -> None:
        obj.savefig(os.path.join(directory, PNG), format="png", dpi=obj.dpi)
        width, height = obj.get_size_inches()
        info = {"width_in": float(width), "height_in": float(height), "dpi": float(obj.dpi)}
        with open(os.path.join(directory, INFO), "w", encoding="utf-8") as f:
            f.write(json.dumps(info))

    def load(self, directory: str, type_: type | None) -> Any:
        with open(os.path.join(directory, INFO), encoding="utf-8") as f:
            info = json.loads(f.read())
        figure = Figure(figsize=(info["width_in"], info["height_in"]), dpi=info["dpi"])
        figure.figimage(imread(os.path.join(directory, PNG)), resize=False)
        return figure

    def metadata(self, obj: Any) -> dict[str, Any]:
        width, height = obj.get_size_inches()
        return {
            "width_px": round(width * obj.dpi),
            "height_px": round(height * obj.dpi),
            "axes": len(obj.axes),
        }

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        buffer = io.BytesIO()
        obj.savefig(buffer, format="png", dpi=obj.dpi)
        return {"figure": buffer.getvalue()}
