"""Code fingerprints: what busts the cache, what must not, and what is left out."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from cache_usermods import UserModules

from bevel.cache import SELF, code_hash, code_parts, helpers_of

STEP = """
import json

THRESHOLD = 0.5
UNUSED = 1

def deco(**options):
    return lambda f: f

def helper(x):
    return x * THRESHOLD

def unrelated(x):
    return x - 1

@deco(retries=3)
def step(x: float) -> float:
    \"\"\"Scale x.\"\"\"
    # a comment
    return json.loads(json.dumps(helper(x) + 1))
"""


def edited(
    user: UserModules, short: str, source: str, old: str, new: str, attr: str = "step"
) -> tuple[str, str]:
    """code_hash of ``attr`` before and after replacing ``old`` by ``new`` in the source."""
    assert old in source, old
    user.write(short, source)
    before = code_hash(getattr(user.load(short), attr))
    user.write(short, source.replace(old, new))
    after = code_hash(getattr(user.load(short), attr))
    return before, after


# -- the step's own code ----------------------------------------------------------------------


def test_hash_format_and_stability(user: UserModules) -> None:
    user.write("m", STEP)
    mod = user.load("m")
    digest = code_hash(mod.step)
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    assert code_hash(mod.step) == digest
    user.write("m", STEP)  # same text, new file: same fingerprint
    assert code_hash(user.load("m").step) == digest


def test_changing_the_body_busts(user: UserModules) -> None:
    before, after = edited(user, "m", STEP, "helper(x) + 1", "helper(x) + 2")
    assert before != after


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("# a comment", "# another comment, longer"),
        ('"""Scale x."""', '"""Scale x, with a much longer docstring."""'),
        ("@deco(retries=3)", "@deco(retries=5, on_failure=None)"),
        ("    return json", "\n\n    return json"),  # blank lines
        ("import json\n", "import json\n\n\n# moved down the file\n"),
        (
            "return json.loads(json.dumps(helper(x) + 1))",
            "return json.loads(\n json.dumps(helper(x)+1))",
        ),
    ],
    ids=["comment", "docstring", "decorator", "blank-lines", "moved", "formatting"],
)
def test_edits_that_cannot_change_outputs_do_not_bust(
    user: UserModules, old: str, new: str
) -> None:
    before, after = edited(user, "m", STEP, old, new)
    assert before == after


def test_a_user_decorator_is_part_of_the_code(user: UserModules) -> None:
    """The wrapper a user decorator returns is what runs: its body, the decorator arguments it
    uses and the wrapped function all count; an argument the wrapper never reads does not."""
    source = """
    import functools

    def scaled(factor, label="x"):
        def wrap(f):
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                return f(*args, **kwargs) * factor
            return wrapper
        return wrap

    @scaled(factor=3, label="a")
    def step(x):
        return x + 1
    """
    before, after = edited(user, "m", source, "factor=3", "factor=4")
    assert before != after  # a decorator argument its wrapper uses
    before, after = edited(user, "m", source, "* factor", "* factor + 1")
    assert before != after  # the decorator's own body
    before, after = edited(user, "m", source, "x + 1", "x + 2")
    assert before != after  # the wrapped function
    before, after = edited(user, "m", source, 'label="a"', 'label="b"')
    assert before == after  # the wrapper never reads label


def test_bevel_step_over_a_user_decorator(user: UserModules) -> None:
    """``@step @scaled def f``: the user's decorator is code, bevel's own options are not."""
    from bevel.authoring.step import StepDefinition

    source = """
    import functools
    from bevel import step

    def scaled(f):
        @functools.wraps(f)
        def wrapper(x):
            return f(x) * 2
        return wrapper

    @step(retries=1)
    @scaled
    def double(x: int) -> int:
        return x + 1
    """
    before, after = edited(user, "m", source, "* 2", "* 3", attr="double")
    assert before != after
    before, after = edited(user, "m", source, "retries=1", "retries=5", attr="double")
    assert before == after
    mod: Any = user.load("m")
    assert isinstance(mod.double, StepDefinition)
    assert code_hash(mod.double) == code_hash(mod.double.func)  # the wrapper, not x + 1 alone


def test_step_objects_wrapping_a_function_are_unwrapped(user: UserModules) -> None:
    user.write("m", STEP)
    mod = user.load("m")

    class StepObject:  # what a @step decorator may return: functools.update_wrapper'd
        def __init__(self, func: Callable[..., Any]) -> None:
            self.func = func
            functools.update_wrapper(self, func)

        def __call__(self, *args: Any) -> Any:
            return self.func(*args)

    assert code_hash(StepObject(mod.step)) == code_hash(mod.step)
    assert code_hash(functools.partial(mod.step, 1)) == code_hash(mod.step)


def test_non_functions_are_refused() -> None:
    with pytest.raises(TypeError, match="needs a Python function"):
        code_hash(len)


# -- helpers in the same module -------------------------------------------------------------


def test_changing_a_helper_in_the_same_module_busts(user: UserModules) -> None:
    before, after = edited(user, "m", STEP, "return x * THRESHOLD", "return x * THRESHOLD * 2")
    assert before != after


def test_changing_code_the_step_does_not_use_does_not_bust(user: UserModules) -> None:
    before, after = edited(user, "m", STEP, "return x - 1", "return x - 2", attr="step")
    assert before == after
    before, after = edited(user, "m", STEP, "UNUSED = 1", "UNUSED = 2")
    assert before == after


def test_helpers_of_names_project_code_and_constants_only(user: UserModules) -> None:
    user.write("m", STEP)
    mod = user.load("m")
    m = user.name("m")
    assert helpers_of(mod.step) == [f"{m}:THRESHOLD", f"{m}:helper"]
    parts = code_parts(mod.step)
    assert parts[f"{m}:THRESHOLD"] == "=0.5"
    assert set(parts) == {SELF, f"{m}:THRESHOLD", f"{m}:helper"}


# -- module-level constants -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [("THRESHOLD = 0.5", "THRESHOLD = 0.7"), ("THRESHOLD = 0.5", "THRESHOLD = 1")],
)
def test_changing_a_constant_the_step_uses_busts(user: UserModules, old: str, new: str) -> None:
    before, after = edited(user, "m", STEP, old, new)
    assert before != after


def test_literal_containers_and_defaults_are_constants(user: UserModules) -> None:
    source = """
    COLUMNS = ["a", "b"]
    MODE = {"kind": "fast", "levels": (1, 2)}
    LR = 0.1

    def step(df, lr=LR):
        return [df[c] for c in COLUMNS], MODE["kind"], lr
    """
    for old, new in [
        ('["a", "b"]', '["a", "b", "c"]'),
        ("(1, 2)", "(1, 2.0)"),
        ("LR = 0.1", "LR = 0.2"),
    ]:
        before, after = edited(user, "m", source, old, new)
        assert before != after, old


def test_in_place_mutation_of_a_list_constant_busts(user: UserModules) -> None:
    user.write("m", "COLUMNS = ['a']\n\ndef step(df):\n    return [df[c] for c in COLUMNS]\n")
    mod = user.load("m")
    before = code_hash(mod.step)
    mod.COLUMNS.append("b")
    assert code_hash(mod.step) != before


def test_closure_constants_count(user: UserModules) -> None:
    user.write(
        "m",
        """
        def make_step(threshold):
            def step(x):
                return x > threshold
            return step
        """,
    )
    mod = user.load("m")
    assert code_hash(mod.make_step(0.5)) != code_hash(mod.make_step(0.7))
    assert code_hash(mod.make_step(0.5)) == code_hash(mod.make_step(0.5))


def test_enum_members_count(user: UserModules) -> None:
    source = """
    import enum

    class Mode(enum.Enum):
        FAST = 1
        SLOW = 2

    MODE = Mode.FAST

    def step(x):
        return x if MODE is Mode.FAST else -x
    """
    before, after = edited(user, "m", source, "MODE = Mode.FAST", "MODE = Mode.SLOW")
    assert before != after
    before, after = edited(user, "m", source, "SLOW = 2", "SLOW = 3")
    assert before != after


# -- helpers in other user modules ------------------------------------------------------------

HELPERS = """
def scale(x):
    return x * 2

def unused(x):
    return x
"""


def test_from_import_helper_in_another_module_busts(user: UserModules) -> None:
    user.write("helpers", HELPERS)
    user.write("steps", "from {p}helpers import scale\n\ndef step(x):\n    return scale(x)\n")
    user.load("helpers")
    before = code_hash(user.load("steps").step)
    assert helpers_of(user.load("steps").step) == [f"{user.name('helpers')}:scale"]
    user.write("helpers", HELPERS.replace("x * 2", "x * 3"))
    user.load("helpers")
    after = code_hash(user.load("steps").step)  # re-import: picks up the new scale
    assert before != after


def test_module_alias_helper_busts_without_reimporting_the_step(user: UserModules) -> None:
    user.write("helpers", HELPERS)
    user.write("steps", "import {p}helpers as h\n\ndef step(x):\n    return h.scale(x)\n")
    steps = user.load("steps")
    before = code_hash(steps.step)
    assert helpers_of(steps.step) == [f"{user.name('helpers')}:scale"]
    user.write("helpers", HELPERS.replace("x * 2", "x * 3"))
    user.load("helpers")  # only the helper module is reloaded: the step object is the same
    assert code_hash(steps.step) != before
    user.write("helpers", HELPERS.replace("return x\n", "return x + 1\n"))
    user.load("helpers")
    user.write("helpers", HELPERS)  # and back: unused() does not count, scale() is as before
    user.load("helpers")
    assert code_hash(steps.step) == before


def test_attribute_chains_through_packages(user: UserModules) -> None:
    user.write("lib.features", HELPERS)
    user.write(
        "steps",
        """
        import {p}lib.features
        import {p}lib.features as F

        def step(x):
            return {p}lib.features.scale(x) + F.scale(x)
        """,
    )
    steps = user.load("steps")
    before = code_hash(steps.step)
    assert helpers_of(steps.step) == [f"{user.name('lib.features')}:scale"]
    user.write("lib.features", HELPERS.replace("x * 2", "x * 4"))
    user.load("lib.features")
    assert code_hash(steps.step) != before


def test_import_inside_the_step_is_followed(user: UserModules) -> None:
    user.write("helpers", HELPERS)
    user.write(
        "steps",
        """
        def step(x):
            from {p}helpers import scale
            import {p}helpers as h
            import json
            return json.dumps(scale(x) + h.unused(x))
        """,
    )
    user.load("helpers")
    steps = user.load("steps")
    h = user.name("helpers")
    assert helpers_of(steps.step) == [f"{h}:scale", f"{h}:unused"]
    before = code_hash(steps.step)
    user.write("helpers", HELPERS.replace("return x\n", "return -x\n"))
    user.load("helpers")
    assert code_hash(steps.step) != before


def test_relative_imports_in_a_package(user: UserModules) -> None:
    user.write("pkg.helpers", HELPERS)
    user.write("pkg.steps", "from .helpers import scale\n\ndef step(x):\n    return scale(x)\n")
    steps = user.load("pkg.steps")
    assert helpers_of(steps.step) == [f"{user.name('pkg.helpers')}:scale"]


def test_helpers_calling_helpers_across_modules(user: UserModules) -> None:
    user.write("low", "OFFSET = 3\n\ndef add(x):\n    return x + OFFSET\n")
    user.write("mid", "from {p}low import add\n\ndef scale(x):\n    return add(x) * 2\n")
    user.write("steps", "from {p}mid import scale\n\ndef step(x):\n    return scale(x)\n")
    steps = user.load("steps")
    low, mid = user.name("low"), user.name("mid")
    assert helpers_of(steps.step) == [f"{low}:OFFSET", f"{low}:add", f"{mid}:scale"]
    before = code_hash(steps.step)
    user.write("low", "OFFSET = 4\n\ndef add(x):\n    return x + OFFSET\n")
    user.load("low")
    assert code_hash(steps.step) != before  # a constant two modules away


# -- classes ----------------------------------------------------------------------------------

CLASSES = """
import dataclasses

class Base:
    def prepare(self, x):
        return x + 1

@dataclasses.dataclass
class Model(Base):
    \"\"\"A model.\"\"\"
    alpha: float = 0.1

    def fit(self, x):
        return self.prepare(x) * self.alpha
"""


def test_changing_a_helper_class_busts(user: UserModules) -> None:
    user.write("steps", "from {p}models import Model\n\ndef step(x):\n    return Model().fit(x)\n")
    for old, new in [
        ("* self.alpha", "/ self.alpha"),  # a method
        ("alpha: float = 0.1", "alpha: float = 0.2"),  # a dataclass field
        ("return x + 1", "return x + 2"),  # a base class's method
    ]:
        user.write("models", CLASSES)
        user.load("models")
        before = code_hash(user.load("steps").step)
        user.write("models", CLASSES.replace(old, new))
        user.load("models")
        assert code_hash(user.load("steps").step) != before, old
    models = user.name("models")
    assert helpers_of(user.load("steps").step) == [f"{models}:Base", f"{models}:Model"]


def test_class_docstring_does_not_bust(user: UserModules) -> None:
    user.write("steps", "from {p}models import Model\n\ndef step(x):\n    return Model().fit(x)\n")
    user.write("models", CLASSES)
    user.load("models")
    before = code_hash(user.load("steps").step)
    user.write("models", CLASSES.replace("A model.", "A better documented model."))
    user.load("models")
    assert code_hash(user.load("steps").step) == before


def test_helpers_called_from_methods_count(user: UserModules) -> None:
    source = """
    def normalise(x):
        return x / 10

    class Scaler:
        @staticmethod
        def apply(x):
            return normalise(x)

    def step(x):
        return Scaler.apply(x)
    """
    before, after = edited(user, "m", source, "x / 10", "x / 100")
    assert before != after


# -- recursion and cycles -------------------------------------------------------------------


def test_recursive_helpers_terminate(user: UserModules) -> None:
    user.write(
        "a",
        """
        import {p}b

        def even(n):
            return True if n == 0 else {p}b.odd(n - 1)

        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)

        def step(n):
            return even(n), fact(n), step
        """,
    )
    user.write(
        "b", "import {p}a\n\ndef odd(n):\n    return False if n == 0 else {p}a.even(n - 1)\n"
    )
    a = user.load("a")
    first = code_hash(a.step)
    assert helpers_of(a.step) == [
        f"{user.name('a')}:even",
        f"{user.name('a')}:fact",
        f"{user.name('b')}:odd",
    ]
    assert code_hash(a.step) == first


# -- libraries are left out -----------------------------------------------------------------


def test_stdlib_site_packages_and_bevel_are_not_included(user: UserModules) -> None:
    pytest.importorskip("numpy")
    user.write(
        "m",
        """
        import json
        import os.path
        import numpy as np
        from numpy import mean
        from bevel.cache import canonical_json

        def step(x):
            return json.dumps(os.path.join("a", "b")), np.mean(x), mean(x), canonical_json(x)
        """,
    )
    mod = user.load("m")
    assert helpers_of(mod.step) == []


def test_rebinding_a_global_busts(user: UserModules) -> None:
    user.write("m", STEP)
    mod: Any = user.load("m")
    before = code_hash(mod.step)
    mod.helper = mod.unrelated  # e.g. a notebook cell redefining a helper
    assert code_hash(mod.step) != before


# -- no source (exec, REPL) -----------------------------------------------------------------


def _exec(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(source, "<string>", "exec"), namespace)
    return namespace


def test_functions_without_source_fall_back_to_bytecode() -> None:
    base = "K = 2\ndef helper(x):\n    return x * K\ndef step(x):\n    '''doc'''\n    return helper(x) + 1\n"
    digest = code_hash(_exec(base)["step"])
    assert digest == code_hash(_exec(base)["step"])
    assert digest == code_hash(_exec(base.replace("'''doc'''", "'''other doc'''"))["step"])
    for old, new in [("+ 1", "+ 2"), ("x * K", "x * K * K"), ("K = 2", "K = 3")]:
        assert code_hash(_exec(base.replace(old, new))["step"]) != digest, old
    assert helpers_of(_exec(base)["step"]) == ["__main__:K", "__main__:helper"]


# -- determinism and speed ------------------------------------------------------------------


def test_hash_is_the_same_in_another_process(user: UserModules, tmp_path: Any) -> None:
    source = STEP.replace("UNUSED = 1", "TAGS = {'x', 'y', 'z', 'w'}").replace(
        "helper(x) + 1", "helper(x) + len(TAGS)"
    )
    user.write("m", source)
    mod: ModuleType = user.load("m")
    here = code_hash(mod.step)
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import importlib\n"
        "from bevel.cache import code_hash\n"
        "print(code_hash(importlib.import_module(sys.argv[2]).step))\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONDONTWRITEBYTECODE": "1"}
        out = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path), user.name("m")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == here


def test_repeated_lookups_are_memoised(user: UserModules, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic stand-in for "cheap": after the first hash, no source is parsed and no
    module is walked again (it is computed for every step of every run)."""
    import ast

    user.write("m", STEP)
    mod = user.load("m")
    first = code_hash(mod.step)
    parses: list[int] = []
    real_parse = ast.parse

    def counting_parse(*args: Any, **kwargs: Any) -> Any:
        parses.append(1)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", counting_parse)
    assert all(code_hash(mod.step) == first for _ in range(100))
    assert parses == []


# -- other ways to reach a helper -------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "old", "new"),
    [
        (
            "import functools\n\n@functools.lru_cache\ndef helper(x):\n    return x + 1\n\n"
            "def step(x):\n    return helper(x)\n",
            "x + 1",
            "x + 2",
        ),
        (
            "import functools\n\ndef scale(x, factor):\n    return x * factor\n\n"
            "double = functools.partial(scale, factor=2)\n\ndef step(x):\n    return double(x)\n",
            "factor=2",
            "factor=3",
        ),
        (
            "helper = lambda x: x + 1\n\ndef step(x):\n    return helper(x)\n",
            "x + 1",
            "x + 2",
        ),
        (
            "class Model:\n    def predict(self, x):\n        return x + 1\n\nMODEL = Model()\n\n"
            "def step(x):\n    return MODEL.predict(x)\n",
            "x + 1",
            "x + 2",
        ),
        (
            "class Box:\n    @property\n    def size(self):\n        return 1\n\n"
            "    @size.setter\n    def size(self, v):\n        self.v = v\n\n"
            "def step(x):\n    return Box().size\n",
            "self.v = v",
            "self.v = -v",
        ),
    ],
    ids=["lru_cache", "partial", "lambda", "instance-of-project-class", "property-setter"],
)
def test_other_ways_to_reach_a_helper(user: UserModules, source: str, old: str, new: str) -> None:
    before, after = edited(user, "m", source, old, new)
    assert before != after


def test_classes_without_source_fall_back_to_bytecode() -> None:
    base = (
        "class Model:\n    '''doc'''\n    alpha = 0.1\n"
        "    def fit(self, x):\n        return helper(x) * self.alpha\n"
        "def helper(x):\n    return x + 1\n"
        "def step(x):\n    return Model().fit(x)\n"
    )
    digest = code_hash(_exec(base)["step"])
    assert code_hash(_exec(base.replace("'''doc'''", "'''new doc'''"))["step"]) == digest
    for old, new in [("alpha = 0.1", "alpha = 0.2"), ("* self.alpha", "/ self.alpha")]:
        assert code_hash(_exec(base.replace(old, new))["step"]) != digest, old
    # helper() is only reached through the method's bytecode
    assert code_hash(_exec(base.replace("x + 1", "x + 2"))["step"]) != digest


def test_lazy_library_imports_inside_a_step_are_not_imported() -> None:
    candidates = ("tabnanny", "pyclbr", "colorsys", "wave", "sched")
    name = next((n for n in candidates if n not in sys.modules), None)
    if name is None:
        pytest.skip("every candidate module is imported already")
    namespace = _exec(f"def step(x):\n    import {name}\n    return {name}.__name__\n")
    code_hash(namespace["step"])
    assert name not in sys.modules


# -- what counts as the user's project --------------------------------------------------------


def test_library_paths_are_not_the_project(tmp_path: Any) -> None:
    from bevel.cache import _project

    assert _project.is_user_path(str(tmp_path / "mylib" / "features.py"))
    assert not _project.is_user_path(json.__file__)
    assert not _project.is_user_path(pytest.__file__)
    assert not _project.is_user_path("/opt/app/.venv/lib/python3.11/site-packages/x/y.py")
    assert not _project.is_user_path("/usr/lib/python3/dist-packages/x/y.py")
    assert not _project.is_user_path("<string>")


def test_the_steps_own_package_is_the_project_even_when_installed() -> None:
    from bevel.cache import _project

    installed = ModuleType("mypkg.features")
    installed.__file__ = "/opt/venv/lib/python3.11/site-packages/mypkg/features.py"
    assert _project.is_user_module(installed, project="mypkg")
    assert not _project.is_user_module(installed, project="other")
    assert not _project.is_user_module(json, project="mypkg")
    import bevel.cache.key

    assert not _project.is_user_module(bevel.cache.key, project="mypkg")


def test_state_of_project_config_objects_counts(user: UserModules) -> None:
    source = """
    import dataclasses

    @dataclasses.dataclass(frozen=True, slots=True)
    class Config:
        lr: float = 0.1
        layers: tuple = (64, 32)

    class Plain:
        def __init__(self, depth):
            self.depth = depth

    CONFIG = Config(lr=0.1)
    PLAIN = Plain(depth=3)

    def step(x):
        return x * CONFIG.lr + PLAIN.depth
    """
    for old, new in [("Config(lr=0.1)", "Config(lr=0.2)"), ("depth=3", "depth=4")]:
        before, after = edited(user, "m", source, old, new)
        assert before != after, old
    mod: Any = user.load("m")
    assert code_parts(mod.step)[f"{user.name('m')}:PLAIN"] == "=Plain({'depth': 4})"
    before = code_hash(mod.step)
    mod.PLAIN.depth = 5  # mutated in place: the memo notices
    assert code_hash(mod.step) != before


def test_objects_wrapping_themselves_do_not_loop() -> None:
    class Loop:
        pass

    loop = Loop()
    loop.__wrapped__ = loop  # type: ignore[attr-defined]
    namespace = _exec("def step(x):\n    return LOOP(x)\n")
    namespace["LOOP"] = loop
    assert code_hash(namespace["step"]).startswith("sha256:")
