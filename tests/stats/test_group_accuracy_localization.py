"""``stats.group_accuracy`` and ``stats.localization`` against values worked out by hand."""

import numpy as np
import pytest

from stats.group_accuracy import accuracy_by_group
from stats.localization import localization


def test_accuracy_overall_and_per_group_with_counts():
    result = accuracy_by_group(
        [True, False, True, True, False], ["hard", "easy", "easy", None, "hard"]
    )
    assert result.overall.as_dict() == {"accuracy": 0.6, "n": 5, "n_correct": 3}
    assert list(result.groups) == ["easy", "hard"]
    assert result.groups["easy"].as_dict() == {"accuracy": 0.5, "n": 2, "n_correct": 1}
    assert result.groups["hard"].accuracy == 0.5
    assert accuracy_by_group([], []).overall.accuracy is None
    with pytest.raises(ValueError):
        accuracy_by_group([True], [])


def test_localization_hit_rate_precision_and_mean_iou():
    pairs = [
        # IoU 50/100 = 0.5 (a hit, exactly at the threshold); the second reference box unmatched.
        ([[0, 0, 10, 10], [20, 20, 10, 10]], [[0, 0, 10, 5]]),
        # IoU 50/150 = 1/3 (no hit); the far box overlaps nothing.
        ([[0, 0, 10, 10]], [[5, 0, 10, 10], [50, 50, 5, 5]]),
    ]
    result = localization(pairs)
    assert (result.n_pairs, result.n_reference_boxes, result.n_boxes, result.n_hits) == (2, 3, 3, 1)
    assert result.hit_rate == pytest.approx(1 / 3)
    assert result.precision == pytest.approx(1 / 3)
    assert result.mean_iou == pytest.approx((0.5 + 0 + 1 / 3) / 3)
    assert result.mean_iou_hits == pytest.approx(0.5)
    # Scale does not matter: the same boxes in fractions of a 200 x 100 image.
    scaled = [
        (np.asarray(r, float) / [200, 100, 200, 100], np.asarray(d, float) / [200, 100, 200, 100])
        for r, d in pairs
    ]
    assert localization(scaled).n_hits == 1


def test_localization_undefined_figures_have_reasons():
    nothing = localization([])
    assert nothing.hit_rate is None and "no annotation" in nothing.reasons["hit_rate"]
    empty = localization([([], [[0, 0, 1, 1]])])
    assert empty.hit_rate is None and empty.precision == 0.0
    assert empty.reasons["hit_rate"] == "the references have no box"
    none_drawn = localization([([[0, 0, 1, 1]], [])])
    assert none_drawn.hit_rate == 0.0 and none_drawn.precision is None
    assert none_drawn.mean_iou == 0.0
