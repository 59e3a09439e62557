"""The flavor table, third-party flavors from entry points, and what the table costs to use."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bevel.errors import ConfigError
from bevel.stack.config import config_fields
from bevel.stack.flavors import BUILTIN_FLAVORS, Flavor, get_flavor, list_flavors
from bevel.stack.stack import COMPONENT_TYPES


@pytest.mark.parametrize("key", list(BUILTIN_FLAVORS), ids="/".join)
def test_builtin_flavors_are_consistent(key: tuple[str, str]) -> None:
    flavor = BUILTIN_FLAVORS[key]
    assert (flavor.type, flavor.name) == key
    assert flavor.type in COMPONENT_TYPES
    assert config_fields(flavor.config_class()) is not None  # the config class imports
    if not flavor.missing():
        assert callable(flavor.load_implementation())
    if flavor.requires:
        assert flavor.install.startswith("pip install")


def test_required_extras_are_named() -> None:
    assert BUILTIN_FLAVORS[("artifact_store", "s3")].install == "pip install 'bevel[s3]'"
    assert BUILTIN_FLAVORS[("metadata_store", "postgresql")].install == (
        "pip install 'bevel[postgresql]'"
    )
    assert BUILTIN_FLAVORS[("metadata_store", "mysql")].install == "pip install 'bevel[mysql]'"


def test_unknown_flavor_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as err:
        get_flavor("artifact_store", "dropbox")
    assert "unknown artifact_store flavor 'dropbox'" in str(err.value)
    assert err.value.hint and "flavors: azure, fsspec, gcs, local, s3;" in err.value.hint
    assert "bevel.flavors" in err.value.hint


def test_unknown_type_lists_the_types() -> None:
    with pytest.raises(ConfigError) as err:
        get_flavor("artifact-store", "local")
    assert "unknown component type 'artifact-store'" in str(err.value)
    assert err.value.hint and "did you mean artifact_store?" in err.value.hint


def test_third_party_flavors_come_from_entry_points(thirdparty: Path) -> None:
    threads = get_flavor("orchestrator", "threads")
    assert threads.provider == "bevel-example-flavor"
    assert threads.implementation == "bevel_example_flavor.orchestrator:ThreadsOrchestrator"
    flavors, problems = list_flavors("orchestrator")
    assert [f.name for f in flavors] == ["dask", "local", "local_parallel", "threads"]
    assert problems == []
    everything, _ = list_flavors()
    assert ("alerter", "file") in {(f.type, f.name) for f in everything}


def test_missing_requirement_is_found_without_importing(thirdparty: Path) -> None:
    flavor = get_flavor("metadata_store", "missing-lib")
    assert flavor.missing() == ["bevel_example_not_installed_lib"]
    assert flavor.install_hint("bevel_example_not_installed_lib") == (
        "pip install 'bevel-example-flavor[tracker]'"
    )


def test_broken_entry_points_are_reported_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tmp_path / "broken_flavor-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-flavor\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[bevel.flavors]\nalerter/nope = broken_flavor_missing_module:FLAVOR\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    flavors, problems = list_flavors("alerter")
    assert "nope" not in [f.name for f in flavors]
    assert len(problems) == 1 and "alerter/nope" in problems[0]
    assert "ModuleNotFoundError" in problems[0]
    with pytest.raises(ConfigError, match="flavor alerter/nope from entry point"):
        get_flavor("alerter", "nope")


def test_flavor_from_plain_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry point may point at any object with a Flavor's attributes."""
    (tmp_path / "plain_flavor.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            @dataclass(frozen=True)
            class Config:
                channel: str = "#ml"

            class SlackFlavor:
                type = "alerter"
                name = "slack"
                implementation = "plain_flavor:Config"
                config = Config
                description = "posts to Slack"
            """
        )
    )
    info = tmp_path / "plain_flavor-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plain-flavor\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[bevel.flavors]\nalerter/slack = plain_flavor:SlackFlavor\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    flavor = get_flavor("alerter", "slack")
    assert isinstance(flavor, Flavor)
    assert (flavor.description, flavor.provider) == ("posts to Slack", "plain-flavor")


_LIGHT = textwrap.dedent(
    """
    import json, sys
    from bevel.stack.config import validate_config
    from bevel.stack.flavors import BUILTIN_FLAVORS, list_flavors
    for flavor in list_flavors()[0]:
        flavor.config_class()
    s3 = BUILTIN_FLAVORS[("artifact_store", "s3")]
    validate_config(s3.config_class(), {"path": "s3://b", "key": "{{s3.key}}"}, where="s3-store")
    heavy = ["s3fs", "botocore", "fsspec", "psycopg", "pymysql", "cryptography", "sqlalchemy.orm"]
    print(json.dumps([m for m in heavy if m in sys.modules]))
    """
)


def test_flavor_configs_import_no_heavy_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _LIGHT], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out.splitlines()[-1]) == []


_DEFAULT_PATH = textwrap.dedent(
    """
    import json, sys
    import bevel.api
    print(json.dumps(sorted(m for m in sys.modules if m.startswith(("bevel.stack", "importlib")))))
    """
)


def test_default_run_path_does_not_import_the_definitions_machinery() -> None:
    """run_pipeline on the default stack needs none of config/secrets/definitions (~10 ms) nor
    the entry-point scan; the flavor table itself is there: it chooses the home store."""
    out = subprocess.run(
        [sys.executable, "-c", _DEFAULT_PATH], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "bevel.stack.flavors" in loaded
    assert not loaded & {
        "importlib.metadata",
        "bevel.stack.config",
        "bevel.stack.secrets",
        "bevel.stack.definitions",
        "bevel.stack.loader",
    }, loaded
