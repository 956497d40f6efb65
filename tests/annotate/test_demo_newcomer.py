"""The newcomer path (issue 10, point 8): the demo prints an admin login; the demo lead can
register predictors."""

import io

from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    return out.getvalue()


def printed_password(out: str, role: str) -> tuple[str, str]:
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] == role:
            return parts[0], parts[2]
    raise AssertionError(f"no {role} login printed")


def test_demo_prints_a_working_admin_login(db):
    out = run_demo()
    username, password = printed_password(out, "admin")
    admin = get_user_model().objects.get(username=username)
    assert admin.is_staff and admin.is_superuser
    assert admin.check_password(password)
    assert "/admin/" in out


def test_demo_lead_may_register_predictors(db):
    run_demo()
    lead = get_user_model().objects.get(username="lead")
    assert not lead.is_staff
    assert lead.has_perm("models_runtime.add_predictor")
    client = APIClient()
    client.force_authenticate(lead)
    # Allowed past the permission check: only the (empty) body is refused.
    response = client.post("/api/v1/predictors/", {}, format="json")
    assert response.status_code == 400, response.content
