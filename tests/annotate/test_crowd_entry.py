"""Crowd entry links: arrival, return, tampered links, quotas, completion codes (SPEC 5)."""

import re
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import Client

from annotate import services
from annotate.models import Annotation, Assignment, CrowdWorker, Membership, WorkerSession
from annotate.services import crowd
from core.errors import FieldError, InvalidInput
from tests.conftest import jsonl
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

PROLIFIC_ID = "5f1a2b3c4d5e6f7a8b9c0d1e"


def crowd_project(n_items=10, *, quota=3, **project_fields):
    lead = UserFactory(username=f"lead-{ProjectFactory._meta.model.objects.count()}")
    project = ProjectFactory(created_by=lead, overlap=1, **project_fields)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    services.items_import(
        project=project, stream=jsonl(pair_record(i) for i in range(n_items)), fmt="jsonl"
    )
    entry = crowd.crowd_entry_update(
        project=project,
        items_per_session=quota,
        completion_code="C0MPLETE",
        screenout_code="SCREENED",
    )
    return project, entry


def entry_url(entry, worker=PROLIFIC_ID, study="study1", session="sess1", **extra):
    params = {"PROLIFIC_PID": worker, "STUDY_ID": study, "SESSION_ID": session, **extra}
    params = {k: v for k, v in params.items() if v is not None}
    return f"/e/{entry.token}/?{urlencode(params)}"


def label_until_stopped(client, project, vote=1, limit=50):
    """Submit items through the htmx loop until the server sends the worker elsewhere.

    ``vote`` is the canonical answer (negative: A better); it is turned into the on-screen
    answer for the order in which the item was shown.
    """
    page = client.get(f"/p/{project.pk}/annotate/")
    html = page.content.decode()
    for _ in range(limit):
        match = re.search(r'data-assignment="(\d+)"', html)
        if match is None:
            return page
        shown_order = Assignment.objects.get(pk=match.group(1)).shown_order
        on_screen = vote if shown_order["left"] == "a" else -vote
        page = client.post(
            f"/a/{match.group(1)}/submit/", {"preference": str(on_screen)}, HTTP_HX_REQUEST="true"
        )
        if page.get("HX-Redirect"):
            return page
        html = page.content.decode()
    raise AssertionError("the quota never stopped the worker")


@pytest.mark.django_db
def test_a_new_worker_gets_an_annotator_account_and_is_logged_in():
    project, entry = crowd_project()
    client = Client()

    response = client.get(entry_url(entry))

    assert response.status_code == 302
    assert response["Location"] == f"/p/{project.pk}/annotate/"
    worker = CrowdWorker.objects.get(project=project, worker_id=PROLIFIC_ID)
    assert Membership.objects.get(project=project, user=worker.user).role == "annotator"
    assert not worker.user.has_usable_password()
    assert PROLIFIC_ID not in worker.user.username  # not guessable from the worker id
    assert int(client.session["_auth_user_id"]) == worker.user.pk
    session = WorkerSession.objects.get(worker=worker)
    assert (session.study_id, session.session_id, session.status) == ("study1", "sess1", "started")
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'id="annotation-form"' in page.content.decode()


@pytest.mark.django_db
def test_a_returning_worker_resumes_the_same_account_and_reservation():
    project, entry = crowd_project()
    first = Client()
    first.get(entry_url(entry))
    page = first.get(f"/p/{project.pk}/annotate/").content.decode()
    reserved = re.search(r'data-assignment="(\d+)"', page).group(1)
    del first.cookies["sessionid"]  # signed out; the browser's worker cookie stays

    first.get(entry_url(entry))  # the same browser, same worker, same session
    again = first.get(f"/p/{project.pk}/annotate/").content.decode()

    assert CrowdWorker.objects.filter(project=project).count() == 1
    assert User.objects.filter(crowd_worker__project=project).count() == 1
    assert WorkerSession.objects.filter(worker__project=project).count() == 1
    assert re.search(r'data-assignment="(\d+)"', again).group(1) == reserved


@pytest.mark.django_db
def test_a_new_session_id_opens_a_new_session_on_the_same_account():
    project, entry = crowd_project()
    client = Client()
    client.get(entry_url(entry, session="sess1"))
    client.get(entry_url(entry, session="sess2"))

    worker = CrowdWorker.objects.get(project=project)
    assert sorted(worker.sessions.values_list("session_id", flat=True)) == ["sess1", "sess2"]


@pytest.mark.django_db
def test_two_workers_get_two_accounts_and_never_each_other():
    project, entry = crowd_project()
    a, b = Client(), Client()
    a.get(entry_url(entry, worker="workerA"))
    b.get(entry_url(entry, worker="workerB"))

    user_a = CrowdWorker.objects.get(worker_id="workerA").user
    user_b = CrowdWorker.objects.get(worker_id="workerB").user
    assert user_a != user_b
    assert int(a.session["_auth_user_id"]) == user_a.pk
    assert int(b.session["_auth_user_id"]) == user_b.pk


@pytest.mark.django_db
def test_the_same_worker_id_in_another_project_is_another_account():
    project_1, entry_1 = crowd_project()
    project_2, entry_2 = crowd_project()
    client = Client()
    client.get(entry_url(entry_1))
    user_1 = int(client.session["_auth_user_id"])
    client.get(entry_url(entry_2))
    user_2 = int(client.session["_auth_user_id"])

    assert user_1 != user_2
    assert not Membership.objects.filter(project=project_1, user_id=user_2).exists()
    assert not Membership.objects.filter(project=project_2, user_id=user_1).exists()
    # Logged in as the second project's worker, the first project is out of reach.
    assert client.get(f"/p/{project_1.pk}/annotate/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, field",
    [
        ({"worker": None}, "PROLIFIC_PID"),
        ({"worker": ""}, "PROLIFIC_PID"),
        ({"worker": "<script>alert(1)</script>"}, "PROLIFIC_PID"),
        ({"worker": "../../admin"}, "PROLIFIC_PID"),
        ({"worker": "=HYPERLINK(1)"}, "PROLIFIC_PID"),
        ({"worker": "x" * 101}, "PROLIFIC_PID"),
        ({"study": None}, "STUDY_ID"),
        ({"session": "a b"}, "SESSION_ID"),
    ],
)
def test_a_tampered_link_is_refused_with_a_clear_400_and_no_account(params, field):
    project, entry = crowd_project()
    client = Client()

    response = client.get(entry_url(entry, **params))

    assert response.status_code == 400
    html = response.content.decode()
    assert "This link does not work" in html and f"<code>{field}</code>" in html
    assert "<script>alert" not in html
    assert not CrowdWorker.objects.exists()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_an_unknown_or_rotated_token_is_a_404():
    project, entry = crowd_project()
    old_url = entry_url(entry)
    crowd.crowd_entry_rotate(project=project)

    assert Client().get(old_url).status_code == 404
    assert Client().get("/e/" + "A" * 32 + "/?PROLIFIC_PID=abc").status_code == 404
    entry.refresh_from_db()
    assert Client().get(entry_url(entry)).status_code == 302


@pytest.mark.django_db
def test_a_closed_link_is_a_404():
    project, entry = crowd_project()
    crowd.crowd_entry_update(project=project, is_open=False)

    response = Client().get(entry_url(entry))

    assert response.status_code == 404
    assert "closed" in response.content.decode()


@pytest.mark.django_db
def test_entry_tokens_are_long_random_and_distinct():
    tokens = {crowd_project(1)[1].token for _ in range(5)}
    assert len(tokens) == 5
    assert all(len(token) >= 32 and re.fullmatch(r"[A-Za-z0-9_-]+", token) for token in tokens)


@pytest.mark.django_db
def test_entering_never_logs_out_a_signed_in_lead():
    project, entry = crowd_project()
    client = Client()
    lead = Membership.objects.get(project=project, role="lead").user
    client.force_login(lead)

    response = client.get(entry_url(entry))

    assert response.status_code == 409
    html = response.content.decode()
    assert f'<strong id="signed-in-as">{lead.username}</strong>' in html
    assert int(client.session["_auth_user_id"]) == lead.pk
    assert not CrowdWorker.objects.exists()
    assert client.get(f"/p/{project.pk}/crowd/").status_code == 200


@pytest.mark.django_db
def test_parameter_names_are_configurable_for_other_platforms():
    project, _ = crowd_project()
    entry = crowd.crowd_entry_update(
        project=project, worker_param="workerId", study_param="hitId", session_param=""
    )
    client = Client()

    assert client.get(f"/e/{entry.token}/?PROLIFIC_PID=abc").status_code == 400
    response = client.get(f"/e/{entry.token}/?workerId=A1B2C3&hitId=H9")

    assert response.status_code == 302
    session = WorkerSession.objects.get(worker__worker_id="A1B2C3")
    assert (session.study_id, session.session_id) == ("H9", "")


@pytest.mark.django_db
def test_the_quota_ends_the_session_with_the_completion_code_and_redirect():
    project, entry = crowd_project(10, quota=3)
    client = Client()
    client.get(entry_url(entry))

    stop = label_until_stopped(client, project)

    assert stop["HX-Redirect"] == f"/p/{project.pk}/annotate/end/"
    worker = CrowdWorker.objects.get()
    assert Annotation.objects.filter(annotator=worker.user).count() == 3
    end = client.get(stop["HX-Redirect"])
    html = end.content.decode()
    assert end.status_code == 200
    assert '<code id="completion-code">C0MPLETE</code>' in html
    target = "https://app.prolific.com/submissions/complete?cc=C0MPLETE"
    assert f'<meta http-equiv="refresh" content="5;url={target}">' in html
    assert f'href="{target}"' in html
    session = WorkerSession.objects.get()
    assert session.status == "completed" and session.completed_at is not None
    # Nothing more in this session, whatever the worker tries.
    assert client.get(f"/p/{project.pk}/annotate/")["Location"] == f"/p/{project.pk}/annotate/end/"
    assert client.post(f"/api/v1/projects/{project.pk}/next/").status_code == 204


@pytest.mark.django_db
def test_a_worker_with_nothing_left_gets_the_completion_code_before_the_quota():
    project, entry = crowd_project(2, quota=5)
    client = Client()
    client.get(entry_url(entry))

    stop = label_until_stopped(client, project)

    end = client.get(stop["HX-Redirect"]).content.decode()
    assert "C0MPLETE" in end
    assert WorkerSession.objects.get().status == "completed"


@pytest.mark.django_db
def test_a_returning_worker_with_a_finished_session_sees_the_code_again():
    project, entry = crowd_project(10, quota=1)
    client = Client()
    client.get(entry_url(entry))
    label_until_stopped(client, project)

    del client.cookies["sessionid"]  # signed out; the browser's worker cookie stays
    response = client.get(entry_url(entry), follow=True)

    assert "C0MPLETE" in response.content.decode()
    assert Annotation.objects.count() == 1


@pytest.mark.django_db
def test_a_new_session_gets_a_fresh_quota_when_the_quota_counts_per_session():
    project, entry = crowd_project(10, quota=2)
    crowd.crowd_entry_update(project=project, quota_per="session")
    client = Client()
    client.get(entry_url(entry, session="s1"))
    label_until_stopped(client, project)
    client.get(entry_url(entry, session="s2"))

    label_until_stopped(client, project)

    assert Annotation.objects.count() == 4
    assert list(WorkerSession.objects.order_by("pk").values_list("status", flat=True)) == [
        "completed",
        "completed",
    ]


@pytest.mark.django_db
def test_without_a_quota_the_worker_labels_until_nothing_is_left():
    project, entry = crowd_project(4, quota=None)
    client = Client()
    client.get(entry_url(entry))

    label_until_stopped(client, project)

    assert Annotation.objects.count() == 4


@pytest.mark.django_db
def test_the_quota_also_holds_for_the_api():
    project, entry = crowd_project(10, quota=2)
    client = Client()
    client.get(entry_url(entry))
    worker = CrowdWorker.objects.get().user
    for _ in range(2):
        assignment = services.assignment_reserve_next(project=project, annotator=worker)
        services.annotation_submit(
            assignment_id=assignment.pk, annotator=worker, value={"preference": 1}
        )

    assert services.assignment_reserve_next(project=project, annotator=worker) is None


@pytest.mark.django_db
def test_in_house_annotators_have_no_quota_and_no_end_page():
    project, entry = crowd_project(4, quota=1)
    annotator = UserFactory(username="inhouse")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    client = Client()
    client.force_login(annotator)

    last = label_until_stopped(client, project)

    assert Annotation.objects.filter(annotator=annotator).count() == 4
    assert 'id="all-done"' in last.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "http://app.prolific.com/done?cc={code}",
        "javascript:alert(1)",
        "ftp://x/{code}",
        "https:///x",
    ],
)
@pytest.mark.django_db
def test_the_completion_url_must_be_https(url):
    project, _ = crowd_project(1)
    with pytest.raises(InvalidInput) as caught:
        crowd.crowd_entry_update(project=project, completion_url=url)
    assert caught.value.detail == [FieldError("completion_url", "must be an https:// URL")]


@pytest.mark.django_db
def test_a_completion_code_cannot_carry_markup_or_break_the_url():
    project, _ = crowd_project(1)
    with pytest.raises(InvalidInput):
        crowd.crowd_entry_update(project=project, completion_code='"><script>')
    entry = crowd.crowd_entry_update(
        project=project,
        completion_url="https://example.org/end?code={code}&x=1",
        completion_code="AB-12_c",
    )
    assert crowd.completion_redirect(entry, "AB-12_c") == "https://example.org/end?code=AB-12_c&x=1"


@pytest.mark.django_db
def test_without_a_completion_url_the_code_is_shown_without_redirect():
    project, entry = crowd_project(1, quota=1)
    crowd.crowd_entry_update(project=project, completion_url="")
    client = Client()
    client.get(entry_url(entry))

    stop = label_until_stopped(client, project)
    html = client.get(stop["HX-Redirect"]).content.decode()

    assert "C0MPLETE" in html
    assert "http-equiv" not in html
