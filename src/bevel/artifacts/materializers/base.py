"""The public materializer base class (``bevel.materializers.Materializer``) and its contract.

A materializer turns one Python object into files in a local directory and back::

    from bevel.materializers import Materializer

    class VocabularyMaterializer(Materializer):
        version = "2"                       # goes into the cache key: bump it with the format

        def save(self, obj, directory):     # write obj into the existing, empty directory
            ...

        def load(self, directory, type_):   # read it back; type_ is the recorded class or None
            ...

``save`` and ``load`` are required; ``version`` (default ``"1"``), ``metadata()`` (default: no
facts), ``visualizations()`` (default: none) and ``preview()`` (default: bevel shows the loaded
value of small artifacts) are optional. A class that does not derive from
:class:`Materializer` but has ``save`` and ``load`` works too: :func:`complete` gives it the same
defaults. Materializers are registered by type through a table of lazy ``"module:qualname"``
strings (:mod:`.registry`), so registering the pandas materializer never imports pandas.

A materializer of small values may also offer ``encode(obj) -> dict[str, bytes] | None``: the
files ``save`` would write (relative name -> bytes), or None to let ``save`` write them. bevel
then hashes them in memory and writes nothing when the store holds that content already
(bevel's JSON, text and bytes materializers do; the bytes must be exactly ``save``'s).
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from bevel.errors import ArtifactError
from bevel.viz.kinds import Visualization

#: What ``visualizations()`` may map a name to (see :mod:`bevel.viz.kinds`).
VisualizationValue = str | bytes | Visualization

REQUIRED = ("save", "load")


class Materializer(abc.ABC):
    """Base class for materializers: implement ``save`` and ``load``; the rest has defaults.

    One instance per process is created (with no arguments) and reused for every object of its
    types, so keep no per-object state on ``self``. Errors raised by ``save``/``load`` fail the
    step (or the load) naming the artifact and the materializer; a ``BevelError`` subclass passes
    through with its own hint. ``metadata()`` and ``visualizations()`` failing only warns: the
    artifact is still stored.
    """

    #: Part of every cache key of the outputs it stores: bump it when the files' format changes,
    #: so results written in the old format are recomputed instead of being misread.
    version: ClassVar[str] = "1"

    @abc.abstractmethod
    def save(self, obj: Any, directory: str) -> None:
        """Write ``obj`` into ``directory``: a local folder that exists and is empty. Every
        file written there is part of the artifact's content hash."""

    @abc.abstractmethod
    def load(self, directory: str, type_: type | None) -> Any:
        """Read the object back from ``directory`` (local, read-only by convention: never
        modify it). ``type_`` is the class recorded at save time when it is importable here,
        else ``None``."""

    def metadata(self, obj: Any) -> dict[str, Any]:
        """Facts about ``obj`` recorded with the artifact (shape, row count...). Values should be
        JSON-able; anything else is stored as its ``str()``. Default: none."""
        return {}

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        """name -> what to show: HTML (text starting with ``<``), Markdown (other text), a PNG
        (``bytes``) or a :class:`bevel.viz.kinds.Visualization` (HTML, Markdown, PNG, SVG,
        JSON, CSV or text). Produced when the artifact is saved (unless the step or run turned
        visualizations off), stored once per content beside it, and shown by
        ``artifact.visualize()``, ``bevel artifacts visualize`` and the dashboard. Keep it cheap:
        it runs on every save. Default: none."""
        return {}

    def preview(self, directory: str, type_: type | None) -> str | None:
        """A short text of the stored value for ``bevel artifacts show`` (a DataFrame's first
        rows), reading only what it shows: the artifact may be large. ``None`` (the default)
        lets bevel show the loaded value's text when the artifact is small."""
        return None

    #: True when ``metadata()`` and ``visualizations()`` only read the object and may run on a
    #: thread of their own while ``save()`` writes it: bevel then computes them beside the save
    #: of a big object (one whose ``nbytes``, where it has that attribute, is 8 MiB or more),
    #: instead of after it. Default: False (they run after ``save``, on the saving thread).
    describes_beside_save: ClassVar[bool] = False

    #: True when the object ``load`` returns refers to files of the folder it was loaded from (a
    #: ``Path``, a lazily read or memory-mapped dataset) instead of holding its data. bevel then
    #: loads it from a private copy of the folder, so code that writes through the object cannot
    #: change the stored artifact. Default: False (``load`` reads the data into memory).
    keeps_files: ClassVar[bool] = False

    def load_hashed(self, directory: str, type_: type | None) -> tuple[Any, str] | None:
        """``(load(directory, type_), the folder's content hash)`` computed from one read of the
        files, or None (the default) when this materializer cannot: bevel then hashes the folder
        to verify it, and loads it. For big single-file formats (``.npy``), where verifying and
        then loading read every byte twice; use :func:`bevel.artifacts.hashing.read_hashed`.
        """
        return None

    def reloaded(self, obj: Any, type_: type | None) -> Any:
        """What ``load(type_)`` would return after ``save(obj)``, computed in memory, or
        ``NotImplemented`` when that cannot be done exactly and cheaply (the default).

        Used for the in-memory hand-off between steps of one process: a consumer must see the
        same value, types included, whether its input was handed over or loaded from the store
        (a cached producer). Return a value independent of ``obj`` (a copy, or ``obj`` itself
        when it is immutable), so that a step mutating its input changes nothing that another
        step sees. When in doubt return ``NotImplemented``: the consumer then loads the stored
        artifact, which is always exact.
        """
        return NotImplemented

    def as_loaded(self, obj: Any, type_: type | None) -> Any:
        """``obj`` itself when it is exactly what ``load(type_)`` would return after
        ``save(obj)`` (type, layout and all), else ``NotImplemented`` (the default).

        Called for the last step of a run that reads an output, when nothing else refers to
        the object (see :mod:`bevel.artifacts.handoff`): no one else can see it change, so the
        consumer may have it instead of :meth:`reloaded`'s copy.
        """
        return NotImplemented


class _Completed(Materializer):
    """A duck-typed materializer (no base class) with the defaults for what it leaves out."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property  # type: ignore[misc]  # read through, so a changed class attribute is seen
    def version(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "version", Materializer.version))

    def save(self, obj: Any, directory: str) -> None:
        self.inner.save(obj, directory)

    def load(self, directory: str, type_: type | None) -> Any:
        return self.inner.load(directory, type_)

    def metadata(self, obj: Any) -> dict[str, Any]:
        method = getattr(self.inner, "metadata", None)
        return method(obj) if method is not None else {}  # type: ignore[no-any-return]

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        method = getattr(self.inner, "visualizations", None)
        return method(obj) if method is not None else {}  # type: ignore[no-any-return]

    def preview(self, directory: str, type_: type | None) -> str | None:
        method = getattr(self.inner, "preview", None)
        return method(directory, type_) if method is not None else None  # type: ignore[no-any-return]

    @property  # type: ignore[misc]
    def keeps_files(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.inner, "keeps_files", False))

    @property  # type: ignore[misc]
    def describes_beside_save(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.inner, "describes_beside_save", False))

    def load_hashed(self, directory: str, type_: type | None) -> tuple[Any, str] | None:
        method = getattr(self.inner, "load_hashed", None)
        return method(directory, type_) if method is not None else None  # type: ignore[no-any-return]

    def reloaded(self, obj: Any, type_: type | None) -> Any:
        method = getattr(self.inner, "reloaded", None)
        return method(obj, type_) if method is not None else NotImplemented

    def as_loaded(self, obj: Any, type_: type | None) -> Any:
        method = getattr(self.inner, "as_loaded", None)
        return method(obj, type_) if method is not None else NotImplemented

    def __getattr__(self, name: str) -> Any:  # e.g. ``pickled``, read by publish
        return getattr(self.__dict__["inner"], name)


def complete(instance: Any, ref: str) -> Materializer:
    """``instance`` as a :class:`Materializer`, checked against the contract.

    Raises ArtifactError naming ``ref`` when ``save``/``load`` are missing or ``version`` is not
    a non-empty string, so a broken materializer is reported when a pipeline is compiled, not
    halfway through saving a step's output.
    """
    missing = [name for name in REQUIRED if not callable(getattr(instance, name, None))]
    if missing:
        raise ArtifactError(
            f"materializer {ref} has no {' and no '.join(f'{m}()' for m in missing)} method",
            hint="a materializer defines save(self, obj, directory) and "
            "load(self, directory, type_); subclass bevel.materializers.Materializer",
        )
    version = getattr(instance, "version", Materializer.version)
    if not isinstance(version, str) or not version:
        raise ArtifactError(
            f"materializer {ref} has version {version!r}, which is not a non-empty string",
            hint='set a string class attribute, e.g. version = "1" (bump it when the format '
            "changes)",
        )
    return instance if isinstance(instance, Materializer) else _Completed(instance)
