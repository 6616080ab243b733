"""The read API's OpenAPI document against the server, by a property-based API tester (schemathesis): every
operation, with generated parameters, answers as the document says."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.harness import prometheus_config, start_prometheus
from voice_monitoring.api.server import ApiServer, StreamLimits
from voice_monitoring.api.tokens import Tokens, parse_tokens
from voice_monitoring.scorer.promql import PrometheusClient

pytestmark = pytest.mark.binaries

ADMIN = "admin-token-0123456789abcdef"
ACME = "acme-token-0123456789abcdef"


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("openapi")
    with start_prometheus(tmp, prometheus_config({"nothing": []})) as prom:
        api = ApiServer(
            ("127.0.0.1", 0),
            PrometheusClient(prom.url, timeout=5),
            Tokens(parse_tokens(f"* {ADMIN}\nacme {ACME}\n")),
            stream_limits=StreamLimits(interval=5.0),
        )
        with api.running():
            yield schemathesis.openapi.from_url(f"http://127.0.0.1:{api.port}/openapi.json")


def test_the_server_answers_as_its_openapi_document_says(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {operation.path for operation in operations} >= {"/v1/calls", "/v1/cost", "/v1/latency", "/v1/health"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def answers_as_documented(case):
            for token in (ADMIN, ACME):
                # a schema-valid request may still be refused (400): OpenAPI cannot say that end - start is
                # bounded, or that call_id and month exclude each other
                case.call_and_validate(
                    headers={"Authorization": f"Bearer {token}"}, excluded_checks=[positive_data_acceptance], timeout=10
                )

        answers_as_documented()
