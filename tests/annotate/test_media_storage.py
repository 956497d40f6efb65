"""Media on shared storage (issue 13): item images stored in and served from an S3-compatible
bucket, tested against a local S3 server (moto's) that the test starts; images served to API
clients by token as well as to browsers by session."""

from __future__ import annotations

import io
import socket

import boto3
import pytest
from rest_framework.authtoken.models import Token

from annotate import services
from annotate.models import Item
from tests.factories import UserFactory
from tests.typedata import jsonl_bytes, png_bytes, zip_bytes

BUCKET = "dissensus-media"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(s3_endpoint, settings):
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "location": "media",
                "default_acl": None,
                "file_overwrite": True,
            },
        },
    }
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for entry in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=entry["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def image_item(lead, s3):
    project = services.project_create(
        name="args", task_type="visual_argument", created_by=lead, overlap=2
    )
    manifest = jsonl_bytes([{"external_id": "v1", "image": "p.png", "conclusion": "Buy it."}])
    services.items_import(
        project=project,
        stream=io.BytesIO(zip_bytes({"manifest.jsonl": manifest, "p.png": png_bytes(40, 30)})),
    )
    return Item.objects.get(project=project)


def test_an_imported_image_is_stored_in_the_bucket(image_item, s3):
    path = image_item.payload["image"]["path"]
    stored = s3.get_object(Bucket=BUCKET, Key=f"media/{path}")["Body"].read()
    assert stored == png_bytes(40, 30)


def test_a_stored_path_import_reads_the_image_back_from_the_bucket(image_item, s3, lead):
    other = services.project_create(name="again", task_type="visual_argument", created_by=lead)
    path = image_item.payload["image"]["path"]
    services.items_import(
        project=other, stream=io.BytesIO(jsonl_bytes([{"external_id": "w", "image": path}]))
    )
    assert Item.objects.get(project=other).payload["image"]["width"] == 40


def test_the_image_is_served_from_the_bucket_to_a_member_by_session(
    image_item, make_annotator, client
):
    client.force_login(make_annotator("annie", in_project=image_item.project))
    response = client.get(f"/i/{image_item.pk}/files/image/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png_bytes(40, 30)


def test_the_image_is_served_to_an_api_client_by_token(image_item, make_annotator, client):
    token = Token.objects.create(user=make_annotator("robot", in_project=image_item.project))
    response = client.get(
        f"/i/{image_item.pk}/files/image/", HTTP_AUTHORIZATION=f"Token {token.key}"
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes(40, 30)


def test_a_token_outside_the_project_or_a_wrong_token_gets_no_image(image_item, client):
    stranger = Token.objects.create(user=UserFactory(username="stranger"))
    url = f"/i/{image_item.pk}/files/image/"
    assert client.get(url, HTTP_AUTHORIZATION=f"Token {stranger.key}").status_code == 404
    wrong = client.get(url, HTTP_AUTHORIZATION="Token not-a-token")
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "authentication_failed"
    assert client.get(url).status_code == 302  # a browser without a session: the login page
