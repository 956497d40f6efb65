"""A reused database connection between requests (issue 11): a connection the server dropped
fails no request (the health check finds it and reconnects), and a healthy one costs no
``SELECT 1`` (``core.middleware.DatabaseLivenessMiddleware`` vouches for a quiet socket).

Requests go through Django's WSGI handler, as gunicorn's workers call it (the test client
leaves out the ``request_started`` handling that resets the check)."""

import io
import json
import sys
import tempfile
import time

import psycopg
import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from rest_framework.authtoken.models import Token

from annotate.models import Annotation
from tests.annotate.test_api_lane import make as make_lane_project
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _get(app: WSGIHandler, path: str, token: str) -> int:
    return _call(app, "GET", path, token)[0]


def _call(app: WSGIHandler, method: str, path: str, token: str, body: bytes = b"") -> tuple:
    """(status, body) of one request through the WSGI handler."""
    environ = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver", "HTTP_AUTHORIZATION": f"Token {token}",
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False, "REMOTE_ADDR": "127.0.0.1",
    }  # fmt: skip
    status: list[str] = []
    answer = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
    return int(status[0].split()[0]), answer


def _admin() -> psycopg.Connection:
    """A second connection to the test database."""
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"] or None,
        password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True,
    )  # fmt: skip


def _sent_select_1(app: WSGIHandler, token: str) -> bool:
    """Whether one request sends ``SELECT 1`` (libpq's trace of what the client sends)."""
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+b") as trace:
        pgconn.trace(trace.fileno())
        try:
            assert _get(app, "/api/v1/projects/", token) == 200
        finally:
            pgconn.untrace()
        trace.seek(0)
        sent = [line for line in trace.read().decode().splitlines() if "\tF\t" in line]
        return any(line.endswith('Query\t "SELECT 1"') for line in sent)


@pytest.fixture
def app_and_token():
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"]
    token = Token.objects.create(user=UserFactory()).key
    app = WSGIHandler()
    assert _get(app, "/api/v1/projects/", token) == 200
    return app, token


def _drop_the_connection() -> int:
    """Have the server end this process's connection; its backend pid."""
    old_pid = connection.connection.info.backend_pid
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [old_pid])
        deadline = time.monotonic() + 10
        while admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [old_pid]
        ).fetchone() != (0,):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return old_pid


def test_a_connection_the_server_dropped_fails_no_request(app_and_token):
    app, token = app_and_token
    old_pid = _drop_the_connection()
    assert _get(app, "/api/v1/projects/", token) == 200
    assert connection.connection.info.backend_pid != old_pid
    assert _get(app, "/api/v1/projects/", token) == 200


def test_a_quiet_healthy_connection_is_not_pinged(app_and_token):
    app, token = app_and_token
    pid = connection.connection.info.backend_pid
    assert not _sent_select_1(app, token)
    assert connection.connection.info.backend_pid == pid  # the same connection, reused


def test_something_waiting_on_the_socket_sends_the_check(app_and_token):
    """A notification waiting on the socket (as the server's last words would be) leaves the
    decision to Django's SELECT 1, which finds the connection usable and keeps it."""
    app, token = app_and_token
    pid = connection.connection.info.backend_pid
    connection.connection.execute("LISTEN dissensus_liveness_test")
    with _admin() as admin:
        admin.execute("NOTIFY dissensus_liveness_test")
    time.sleep(0.2)
    assert _sent_select_1(app, token)
    assert connection.connection.info.backend_pid == pid


def test_the_hot_path_fails_no_request_on_a_dropped_connection():
    """next and submit's hot path uses the connection around Django's cursor: it still checks
    it first (the token is cached by then, so the hot path is the request's first query)."""
    project, user, _ = make_lane_project()
    token = Token.objects.get(user=user).key
    app = WSGIHandler()
    url = f"/api/v1/projects/{project.pk}/next/"
    status, body = _call(app, "POST", url, token)
    assert status == 200
    assignment = json.loads(body)["assignment"]["id"]
    for _ in range(2):  # a drop before a submit, then before a next
        old_pid = _drop_the_connection()
        submit = f"/api/v1/assignments/{assignment}/submit/"
        status, body = _call(app, "POST", submit, token, b'{"value": {"preference": 1}}')
        assert status == 201, body
        assert connection.connection.info.backend_pid != old_pid
        _drop_the_connection()
        status, body = _call(app, "POST", url, token)
        assert status == 200, body
        assignment = json.loads(body)["assignment"]["id"]
    assert Annotation.objects.filter(annotator=user).count() == 2
