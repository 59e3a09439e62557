"""YAML run config: values applied, unknown keys and wrong types named with the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bevel import pipeline, step
from bevel.api import compile_pipeline
from bevel.errors import ConfigError, ParameterError


@step
def scale(x: int = 1, factor: float = 2.0) -> float:
    return x * factor


@pipeline
def p(x: int = 1) -> None:
    scale(x)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_config_sets_run_name_params_step_options(tmp_path: Path) -> None:
    cfg = write(
        tmp_path,
        "run_name: nightly\nenable_cache: false\nparameters: {x: 7}\n"
        "steps:\n  scale:\n    parameters: {factor: 3.5}\n    retries: 4\n",
    )
    plan = compile_pipeline(p, config=cfg).plan
    assert plan.run_name == "nightly" and plan.params == {"x": 7}
    spec = plan.step("scale")
    assert spec.params == {"x": 7, "factor": 3.5}
    assert spec.options.retries == 4 and spec.options.enable_cache is False
    # explicit params beat the config; with_options(config=...) works too
    assert compile_pipeline(p.with_options(config=cfg), params={"x": 1}).plan.params == {"x": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paramters: {x: 1}\n", "unknown key 'paramters'"),
        ("steps:\n  scale:\n    retry: 1\n", "unknown key 'steps.scale.retry'"),
        ("enable_cache: maybe\n", "'enable_cache' in the run config .* must be a true/false"),
        ("steps:\n  scale:\n    retries: two\n", "'steps.scale.retries' .* must be an integer"),
        ("- a\n- b\n", "must be a mapping of keys"),
        ("parameters: [\n", "is not valid YAML"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path: Path, text: str, expected: str) -> None:
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as err:
        compile_pipeline(p, config=cfg)
    assert str(cfg) in str(err.value)


def test_unknown_step_and_step_parameter(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="unknown step\\(s\\) 'scal'"):
        compile_pipeline(p, config=write(tmp_path, "steps:\n  scal: {}\n"))
    with pytest.raises(ParameterError, match="has no parameter 'y'"):
        compile_pipeline(p, config=write(tmp_path, "steps:\n  scale:\n    parameters: {y: 1}\n"))
    with pytest.raises(ParameterError, match="has no parameter\\(s\\) 'z'"):
        compile_pipeline(p, config=write(tmp_path, "parameters: {z: 1}\n"))


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run config file not found"):
        compile_pipeline(p, config=tmp_path / "nope.yaml")
