"""Handing a step's output object over to the one step left that reads it, without a copy.

The in-memory hand-off gives each consumer what loading the stored artifact would give
(``Materializer.reloaded``): a copy, so that a step mutating its input changes nothing another
step sees. When the consumer is the last step of the run that reads the output, and nothing
else refers to the object, no one can see what it does to the object: the engine then hands
it over as :class:`Owned`, and a materializer whose ``as_loaded`` recognises the object as what
loading would give passes it on as it is (a 100 MiB array: no 100 MiB copy).

"Nothing else refers to it" is the object's reference count: the producer's step has returned,
the engine dropped its own references, and what is left is :class:`Owned`'s. A reference held
anywhere else (a global, a closure, another output, a view of the array, a reference cycle
not yet collected) makes the count higher, and the consumer gets the copy as before. What was
recorded stays what it was: the output was saved, hashed and described before the consumer
starts, and a consumer attempt after the first loads the stored artifact.
"""

from __future__ import annotations

import sys
from typing import Any

#: What :meth:`Owned.take` returns once the object was taken (a retried step loads its input).
TAKEN: Any = object()


def _alone() -> int:
    """``sys.getrefcount`` of an object that only one local variable refers to."""
    obj = object()
    return sys.getrefcount(obj)


_ALONE = _alone()


class Owned:
    """An output object handed to the last step that reads it, taken once (:meth:`take`)."""

    __slots__ = ("_slot",)

    def __init__(self, obj: Any) -> None:
        self._slot = [obj]

    def take(self) -> tuple[Any, bool]:
        """``(object, alone)``: the object (:data:`TAKEN` after the first call; ``list.pop``
        is atomic, so two threads never both get it), and whether nothing else refers to it."""
        try:
            obj = self._slot.pop()
        except IndexError:
            return TAKEN, False
        alone = sys.getrefcount(obj) <= _ALONE  # counted before the tuple refers to it too
        return obj, alone
