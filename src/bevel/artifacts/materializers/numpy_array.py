"""numpy arrays (and numpy scalars) as one ``.npy`` file.

``.npy`` is numpy's own format: written with one header plus the raw buffer (no extra copy for
contiguous arrays, hashed while it is written) and readable without bevel. Loading reads the
file once, straight into the new array's memory, hashing it on the way (:meth:`load_hashed`),
where ``np.load`` after verifying would read it twice. The visualization
(shape, dtype, a summary and a plot) is described in :mod:`._array_viz`, imported only when
an array is saved. Pickle inside
``.npy`` is refused, so object arrays need an explicit opt-in.
"""

from __future__ import annotations

import io
import os
from typing import Any, ClassVar, Literal

import numpy as np

from bevel.artifacts.hashing import HashingReader, read_hashed, write_hashed
from bevel.artifacts.materializers.base import VisualizationValue
from bevel.errors import ArtifactError

FILENAME = "array.npy"


def _npy_header(array: np.ndarray) -> bytes | None:
    """The magic string and header ``np.save`` writes before ``array``'s buffer (format 1.0, or
    2.0 for a header too long for it), or None where the buffer cannot be written as it is."""
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        return None
    fields = np.lib.format.header_data_from_array_1_0(array)
    for write in (np.lib.format.write_array_header_1_0, np.lib.format.write_array_header_2_0):
        out = io.BytesIO()
        try:
            write(out, fields)
        except ValueError:  # too long for format 1.0
            continue
        except UnicodeEncodeError:  # field names only format 3.0 can hold: leave it to np.save
            return None
        return out.getvalue()
    return None


def _strides(shape: tuple[int, ...], itemsize: int, fortran: bool) -> tuple[int, ...]:
    """The strides of a new array of ``shape`` in C (or Fortran) order, as ``np.load`` gives."""
    strides: list[int] = []
    step = itemsize
    for n in shape if fortran else reversed(shape):
        strides.append(step)
        step *= n
    return tuple(strides if fortran else reversed(strides))


def _load(path: str, mmap_mode: Literal["r"] | None) -> np.ndarray:
    """``np.load`` of an artifact's file, whatever the length of its header. numpy refuses
    headers over 10 kB by default (a structured array with a few hundred fields has one), as a
    guard against untrusted files; an artifact's header was written by :meth:`save`, and is
    never longer than the file."""
    limit = max(10_000, os.path.getsize(path))
    loaded: np.ndarray = np.load(
        path, mmap_mode=mmap_mode, allow_pickle=False, max_header_size=limit
    )
    return loaded


def _read_npy(f: HashingReader, max_header_size: int) -> np.ndarray | None:
    """The array in an ``.npy`` file, read as ``np.load(allow_pickle=False)`` reads it; None for
    a header version other than 1.0 and 2.0 (the caller falls back to ``np.load``)."""
    fmt = np.lib.format
    version = fmt.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(f, max_header_size=max_header_size)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(f, max_header_size=max_header_size)
    else:
        return None
    if dtype.hasobject:
        raise ArtifactError(
            f"{FILENAME} holds Python objects (dtype {dtype}), which loading refuses to unpickle",
            hint="load it with numpy yourself if you trust it: np.load(path, allow_pickle=True)",
        )
    count = 1
    for n in shape:
        count *= n
    flat = np.empty(count, dtype=dtype)
    wanted = flat.nbytes
    if f.readinto(flat.view(np.uint8) if wanted else bytearray()) != wanted:
        raise ArtifactError(f"{FILENAME} ends before its data does")
    if fortran:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


class NumpyMaterializer:
    version: ClassVar[str] = "1"
    #: The summary and plots read a sample of the array with numpy (which releases the GIL
    #: for its copies): for a big array they are computed while its file is written.
    describes_beside_save: ClassVar[bool] = True

    def save(self, obj: Any, directory: str) -> None:
        array = np.asarray(obj)
        if array.dtype.hasobject:
            raise ArtifactError(
                f"a numpy array of dtype {array.dtype} holds Python objects, which .npy stores "
                "only by pickling",
                hint="convert it to a numeric or fixed-width string dtype, or opt into pickle "
                "with `@step(pickle=True)`",
            )
        header = _npy_header(array)
        if header is None:  # not contiguous, or a header only np.save knows how to write
            np.save(os.path.join(directory, FILENAME), array, allow_pickle=False)
            return
        # The bytes np.save writes (a test compares them), hashed while they are written.
        data = array if array.flags.c_contiguous else array.T  # both C-contiguous: a view
        write_hashed(directory, FILENAME, [header, data.reshape(-1).view(np.uint8)])

    def load(self, directory: str, type_: type | None) -> Any:
        array = _load(os.path.join(directory, FILENAME), mmap_mode=None)
        if type_ is not None and issubclass(type_, np.generic):
            return array[()]  # a 0-d array back to the numpy scalar it was
        return array

    def load_hashed(self, directory: str, type_: type | None) -> tuple[Any, str] | None:
        """:meth:`load` and the folder's content hash from one read of the file: the header is
        parsed as ``np.load`` parses it, then the data is read into the array's own memory
        and hashed chunk by chunk. None (bevel then verifies, then loads) where the folder holds
        more than the file or the file is one only ``np.load`` reads (format 3.0 headers)."""
        path = os.path.join(directory, FILENAME)
        limit = max(10_000, os.path.getsize(path)) if os.path.exists(path) else 10_000
        done = read_hashed(directory, FILENAME, lambda f: _read_npy(f, limit))
        if done is None:
            return None
        array, content_hash = done
        if array is None:  # a header only np.load reads
            return None
        if type_ is not None and issubclass(type_, np.generic):
            return array[()], content_hash
        return array, content_hash

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

    def as_loaded(self, obj: Any, type_: type | None) -> Any:
        """``obj`` itself where :meth:`reloaded` would give an equal copy of it: a plain
        ndarray owning its writeable, aligned memory, laid out as ``np.load`` lays it out
        (strides included)."""
        if type(obj) is not np.ndarray or (type_ is not None and issubclass(type_, np.generic)):
            return NotImplemented
        flags = obj.flags
        laid_out = flags.c_contiguous or flags.f_contiguous
        if obj.dtype.hasobject or not laid_out or obj.base is not None:
            return NotImplemented
        if not (flags.owndata and flags.writeable and flags.aligned):
            return NotImplemented
        if obj.strides != _strides(obj.shape, obj.itemsize, not flags.c_contiguous):
            return NotImplemented  # a length-1 axis with an odd stride: np.load would differ
        return obj

    def metadata(self, obj: Any) -> dict[str, Any]:
        array = np.asarray(obj)
        return {
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "size": int(array.size),
            "nbytes": int(array.nbytes),
        }

    def visualizations(self, obj: Any) -> dict[str, VisualizationValue]:
        # Imported here: loading an array (the Client, a step's input) draws nothing (~4 ms).
        from bevel.artifacts.materializers._array_viz import array_html

        return {"array": array_html(np.asarray(obj))}

    def preview(self, directory: str, type_: type | None) -> str | None:
        # Memory-mapped: printing reads only the elements shown (numpy summarises large arrays).
        array = _load(os.path.join(directory, FILENAME), mmap_mode="r")
        text = np.array2string(np.asarray(array) if array.ndim == 0 else array, threshold=60)
        return f"{text}\n[shape {tuple(array.shape)}, dtype {array.dtype}]"
