"""Schemathesis over the OpenAPI schema (issue 13): generated requests, valid and invalid, against
every operation, bounded (a few examples each), as a signed-in lead with a project and items.
No server errors, and responses (status codes, content types, bodies) as the schema says."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


@pytest.fixture(autouse=True)
def requests_keep_the_test_connection():
    """As Django's test client does: the test's transaction holds the connection, so requests
    must not close it when they finish."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def lead_token(lead, project, import_pairs):
    import_pairs(3)
    return Token.objects.create(user=lead).key


@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, lead_token, db):
    case.call_and_validate(headers={"Authorization": f"Token {lead_token}"}, checks=CHECKS)
