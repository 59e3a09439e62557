"""bevel.viz: self-contained HTML and inline SVG/PNG charts, and the kinds of visualizations.

Every report bevel makes (statistics, anomalies, drift, artifact previews, run comparisons) is
built from these pieces, so they all look alike and all work offline: no scripts, no CDN, no
external fonts or images. A *fragment* (:func:`bevel.viz.html.fragment`) carries its own scoped
stylesheet, so it renders the same in a notebook cell as inside a page
(:func:`bevel.viz.html.page`), which is what ``bevel artifacts visualize`` writes.

This package sits at the bottom of the layers: it imports nothing from bevel and nothing
outside the standard library (markdown-it, which rich brings, renders Markdown when asked), so
any layer may use it.
"""
