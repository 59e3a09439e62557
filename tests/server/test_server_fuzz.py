"""schemathesis against the server's OpenAPI schema: generated requests (valid and not) to every
operation, as an admin on a throwaway server, never get a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from bevel.testing.servers import BevelServer, bevel_server

EXAMPLES = 10  # per operation, valid and invalid: ~50 operations, ~800 requests


@pytest.fixture(scope="module")
def fuzzed_server() -> Iterator[BevelServer]:
    with bevel_server() as srv:
        yield srv


def test_no_generated_request_gets_a_server_error(fuzzed_server: BevelServer) -> None:
    headers = {"Authorization": f"Bearer {fuzzed_server.admin_key}"}
    schema = schemathesis.openapi.from_url(
        f"{fuzzed_server.url}/api/v1/openapi.json", headers=headers
    )
    schema.config.update(base_url=fuzzed_server.url, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 45
    failures: list[str] = []
    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error], headers=headers)

        try:
            fuzz()
        except Exception as err:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {err}"[:2000])
    assert not failures, "\n\n".join(failures)
    answered = [line for line in fuzzed_server.log.read_text().splitlines() if "access" in line]
    assert len(answered) >= 5 * len(operations), "the fuzzer sent too few requests"
    statuses = {line.rsplit(" ", 3)[1] for line in answered}
    assert not {s for s in statuses if s.startswith("5")}, statuses
    assert {"200", "404", "422"} <= statuses  # it reached handlers, misses and bad input
