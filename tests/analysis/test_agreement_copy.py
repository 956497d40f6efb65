"""The reliability matrix read by binary COPY (values and text codes ranked in SQL) is the matrix
the row-by-row reader builds in Python: numbers, transforms, nominal texts and their code order
(code points, as Python sorts), missing values and empty projects."""

import math

import numpy as np
import pytest

from analysis.selectors.reliability import _reliability_data_copy, _reliability_data_rows
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import AgreementField

from .conftest import add_value, make_item

pytestmark = pytest.mark.django_db

RATIONALES = ["é", "Z", "a", "", "中文", "a b", "Éa", None, "z", "😀"]


def both(project, fields):
    return (
        _reliability_data_copy(project=project, fields=fields),
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
