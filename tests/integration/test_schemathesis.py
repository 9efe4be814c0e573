"""Schemathesis over the OpenAPI document: no request the schema allows gets a 5xx or an answer
that contradicts the schema.

Bounded and deterministic (a fixed number of examples per operation, derandomized), against the
ASGI app of a service on a database of its own, with a real token of a project's manager; every
project id in a path is that project's, so generated bodies reach the rules, not just a 404.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi import checks as openapi_checks

from api.app import create_app
from api.bootstrap import bootstrap, upgrade
from api.settings import Settings
from tests.integration.scratch import scratch_database

EXAMPLES_PER_OPERATION = 12


@dataclass
class Service:
    app: FastAPI
    token: str
    project_id: str


@pytest.fixture(scope="module")
def service(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with scratch_database(database_url, "fuzz") as url:
        key = tmp_path_factory.mktemp("keys") / "signing-key"
        settings = Settings(pool_size=4, pool_max_overflow=4, signing_key=key)
        upgrade(url, settings)
        container = bootstrap(settings, url)
        try:
            app = create_app(container)
            with TestClient(app, raise_server_exceptions=False) as client:
                container.principals.add("fuzzer")
                token = container.principals.create_token("fuzzer")
                created = client.post(
                    "/v1/projects",
                    json={"name": "Fuzzed"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert created.status_code == 201
                yield Service(app, token, created.json()["project_id"])
        finally:
            container.close()


def test_no_operation_answers_5xx_or_contradicts_its_schema(service: Service) -> None:
    # Schemathesis' own pytest plugin does not run under pytest 9; its Python API does.
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.app)
    headers = {"Authorization": f"Bearer {service.token}"}
    failures: list[str] = []
    calls: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an invalid operation: {result}"
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def examples(case: Any) -> None:
            if case.path_parameters and "project_id" in case.path_parameters:
                case.path_parameters["project_id"] = service.project_id
            if case.path == "/v1/events/stream":
                # An event stream stays open for `max_seconds`: keep each example short.
                case.query = {**(case.query or {}), "max_seconds": 0.05}
            if case.query and "min_position" in case.query:
                # A position far ahead makes a view read wait 5 s, then 503 by design.
                case.query["min_position"] = min(int(case.query["min_position"]), 1)
            calls.append(case.path)
            response = case.call_and_validate(
                headers=headers, checks=[openapi_checks.response_schema_conformance]
            )
            # The one 5xx by design: 503 + Retry-After while a view catches up (SPEC §3).
            lagging = response.status_code == 503 and "Retry-After" in response.headers
            assert response.status_code < 500 or lagging, (
                f"{case.method} {case.formatted_path} answered {response.status_code}: "
                f"{response.text[:500]}"
            )

        try:
            examples()
        except (AssertionError, BaseExceptionGroup) as error:  # report every operation's
            failures.append(f"{operation.label}: {error}")

    assert operations >= 30
    assert len(calls) >= 5 * operations  # the examples really ran
    assert failures == [], "\n\n".join(failures)
