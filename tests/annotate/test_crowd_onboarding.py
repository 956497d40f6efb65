"""Onboarding: required instructions and qualification items before real work (SPEC 5)."""

import pytest
from django.test import Client

from annotate import services
from annotate.models import Annotation, Item, Membership, WorkerSession
from annotate.services import crowd, gold
from annotate.services.onboarding import InstructionsNotConfirmed, NotQualified
from tests.conftest import jsonl
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

from .test_crowd_entry import entry_url, label_until_stopped


def onboarding_project(
    *, n_ordinary=6, qualification=(), pass_mark=0.6, instructions=False, quota=3
):
    lead = UserFactory(username="lead")
    project = ProjectFactory(
        created_by=lead,
        overlap=1,
        instructions="**Pick** the better answer.",
        instructions_required=instructions,
        qualification_pass_mark=pass_mark,
    )
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    records = [pair_record(i) for i in range(n_ordinary)]
    records += [
        pair_record(100 + i, external_id=f"qual-{i}", gold={"preference": answer})
        for i, answer in enumerate(qualification)
    ]
    services.items_import(project=project, stream=jsonl(records), fmt="jsonl")
    Item.objects.filter(project=project, external_id__startswith="qual-").update(
        is_qualification=True
    )
    entry = crowd.crowd_entry_update(
        project=project,
        items_per_session=quota,
        completion_code="DONE1",
        screenout_code="NOPE2",
    )
    return project, entry, lead


def answer_next(project, annotator, preference):
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    services.annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, value={"preference": preference}
    )
    return assignment.item


# --- instructions


@pytest.mark.django_db
def test_next_refuses_until_the_instructions_are_confirmed(api):
    project, entry, _ = onboarding_project(instructions=True)
    annotator = UserFactory(username="ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)

    with pytest.raises(InstructionsNotConfirmed):
        services.assignment_reserve_next(project=project, annotator=annotator)
    response = api(annotator).post(f"/api/v1/projects/{project.pk}/next/")
    assert response.status_code == 409
    assert response.json()["code"] == "instructions_not_confirmed"


@pytest.mark.django_db
def test_a_worker_is_sent_to_the_instructions_and_must_tick_the_box():
    project, entry, _ = onboarding_project(instructions=True)
    client = Client()

    page = client.get(entry_url(entry), follow=True)

    assert page.redirect_chain[-1][0] == f"/p/{project.pk}/instructions/"
    html = page.content.decode()
    assert "<strong>Pick</strong> the better answer." in html
    unticked = client.post(f"/p/{project.pk}/instructions/", {})
    assert unticked.status_code == 400
    assert Membership.objects.get(role="annotator").instructions_confirmed_at is None
    assert client.get(f"/p/{project.pk}/annotate/")["Location"].endswith("/instructions/")

    confirmed = client.post(f"/p/{project.pk}/instructions/", {"confirm": "on"})

    assert confirmed["Location"] == f"/p/{project.pk}/annotate/"
    assert 'id="annotation-form"' in client.get(confirmed["Location"]).content.decode()


@pytest.mark.django_db
def test_without_required_instructions_work_starts_at_once():
    project, entry, _ = onboarding_project(instructions=False)
    client = Client()

    page = client.get(entry_url(entry), follow=True)

    assert 'id="annotation-form"' in page.content.decode()


# --- qualification


@pytest.mark.django_db
def test_qualification_items_come_first_and_passing_opens_real_work():
    project, entry, _ = onboarding_project(qualification=[-2, -1, 2], pass_mark=0.6)
    annotator = UserFactory(username="ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)

    first = [answer_next(project, annotator, p) for p in (-1, -2, -2)]  # right, right, wrong

    in_rank_order = Item.objects.filter(is_qualification=True).order_by("rank", "pk")
    assert [item.pk for item in first] == [item.pk for item in in_rank_order]
    after = answer_next(project, annotator, 1)
    assert not after.is_gold
    assert Membership.objects.get(user=annotator).qualification == "passed"


@pytest.mark.django_db
def test_failing_the_qualification_ends_the_work(api):
    project, entry, _ = onboarding_project(qualification=[-2, -1, 2], pass_mark=0.6)
    annotator = UserFactory(username="ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    for preference in (2, 2, 2):  # right only on the last
        answer_next(project, annotator, preference)

    with pytest.raises(NotQualified):
        services.assignment_reserve_next(project=project, annotator=annotator)

    assert Membership.objects.get(user=annotator).qualification == "failed"
    response = api(annotator).post(f"/api/v1/projects/{project.pk}/next/")
    assert response.status_code == 403 and response.json()["code"] == "not_qualified"
    assert not Annotation.objects.filter(annotator=annotator, item__is_gold=False).exists()


@pytest.mark.django_db
def test_a_skipped_qualification_item_counts_as_wrong():
    project, entry, _ = onboarding_project(qualification=[-2, -2], pass_mark=1.0)
    annotator = UserFactory(username="ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    answer_next(project, annotator, -2)
    skipped = services.assignment_reserve_next(project=project, annotator=annotator)
    services.assignment_skip(assignment_id=skipped.pk, annotator=annotator)

    with pytest.raises(NotQualified):
        services.assignment_reserve_next(project=project, annotator=annotator)


@pytest.mark.django_db
def test_a_worker_who_fails_sees_the_screen_out_code_and_is_redirected():
    project, entry, _ = onboarding_project(qualification=[-2, -2], pass_mark=1.0)
    client = Client()
    client.get(entry_url(entry))

    stop = label_until_stopped(client, project, vote=2)

    assert stop["HX-Redirect"] == f"/p/{project.pk}/annotate/end/"
    html = client.get(stop["HX-Redirect"]).content.decode()
    assert '<code id="completion-code">NOPE2</code>' in html
    assert "DONE1" not in html
    assert "https://app.prolific.com/submissions/complete?cc=NOPE2" in html
    assert WorkerSession.objects.get().status == "screened_out"
    # Coming back by the link (in the same browser) does not open a second chance.
    again = client.get(entry_url(entry, session="another"), follow=True)
    assert "NOPE2" in again.content.decode()


@pytest.mark.django_db
def test_qualification_answers_do_not_count_toward_the_quota():
    project, entry, _ = onboarding_project(qualification=[-2, -2], pass_mark=0.5, quota=2)
    client = Client()
    client.get(entry_url(entry))

    label_until_stopped(client, project, vote=-1)

    annotations = Annotation.objects.all()
    assert annotations.filter(item__is_qualification=True).count() == 2
    assert annotations.filter(item__is_gold=False).count() == 2
    assert "DONE1" in client.get(f"/p/{project.pk}/annotate/end/").content.decode()


@pytest.mark.django_db
def test_a_lead_can_reinstate_a_worker_who_failed_the_qualification():
    project, entry, lead = onboarding_project(qualification=[-2], pass_mark=1.0)
    annotator = UserFactory(username="ann")
    membership = MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    answer_next(project, annotator, 2)
    with pytest.raises(NotQualified):
        services.assignment_reserve_next(project=project, annotator=annotator)

    gold.membership_reinstate(project=project, membership_id=membership.pk, by=lead)

    assert services.assignment_reserve_next(project=project, annotator=annotator) is not None


@pytest.mark.django_db
def test_a_project_without_qualification_items_needs_none():
    project, entry, _ = onboarding_project(qualification=[])
    annotator = UserFactory(username="ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)

    item = answer_next(project, annotator, 1)

    assert not item.is_gold
    assert Membership.objects.get(user=annotator).qualification == "pending"


@pytest.mark.django_db
def test_the_qualification_verdict_survives_the_refusal():
    """The verdict is committed before ``NotQualified`` is raised (not rolled back with it)."""
    project, entry, _ = onboarding_project(qualification=[-2], pass_mark=1.0)
    annotator = UserFactory(username="ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    answer_next(project, annotator, 2)

    with pytest.raises(NotQualified):
        services.assignment_reserve_next(project=project, annotator=annotator)

    assert Membership.objects.get(user=annotator).qualification == "failed"


@pytest.mark.django_db
def test_an_in_house_annotator_who_fails_gets_no_platform_code_or_redirect():
    project, entry, _ = onboarding_project(qualification=[-2], pass_mark=1.0)
    annotator = UserFactory(username="ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    answer_next(project, annotator, 2)
    client = Client()
    client.force_login(annotator)

    page = client.get(f"/p/{project.pk}/annotate/", follow=True)

    html = page.content.decode()
    assert page.redirect_chain[-1][0] == f"/p/{project.pk}/annotate/end/"
    assert "Thank you for your time" in html
    assert "NOPE2" not in html and "http-equiv" not in html
    assert not WorkerSession.objects.exists()
