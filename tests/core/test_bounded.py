"""The limits of bevel.bounded, at their edges, and the Python API paths that use them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bevel import pipeline, step
from bevel.api import compile_pipeline
from bevel.bounded import (
    MAX_DEPTH,
    MAX_VALUES,
    check_nesting,
    decode,
    load_json,
    load_yaml,
    read_text,
)
from bevel.errors import ConfigError, ParameterError
from bevel.stack.config import validate_config
from bevel.stack.configs import S3StoreConfig


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_depth_limit_is_exact_for_python_json_and_yaml() -> None:
    check_nesting(nested(MAX_DEPTH), what="v")
    with pytest.raises(ConfigError, match=f"v is nested deeper than {MAX_DEPTH} levels"):
        check_nesting(nested(MAX_DEPTH + 1), what="v")
    ok = "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH
    for load in (load_json, load_yaml):
        assert load(ok, what="x") == nested(MAX_DEPTH)
        with pytest.raises(ConfigError, match="x is nested deeper than"):
            load("[" + ok + "]", what="x")


def test_block_yaml_nesting_is_counted_with_its_line() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 1)) + "  " * 66 + "v\n"
    with pytest.raises(ConfigError, match=r"nested deeper than 64 levels \(line 65\)"):
        load_yaml(text, what="doc")


def test_shared_values_count_each_time_they_appear() -> None:
    row = list(range(1000))
    check_nesting([row] * (MAX_VALUES // 1001 - 1), what="v")
    with pytest.raises(ConfigError, match="expands to more than 1,000,000 values"):
        check_nesting([row] * 1001, what="v")


def test_a_value_that_contains_itself() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    with pytest.raises(ConfigError, match="v contains itself"):
        check_nesting(loop, what="v")


def test_yaml_within_the_limits_is_plain_yaml() -> None:
    text = "base: &b {retries: 2}\nsteps: {a: *b, c: {<<: *b, retries: 3}}\n"
    assert load_yaml(text, what="doc") == yaml.safe_load(text)
    assert load_yaml("", what="doc") is None
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: [", what="doc")
    with pytest.raises(yaml.YAMLError):  # unsafe tags stay refused, as with safe_load
        load_yaml("!!python/object/apply:os.system [echo]", what="doc")


def test_undecodable_bytes_are_located(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"byte 0xff at line 3 \(offset 4\)"):
        decode(b"a\nb\n\xff", what="f")
    folder = tmp_path / "dir"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a folder, not a file"):
        read_text(folder, what="the run config dir")


def test_deep_parameters_from_python_name_the_parameter() -> None:
    @step
    def use(x: Any) -> int:
        return 1

    @pipeline
    def deep_params(x: Any = 0) -> None:
        use(x)

    with pytest.raises(ParameterError, match="parameter 'x' of pipeline 'deep_params' is nested"):
        compile_pipeline(deep_params, params={"x": nested(5000)})


def test_deep_component_settings_from_python() -> None:
    with pytest.raises(ConfigError, match="c: field 'client_kwargs' is nested deeper than"):
        validate_config(
            S3StoreConfig, {"path": "s3://b", "client_kwargs": {"a": nested(5000)}}, where="c"
        )
