"""Predictors name directories on the workers' disks and endpoint parameters: leads and staff
see them, annotators and users without a project do not (issue 13)."""

from __future__ import annotations

import pytest

from models_runtime.models import Predictor

from ..factories import UserFactory


@pytest.fixture
def predictor(db):
    # Created directly: visibility does not depend on the configuration being runnable.
    return Predictor.objects.create(
        name="rm",
        task_type="preference_pair",
        backend="openai_http",
        params={"base_url": "http://10.0.0.5:8000/v1"},
    )


def test_a_lead_sees_predictors_with_their_configuration(project, lead, predictor, api):
    listed = api(lead).get("/api/v1/predictors/")
    assert listed.status_code == 200
    assert [p["params"] for p in listed.json()["results"]] == [
        {"base_url": "http://10.0.0.5:8000/v1"}
    ]
    assert api(lead).get(f"/api/v1/predictors/{predictor.pk}/").status_code == 200


def test_staff_see_predictors_without_leading_a_project(db, predictor, api):
    staff = UserFactory(username="staff", is_staff=True)
    assert api(staff).get("/api/v1/predictors/").status_code == 200
    assert api(staff).get(f"/api/v1/predictors/{predictor.pk}/").status_code == 200


@pytest.mark.parametrize("who", ["annotator", "no project"])
def test_annotators_and_outsiders_cannot_see_predictors(
    project, make_annotator, predictor, api, who
):
    user = make_annotator("ann") if who == "annotator" else UserFactory(username="outsider")
    listed = api(user).get("/api/v1/predictors/")
    assert listed.status_code == 403
    assert "10.0.0.5" not in listed.content.decode()
    detail = api(user).get(f"/api/v1/predictors/{predictor.pk}/")
    assert detail.status_code == 403 and "10.0.0.5" not in detail.content.decode()


def test_anonymous_requests_see_no_predictors(db, predictor, api):
    assert api().get("/api/v1/predictors/").status_code in (401, 403)
