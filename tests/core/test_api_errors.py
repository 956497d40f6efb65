"""A server error under /api/ answers the API's JSON error body, not Django's HTML page."""

import pytest
from django.test import Client


@pytest.mark.urls("tests.core.failing_urls")
def test_a_500_under_api_has_the_json_error_body(db):
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/boom/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "server_error",
        "message": "an unexpected error happened on the server",
    }
    page = client.get("/boom/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")
