"""The YAML run config: run name, pipeline parameters, per-step parameters and options, caching.

Example ``run.yaml``::

    run_name: nightly-{date}
    enable_cache: false
    visualize: false   # store no visualizations with the artifacts (statistics, previews...)
    parameters:        # pipeline parameters
      C: 0.5
    steps:
      train:           # a step invocation id
        parameters: {max_iter: 500}
        retries: 3
        enable_cache: true
        visualize: true

Unknown keys and wrong types are errors that name the key and the file. The file is read within
the limits of :mod:`bevel.bounded` (size, nesting, YAML aliases, UTF-8).
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any

from bevel._dataclass import dataclass
from bevel._lazy import lazy_module
from bevel._text import with_article
from bevel.bounded import check_nesting, load_yaml_file
from bevel.errors import ConfigError

if TYPE_CHECKING:
    import pathlib
    from pathlib import Path
else:  # a run config given as a file
    pathlib = lazy_module("pathlib")

_STEP_OPTIONS: dict[str, type | tuple[type, ...]] = {
    "parameters": dict,
    "enable_cache": bool,
    "visualize": bool,
    "retries": int,
    "retry_delay": (int, float),
}
_TOP_LEVEL: dict[str, type | tuple[type, ...]] = {
    "run_name": str,
    "enable_cache": bool,
    "visualize": bool,
    "parameters": dict,
    "steps": dict,
}


@dataclass(frozen=True)
class StepRunConfig:
    parameters: dict[str, Any] = field(default_factory=dict)
    enable_cache: bool | None = None
    visualize: bool | None = None
    retries: int | None = None
    retry_delay: float | None = None


@dataclass(frozen=True)
class RunConfig:
    run_name: str | None = None
    enable_cache: bool | None = None
    visualize: bool | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, StepRunConfig] = field(default_factory=dict)
    source: str = "<config>"  # the file it came from, for error messages
    raw: dict[str, Any] = field(default_factory=dict)


def _type_name(expected: type | tuple[type, ...]) -> str:
    if isinstance(expected, tuple):
        return " or ".join(t.__name__ for t in expected)
    return {"dict": "mapping", "str": "string", "bool": "true/false", "int": "integer"}.get(
        expected.__name__, expected.__name__
    )


def _check_keys(
    data: dict[str, Any], schema: dict[str, type | tuple[type, ...]], prefix: str, source: str
) -> None:
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in schema:
            raise ConfigError(
                f"unknown key '{path}' in the run config {source}",
                hint=f"valid keys here: {', '.join(schema)}",
            )
        expected = schema[key]
        wrong_bool = isinstance(value, bool) and expected in (int, (int, float))
        if not isinstance(value, expected) or wrong_bool:
            raise ConfigError(
                f"'{path}' in the run config {source} must be {with_article(_type_name(expected))}, "
                f"got {type(value).__name__} {value!r}",
                hint="fix the value in the file",
            )


def parse_run_config(data: Any, source: str = "<config>") -> RunConfig:
    """Validate a run config given as a mapping (e.g. parsed YAML)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"the run config {source} must be a mapping of keys, got {type(data).__name__}",
            hint="start the file with keys such as 'parameters:' or 'steps:'",
        )
    check_nesting(data, what=f"the run config {source}")
    _check_keys(data, _TOP_LEVEL, "", source)
    steps: dict[str, StepRunConfig] = {}
    for step_id, options in (data.get("steps") or {}).items():
        if not isinstance(options, dict):
            raise ConfigError(
                f"'steps.{step_id}' in the run config {source} must be a mapping",
                hint="e.g. steps: {train: {parameters: {C: 0.5}}}",
            )
        _check_keys(options, _STEP_OPTIONS, f"steps.{step_id}.", source)
        steps[str(step_id)] = StepRunConfig(
            parameters=dict(options.get("parameters") or {}),
            enable_cache=options.get("enable_cache"),
            visualize=options.get("visualize"),
            retries=options.get("retries"),
            retry_delay=options.get("retry_delay"),
        )
    return RunConfig(
        run_name=data.get("run_name"),
        enable_cache=data.get("enable_cache"),
        visualize=data.get("visualize"),
        parameters=dict(data.get("parameters") or {}),
        steps=steps,
        source=source,
        raw=data,
    )


def load_run_config(config: str | Path | dict[str, Any] | RunConfig | None) -> RunConfig:
    """Load a run config from a YAML file path, a mapping, or pass a RunConfig through."""
    if config is None:
        return RunConfig()
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, dict):
        return parse_run_config(config)
    path = pathlib.Path(config)
    if not path.is_file():
        raise ConfigError(
            f"run config file not found: {path}", hint="check the path given to --config"
        )
    import yaml  # light third-party library, only needed when a config file is given

    what = f"the run config {path}"
    try:
        data = load_yaml_file(path, what=what)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{what} is not valid YAML: {exc}",
            hint="check the indentation and quoting at the position shown",
        ) from exc
    return parse_run_config(data, str(path))
