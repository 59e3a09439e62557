"""numpy arrays (and numpy scalars) as one ``.npy`` file.

``.npy`` is numpy's own format: written with one header plus the raw buffer (no extra copy for
contiguous arrays) and readable without bevel. Pickle inside ``.npy`` is refused, so object
arrays need an explicit opt-in.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from bevel.errors import ArtifactError

FILENAME = "array.npy"


class NumpyMaterializer:
    version: ClassVar[str] = "1"

    def save(self, obj: Any, directory: str) -> None:
        array = np.asarray(obj)
        if array.dtype.hasobject:
            raise ArtifactError(
                f"a numpy array of dtype {array.dtype} holds Python objects, which .npy stores "
                "only by pickling",
                hint="convert it to a numeric or fixed-width string dtype, or opt into pickle "
                "with `@step(pickle=True)`",
            )
        np.save(os.path.join(directory, FILENAME), array, allow_pickle=False)

    def load(self, directory: str, type_: type | None) -> Any:
        array = np.load(os.path.join(directory, FILENAME), mmap_mode=None, allow_pickle=False)
        if type_ is not None and issubclass(type_, np.generic):
            return array[()]  # a 0-d array back to the numpy scalar it was
        return array

    def reloaded(self, obj: Any, type_: type | None) -> Any:
        """A copy in the memory layout ``np.save`` writes (Fortran order only for an array that
        is Fortran- and not C-contiguous), same dtype and shape: what ``np.load`` returns, for one
        ``memcpy`` instead of a write and a read. Subclasses (masked arrays, matrices, memmaps)
        are not handed over: their round trip drops what makes them subclasses."""
        if type(obj) is not np.ndarray and not isinstance(obj, np.generic):
            return NotImplemented
        array = np.asarray(obj)
        if array.dtype.hasobject:
            return NotImplemented
        fortran = array.flags.f_contiguous and not array.flags.c_contiguous
        copy = np.array(array, copy=True, order="F" if fortran else "C")
        if type_ is not None and issubclass(type_, np.generic):
            return copy[()]
        return copy

    def metadata(self, obj: Any) -> dict[str, Any]:
        array = np.asarray(obj)
        return {
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "size": int(array.size),
            "nbytes": int(array.nbytes),
        }

    def visualizations(self, obj: Any) -> dict[str, str]:
        return {}

    def preview(self, directory: str, type_: type | None) -> str | None:
        # Memory-mapped: printing reads only the elements shown (numpy summarises large arrays).
        array = np.load(os.path.join(directory, FILENAME), mmap_mode="r", allow_pickle=False)
        text = np.array2string(np.asarray(array) if array.ndim == 0 else array, threshold=60)
        return f"{text}\n[shape {tuple(array.shape)}, dtype {array.dtype}]"
