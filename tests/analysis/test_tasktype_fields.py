"""Agreement fields of the derailment and tom plug-ins, checked against the krippendorff
package (with the distance passed to it as its own metric) and against hand counts."""

import math

import krippendorff
import numpy as np
import pytest

from analysis.figures import agreement_compute
from annotate.models import Item, Membership
from annotate.tasktypes import get_task_type
from annotate.tasktypes.derailment.analysis import NEVER_POSITION, derailment_distance

from ..factories import MembershipFactory, ProjectFactory, UserFactory
from ..typedata import thread_record, tom_record
from .conftest import add_value

pytestmark = pytest.mark.django_db
NAN = math.nan


def project_of(task_type, **config):
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, task_type=task_type, config=config)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    users = []
    for name in ("ann", "bob", "cat"):
        user = UserFactory(username=name)
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        users.append(user)
    return project, users


def item_of(project, record):
    record = dict(record)
    external_id = record.pop("external_id")
    payload = get_task_type(project.task_type).validate_item(record)
    return Item.objects.create(project=project, external_id=external_id, payload=payload)


# Derailment: (toxic, derailment comment position or None = never) per annotator and thread.
THREADS = [
    [(True, 1), (True, 2), (True, 1)],
    [(False, None), (False, None), (True, 3)],
    [(True, 0), (True, 3), (None, None)],
    [(False, None), (False, None), (False, None)],
]


def test_derailment_toxic_and_point_with_never_and_a_tolerance(db):
    project, users = project_of("derailment", tolerance=1)
    for n, row in enumerate(THREADS):
        item = item_of(project, thread_record(n, n_comments=4))
        for user, (toxic, position) in zip(users, row, strict=True):
            if toxic is None:
                continue
            comment = None if position is None else f"t{n}c{position}"
            add_value(
                item,
                user,
                {
                    "toxic": toxic,
                    "toxic_comment": comment,
                    "derailment_comment": comment,
                    "tones": {},
                },
            )
    fields = {f["name"]: f for f in agreement_compute(project=project).to_dict()["fields"]}

    toxic = [[NAN if row[c][0] is None else float(row[c][0]) for row in THREADS] for c in range(3)]
    expected = krippendorff.alpha(reliability_data=toxic, level_of_measurement="nominal")
    assert fields["toxic"]["alpha"] == pytest.approx(expected, abs=1e-9)

    def position(cell):
        toxic_, point = cell
        if toxic_ is None:
            return NAN
        return NEVER_POSITION if point is None else float(point)

    points = [[position(row[c]) for row in THREADS] for c in range(3)]

    def metric(v1, v2, i1, i2, n_v, dtype):
        return np.vectorize(derailment_distance)(v1, v2).astype(dtype)

    expected = krippendorff.alpha(reliability_data=points, level_of_measurement=metric)
    assert fields["derailment_point"]["alpha"] == pytest.approx(expected, abs=1e-9)
    # Pairs within +-1 comment: thread 0: (1,2) (2,1) yes, (1,1) yes -> 3 of 3; thread 1:
    # never/never yes, never/3 no twice -> 1 of 3; thread 2: (0,3) no -> 0 of 1; thread 3: 3 of 3.
    assert fields["derailment_point"]["agreement_within_tolerance"] == pytest.approx(7 / 10)
    assert fields["derailment_point"]["observed_agreement"] == pytest.approx(5 / 10)


def test_tom_agreement_per_question_kind_and_accuracy_against_gold(db):
    project, users = project_of("tom")
    # answers per annotator: (aware, action, judge); gold is aware=B, action=A, judge=A.
    answers = [
        [("B", "A", "A"), ("B", "A", "A"), ("A", "A", "B")],
        [("B", "B", "A"), ("B", "A", "B"), ("B", "A", "A")],
    ]
    for n, row in enumerate(answers):
        item = item_of(project, tom_record(n))
        for user, (aware, action, judge) in zip(users, row, strict=True):
            add_value(
                item,
                user,
                {"answers": {"aware": aware, "action": action, "judge": judge}, "confidence": {}},
            )
    fields = {f["name"]: f for f in agreement_compute(project=project).to_dict()["fields"]}
    for kind, index in (("mental_state", 0), ("behavior", 1), ("judgment", 2)):
        labels = [[0.0 if row[c][index] == "A" else 1.0 for row in answers] for c in range(3)]
        expected = krippendorff.alpha(reliability_data=labels, level_of_measurement="nominal")
        if math.isnan(expected):
            assert fields[kind]["alpha"] is None
        else:
            assert fields[kind]["alpha"] == pytest.approx(expected, abs=1e-9)
    assert fields["mental_state"]["reference_accuracy"] == pytest.approx(5 / 6)
    assert fields["behavior"]["reference_accuracy"] == pytest.approx(5 / 6)
    assert fields["judgment"]["reference_accuracy"] == pytest.approx(4 / 6)
    # "Not aware" (B) and then "Not reasonable" (B): bob on item 1 contradicts himself.
    assert fields["inconsistent"]["distribution"] == {"false": 5, "true": 1}
