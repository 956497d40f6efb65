"""Model versus humans on a hand-built case: predictions written as ModelRun/Prediction rows."""

import math

import krippendorff
import pytest

from analysis.figures import agreement_compute
from models_runtime.models import ModelRun, Prediction

from .test_agreement import VOTES, coders_by_units, side

pytestmark = pytest.mark.django_db

# item index -> (preference, P(B better)). Humans' majority side per item (VOTES):
# 0 A, 1 B, 2 tie, 3 tie, 4 B, 5 none (three-way tie).
PREDICTIONS = {
    0: (-2, 0.10),  # right
    1: (0, 0.70),  # wrong (tie against B), and no winner on a diverging item
    2: (1, 0.60),  # wrong
    3: (0, 0.45),  # right
    4: (2, 0.92),  # right
    5: (-2, 0.10),  # no majority to compare with; a winner on a diverging item
}


def predict(project, items, *, status=ModelRun.Status.DONE, name="judge"):
    run = ModelRun.objects.create(project=project, model_name=name, source="import", status=status)
    for n, (preference, score) in PREDICTIONS.items():
        Prediction.objects.create(
            run=run,
            item=items[n],
            score=score,
            value={"preference": preference, "aspects": {}, "rationale": "", "flags": []},
        )
    return run


def test_model_figures_worked_out_by_hand(voted_project):
    project = voted_project["project"]
    items = voted_project["votes"](VOTES)
    run = predict(project, items)
    predict(project, items, status=ModelRun.Status.RUNNING, name="unfinished")
    models = agreement_compute(project=project).to_dict()["models"]
    assert [m["run_id"] for m in models] == [run.pk]  # only finished runs
    model = models[0]
    assert model["n_predictions"] == 6
    assert model["n_compared"] == 5
    assert model["accuracy_vs_majority"] == pytest.approx(3 / 5)
    # Uncertainty -|p - 0.5|: diverging items 1 (-0.20) and 5 (-0.40) against high-agreement
    # items 0 (-0.40) and 4 (-0.42): pairs 1>0, 1>4, 5=0, 5>4 -> (1 + 1 + 0.5 + 1) / 4.
    assert model["auroc"] == pytest.approx(0.875)
    assert (model["auroc_n_diverging"], model["auroc_n_agreeing"]) == (2, 2)
    assert model["diverging_winner_share"] == pytest.approx(1 / 2)
    # Alpha with the model as a fourth coder, on the items it predicted (0-5).
    fields = {f["name"]: f for f in model["fields"]}
    for name, level, recode in (("preference", "ordinal", lambda v: v), ("side", "nominal", side)):
        humans = [row[:6] for row in coders_by_units(VOTES, recode)]
        machine = [recode(PREDICTIONS[n][0]) for n in range(6)]
        expected_humans = krippendorff.alpha(reliability_data=humans, level_of_measurement=level)
        expected = krippendorff.alpha(
            reliability_data=humans + [machine], level_of_measurement=level
        )
        assert fields[name]["alpha_humans"] == pytest.approx(expected_humans, abs=1e-9)
        assert fields[name]["alpha_with_model"] == pytest.approx(expected, abs=1e-9)


def test_a_distribution_without_score_uses_its_entropy(voted_project):
    project = voted_project["project"]
    items = voted_project["votes"](VOTES)
    run = ModelRun.objects.create(
        project=project, model_name="dist", source="import", status=ModelRun.Status.DONE
    )
    distributions = {
        0: {"a": 0.9, "b": 0.1},
        4: {"a": 0.2, "b": 0.8},
        1: {"a": 0.5, "b": 0.5},
        5: {"a": 0.85, "b": 0.15},
    }
    for n, dist in distributions.items():
        Prediction.objects.create(
            run=run,
            item=items[n],
            distribution=dist,
            score=None,
            value={"preference": -1 if dist["a"] > 0.5 else 1},
        )

    def entropy(d):
        return -sum(p * math.log(p) for p in d.values())

    # diverging 1 (0.693) and 5 (0.423) against agreeing 0 (0.325) and 4 (0.500):
    # pairs 1>0, 1>4, 5>0, 5<4 -> 3 / 4.
    assert entropy(distributions[5]) < entropy(distributions[4])
    model = agreement_compute(project=project).to_dict()["models"][0]
    assert model["auroc"] == pytest.approx(3 / 4)
