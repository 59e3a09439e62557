"""A bounded text of an artifact's value, for ``bevel artifacts show``.

Showing must be cheap and safe whatever the artifact is, so:

* a materializer's own ``preview(directory, type_)`` is used first: it reads only what it shows
  (a DataFrame's first rows from one Parquet batch, a memory-mapped array's corners);
* otherwise the artifact is loaded only when it is small (``MAX_BYTES`` on disk), and the text of
  the value is cut at ``MAX_LINES`` lines and ``MAX_CHARS`` characters;
* pickled artifacts are never loaded here (unpickling runs code), and any failure (a missing
  file, a type that does not import) becomes the reason why nothing is shown, never an error of
  the command.
"""

from __future__ import annotations

import json
import pprint
import reprlib
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass
from bevel._text import with_article
from bevel.artifacts.materializers.registry import get_materializer, import_ref
from bevel.artifacts.publish import artifact_path
from bevel.artifacts.remote_cache import fetch
from bevel.client import format as fmt
from bevel.errors import BevelError

if TYPE_CHECKING:
    from bevel.client.client import Client
    from bevel.client.views import ArtifactView

MAX_BYTES = 1_000_000
MAX_LINES = 40
MAX_CHARS = 4000


@dataclass(frozen=True)
class ValuePreview:
    """``text`` of the value (bounded), or the ``reason`` it is not shown."""

    text: str | None = None
    reason: str | None = None


def preview(client: Client, artifact: ArtifactView, *, max_bytes: int = MAX_BYTES) -> ValuePreview:
    load_hint = f"load it in Python: Client().get_artifact({fmt.short_id(artifact.id)!r}).load()"
    try:
        mat = get_materializer(artifact.materializer)
        if getattr(mat, "pickled", False) or artifact.python_version:
            return ValuePreview(reason=f"pickled, and unpickling runs code; {load_hint}")
        store = client.artifact_store
        path = artifact_path(store, artifact.uri)
        folder = store.local_path(path)
        if folder is None and artifact.size <= max_bytes:  # a remote store: fetch small ones
            folder = fetch(
                store,
                path,
                uri=artifact.uri,
                content_hash=artifact.content_hash,
                name=f"{artifact.name} v{artifact.version}",
                verify=True,
            )
        text = mat.preview(folder, _type(artifact.type_ref)) if folder else None
        if text is None:
            if artifact.size > max_bytes:
                return ValuePreview(
                    reason=f"{fmt.size(artifact.size)} is more than the {fmt.size(max_bytes)} "
                    f"shown here; {load_hint}"
                )
            text = value_text(artifact.load())
    except BevelError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        return ValuePreview(reason=fmt.first_line(exc.message) + hint)
    except Exception as exc:  # a third-party materializer or library failing: say so, go on
        return ValuePreview(reason=f"{type(exc).__name__}: {fmt.first_line(str(exc))}")
    return ValuePreview(text=bound(text))


def _type(ref: str) -> type | None:
    if not ref:
        return None
    try:
        found = import_ref(ref)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) else None


def value_text(obj: Any) -> str:
    """The value as a person would want to read it: strings as they are, containers as
    indented JSON (or ``pprint`` when they hold other things), anything else as its repr."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, bytes | bytearray):
        return f"{bytes(obj[:200])!r}{'…' if len(obj) > 200 else ''} ({len(obj)} bytes)"
    if isinstance(obj, dict | list | tuple):
        try:
            return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=True)
        except (TypeError, ValueError):
            return pprint.pformat(obj, width=100, compact=True)
    if getattr(type(obj), "__repr__", None) is object.__repr__:
        return _attributes_text(obj)
    return repr(obj)


def _attributes_text(obj: Any) -> str:
    """An object whose class defines no ``__repr__``: its class and public attributes
    (``pipe.Model(w=0.5, name='linear')``, each value shortened), not a memory address."""
    kind = type(obj)
    name = f"{kind.__module__}.{kind.__qualname__}"
    attributes = getattr(obj, "__dict__", None)
    if not isinstance(attributes, dict):
        return f"{with_article(name)} (its class defines no __repr__ and it has no attributes)"
    shown = (f"{k}={reprlib.repr(v)}" for k, v in attributes.items() if not k.startswith("_"))
    return f"{name}({', '.join(shown)})"


def bound(text: str, max_lines: int = MAX_LINES, max_chars: int = MAX_CHARS) -> str:
    """``text`` cut to ``max_lines`` lines and ``max_chars`` characters, saying what was cut."""
    lines = text.splitlines()
    shown = "\n".join(lines[:max_lines])
    cut = len(lines) > max_lines
    if len(shown) > max_chars:
        shown, cut = shown[:max_chars], True
    if cut:
        shown += f"\n… (cut: the value has {len(lines)} lines, {len(text)} characters)"
    return shown
