"""Schemathesis against the server's own OpenAPI schema: every response is a documented
status with a JSON body, never a 500 and never a traceback, whatever is sent."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

from genrekit.serve.app import create_app  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def operations(tiny_checkpoint):
    from fastapi.testclient import TestClient

    from genrekit.inference.classifier import load_classifier

    app = create_app(load_classifier(tiny_checkpoint), max_upload=256 * 1024)
    with TestClient(app):  # runs the lifespan (temp folder, semaphore)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        ops = [r.ok() for r in schema.get_all_operations()]
        yield {f"{op.method.upper()} {op.path}": op for op in ops}


def test_the_schema_lists_every_endpoint(operations):
    assert set(operations) == {"GET /healthz", "GET /v1/models", "POST /v1/predict"}


@pytest.mark.parametrize("name", ["GET /healthz", "GET /v1/models", "POST /v1/predict"])
def test_every_response_is_documented_and_never_a_crash(operations, name):
    op = operations[name]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
              database=None)
    @given(data=st.data())
    def check(data):
        case = data.draw(op.as_strategy())
        response = case.call()
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text
        # any bytes are a schema-valid `file`, and non-audio is rightly refused (415/422):
        # so "schema-valid data must be accepted" does not apply; every other check does
        case.validate_response(response, excluded_checks=[positive_data_acceptance])

    check()
