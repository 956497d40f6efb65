"""Gold items: interleaving, gold accuracy, pausing and reinstating, flagged work in exports."""

import json
import math
import random

import pytest
from django.test import Client

from annotate import exporting, selectors, services
from annotate.models import Item, Membership
from annotate.services import gold
from annotate.services.onboarding import AnnotatorPaused
from annotate.tasktypes import get_task_type
from core.errors import InvalidInput
from tests.conftest import jsonl
from tests.factories import pair_record

PLUGIN = get_task_type("preference_pair")


def gold_record(n, preference):
    return pair_record(n, external_id=f"gold-{n}", gold={"preference": preference})


def import_items(project, n_ordinary, n_gold=0, *, gold_preference=-2):
    records = [pair_record(i) for i in range(n_ordinary)]
    records += [gold_record(i, gold_preference) for i in range(n_gold)]
    services.items_import(project=project, stream=jsonl(records), fmt="jsonl")


def label(project, annotator, preference, *, rng=None):
    """Reserve the next item and answer it; returns the item (or None when nothing is left)."""
    assignment = services.assignment_reserve_next(project=project, annotator=annotator, rng=rng)
    if assignment is None:
        return None
    services.annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, value={"preference": preference}
    )
    return assignment.item


# --- the pure scoring functions


def test_gold_score_counts_answers_that_agree_and_ignores_missing_gold():
    pairs = [
        ({"preference": -2}, {"preference": -1}),  # same side: right
        ({"preference": 1}, {"preference": -2}),  # other side: wrong
        ({"preference": 0}, {"preference": 0}),  # tie for a tie: right
        ({"preference": 1}, {"preference": 0}),  # a side for a tie: wrong
        ({"preference": 2}, None),
    ]  # not gold (any more): ignored
    score = gold.gold_score(pairs, agrees=PLUGIN.gold_agrees)
    assert (score.n_answers, score.n_correct, score.accuracy) == (4, 2, 0.5)


def test_gold_score_of_nothing_has_no_accuracy():
    assert gold.gold_score([], agrees=PLUGIN.gold_agrees).accuracy is None


def test_the_default_gold_agreement_is_the_same_label():
    from annotate.tasktypes.base import TaskType

    class Labelled(TaskType):
        def label_of(self, value):
            return value["label"]

    agrees = Labelled().gold_agrees
    assert agrees({"label": "x"}, {"label": "x"}) is True
    assert agrees({"label": "x"}, {"label": "y"}) is False


@pytest.mark.parametrize(
    "n_answers, n_correct, min_answers, min_accuracy, paused",
    [
        (4, 0, 5, 0.7, False),  # too few answers to judge
        (5, 3, 5, 0.7, True),  # 60% < 70%
        (10, 7, 5, 0.7, False),  # exactly 70% is not below 70%
        (10, 6, 5, 0.7, True),
        (10, 0, 5, 0.0, False),  # threshold 0 turns pausing off
        (3, 2, 3, 2 / 3, False),
    ],
)
def test_below_threshold(n_answers, n_correct, min_answers, min_accuracy, paused):
    score = gold.GoldScore(n_answers=n_answers, n_correct=n_correct)
    assert gold.below_threshold(score, min_answers=min_answers, min_accuracy=min_accuracy) is paused


# --- interleaving


@pytest.mark.parametrize("rate, seed", [(0.2, 1), (0.5, 3)])
def test_gold_items_are_interleaved_at_the_project_rate(project, make_annotator, rate, seed):
    project.gold_rate = rate
    project.overlap = 1
    project.save()
    import_items(project, 500, 250)
    annotator = make_annotator("ann")
    rng = random.Random(seed)
    n = 300

    served = [label(project, annotator, -1, rng=rng) for _ in range(n)]

    n_gold = sum(item.is_gold for item in served)
    # Binomial(n, rate): within 4 standard deviations (a false alarm about once in 16,000 runs
    # if the seed were free; with the seeds fixed the test is deterministic).
    sd = math.sqrt(n * rate * (1 - rate))
    assert abs(n_gold - n * rate) <= 4 * sd, (n_gold, n * rate)
    assert len({item.pk for item in served}) == n  # never the same item twice


def test_no_gold_is_served_at_rate_zero(project, make_annotator):
    project.overlap = 1
    project.save()
    import_items(project, 20, 20)
    annotator = make_annotator("ann")

    served = [label(project, annotator, -1, rng=random.Random(7)) for _ in range(21)]

    assert [item.is_gold for item in served[:20]] == [False] * 20
    assert served[20] is None


def test_gold_items_are_served_only_while_ordinary_work_remains(project, make_annotator):
    project.overlap = 1
    project.save()
    import_items(project, 2, 5)
    annotator = make_annotator("ann")
    assert [label(project, annotator, -1).is_gold for _ in range(2)] == [False, False]
    project.gold_rate = 1.0
    project.save()

    assert (
        services.assignment_reserve_next(project=project, annotator=annotator, rng=random.Random(1))
        is None
    )


def test_at_rate_one_every_gold_item_comes_before_ordinary_work(project, make_annotator):
    project.gold_rate = 1.0
    project.overlap = 1
    project.save()
    import_items(project, 2, 5)
    annotator = make_annotator("ann")

    served = []
    while (item := label(project, annotator, -1, rng=random.Random(1))) is not None:
        served.append(item.is_gold)

    assert served == [True] * 5 + [False] * 2


def test_gold_items_do_not_count_toward_the_overlap(project, make_annotator):
    project.gold_rate = 1.0
    project.overlap = 1
    project.save()
    import_items(project, 10, 1)
    annotators = [make_annotator(f"ann{i}") for i in range(4)]

    first_items = [label(project, a, -2, rng=random.Random(0)) for a in annotators]

    assert all(item.external_id == "gold-0" for item in first_items)
    assert Item.objects.get(external_id="gold-0").n_submitted == 4
    after = services.assignment_reserve_next(project=project, annotator=annotators[0])
    assert after.item.is_gold is False


def test_a_late_answer_on_a_gold_item_is_always_accepted(project, make_annotator):
    project.gold_rate = 1.0
    project.overlap = 1
    project.save()
    import_items(project, 3, 1)
    late, other = make_annotator("late"), make_annotator("other")
    assignment = services.assignment_reserve_next(project=project, annotator=late)
    label(project, other, -2)  # fills the gold item's "overlap" of 1
    services.assignment_skip(assignment_id=assignment.pk, annotator=late)

    annotation, created = services.annotation_submit(
        assignment_id=assignment.pk, annotator=late, value={"preference": -1}
    )

    assert created and annotation.item.is_gold


def test_progress_counts_leave_gold_items_out(project, make_annotator, lead):
    project.gold_rate = 0.5
    project.save()
    import_items(project, 4, 3)
    annotator = make_annotator("ann")

    assert selectors.annotator_progress(project=project, annotator=annotator).n_left == 4
    assert selectors.project_progress(project=project).n_items == 4


def test_a_gold_item_looks_like_any_other_item_to_the_annotator(project, make_annotator, api):
    project.gold_rate = 1.0
    project.save()
    import_items(project, 2, 1)
    annotator = make_annotator("ann")
    client = api(annotator)

    gold_body = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    services.annotation_submit(
        assignment_id=gold_body["assignment"]["id"], annotator=annotator, value={"preference": 1}
    )
    project.gold_rate = 0.0
    project.save()
    plain_body = client.post(f"/api/v1/projects/{project.pk}/next/").json()

    assert Item.objects.get(pk=gold_body["item"]["id"]).is_gold
    assert not Item.objects.get(pk=plain_body["item"]["id"]).is_gold
    assert set(gold_body) == set(plain_body)
    assert set(gold_body["item"]) == set(plain_body["item"])
    assert set(gold_body["assignment"]) == set(plain_body["assignment"])
    assert set(gold_body["item"]["payload"]) == set(plain_body["item"]["payload"])


# --- accuracy, pausing, reinstating


def quality_project(project, *, min_answers=3, min_accuracy=0.7):
    project.gold_rate = 1.0
    project.overlap = 3
    project.gold_min_answers = min_answers
    project.gold_min_accuracy = min_accuracy
    project.save()
    import_items(project, 20, 10, gold_preference=-2)
    return project


def test_an_annotator_under_the_threshold_is_paused_and_flagged(project, make_annotator, api):
    quality_project(project)
    annotator = make_annotator("sloppy")
    for _ in range(2):
        label(project, annotator, 2)  # gold says A; they say B

    membership = Membership.objects.get(project=project, user=annotator)
    assert membership.status == "active"  # two answers are not enough to judge
    label(project, annotator, 2)

    membership.refresh_from_db()
    assert (membership.status, membership.flagged) == ("paused", True)
    assert "0/3" in membership.status_reason
    with pytest.raises(AnnotatorPaused):
        services.assignment_reserve_next(project=project, annotator=annotator)
    response = api(annotator).post(f"/api/v1/projects/{project.pk}/next/")
    assert response.status_code == 403 and response.json()["code"] == "paused"


def test_an_annotator_who_gets_gold_right_is_not_paused(project, make_annotator):
    quality_project(project)
    annotator = make_annotator("careful")
    for _ in range(5):
        label(project, annotator, -1)  # same side as the gold -2: right

    assert Membership.objects.get(project=project, user=annotator).status == "active"


def test_a_paused_annotator_sees_a_polite_page(project, make_annotator):
    quality_project(project)
    annotator = make_annotator("sloppy")
    for _ in range(3):
        label(project, annotator, 2)
    client = Client()
    client.force_login(annotator)

    page = client.get(f"/p/{project.pk}/annotate/", follow=True)

    assert page.redirect_chain[-1][0] == f"/p/{project.pk}/annotate/end/"
    assert "Your work is paused" in page.content.decode()
    htmx = client.post(f"/p/{project.pk}/annotate/next/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == f"/p/{project.pk}/annotate/end/"


def test_reinstating_unflags_and_restarts_the_count(project, make_annotator, lead):
    quality_project(project)
    annotator = make_annotator("sloppy")
    for _ in range(3):
        label(project, annotator, 2)
    membership = Membership.objects.get(project=project, user=annotator)

    gold.membership_reinstate(project=project, membership_id=membership.pk, by=lead)

    membership.refresh_from_db()
    assert (membership.status, membership.flagged) == ("active", False)
    assert membership.gold_window_start is not None
    # Old wrong answers no longer count: two more wrong ones are not yet enough to judge ...
    label(project, annotator, 2)
    label(project, annotator, 2)
    membership.refresh_from_db()
    assert membership.status == "active"
    # ... a third is.
    label(project, annotator, 2)
    membership.refresh_from_db()
    assert membership.status == "paused"


def test_a_lead_can_pause_an_annotator_by_hand(project, make_annotator, lead):
    import_items(project, 3)
    annotator = make_annotator("ann")
    membership = Membership.objects.get(project=project, user=annotator)

    gold.membership_pause(project=project, membership_id=membership.pk, by=lead)

    membership.refresh_from_db()
    assert (membership.status, membership.flagged) == ("paused", True)
    assert membership.status_reason == "paused by lead"
    with pytest.raises(AnnotatorPaused):
        services.assignment_reserve_next(project=project, annotator=annotator)


def test_qualification_answers_do_not_count_toward_gold_accuracy(project, make_annotator):
    quality_project(project, min_answers=1)
    Item.objects.filter(external_id="gold-0").update(is_qualification=True)
    project.qualification_pass_mark = 0.0
    project.save()
    annotator = make_annotator("ann")

    first = label(project, annotator, 2)  # the qualification item, answered wrong

    assert first.external_id == "gold-0"
    assert gold.annotator_gold_score(project=project, annotator=annotator).n_answers == 0
    assert Membership.objects.get(project=project, user=annotator).status == "active"


# --- flagged work out of exports


def export(api, lead, project, query):
    response = api(lead).get(f"/api/v1/projects/{project.pk}/export/?format=jsonl&{query}")
    assert response.status_code == 200
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


@pytest.fixture
def flagged_world(project, make_annotator, lead):
    project.overlap = 2
    project.save()
    import_items(project, 2)
    good, bad = make_annotator("good"), make_annotator("bad")
    for _ in range(2):
        label(project, good, -2)
        label(project, bad, 2)
    membership = Membership.objects.get(project=project, user=bad)
    gold.membership_pause(project=project, membership_id=membership.pk, by=lead)
    return project, good, bad


def test_exports_leave_out_flagged_annotations_by_default(flagged_world, api, lead):
    project, good, bad = flagged_world

    annotations = export(api, lead, project, "shape=annotations&identities=1")
    items = export(api, lead, project, "shape=items&identities=1")
    pairs = export(api, lead, project, "shape=preference_pairs")

    assert {row["annotator"] for row in annotations} == {"good"}
    assert all(row["n_annotations"] == 1 for row in items)
    assert all([label["annotator"] for label in row["labels"]] == ["good"] for row in items)
    assert all(row["label_distribution"]["2"] == 0 for row in items)
    assert all(row["n_annotators"] == 1 and row["margin"] == 2 for row in pairs)


def test_exports_keep_flagged_annotations_when_asked(flagged_world, api, lead):
    project, good, bad = flagged_world

    annotations = export(api, lead, project, "shape=annotations&identities=1&include_flagged=1")
    items = export(api, lead, project, "shape=items&include_flagged=true")

    assert {row["annotator"] for row in annotations} == {"good", "bad"}
    assert all(row["n_annotations"] == 2 for row in items)
    assert all(row["agreement_status"] is not None for row in items)


def test_reinstating_brings_the_annotations_back_into_exports(flagged_world, api, lead):
    project, good, bad = flagged_world
    membership = Membership.objects.get(project=project, user=bad)

    gold.membership_reinstate(project=project, membership_id=membership.pk, by=lead)

    rows = list(exporting.export_rows(project, shape="annotations", identities=True))
    assert {row["annotator"] for row in rows} == {"good", "bad"}


def test_the_export_command_leaves_out_flagged_annotations_unless_asked(flagged_world, tmp_path):
    from django.core.management import call_command

    project, good, bad = flagged_world
    default, everything = tmp_path / "default.jsonl", tmp_path / "all.jsonl"
    call_command("export", str(project.pk), "-o", str(default), "--identities", verbosity=0)
    call_command(
        "export",
        str(project.pk),
        "-o",
        str(everything),
        "--identities",
        "--include-flagged",
        verbosity=0,
    )

    def annotators(path):
        return {json.loads(line)["annotator"] for line in path.read_text().splitlines()}

    assert annotators(default) == {"good"}
    assert annotators(everything) == {"good", "bad"}


# --- marking gold in the UI


def test_an_item_can_be_marked_gold_with_a_validated_answer(project):
    import_items(project, 2)

    item = gold.item_gold_set(
        project=project, external_id="pair-1", gold={"preference": 1}, qualification=True
    )

    assert (item.is_gold, item.is_qualification) == (True, True)
    assert item.gold_value == {"preference": 1, "aspects": {}, "rationale": "", "flags": []}
    with pytest.raises(InvalidInput) as caught:
        gold.item_gold_set(project=project, external_id="pair-0", gold={"preference": 7})
    assert caught.value.detail[0].field == "gold.preference"
    with pytest.raises(InvalidInput):
        gold.item_gold_set(project=project, external_id="nope", gold={"preference": 1})
    cleared = gold.item_gold_clear(project=project, item_id=item.pk)
    assert (cleared.is_gold, cleared.gold_value, cleared.is_qualification) == (False, None, False)
