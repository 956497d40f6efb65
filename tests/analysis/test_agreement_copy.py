"""The reliability matrix read as binary arrays (values and text codes ranked in SQL) is the matrix
the row-by-row reader builds in Python: numbers, transforms, nominal texts and their code order
(code points, as Python sorts), missing values and empty projects; and the dashboard's one read
(``analysis_reads``: matrix, position picks, median times) gives what the separate reads give,
flagged annotators and gold items included."""

import math
from collections import Counter

import numpy as np
import pytest

from analysis.selectors.reliability import (
    _reliability_data_arrays,
    _reliability_data_rows,
    analysis_reads,
    median_ms_by_annotator,
    position_facts,
)
from annotate.models import Item, Membership
from annotate.selectors import annotator_quality
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import AgreementField

from ..factories import MembershipFactory, UserFactory
from .conftest import add_value, add_vote, make_item

pytestmark = pytest.mark.django_db

RATIONALES = ["é", "Z", "a", "", "中文", "a b", "Éa", None, "z", "😀"]


def both(project, fields):
    return (
        _reliability_data_arrays(project=project, fields=fields)[0],
        _reliability_data_rows(project=project, fields=fields),
    )


def assert_same(copied, rows):
    np.testing.assert_array_equal(copied.annotator_ids, rows.annotator_ids)
    np.testing.assert_array_equal(copied.item_ids, rows.item_ids)
    assert list(copied.fields) == list(rows.fields)
    for name, fd in rows.fields.items():
        np.testing.assert_array_equal(copied.fields[name].data, fd.data)
        assert copied.fields[name].codes == fd.codes


def test_numbers_texts_and_missing_values_match_the_row_reader(voted_project):
    project = voted_project["project"]
    annotators = voted_project["annotators"]
    for n, rationale in enumerate(RATIONALES):
        item = make_item(project, n)
        for k, user in enumerate(annotators):
            if (n + k) % 4 == 3:
                continue  # some annotators skip some items
            value = {"preference": (n * 3 + k) % 5 - 2, "aspects": {}, "flags": []}
            if k != 2 or n % 2:
                value["aspects"] = {"clarity": (n + k) % 3}
            if rationale is not None:
                value["rationale"] = rationale + ("" if k == 0 else str(k % 2))
            add_value(item, user, value)
    fields = [
        *get_task_type("preference_pair").agreement_fields({"aspects": ["clarity"]}),
        AgreementField("why", "Rationale", "nominal", path=("rationale",)),
        AgreementField("why_again", "Rationale again", "nominal", path=("rationale",)),
        AgreementField("flags", "Flags", "nominal", path=("flags",)),
    ]
    copied, rows = both(project, fields)
    assert_same(copied, rows)
    codes = copied.fields["why"].codes
    assert codes == sorted(codes) and {"é", "中文1", "Éa", "1"} <= set(codes)
    assert copied.fields["flags"].codes == ["[]"]  # JSON values read as their text
    assert math.isnan(copied.fields["aspect:clarity"].data[2, 0])


def test_an_empty_project_gives_empty_matrices(voted_project):
    fields = get_task_type("preference_pair").agreement_fields({})
    fields.append(AgreementField("why", "Rationale", "nominal", path=("rationale",)))
    copied, rows = both(voted_project["project"], fields)
    assert_same(copied, rows)
    assert copied.fields["why"].codes == [] and copied.fields["preference"].codes is None


def test_the_dashboard_read_gives_what_the_separate_reads_give(voted_project):
    """Flagged annotators and gold items are left out of the matrix and the position picks but
    counted in the median times (as on the quality page); imported labels (no shown order) pick
    no side; times of every parity."""
    project = voted_project["project"]
    ann, bob, cat = voted_project["annotators"]
    dan = UserFactory(username="dan")
    MembershipFactory(project=project, user=dan, role=Membership.Role.ANNOTATOR, flagged=True)
    gold = make_item(project, 99)
    Item.objects.filter(pk=gold.pk).update(is_gold=True, gold_value={"preference": 1})
    for n in range(12):
        item = make_item(project, n)
        for k, user in enumerate((ann, bob, cat, dan)):
            if (n + k) % 5 == 4:
                continue
            vote = (n * 7 + k * 3) % 5 - 2
            add_vote(item, user, vote, left="ab"[(n + k) % 2], seconds=1.5 + (n * k) % 7)
    add_value(make_item(project, 50), ann, {"preference": 2, "aspects": {}, "flags": []})
    for user in (ann, dan):
        add_vote(gold, user, 1, seconds=100.0)
    plugin = get_task_type("preference_pair")
    fields = plugin.agreement_fields({})
    one_read = analysis_reads(
        project=project,
        fields=fields,
        position_pick=plugin.position_pick,
        position_keys=plugin.position_keys,
    )
    # A field read in Python takes every read on its own (the generic path, as on SQLite).
    python_field = AgreementField(
        "side_again", "Side", "nominal", extract=lambda value, payload: value["preference"] > 0
    )
    separate = analysis_reads(
        project=project,
        fields=[*fields, python_field],
        position_pick=plugin.position_pick,
        position_keys=plugin.position_keys,
    )
    assert_same(one_read[0], _reliability_data_rows(project=project, fields=fields))
    separate_rd = separate[0]
    separate_rd.fields.pop("side_again")
    assert_same(one_read[0], separate_rd)
    assert dan.pk not in one_read[0].annotator_ids and gold.pk not in one_read[0].item_ids

    def picks(facts):
        """Annotations per (annotator, side picked), however they were grouped."""
        total: Counter[tuple[int, str]] = Counter()
        for annotator_id, pick, n in zip(
            facts.annotator_ids, facts.picks, facts.counts, strict=True
        ):
            total[annotator_id, str(pick)] += n
        return total

    assert picks(one_read[1]) == picks(separate[1])
    assert picks(one_read[1]) == picks(
        position_facts(project=project, position_pick=plugin.position_pick)
    )
    assert {a for a, _pick in picks(one_read[1])} == {ann.pk, bob.pk, cat.pk}
    assert picks(one_read[1])[ann.pk, "None"] >= 1  # the imported label
    medians = one_read[2]
    assert medians == separate[2] == median_ms_by_annotator(project=project)
    quality = {q.membership.user_id: q.median_seconds for q in annotator_quality(project=project)}
    assert {a: m / 1000 for a, m in medians.items()} == quality
    assert set(medians) == {ann.pk, bob.pk, cat.pk, dan.pk}


def test_the_dashboard_read_of_an_empty_project(voted_project):
    plugin = get_task_type("preference_pair")
    rd, facts, medians = analysis_reads(
        project=voted_project["project"],
        fields=plugin.agreement_fields({}),
        position_pick=plugin.position_pick,
        position_keys=plugin.position_keys,
    )
    assert rd.item_ids.size == 0 and rd.fields["preference"].data.size == 0
    assert facts is not None and facts.annotator_ids == [] and medians == {}
