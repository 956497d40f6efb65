"""Crowd identity and quota hardening (issue 13), as HTTP tests: two clients are two browsers."""

import re

import pytest
from django.test import Client

from annotate import selectors, services
from annotate.models import Annotation, Assignment, CrowdWorker, Membership, WorkerSession
from annotate.services import crowd
from tests.factories import MembershipFactory, UserFactory

from .test_crowd_entry import crowd_project, entry_url, label_until_stopped

COOKIE = "dx_crowd_worker_"


def arrive(entry, client=None, **params):
    client = client or Client()
    response = client.get(entry_url(entry, **params))
    return client, response


def shown_assignment(html):
    match = re.search(r'data-assignment="(\d+)"', html)
    return int(match.group(1)) if match else None


# --- the account belongs to the browser that started it


@pytest.mark.django_db
def test_another_browser_with_the_same_worker_id_is_refused_the_account():
    project, entry = crowd_project()
    owner, _ = arrive(entry)
    owner_user = CrowdWorker.objects.get().user
    reserved = shown_assignment(owner.get(f"/p/{project.pk}/annotate/").content.decode())

    thief = Client()
    response = thief.get(entry_url(entry))

    assert response.status_code == 403
    html = response.content.decode()
    assert "another browser" in html and 'id="entry-refused"' in html
    assert "_auth_user_id" not in thief.session
    assert thief.get(f"/api/v1/projects/{project.pk}/annotations/").status_code in (401, 403)
    assert thief.post(f"/api/v1/assignments/{reserved}/submit/", {}).status_code in (401, 403)
    # The owner is untouched and still works.
    assert int(owner.session["_auth_user_id"]) == owner_user.pk
    assert CrowdWorker.objects.count() == 1


@pytest.mark.django_db
def test_the_worker_cookie_is_signed_and_http_only():
    project, entry = crowd_project()
    owner, response = arrive(entry)
    worker = CrowdWorker.objects.get()

    cookie = response.cookies[f"{COOKIE}{project.pk}"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie.value != str(worker.pk)  # signed, not the bare id

    forger = Client()
    forger.cookies[f"{COOKIE}{project.pk}"] = str(worker.pk)
    assert forger.get(entry_url(entry)).status_code == 403
    another_project, other_entry = crowd_project()
    # A cookie from one project's link does not open another project's account.
    owner.cookies[f"{COOKIE}{another_project.pk}"] = owner.cookies[f"{COOKIE}{project.pk}"].value
    assert arrive(other_entry, Client())[1].status_code == 302  # a new worker id there: fine
    assert owner.get(entry_url(other_entry)).status_code == 403


@pytest.mark.django_db
def test_the_same_new_worker_id_arriving_in_two_browsers_makes_one_account_for_the_first():
    project, entry = crowd_project()
    first, ok = arrive(entry)
    second, refused = arrive(entry)

    assert (ok.status_code, refused.status_code) == (302, 403)
    assert CrowdWorker.objects.count() == 1


# --- a link never logs out a signed-in member


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["staff", "annotator"])
def test_a_link_never_signs_out_staff_or_an_in_house_annotator(who):
    project, entry = crowd_project()
    user = UserFactory(username=f"the-{who}", is_staff=who == "staff")
    if who == "annotator":
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
    client = Client()
    client.force_login(user)

    response = client.get(entry_url(entry))

    assert response.status_code == 409
    assert f'id="signed-in-as">the-{who}<' in response.content.decode()
    assert int(client.session["_auth_user_id"]) == user.pk
    assert not CrowdWorker.objects.exists()


# --- account creation is rate-limited per link


@pytest.mark.django_db
def test_new_accounts_through_one_link_are_rate_limited():
    project, entry = crowd_project()
    crowd.crowd_entry_update(project=project, new_workers_per_minute=2)
    other_project, other_entry = crowd_project()

    statuses = [arrive(entry, worker=f"w{i}")[1].status_code for i in range(3)]
    refused = arrive(entry, worker="w9")[1]

    assert statuses == [302, 302, 429]
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert "try again in a minute" in refused.content.decode()
    assert CrowdWorker.objects.filter(project=project).count() == 2
    # Per link: another project's link is not held back by this one.
    assert arrive(other_entry, worker="w3")[1].status_code == 302


@pytest.mark.django_db
def test_a_returning_worker_is_not_held_back_by_the_rate_limit():
    project, entry = crowd_project()
    crowd.crowd_entry_update(project=project, new_workers_per_minute=1)
    owner, _ = arrive(entry)
    assert arrive(entry, worker="someone-else")[1].status_code == 429

    assert owner.get(entry_url(entry, session="sess2")).status_code == 302


# --- quotas


@pytest.mark.django_db
def test_the_quota_counts_across_sessions_of_a_study():
    project, entry = crowd_project(10, quota=2)  # quota_per defaults to the worker and study
    client, _ = arrive(entry, session="s1")
    label_until_stopped(client, project)

    client.get(entry_url(entry, session="s2"))
    page = client.get(f"/p/{project.pk}/annotate/")

    assert page["Location"] == f"/p/{project.pk}/annotate/end/"
    assert Annotation.objects.count() == 2
    assert client.post(f"/api/v1/projects/{project.pk}/next/").status_code == 204
    assert list(WorkerSession.objects.order_by("pk").values_list("status", flat=True)) == [
        "completed",
        "completed",
    ]
    assert "C0MPLETE" in client.get(page["Location"]).content.decode()


@pytest.mark.django_db
def test_skip_then_late_submit_cannot_store_past_the_quota():
    project, entry = crowd_project(10, quota=2)
    client, _ = arrive(entry)
    api_next = f"/api/v1/projects/{project.pk}/next/"
    skipped = client.post(api_next).json()["assignment"]["id"]
    assert client.post(f"/api/v1/assignments/{skipped}/skip/").status_code == 200
    for _ in range(2):
        assignment = client.post(api_next).json()["assignment"]["id"]
        submitted = client.post(
            f"/api/v1/assignments/{assignment}/submit/",
            {"value": {"preference": 1}},
            content_type="application/json",
        )
        assert submitted.status_code == 201

    late = client.post(
        f"/api/v1/assignments/{skipped}/submit/",
        {"value": {"preference": 1}},
        content_type="application/json",
    )

    assert late.status_code == 409
    assert late.json()["code"] == "quota_reached"
    assert "already done the work" in late.json()["message"]
    assert Annotation.objects.count() == 2
    assert Assignment.objects.get(pk=skipped).status == "skipped"


@pytest.mark.django_db
def test_a_resubmit_within_the_quota_is_still_accepted():
    project, entry = crowd_project(10, quota=1)
    client, _ = arrive(entry)
    assignment = client.post(f"/api/v1/projects/{project.pk}/next/").json()["assignment"]["id"]
    url = f"/api/v1/assignments/{assignment}/submit/"
    client.post(url, {"value": {"preference": 1}}, content_type="application/json")

    again = client.post(url, {"value": {"preference": -1}}, content_type="application/json")

    assert again.status_code == 200 and again.json()["version"] == 2


# --- how a session ends


@pytest.mark.django_db
def test_a_worker_with_no_work_gets_the_no_work_code_not_the_completion_code():
    project, entry = crowd_project(2, quota=5)
    crowd.crowd_entry_update(project=project, no_work_code="NOWORK9")
    annotator = UserFactory(username="inhouse")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    for _ in range(2):
        assignment = services.assignment_reserve_next(project=project, annotator=annotator)
        services.annotation_submit(
            assignment_id=assignment.pk, annotator=annotator, value={"preference": 1}
        )
    client, _ = arrive(entry)

    page = client.get(f"/p/{project.pk}/annotate/", follow=True)

    html = page.content.decode()
    assert page.redirect_chain[-1][0] == f"/p/{project.pk}/annotate/end/"
    assert "No work available" in html and '<code id="completion-code">NOWORK9</code>' in html
    assert "C0MPLETE" not in html
    assert WorkerSession.objects.get().status == "no_work"
    rows = list(selectors.sessions_for_payment(project=project))
    assert rows[0]["code_shown"] == "NOWORK9"


@pytest.mark.django_db
def test_a_worker_who_arrives_while_the_rest_is_reserved_is_asked_to_wait():
    project, entry = crowd_project(1, quota=5)
    first, _ = arrive(entry, worker="first")
    held = shown_assignment(first.get(f"/p/{project.pk}/annotate/").content.decode())
    second, _ = arrive(entry, worker="second")

    page = second.get(f"/p/{project.pk}/annotate/")
    api = second.post(f"/api/v1/projects/{project.pk}/next/")

    assert page.status_code == 200 and 'id="wait"' in page.content.decode()
    assert api.status_code == 204 and api["Retry-After"] == "60"
    session = WorkerSession.objects.get(worker__worker_id="second")
    assert session.status == "started"
    # Once the other worker lets the item go, it is the waiting worker's.
    first.post(f"/a/{held}/skip/")
    assert shown_assignment(second.get(f"/p/{project.pk}/annotate/").content.decode())


@pytest.mark.django_db
def test_the_api_next_completes_the_session_like_the_browser():
    project, entry = crowd_project(10, quota=2)
    client, _ = arrive(entry)
    api_next = f"/api/v1/projects/{project.pk}/next/"
    for _ in range(2):
        assignment = client.post(api_next).json()["assignment"]["id"]
        client.post(
            f"/api/v1/assignments/{assignment}/submit/",
            {"value": {"preference": 1}},
            content_type="application/json",
        )

    assert client.post(api_next).status_code == 204

    session = WorkerSession.objects.get()
    assert session.status == "completed" and session.completed_at is not None
    end = client.get(f"/p/{project.pk}/annotate/", follow=True).content.decode()
    assert '<code id="completion-code">C0MPLETE</code>' in end


@pytest.mark.django_db
def test_the_end_page_writes_nothing_and_answers_only_get():
    project, entry = crowd_project(10, quota=2)
    client, _ = arrive(entry)
    worker = CrowdWorker.objects.get()
    Membership.objects.filter(user=worker.user).update(qualification="failed")

    page = client.get(f"/p/{project.pk}/annotate/end/")

    assert page.status_code == 200 and 'data-state="screened_out"' in page.content.decode()
    assert WorkerSession.objects.get().status == "started"  # a GET changed nothing
    assert client.post(f"/p/{project.pk}/annotate/end/").status_code == 405


@pytest.mark.django_db
def test_the_lead_sets_the_no_work_code_quota_scope_and_rate_on_the_crowd_page():
    project, entry = crowd_project()
    lead = Membership.objects.get(project=project, role="lead").user
    client = Client()
    client.force_login(lead)
    form = client.get(f"/p/{project.pk}/crowd/").content.decode()
    assert 'name="no_work_code"' in form and 'name="quota_per"' in form

    client.post(
        f"/p/{project.pk}/crowd/settings/",
        {
            "is_open": "on",
            "worker_param": "PROLIFIC_PID",
            "study_param": "STUDY_ID",
            "session_param": "SESSION_ID",
            "items_per_session": "4",
            "quota_per": "session",
            "new_workers_per_minute": "7",
            "completion_code": "C0MPLETE",
            "no_work_code": "EMPTY1",
            "completion_url": "",
        },
    )

    entry.refresh_from_db()
    assert (entry.no_work_code, entry.quota_per, entry.new_workers_per_minute) == (
        "EMPTY1",
        "session",
        7,
    )
    bad = client.post(
        f"/p/{project.pk}/crowd/settings/",
        {"worker_param": "PROLIFIC_PID", "no_work_code": "<b>", "quota_per": "forever"},
        follow=True,
    )
    assert "no_work_code" in bad.content.decode() and "quota_per" in bad.content.decode()
    entry.refresh_from_db()
    assert entry.no_work_code == "EMPTY1"
