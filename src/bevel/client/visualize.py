"""``artifact.visualize()``: an artifact's stored visualizations, rendered.

Visualizations are written beside the artifact when it is saved (``viz/<hash>/<name>.<ext>`` in
its artifact store, see :mod:`bevel.viz.kinds`); here they are read back from whichever store
holds them and turned into HTML fragments. In a notebook the result renders itself; ``html()``
is one self-contained page (what ``bevel artifacts visualize`` writes).

An artifact saved with visualizations turned off (``@step(visualize=False)``, ``--no-visualize``)
has none stored: they are then computed from the loaded object for this view, and not stored
(reading never writes).
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from bevel._dataclass import dataclass
from bevel.artifacts.materializers.registry import get_materializer
from bevel.artifacts.publish import artifact_path
from bevel.client import format as fmt
from bevel.viz.html import esc, fragment, page, table
from bevel.viz.kinds import Visualization, kind_of, to_fragment

if TYPE_CHECKING:
    from bevel.client.views import ArtifactView


@dataclass(frozen=True)
class ArtifactVisualization:
    """The visualizations of one artifact, ready to show (``_repr_html_``) or save."""

    title: str
    subtitle: str
    sections: list[tuple[str, str]] = field(default_factory=list)  # (name, HTML fragment)
    note: str = ""

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.sections]

    def fragments(self) -> list[str]:
        head = [fragment(f'<p class="bv-m">{esc(self.note)}</p>')] if self.note else []
        return head + [html for _, html in self.sections]

    def html(self) -> str:
        """One self-contained HTML page (no scripts, no external resources)."""
        return page(self.title, self.fragments(), subtitle=self.subtitle)

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.html(), encoding="utf-8")
        return target

    def _repr_html_(self) -> str:
        header = f'<div style="font-weight:600;margin:4px 0">{esc(self.title)}</div>'
        return header + "".join(self.fragments())

    def __repr__(self) -> str:
        return f"ArtifactVisualization({self.title!r}, sections={self.names!r})"


def visualize(artifact: ArtifactView) -> ArtifactVisualization:
    """Read (or, when none were stored, compute) the visualizations of ``artifact``."""
    title = f"{artifact.name} v{artifact.version}"
    subtitle = esc(
        f"{fmt.type_name(artifact.type_ref)} · {fmt.size(artifact.size)} · "
        f"id {fmt.short_id(artifact.id)} · {fmt.timestamp(artifact.created)}"
    )
    note = ""
    if artifact.visualizations:
        sections = _stored(artifact)
    else:
        sections = _computed(artifact)
        if sections:
            note = (
                "No visualizations were stored with this artifact (they were turned off when it "
                "was saved); these were computed now from its content."
            )
    if artifact.metadata or not sections:
        sections.append(("metadata", _metadata(artifact, alone=not sections)))
    return ArtifactVisualization(title, subtitle, sections, note)


def _stored(artifact: ArtifactView) -> list[tuple[str, str]]:
    store = artifact._client.artifact_store
    sections = []
    for name, uri in artifact.visualizations.items():
        path = artifact_path(store, uri)
        try:
            with store.open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            sections.append(
                (
                    name,
                    fragment(
                        f'<p class="bv-m">missing from the artifact store: {esc(uri)}</p>',
                        title=name,
                    ),
                )
            )
            continue
        sections.append((name, to_fragment(kind_of(path), data, title=name)))
    return sections


def _computed(artifact: ArtifactView) -> list[tuple[str, str]]:
    values = get_materializer(artifact.materializer).visualizations(artifact.load())
    sections = []
    for name, value in values.items():
        viz = Visualization.of(value)
        sections.append((name, to_fragment(viz.kind, viz.to_bytes(), title=name)))
    return sections


def _metadata(artifact: ArtifactView, *, alone: bool) -> str:
    rows = [[esc(k), esc(fmt.value(v, 160))] for k, v in artifact.metadata.items()]
    body = table(("field", "value"), rows) if rows else '<p class="bv-m">no metadata</p>'
    lead = '<p class="bv-m">This type of artifact has no visualization.</p>' if alone else ""
    return fragment(lead + body, title="Metadata")
