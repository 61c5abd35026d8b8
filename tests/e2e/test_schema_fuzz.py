"""Schemathesis against the live OpenAPI document, with a valid Bearer key: bounded examples
per operation; no 5xx, and every response conforms to the documented schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.stack import Stack
from tests.e2e.test_flow import bearer, mint

EXAMPLES_PER_OPERATION = 40


@pytest.fixture
def api(make_stack: type[Stack]) -> Stack:
    stack = make_stack({"PLAN_CREDITS": "100000", "MINT_LIMIT_PER_ADDRESS": "100000"})
    stack.start_api()
    stack.start_worker()
    return stack


@pytest.mark.timeout(600)
def test_every_operation_against_the_live_schema(api: Stack) -> None:
    with api.client() as client:
        headers = bearer(mint(client))
        client.post("/v1/images/generations", json={"prompt": "seed a job"}, headers=headers)
    schema = schemathesis.openapi.from_url(api.url + "/schema/openapi.json")
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    # Revoking the key would turn every later example into a 401; it has its own tests.
    operations = [op for op in operations if (op.method, op.path) != ("delete", "/v1/me")]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=api.url, headers=headers, checks=checks)

        check()
