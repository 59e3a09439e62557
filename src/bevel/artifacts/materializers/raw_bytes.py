"""``bytes`` (and ``bytearray``) stored as one raw file, byte for byte."""

from __future__ import annotations

import os
from typing import Any, ClassVar

FILENAME = "data.bin"


class BytesMaterializer:
    version: ClassVar[str] = "1"

    def save(self, obj: Any, directory: str) -> None:
        with open(os.path.join(directory, FILENAME), "wb") as f:
            f.write(obj)

    def encode(self, obj: Any) -> dict[str, bytes] | None:
        """The file ``save`` writes, in memory (bevel hashes it before writing); None for
        anything but bytes and bytearray (``save`` says what is wrong with it)."""
        if isinstance(obj, bytes | bytearray):
            return {FILENAME: bytes(obj)}
        return None

    def load(self, directory: str, type_: type | None) -> Any:
        with open(os.path.join(directory, FILENAME), "rb") as f:
            data = f.read()
        return bytearray(data) if type_ is not None and issubclass(type_, bytearray) else data

    def reloaded(self, obj: Any, type_: type | None) -> Any:
        """``bytes`` are immutable (handed over as they are); a ``bytearray`` is copied."""
        if type_ is not None and issubclass(type_, bytearray):
            return bytearray(obj)
        return obj if type(obj) is bytes else bytes(obj)

    def metadata(self, obj: Any) -> dict[str, Any]:
        return {"size": len(obj)}

    def visualizations(self, obj: Any) -> dict[str, str]:
        return {}
