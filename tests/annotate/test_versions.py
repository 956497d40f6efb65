"""Two tabs, one item (issue 10, point 5): a submit based on an outdated version is refused."""

import pytest
from django.test import Client

from annotate import services
from annotate.models import Annotation
from core.errors import Conflict


@pytest.fixture
def reserved(project, make_annotator, import_pairs):
    import_pairs(3)
    annotator = make_annotator("ann")
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    return annotator, assignment


def test_a_submit_based_on_an_outdated_version_is_refused(reserved):
    annotator, assignment = reserved
    services.annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, value={"preference": 1}, base_version=0
    )
    with pytest.raises(Conflict) as exc:
        services.annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            value={"preference": -1},
            base_version=0,
        )
    assert exc.value.code == "stale_version"
    assert exc.value.current_version == 1
    assert "version 1" in exc.value.message
    assert abs(Annotation.objects.get(assignment=assignment).value["preference"]) == 1


def test_a_submit_based_on_the_current_version_is_stored(reserved):
    annotator, assignment = reserved
    services.annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, value={"preference": 1}, base_version=0
    )
    annotation, _ = services.annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, value={"preference": -1}, base_version=1
    )
    assert annotation.version == 2


def test_without_base_version_the_api_stays_as_before(reserved, api):
    annotator, assignment = reserved
    client = api(annotator)
    url = f"/api/v1/assignments/{assignment.pk}/submit/"
    assert client.post(url, {"value": {"preference": 1}}, format="json").status_code == 201
    assert client.post(url, {"value": {"preference": 2}}, format="json").status_code == 200


def test_api_refuses_a_stale_version_with_409_naming_the_current_one(reserved, api):
    annotator, assignment = reserved
    client = api(annotator)
    url = f"/api/v1/assignments/{assignment.pk}/submit/"
    client.post(url, {"value": {"preference": 1}, "base_version": 0}, format="json")
    response = client.post(url, {"value": {"preference": 2}, "base_version": 0}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "stale_version"
    assert body["current_version"] == 1
    assert "version 1" in body["message"]


def test_second_tab_gets_a_clear_message_and_keeps_the_item(project, reserved):
    annotator, assignment = reserved
    first_tab, second_tab = Client(), Client()
    first_tab.force_login(annotator)
    second_tab.force_login(annotator)
    url = f"/a/{assignment.pk}/submit/"
    first_tab.post(url, {"preference": "1", "base_version": "0"}, HTTP_HX_REQUEST="true")
    response = second_tab.post(
        url, {"preference": "-2", "base_version": "0"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert 'data-conflict="stale_version"' in html
    assert "another tab" in html
    assert f'data-assignment="{assignment.pk}"' in html  # the same item stays, nothing cleared
    assert "Saved." not in html
    assert abs(Annotation.objects.get(assignment=assignment).value["preference"]) == 1


def test_the_annotation_form_carries_its_base_version(project, reserved):
    annotator, assignment = reserved
    client = Client()
    client.force_login(annotator)
    html = client.get(f"/p/{project.pk}/annotate/").content.decode()
    assert 'name="base_version" value="0"' in html
