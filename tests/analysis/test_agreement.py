"""Agreement figures from the database: matrices, alpha (against the krippendorff package on
data built independently here), statuses, and the annotators' figures (worked out by hand)."""

import math

import krippendorff
import numpy as np
import pytest

from analysis import selectors
from analysis.figures import agreement_compute
from annotate.models import Item, Membership
from annotate.tasktypes import get_task_type

from .conftest import add_vote, make_item

pytestmark = pytest.mark.django_db

NAN = math.nan
# Rows: items; columns: ann, bob, cat (None = no vote). Statuses: see test_status_counts.
VOTES = [
    [-2, -1, -1],
    [1, 2, -1],
    [0, 0, 1],
    [0, 0, 0],
    [2, 2, None],
    [-1, 1, 0],
    [0, 1, None],
    [1, None, None],
]


def coders_by_units(table, recode=lambda v: v):
    """The krippendorff package's input, built straight from the table (not from the DB)."""
    return [[NAN if row[c] is None else recode(row[c]) for row in table] for c in range(3)]


def side(vote):
    return (vote > 0) - (vote < 0)


def figures(project):
    data = agreement_compute(project=project).to_dict()
    return data, {f["name"]: f for f in data["fields"]}


def test_reliability_matrix_has_one_row_per_annotator_and_one_column_per_item(voted_project):
    items = voted_project["votes"](VOTES)
    fields = get_task_type("preference_pair").agreement_fields({})
    rd = selectors.reliability_data(project=voted_project["project"], fields=fields)
    assert list(rd.annotator_ids) == [u.pk for u in voted_project["annotators"]]
    assert list(rd.item_ids) == [i.pk for i in items]
    np.testing.assert_array_equal(
        rd.fields["preference"].data, np.array(coders_by_units(VOTES), dtype=float)
    )
    np.testing.assert_array_equal(
        rd.fields["side"].data, np.array(coders_by_units(VOTES, side), dtype=float)
    )
    assert rd.n_annotations == 20


@pytest.mark.parametrize(
    ("field", "level", "recode"),
    [
        ("preference", "ordinal", lambda v: v),
        ("preference_interval", "interval", lambda v: v),
        ("side", "nominal", side),
    ],
)
def test_alpha_per_field_matches_the_krippendorff_package(voted_project, field, level, recode):
    voted_project["votes"](VOTES)
    _, by_name = figures(voted_project["project"])
    expected = krippendorff.alpha(
        reliability_data=coders_by_units(VOTES, recode), level_of_measurement=level
    )
    assert by_name[field]["alpha"] == pytest.approx(expected, abs=1e-9)
    assert by_name[field]["low"] <= by_name[field]["alpha"] <= by_name[field]["high"]
    assert by_name[field]["n_units"] == 7  # the single-vote item cannot be paired


def test_aspects_are_ordinal_fields_of_their_own(voted_project):
    project = voted_project["project"]
    project.config = {"aspects": ["helpfulness"]}
    project.save()
    ann, bob, cat = voted_project["annotators"]
    aspects = [[2, 1, 2], [-1, -1, 0], [0, 1, 1], [-2, -2, -1]]
    for n, row in enumerate(aspects):
        item = make_item(project, n)
        for user, vote in zip((ann, bob, cat), row, strict=True):
            add_vote(item, user, 1, aspects={"helpfulness": vote})
    _, by_name = figures(project)
    expected = krippendorff.alpha(
        reliability_data=[list(c) for c in zip(*aspects, strict=True)],
        level_of_measurement="ordinal",
    )
    assert by_name["aspect:helpfulness"]["alpha"] == pytest.approx(expected, abs=1e-9)
    assert by_name["aspect:helpfulness"]["level"] == "ordinal"


def test_flagged_annotators_and_gold_items_are_left_out(voted_project):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    ann, bob, cat = voted_project["annotators"]
    Membership.objects.filter(project=project, user=cat).update(flagged=True)
    gold = make_item(project, 99)
    Item.objects.filter(pk=gold.pk).update(is_gold=True, gold_value={"preference": 2})
    add_vote(gold, ann, 2)
    add_vote(gold, bob, -2)
    data, by_name = figures(project)
    two_coders = coders_by_units(VOTES)[:2]
    expected = krippendorff.alpha(reliability_data=two_coders, level_of_measurement="ordinal")
    assert by_name["preference"]["alpha"] == pytest.approx(expected, abs=1e-9)
    assert data["n_annotators"] == 2
    assert data["n_items_annotated"] == len(VOTES)
    rows = {row["username"]: row for row in data["annotators"]["rows"]}
    assert rows["cat"]["flagged"] is True and rows["cat"]["n_annotations"] == 0
    assert rows["ann"]["gold_accuracy"] == 1.0 and rows["bob"]["gold_accuracy"] == 0.0


def test_status_counts(voted_project):
    items = voted_project["votes"](VOTES)
    data, _ = figures(voted_project["project"])
    assert data["divergence"]["status_counts"] == {
        "high_agreement_preference": 2,  # items 0 and 4
        "high_agreement_tie": 2,  # items 2 and 3
        "diverging": 1,  # item 5
        "diverging_significant": 1,  # item 1
        "mixed": 1,  # item 6: one tie against one B
    }
    assert data["divergence"]["n_too_few_votes"] == 1  # item 7
    assert data["divergence"]["diverging_items"] == [
        [items[1].pk, "diverging_significant"],
        [items[5].pk, "diverging"],
    ]


def test_annotator_figures_worked_out_by_hand(voted_project):
    project = voted_project["project"]
    ann, bob, cat = voted_project["annotators"]
    voted_project["votes"](VOTES)
    # Position bias: ann on four more items. left="b" shows B on the left.
    extra = [(-2, "a"), (1, "b"), (0, "b"), (-1, "b")]  # left, left, none, right
    for n, (vote, left) in enumerate(extra, start=50):
        add_vote(make_item(project, n), ann, vote, left=left, seconds=30)
    data, _ = figures(project)
    rows = {row["username"]: row for row in data["annotators"]["rows"]}
    # Leave-one-out on the side (A/tie/B): ann agrees on items 0, 3, 4 and not 6 (1, 2, 5 tie).
    assert rows["ann"]["loo_agreement"] == pytest.approx(3 / 4)
    assert rows["bob"]["loo_agreement"] == pytest.approx(3 / 4)
    assert rows["cat"]["loo_agreement"] == pytest.approx(2 / 4)
    # ann's side picks in VOTES, all shown A left: -2 L, 1 R, 2 R, -1 L, 1 R; plus L, L, R above.
    assert rows["ann"]["side_picks"] == 8
    assert rows["ann"]["left_pick_rate"] == pytest.approx(4 / 8)
    # Median seconds: ten 10 s votes and four 30 s votes.
    assert rows["ann"]["median_seconds"] == pytest.approx(10.0)
    pairwise = data["annotators"]["pairwise"]
    assert pairwise["annotators"] == ["ann", "bob", "cat"]
    assert pairwise["agreement"][0][1] == pytest.approx(5 / 7)
    assert pairwise["agreement"][0][2] == pytest.approx(2 / 5)
    assert pairwise["n_common"][0][2] == 5


def test_an_empty_project_has_figures_without_errors(voted_project):
    data, by_name = figures(voted_project["project"])
    assert data["n_annotations"] == 0
    assert by_name["preference"]["alpha"] is None and by_name["preference"]["reason"]
    assert data["divergence"]["status_counts"]["diverging"] == 0
