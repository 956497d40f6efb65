"""The lead's crowd page: settings, annotator table with pause/reinstate, sessions, worker CSV."""

import csv
import io

import pytest
from django.test import Client

from annotate import selectors, services
from annotate.models import CrowdEntry, Item, Membership, Project
from annotate.services import crowd
from tests.conftest import jsonl
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

from .test_crowd_entry import entry_url, label_until_stopped


@pytest.fixture
def world(db):
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, overlap=2, gold_rate=0.0)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    records = [pair_record(i) for i in range(6)]
    records += [
        pair_record(100 + i, external_id=f"gold-{i}", gold={"preference": -2}) for i in range(2)
    ]
    services.items_import(project=project, stream=jsonl(records), fmt="jsonl")
    entry = crowd.crowd_entry_update(project=project, items_per_session=2, completion_code="PAYME")
    annotator = UserFactory(username="annie")
    membership = MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    outsider = UserFactory(username="outsider")
    return project, entry, lead, annotator, membership, outsider


def logged_in(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def lead_urls(project, membership):
    base = f"/p/{project.pk}/crowd"
    gold_item = Item.objects.filter(project=project, is_gold=True).first()
    return {
        "page": ("get", f"{base}/"),
        "csv": ("get", f"{base}/workers.csv"),
        "settings": ("post", f"{base}/settings/"),
        "rotate": ("post", f"{base}/rotate/"),
        "pause": ("post", f"{base}/annotators/{membership.pk}/pause/"),
        "reinstate": ("post", f"{base}/annotators/{membership.pk}/reinstate/"),
        "gold": ("post", f"{base}/gold/"),
        "gold-clear": ("post", f"{base}/gold/{gold_item.pk}/clear/"),
    }


@pytest.mark.parametrize(
    "name", ["page", "csv", "settings", "rotate", "pause", "reinstate", "gold", "gold-clear"]
)
def test_lead_endpoints_refuse_annotators_outsiders_and_anonymous_users(world, name):
    project, entry, lead, annotator, membership, outsider = world
    method, url = lead_urls(project, membership)[name]
    token_before = CrowdEntry.objects.get(project=project).token

    as_annotator = getattr(logged_in(annotator), method)(url)
    as_outsider = getattr(logged_in(outsider), method)(url)
    anonymous = getattr(Client(), method)(url)

    assert as_annotator.status_code == 403
    assert as_outsider.status_code == 404
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    membership.refresh_from_db()
    assert membership.status == "active"
    assert CrowdEntry.objects.get(project=project).token == token_before
    assert Item.objects.filter(project=project, is_gold=True).count() == 2


def test_lead_endpoints_of_another_project_are_out_of_reach(world):
    project, entry, lead, annotator, membership, outsider = world
    other = ProjectFactory(created_by=outsider)
    MembershipFactory(project=other, user=outsider, role=Membership.Role.LEAD)

    response = logged_in(outsider).post(
        f"/p/{other.pk}/crowd/annotators/{membership.pk}/pause/", HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 404
    membership.refresh_from_db()
    assert membership.status == "active"


def test_pause_and_reinstate_are_csrf_protected_htmx_posts(world):
    project, entry, lead, annotator, membership, outsider = world
    url = f"/p/{project.pk}/crowd/annotators/{membership.pk}/pause/"
    client = logged_in(lead, enforce_csrf_checks=True)

    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 403
    assert client.get(url).status_code == 405
    page = client.get(f"/p/{project.pk}/crowd/")
    token = page.cookies["csrftoken"].value
    response = client.post(url, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 200
    row = response.content.decode()
    assert row.startswith(f'<tr id="annotator-{membership.pk}" data-status="paused"')
    assert "Reinstate" in row and "flagged" in row
    membership.refresh_from_db()
    assert (membership.status, membership.flagged) == ("paused", True)

    back = client.post(
        f"/p/{project.pk}/crowd/annotators/{membership.pk}/reinstate/",
        HTTP_HX_REQUEST="true",
        HTTP_X_CSRFTOKEN=token,
    )
    assert 'data-status="active"' in back.content.decode()
    membership.refresh_from_db()
    assert (membership.status, membership.flagged) == ("active", False)


def test_an_unknown_action_is_a_404(world):
    project, entry, lead, annotator, membership, outsider = world
    url = f"/p/{project.pk}/crowd/annotators/{membership.pk}/delete/"
    assert logged_in(lead).post(url).status_code == 404


def test_the_annotator_table_shows_items_gold_accuracy_speed_and_no_fake_agreement(world):
    project, entry, lead, annotator, membership, outsider = world
    project.gold_rate = 1.0
    project.save()
    for preference, spent in ((-1, 4000), (2, 6000), (1, 11000)):  # gold right, gold wrong, item
        assignment = services.assignment_reserve_next(project=project, annotator=annotator)
        services.annotation_submit(
            assignment_id=assignment.pk,
            annotator=annotator,
            value={"preference": preference},
            time_spent_ms=spent,
        )

    html = logged_in(lead).get(f"/p/{project.pk}/crowd/").content.decode()

    row = html[html.index(f'<tr id="annotator-{membership.pk}"') :]
    row = row[: row.index("</tr>")]
    cells = [cell.split(">", 1)[1] for cell in row.split("<td")[1:]]
    assert cells[0].startswith("annie")
    assert cells[1].startswith("3<")  # items done
    assert cells[2].startswith("50% ") and "(1/2)" in cells[2]  # gold accuracy
    assert cells[3].startswith("6.0<")  # median of 4, 6 and 11 seconds
    assert cells[4].startswith("—<")  # agreement with consensus: not computed here
    assert "agreement with consensus" in html


def test_the_worker_csv_lists_each_session_with_its_status_and_code(world):
    project, entry, lead, annotator, membership, outsider = world
    finisher, starter = Client(), Client()
    finisher.get(entry_url(entry, worker="W1", session="S1"))
    label_until_stopped(finisher, project)
    starter.get(entry_url(entry, worker="W2", session="S2"))

    response = logged_in(lead).get(f"/p/{project.pk}/crowd/workers.csv")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_worker = {row["worker_id"]: row for row in rows}
    assert set(by_worker) == {"W1", "W2"}
    assert by_worker["W1"]["status"] == "completed"
    assert by_worker["W1"]["code_shown"] == "PAYME"
    assert by_worker["W1"]["items_done"] == "2"
    assert by_worker["W1"]["completed_at"] != ""
    assert by_worker["W2"]["status"] == "started"
    assert by_worker["W2"]["code_shown"] == ""
    assert (by_worker["W2"]["study_id"], by_worker["W2"]["session_id"]) == ("study1", "S2")


def test_the_worker_csv_has_a_header_when_no_one_came(world):
    project, entry, lead, *_ = world
    response = logged_in(lead).get(f"/p/{project.pk}/crowd/workers.csv")
    header = b"".join(response.streaming_content).decode().strip()
    assert header.split(",") == list(selectors.PAYMENT_COLUMNS)


def test_the_page_shows_the_entry_link_and_session_throughput(world):
    project, entry, lead, *_ = world
    worker = Client()
    worker.get(entry_url(entry, worker="W1", session="S1"))
    label_until_stopped(worker, project)

    html = logged_in(lead).get(f"/p/{project.pk}/crowd/").content.decode()

    assert f"/e/{entry.token}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}" in html
    sessions = html[html.index('id="sessions"') :]
    assert "<code>W1</code>" in sessions and "Completed" in sessions


def test_settings_are_saved_all_or_nothing(world):
    project, entry, lead, *_ = world
    client = logged_in(lead)
    good = {
        "is_open": "on",
        "worker_param": "PROLIFIC_PID",
        "study_param": "STUDY_ID",
        "session_param": "SESSION_ID",
        "items_per_session": "7",
        "completion_code": "NEWCODE",
        "screenout_code": "OUT",
        "completion_url": "https://example.org/done?c={code}",
        "instructions_required": "on",
        "gold_rate": "0.1",
        "gold_min_answers": "4",
        "gold_min_accuracy": "0.75",
        "qualification_pass_mark": "0.9",
    }

    client.post(f"/p/{project.pk}/crowd/settings/", good)

    entry.refresh_from_db()
    project = Project.objects.get(pk=project.pk)
    assert (entry.items_per_session, entry.completion_code) == (7, "NEWCODE")
    assert entry.completion_url == "https://example.org/done?c={code}"
    assert project.instructions_required is True
    assert (project.gold_rate, project.gold_min_answers, project.gold_min_accuracy) == (
        0.1,
        4,
        0.75,
    )

    bad = {**good, "completion_code": "OTHER", "gold_rate": "1.5"}
    page = client.post(f"/p/{project.pk}/crowd/settings/", bad, follow=True)

    assert "gold_rate" in page.content.decode()
    entry.refresh_from_db()
    assert entry.completion_code == "NEWCODE"  # the entry part was rolled back too
    assert Project.objects.get(pk=project.pk).gold_rate == 0.1


def test_a_lead_marks_and_unmarks_gold_from_the_page(world):
    project, entry, lead, *_ = world
    client = logged_in(lead)

    client.post(
        f"/p/{project.pk}/crowd/gold/",
        {"external_id": "pair-3", "gold": '{"preference": 1}', "qualification": "on"},
    )
    item = Item.objects.get(project=project, external_id="pair-3")
    assert (item.is_gold, item.is_qualification, item.gold_value["preference"]) == (True, True, 1)

    page = client.post(
        f"/p/{project.pk}/crowd/gold/", {"external_id": "pair-4", "gold": "not json"}, follow=True
    )
    assert "not JSON" in page.content.decode()
    assert not Item.objects.get(project=project, external_id="pair-4").is_gold

    client.post(f"/p/{project.pk}/crowd/gold/{item.pk}/clear/")
    item.refresh_from_db()
    assert (item.is_gold, item.is_qualification) == (False, False)


def test_rotating_the_link_makes_a_new_token(world):
    project, entry, lead, *_ = world
    logged_in(lead).post(f"/p/{project.pk}/crowd/rotate/")
    rotated = CrowdEntry.objects.get(project=project)
    assert rotated.token != entry.token and rotated.token_rotated_at is not None


def test_the_project_page_links_to_the_crowd_page(world):
    project, entry, lead, *_ = world
    html = logged_in(lead).get(f"/p/{project.pk}/").content.decode()
    assert f'href="/p/{project.pk}/crowd/"' in html
