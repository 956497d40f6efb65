"""Rate limits (issue 13, item 7): the login form locks a username after repeated failures from
one address, and the API throttles per user and per anonymous client, at configurable rates.
Each test sets its own rates (the test settings turn them off)."""

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

PASSWORD = "pw-for-tests-123"


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def locking(settings):
    settings.DISSENSUS_LOGIN_MAX_FAILURES = 10
    settings.DISSENSUS_LOGIN_FAILURE_WINDOW_SECONDS = 900


def log_in(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_thirty_wrong_passwords_then_the_right_one_does_not_log_in(db, locking):
    UserFactory(username="target")
    client = Client()
    answers = [log_in(client, "target", f"guess-{n}").status_code for n in range(30)]
    right = log_in(client, "target", PASSWORD)

    assert answers[:10] == [200] * 10  # the form again, with its error
    assert set(answers[10:]) == {429}
    assert right.status_code == 429
    assert b"Too many failed logins" in right.content
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_username_and_address(db, locking):
    UserFactory(username="target")
    UserFactory(username="other")
    for n in range(10):
        log_in(Client(), "target", f"guess-{n}")

    assert log_in(Client(), "target", PASSWORD).status_code == 429
    assert log_in(Client(), "TARGET ", PASSWORD).status_code == 429  # same name, other spelling
    assert log_in(Client(), "other", PASSWORD).status_code == 302
    assert log_in(Client(), "target", PASSWORD, address="10.0.0.2").status_code == 302


def test_a_lock_ends_with_its_window(db, settings):
    settings.DISSENSUS_LOGIN_MAX_FAILURES = 3
    settings.DISSENSUS_LOGIN_FAILURE_WINDOW_SECONDS = 900
    UserFactory(username="target")
    for n in range(3):
        log_in(Client(), "target", f"guess-{n}")
    assert log_in(Client(), "target", PASSWORD).status_code == 429

    cache.clear()  # what the window's expiry does to the counter

    assert log_in(Client(), "target", PASSWORD).status_code == 302


def test_a_successful_login_clears_earlier_failures(db, settings):
    settings.DISSENSUS_LOGIN_MAX_FAILURES = 3
    UserFactory(username="target")
    for _ in range(2):
        log_in(Client(), "target", "wrong")
    assert log_in(Client(), "target", PASSWORD).status_code == 302
    for _ in range(2):
        log_in(Client(), "target", "wrong")
    assert log_in(Client(), "target", PASSWORD).status_code == 302


def test_the_api_throttles_a_user_past_the_rate(db, settings):
    settings.DISSENSUS_API_THROTTLE_RATES = {"anon": None, "user": "3/minute"}
    user = UserFactory(username="busy")
    client = APIClient()
    client.force_authenticate(user)
    codes = [client.get("/api/v1/projects/").status_code for _ in range(5)]
    other = APIClient()
    other.force_authenticate(UserFactory(username="calm"))

    assert codes == [200, 200, 200, 429, 429]
    assert other.get("/api/v1/projects/").status_code == 200
    body = client.get("/api/v1/projects/").json()
    assert body["code"] == "throttled" and "available in" in body["message"]


def test_token_requests_count_against_their_user(db, settings):
    settings.DISSENSUS_API_THROTTLE_RATES = {"anon": None, "user": "2/minute"}
    token = Token.objects.create(user=UserFactory(username="robot"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    codes = [client.get("/api/v1/projects/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_anonymous_api_requests_are_throttled_per_address(db, settings):
    settings.DISSENSUS_API_THROTTLE_RATES = {"anon": "2/minute", "user": None}
    client = APIClient()  # the schema is the API's one page open to anyone
    codes = [client.get("/api/v1/schema/", REMOTE_ADDR="10.1.1.1").status_code for _ in range(3)]
    elsewhere = client.get("/api/v1/schema/", REMOTE_ADDR="10.1.1.2").status_code
    assert codes == [200, 200, 429]
    assert elsewhere == 200
