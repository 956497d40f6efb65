"""A server error under /api/ answers the API's JSON error body, not Django's HTML page."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory


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


def test_an_api_path_matching_no_route_answers_the_json_body(client):
    response = client.get("/api/v1/projects/-1/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "no such API path"}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_the_schema_documents_the_error_responses_of_every_operation(client):
    schema = json.loads(
        client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content
    )
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            assert {"400", "401", "403", "404", "429"} <= codes, (method, path)
            if "requestBody" in operation:
                assert "415" in codes, (method, path)


@pytest.mark.parametrize("value", ["null", "0", "-3", "1.5", "ten"])
def test_a_bad_page_size_is_a_400_naming_it(db, value):
    client = APIClient()
    client.force_authenticate(UserFactory(username="pager"))
    response = client.get(f"/api/v1/projects/?page_size={value}")
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["page_size"]
    assert client.get("/api/v1/projects/?page_size=5000").status_code == 200  # capped
