"""bevel._dataclass.dataclass behaves as the standard library's decorator on the same classes,
and defines a class without compiling anything."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bevel import _dataclass
from bevel._dataclass import dataclass as bevel_dataclass

DECORATORS: dict[str, Callable[..., Any]] = {
    "stdlib": dataclasses.dataclass,
    "bevel": bevel_dataclass,
}


def make(decorator: Callable[..., Any]) -> dict[str, Any]:
    """The same class definitions, made by ``decorator``."""

    @decorator(frozen=True)
    class Point:
        x: int
        y: int = 0
        tags: list[str] = dataclasses.field(default_factory=list)
        label: str = dataclasses.field(default="p", compare=False, repr=False)
        kind: ClassVar[str] = "point"

    @decorator(frozen=True)
    class Point3(Point):
        z: int = 0

    @decorator
    class Mutable:
        a: int
        b: dict[str, int] = dataclasses.field(default_factory=dict)
        seen: list[int] = dataclasses.field(default_factory=list, init=False)

        def __post_init__(self) -> None:
            self.seen.append(self.a)

    @decorator(eq=False)
    class Identity:
        v: int

    @decorator(frozen=True, repr=False)
    class OwnRepr:
        v: int

        def __repr__(self) -> str:
            return f"<{self.v}>"

    @decorator(frozen=True)
    class Empty:
        pass

    @decorator(frozen=True)
    class One:
        v: int

    return {c.__name__: c for c in (Point, Point3, Mutable, Identity, OwnRepr, Empty, One)}


CLASSES = {name: make(decorator) for name, decorator in DECORATORS.items()}
# Pickle finds a class by its qualified name: give each set its own module-level home.
for _name, _classes in CLASSES.items():
    for _cls in _classes.values():
        _cls.__qualname__ = f"{_name}_{_cls.__name__}"
        globals()[_cls.__qualname__] = _cls


def each(name: str) -> Iterator[Any]:
    return (CLASSES[d][name] for d in DECORATORS)


def same(check: Callable[[dict[str, Any]], Any]) -> Any:
    """``check`` gives the same result (or raises the same error) on both sets of classes."""
    results = []
    for decorator in DECORATORS:
        try:
            result: tuple[Any, ...] = ("ok", check(CLASSES[decorator]))
        except Exception as error:  # compared below
            result = ("raised", type(error), str(error))
        # Instances of the two sets differ by class: compare what they show.
        results.append(repr(result).replace(f"{decorator}_", ""))
    assert results[0] == results[1], results
    return result


def test_construction_defaults_and_factories() -> None:
    def values(c: dict[str, Any]) -> Any:
        p, q = c["Point"](1), c["Point"](1, 2, ["a"], label="q")
        assert p.tags is not c["Point"](1).tags  # a fresh list each time
        return dataclasses.astuple(p), dataclasses.astuple(q), q.label, c["Point"].kind

    assert same(values) == ("ok", ((1, 0, [], "p"), (1, 2, ["a"], "q"), "q", "point"))
    same(lambda c: dataclasses.astuple(c["Point3"](1, z=3)))
    same(lambda c: vars(c["Mutable"](5)))
    same(lambda c: c["Mutable"].__match_args__ + c["Point3"].__match_args__)
    same(lambda c: (c["Empty"](), c["Empty"]() == c["Empty"](), hash(c["Empty"]())))


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c["Point"](),
        lambda c: c["Point"](1, 2, [], "l", 5),
        lambda c: c["Point"](1, x=2),
        lambda c: c["Point"](1, nope=2),
        lambda c: c["Mutable"](1, seen=[]),
    ],
)
def test_bad_arguments_raise_the_same_type_error(call: Callable[[dict[str, Any]], Any]) -> None:
    result = same(call)
    assert result[:2] == ("raised", TypeError)


def test_signature_and_type_hints() -> None:
    same(lambda c: str(inspect.signature(c["Point3"])))
    same(lambda c: str(inspect.signature(c["Mutable"])))
    same(lambda c: sorted(c["Point"].__init__.__annotations__))


def test_repr_eq_and_hash() -> None:
    same(lambda c: repr(c["Point3"](1, 2, ["t"], "hidden", 3)))
    same(lambda c: (repr(c["OwnRepr"](4)), repr(c["One"](1)), repr(c["Mutable"](2))))
    same(lambda c: c["Point"](1, label="a") == c["Point"](1, label="b"))  # compare=False
    same(lambda c: c["Point"](1) == c["Point"](2))
    same(lambda c: c["Point"](1) == c["Point3"](1))  # different classes are not equal
    same(lambda c: c["Point"](1).__eq__(object()))  # NotImplemented
    same(lambda c: hash(c["Point"](1, label="a")) == hash(c["Point"](1, label="b")))
    same(lambda c: hash(c["One"](7)) == hash((7,)))
    same(lambda c: c["Mutable"].__hash__)  # None: mutable and compared by value
    same(lambda c: c["Identity"](1) == c["Identity"](1))  # eq=False: identity
    same(lambda c: {c["Point"](1): "a"}[c["Point"](1)])


def test_frozen_instances_refuse_changes() -> None:
    assert same(lambda c: setattr(c["Point"](1), "x", 2))[1] is dataclasses.FrozenInstanceError
    assert same(lambda c: delattr(c["Point"](1), "x"))[1] is dataclasses.FrozenInstanceError
    assert same(lambda c: setattr(c["Point"](1), "other", 2))[1] is dataclasses.FrozenInstanceError
    same(lambda c: (m := c["Mutable"](1), setattr(m, "a", 2), m.a)[2])


def test_the_dataclasses_functions_work() -> None:
    same(
        lambda c: [(f.name, f.type, f.default, f.compare) for f in dataclasses.fields(c["Point3"])]
    )
    same(lambda c: dataclasses.asdict(c["Point3"](1, tags=["x"])))
    same(lambda c: dataclasses.replace(c["Point3"](1, z=2), y=5))
    same(lambda c: dataclasses.replace(c["Mutable"](1), a=3).seen)
    same(lambda c: (dataclasses.is_dataclass(c["Point"]), dataclasses.is_dataclass(c["Point"](1))))


def test_pickle_and_copy() -> None:
    same(lambda c: pickle.loads(pickle.dumps(c["Point3"](1, 2, ["a"], "l", 3))))
    same(lambda c: copy.deepcopy(c["Mutable"](3)).seen)
    same(lambda c: copy.copy(c["Point"](1, tags=["a"])))


def test_either_decorator_may_extend_the_other() -> None:
    for base, sub in (
        (bevel_dataclass, dataclasses.dataclass),
        (dataclasses.dataclass, bevel_dataclass),
    ):

        @base(frozen=True)
        class Base:
            a: int
            b: int = 1

        @sub(frozen=True)
        class Sub(Base):
            c: int = 2

        assert dataclasses.astuple(Sub(0, c=5)) == (0, 1, 5)
        assert (
            repr(Sub(0)) == "test_either_decorator_may_extend_the_other.<locals>.Sub(a=0, b=1, c=2)"
        )
        with pytest.raises(dataclasses.FrozenInstanceError):
            Sub(0).a = 1  # type: ignore[misc]
        with pytest.raises(TypeError, match="frozen"):

            @sub
            class Thawed(Base):
                d: int = 0


@pytest.mark.parametrize("decorator", list(DECORATORS.values()), ids=list(DECORATORS))
def test_definition_errors(decorator: Callable[..., Any]) -> None:
    with pytest.raises(ValueError, match="mutable default"):

        @decorator
        class A:
            x: list[int] = []

    with pytest.raises(TypeError, match="non-default argument 'y' follows default argument"):

        @decorator
        class B:
            x: int = 0
            y: int

    with pytest.raises(TypeError, match="'x' is a field but has no type annotation"):

        @decorator
        class C:
            x = dataclasses.field(default=1)

    with pytest.raises(TypeError, match="Cannot overwrite attribute __setattr__"):

        @decorator(frozen=True)
        class D:
            x: int

            def __setattr__(self, name: str, value: Any) -> None: ...


_compiled: list[str] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "compile" and _compiled and _compiled[0] == "on":
        _compiled.append(str(args[1]))


sys.addaudithook(_audit)


def test_defining_a_class_compiles_nothing_and_its_first_instance_compiles_one_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The point of the decorator: the standard one compiles ~6 functions per class when it is
    defined; this one none, and the ``__init__`` once, when the first instance is made (when
    no earlier process stored its code: see the next test)."""
    monkeypatch.setattr(_dataclass, "_stored", {})
    monkeypatch.setattr(_dataclass, "_added", {})
    _compiled[:] = ["on"]
    classes = make(bevel_dataclass)
    defined = len(_compiled) - 1
    classes["Point3"](1)
    classes["Point3"](2)
    instantiated = len(_compiled) - 1
    _compiled[:] = ["on"]
    make(dataclasses.dataclass)
    stdlib = len(_compiled) - 1
    _compiled.clear()
    assert defined == 0
    assert instantiated == 1
    assert stdlib >= 20  # what it saves


_PROCESS = """
import inspect, json, sys
compiled = []
sys.addaudithook(lambda e, a: e == "compile" and "def __init__(" in str(a[0])[:16] and compiled.append(1))
from bevel._dataclass import dataclass
from bevel.metadata.records import RunRecord

@dataclass(frozen=True)
class Point:
    x: int
    y: int = 0

made = {"made": repr((Point(1), Point(2, y=3))), "signature": str(inspect.signature(Point)),
        "record": str(inspect.signature(RunRecord))}
print(json.dumps({"compiled": len(compiled), **made}))
"""


def _process(prefix: Path, *, dont_write: bool = False) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if dont_write:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    done = subprocess.run(
        [sys.executable, "-X", f"pycache_prefix={prefix}", "-c", _PROCESS],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_a_process_compiles_only_the_inits_no_earlier_process_stored(tmp_path: Path) -> None:
    """Each ``__init__``'s code is kept beside ``_dataclass``'s ``.pyc`` (here under a
    ``pycache_prefix`` of its own): the next process loads it instead of compiling; a damaged
    file is compiled around and written anew; ``PYTHONDONTWRITEBYTECODE`` writes nothing."""
    first = _process(tmp_path / "kept")
    assert first["compiled"] == 2  # Point's and RunRecord's
    assert first["signature"] == "(x: int, y: int = 0) -> None"
    stored = list((tmp_path / "kept").rglob("_dataclass.*.inits"))
    assert len(stored) == 1
    again = _process(tmp_path / "kept")
    assert again == {**first, "compiled": 0}
    stored[0].write_bytes(b"\x00damaged")
    assert _process(tmp_path / "kept") == first
    assert _process(tmp_path / "kept") == again
    assert _process(tmp_path / "readonly", dont_write=True) == first
    assert not list((tmp_path / "readonly").rglob("*.inits"))


def test_replace_is_dataclasses_replace() -> None:
    """bevel._dataclass.replace (what a step run copies its records with) gives what
    dataclasses.replace gives: the other fields kept, frozen still, nothing cached carried over
    (a cached_property of the old instance), and classes whose __init__ does more (or that take
    fields outside __init__) go through __init__ as dataclasses.replace does."""
    import functools

    from bevel._dataclass import replace

    @bevel_dataclass(frozen=True)
    class Record:
        a: int
        b: list[int] = dataclasses.field(default_factory=list)
        c: str = "c"

        @functools.cached_property
        def doubled(self) -> int:
            return self.a * 2

    @bevel_dataclass
    class Checked:
        a: int
        seen: ClassVar[list[int]] = []

        def __post_init__(self) -> None:
            Checked.seen.append(self.a)

    old = Record(1, [1], "x")
    assert old.doubled == 2
    new = replace(old, a=5)
    assert new == dataclasses.replace(old, a=5) == Record(5, [1], "x")
    assert new.b is old.b and new.doubled == 10 and old.a == 1
    assert replace(old) == old and replace(old) is not old
    with pytest.raises(dataclasses.FrozenInstanceError):
        new.a = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        replace(old, nope=1)
    replace(Checked(1), a=2)
    assert Checked.seen == [1, 2]  # __post_init__ ran for the copy too
