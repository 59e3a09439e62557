"""Resource requests and timeouts are checked where the step is defined."""

from __future__ import annotations

import pytest

from bevel import ResourceSettings, step
from bevel.errors import DefinitionError
from bevel.orchestrators.resources import Claim, parse_memory


def test_memory_units() -> None:
    assert parse_memory("4GiB") == 4 * 2**30
    assert parse_memory("512 MB") == 512 * 10**6
    assert parse_memory(1024) == 1024
    for bad in ("lots", "4 parsecs", -1, True):
        with pytest.raises(ValueError, match="memory must be bytes or text like '4GiB'"):
            parse_memory(bad)


def test_resource_settings_compile_to_the_plain_dict() -> None:
    @step(resources=ResourceSettings(cpu=2, gpu=1, memory="1GiB", custom={"license": 1}))
    def train() -> int:
        return 1

    assert train.config.resources == {"cpu": 2, "gpu": 1, "memory": "1GiB", "license": 1}
    assert Claim.of(train.config.resources) == Claim(2.0, 1, 2**30, {"license": 1.0})
    assert Claim.of({}) == Claim(cpu=1.0, gpu=0, memory=0)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"gpu": 0.5}, "resources['gpu'] is 0.5: GPUs are counted in whole devices"),
        ({"cpu": -1}, "resources['cpu'] is -1: expected a non-negative number"),
        ({"memory": "much"}, "resources['memory'] is 'much'"),
        ([1], "resources must be a dict or ResourceSettings, got list"),
    ],
)
def test_bad_resources_point_at_the_step(resources: object, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:

        @step(resources=resources)  # type: ignore[arg-type]
        def train() -> int:
            return 1

    assert message in str(caught.value)
    assert "test_resources.py:" in str(caught.value)


@pytest.mark.parametrize("timeout", [0, -5, "10", True])
def test_a_bad_timeout_is_refused(timeout: object) -> None:
    with pytest.raises(DefinitionError, match="timeout must be a positive number of seconds"):

        @step(timeout=timeout)  # type: ignore[arg-type]
        def train() -> int:
            return 1
