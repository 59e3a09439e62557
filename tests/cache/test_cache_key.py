"""The cache key: deterministic, order-insensitive, sensitive to every ingredient."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bevel.cache import (
    CACHE_KEY_VERSION,
    CacheIngredients,
    cache_key,
    canonical_json,
    explain,
    ingredients_for,
)
from bevel.dag.plan import OutputSpec, StepOptions, StepSpec

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)
hashes = st.text("0123456789abcdef", min_size=8, max_size=64).map(lambda h: "sha256:" + h)
names = st.text(min_size=1, max_size=12)
ingredients = st.builds(
    CacheIngredients,
    code_hash=hashes,
    params=json_objects,
    inputs=st.dictionaries(names, hashes, max_size=4),
    materializers=st.dictionaries(names, st.text(min_size=1), max_size=3),
    options=json_objects,
)


def tag(value: Any) -> Any:
    """A form of a JSON value in which 1, 1.0, True and -0.0 / 0.0 all differ."""
    if isinstance(value, bool) or value is None:
        return ("const", repr(value))
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, list | tuple):
        return ("list", tuple(tag(v) for v in value))
    return ("dict", tuple(sorted((k, tag(v)) for k, v in value.items())))


def reversed_order(value: Any) -> Any:
    """The same value with every dict built in the opposite insertion order."""
    if isinstance(value, dict):
        return {k: reversed_order(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_order(v) for v in value]
    return value


def with_params(params: dict[str, Any]) -> CacheIngredients:
    return CacheIngredients(code_hash="sha256:00", params=params)


BASE = CacheIngredients(
    code_hash="sha256:aa",
    params={"lr": 0.1, "layers": [64, 32]},
    inputs={"data": "sha256:d1"},
    materializers={"output": "bevel.m:Json@1"},
    options={"seed": 0},
)

# -- properties ---------------------------------------------------------------------------------


@given(ingredients)
def test_key_is_deterministic_and_well_formed(ing: CacheIngredients) -> None:
    key = cache_key(ing)
    assert key == cache_key(ing)
    assert key.startswith("sha256:") and len(key) == 71


@given(ingredients)
def test_key_ignores_dict_insertion_order(ing: CacheIngredients) -> None:
    shuffled = CacheIngredients(
        code_hash=ing.code_hash,
        params=reversed_order(dict(ing.params)),
        inputs=reversed_order(dict(ing.inputs)),
        materializers=reversed_order(dict(ing.materializers)),
        options=reversed_order(dict(ing.options)),
    )
    assert cache_key(shuffled) == cache_key(ing)


@given(json_values, json_values)
def test_key_tells_any_two_param_values_apart(a: Any, b: Any) -> None:
    assume(tag(a) != tag(b))
    assert cache_key(with_params({"p": a})) != cache_key(with_params({"p": b}))
    assert cache_key(with_params({"p": {"deep": [a]}})) != cache_key(
        with_params({"p": {"deep": [b]}})
    )


@given(ingredients, st.data())
def test_key_changes_with_every_ingredient(ing: CacheIngredients, data: st.DataObject) -> None:
    key = cache_key(ing)
    other_hash = data.draw(hashes.filter(lambda h: h != ing.code_hash))
    assert cache_key(_replace(ing, code_hash=other_hash)) != key
    name = data.draw(names)
    value = data.draw(json_values)
    params = {**ing.params, name: value}
    assume(tag(params) != tag(dict(ing.params)))
    assert cache_key(_replace(ing, params=params)) != key
    options = {**ing.options, name: value}
    if tag(options) != tag(dict(ing.options)):
        assert cache_key(_replace(ing, options=options)) != key
    content = data.draw(hashes)
    if ing.inputs.get(name) != content:
        assert cache_key(_replace(ing, inputs={**ing.inputs, name: content})) != key
    materializer = data.draw(st.text(min_size=1))
    if ing.materializers.get(name) != materializer:
        changed = {**ing.materializers, name: materializer}
        assert cache_key(_replace(ing, materializers=changed)) != key


def _replace(ing: CacheIngredients, **changes: Any) -> CacheIngredients:
    fields = {
        "code_hash": ing.code_hash,
        "params": ing.params,
        "inputs": ing.inputs,
        "materializers": ing.materializers,
        "options": ing.options,
    }
    return CacheIngredients(**{**fields, **changes})


@given(json_values)
def test_canonical_json_round_trips(value: Any) -> None:
    text = canonical_json(value)
    back = json.loads(text)
    assert tag(back) == tag(value)
    assert canonical_json(back) == text  # stable through a JSON round trip (remote workers)
    assert canonical_json(reversed_order(value)) == text


@given(json_values)
def test_tuples_are_arrays(value: Any) -> None:
    assert canonical_json((value, [value])) == canonical_json([value, [value]])


# -- examples ------------------------------------------------------------------------------------


def test_one_one_point_zero_and_true_are_three_keys() -> None:
    keys = {cache_key(with_params({"x": v})) for v in (1, 1.0, True, "1", [1], None, 0)}
    assert len(keys) == 7
    assert canonical_json({"b": [1, 1.0, True], "a": "é"}) == '{"a":"é","b":[1,1.0,true]}'


def test_float_text_is_exact() -> None:
    for f in (0.1, 1e-300, 1e16, -0.0, 2.0**0.5, 123456789.123456789):
        assert float(canonical_json(f)) == f
        assert math.copysign(1, float(canonical_json(f))) == math.copysign(1, f)


def test_subclasses_of_json_scalars_are_written_as_plain_values() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    assert canonical_json({"level": Level.HIGH}) == '{"level":3}'


def test_as_dict_is_versioned_json() -> None:
    data = BASE.as_dict()
    assert data["version"] == CACHE_KEY_VERSION
    assert set(data) == {"version", "code_hash", "params", "inputs", "materializers", "options"}
    assert json.loads(canonical_json(data)) == data
    params_as_tuple = CacheIngredients(code_hash="sha256:aa", params={"layers": (64, 32)})
    assert params_as_tuple.as_dict()["params"] == {"layers": [64, 32]}


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"lr": math.nan}, "params.lr"),
        ({"lr": math.inf}, "params.lr"),
        ({"net": {"layers": [1, 2, -math.inf]}}, r"params.net.layers\[2\]"),
        ({"when": object()}, "params.when"),
        ({"blob": b"bytes"}, "params.blob"),
        ({"tags": {"a", "b"}}, "params.tags"),
        ({"m": {1: "a"}}, "params.m"),
        ({"odd key": [math.nan]}, r'params\["odd key"\]\[0\]'),
    ],
)
def test_non_json_values_are_rejected_with_their_path(params: dict[str, Any], path: str) -> None:
    with pytest.raises(TypeError, match=f"^{path}: "):
        cache_key(with_params(params))


def test_other_ingredients_are_checked_too() -> None:
    with pytest.raises(TypeError, match=r"^options.seed: "):
        cache_key(CacheIngredients(code_hash="sha256:aa", options={"seed": math.nan}))
    with pytest.raises(TypeError, match=r"^inputs.data: expected a string"):
        cache_key(CacheIngredients(code_hash="sha256:aa", inputs={"data": 3}))  # type: ignore[dict-item]
    with pytest.raises(TypeError, match=r"^value: nan"):
        canonical_json(math.nan)
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(TypeError, match=r"^value\[0\]: circular reference"):
        canonical_json(loop)


def test_ingredients_for_a_plan_step() -> None:
    spec = StepSpec(
        id="train",
        name="train",
        source="pipe:train",
        file="pipe.py",
        line=3,
        call_file="pipe.py",
        call_line=20,
        code_hash="sha256:c0de",
        params={"C": 0.5},
        inputs={},
        after=(),
        outputs=(
            OutputSpec("model", "sklearn:LR", "bevel.m:Sklearn", "2"),
            OutputSpec("extra", "", "bevel.m:Pickle", "1", pickle=True),
        ),
        options=StepOptions(retries=3, retry_delay=5.0, resources={"gpu": 1}, enable_cache=True),
    )
    ing = ingredients_for(spec, {"data": "sha256:d1"})
    assert ing.code_hash == "sha256:c0de"
    assert ing.params == {"C": 0.5}
    assert ing.inputs == {"data": "sha256:d1"}
    assert ing.materializers["model"] == "bevel.m:Sklearn@2"
    assert ing.materializers["extra"].startswith("bevel.m:Pickle@1+pickle-py3.")
    # No step option changes what a step returns: retries, backoff and resources change how
    # it runs, so none of them is an ingredient.
    assert ing.options == {}
    plain = StepSpec(**{**spec.__dict__, "options": StepOptions()})
    assert cache_key(ingredients_for(plain, {"data": "sha256:d1"})) == cache_key(ing)


# -- explain -----------------------------------------------------------------------------------


def test_explain_without_a_previous_run() -> None:
    assert explain(None, BASE.as_dict()) == ["no previous run of this step"]


def test_explain_when_nothing_changed() -> None:
    assert explain(BASE.as_dict(), BASE.as_dict()) == [
        "nothing changed: same code, parameters, inputs, materializers and options"
    ]


def test_explain_names_each_changed_ingredient() -> None:
    current = CacheIngredients(
        code_hash="sha256:bb",
        params={"lr": 0.2, "layers": [64, 32], "momentum": 0.9},
        inputs={"data": "sha256:d2", "labels": "sha256:l1"},
        materializers={"output": "bevel.m:Json@2"},
        options={"seed": 1},
    ).as_dict()
    previous = {**BASE.as_dict(), "version": 0}
    assert explain(previous, current) == [
        "cache key format changed (version 0 -> 1): every step runs again once",
        "code changed (sha256:aa -> sha256:bb)",
        "param lr changed: 0.1 -> 0.2",
        "param momentum added: 0.9",
        "input data changed: its data differs (sha256:d1 -> sha256:d2)",
        "input labels added",
        "materializer of output 'output' changed: bevel.m:Json@1 -> bevel.m:Json@2",
        "option seed changed: 0 -> 1",
    ]


def test_explain_shows_int_float_and_bool_apart() -> None:
    old, new = with_params({"n": 1, "flag": 1}).as_dict(), with_params({"n": 1.0}).as_dict()
    assert explain(old, new) == ["param flag removed (was 1)", "param n changed: 1 -> 1.0"]
    assert explain(with_params({"n": 1}).as_dict(), with_params({"n": True}).as_dict()) == [
        "param n changed: 1 -> true"
    ]


def test_explain_names_the_helper_or_constant_that_changed() -> None:
    previous = {
        **BASE.as_dict(),
        "code_parts": {
            "<step>": "ast:sha256:1",
            "mylib.features:scale": "ast:sha256:2",
            "pipe:THRESHOLD": "=0.5",
            "pipe:old_helper": "ast:sha256:3",
        },
    }
    current = {
        **BASE.as_dict(),
        "code_hash": "sha256:cc",
        "code_parts": {
            "<step>": "ast:sha256:1",
            "mylib.features:scale": "ast:sha256:9",
            "pipe:THRESHOLD": "=0.7",
            "pipe:new_helper": "ast:sha256:4",
        },
    }
    assert explain(previous, current) == [
        "code changed: helper mylib.features:scale",
        "code changed: constant pipe:THRESHOLD 0.5 -> 0.7",
        "code changed: now uses helper pipe:new_helper",
        "code changed: no longer uses helper pipe:old_helper",
    ]


def test_explain_truncates_long_values() -> None:
    old = with_params({"text": "a" * 200}).as_dict()
    new = with_params({"text": "b" * 200}).as_dict()
    (line,) = explain(old, new)
    assert line.startswith('param text changed: "aaaa') and "…" in line and len(line) < 160


def test_explain_and_the_fingerprint_agree_on_the_steps_own_part() -> None:
    from bevel.cache import SELF, key

    assert key._SELF == SELF
