"""Per model run: the winner share on the items of each agreement status (worked out by hand) and
the "does the model know" AUROC (against scikit-learn), each run on its own predictions."""

import numpy as np
import pytest
from django.urls import reverse
from sklearn.metrics import roc_auc_score

from analysis import tables
from analysis.figures import agreement_compute
from models_runtime.models import ModelRun, Prediction

from .test_agreement import VOTES

pytestmark = pytest.mark.django_db

# Statuses of VOTES: 0 and 4 high_agreement_preference, 2 and 3 high_agreement_tie,
# 1 diverging_significant, 5 diverging, 6 mixed, 7 none (one vote).
PICKS = {0: -2, 1: 0, 2: 1, 3: 0, 4: 2, 5: -2, 6: 0, 7: 1}


def run_with(project, items, values, scores=None, name="judge"):
    run = ModelRun.objects.create(
        project=project, model_name=name, source="import", status=ModelRun.Status.DONE
    )
    for n, preference in values.items():
        Prediction.objects.create(
            run=run,
            item=items[n],
            score=None if scores is None else scores[n],
            value={"preference": preference, "aspects": {}, "rationale": "", "flags": []},
        )
    return run


def test_winner_share_per_status_worked_out_by_hand(voted_project, api):
    project = voted_project["project"]
    items = voted_project["votes"](VOTES)
    run_with(project, items, PICKS)
    [model] = agreement_compute(project=project).models
    assert model.winner_share_by_status == {
        "high_agreement_preference": {"share": 1.0, "n": 2, "n_winner": 2},  # 0, 4
        "high_agreement_tie": {"share": 0.5, "n": 2, "n_winner": 1},  # 2 picks, 3 ties
        "diverging": {"share": 1.0, "n": 1, "n_winner": 1},  # 5
        "diverging_significant": {"share": 0.0, "n": 1, "n_winner": 0},  # 1
        "mixed": {"share": 0.0, "n": 1, "n_winner": 0},  # 6; item 7 has no status
    }
    assert model.diverging_winner_share == pytest.approx(1 / 2)
    assert model.n_diverging_predicted == 2
    # The API, the CSV table and the dashboard show them.
    lead = voted_project["lead"]
    url = reverse("api-agreement", args=[project.pk])
    body = api(lead).get(url).json()
    assert body["models"][0]["winner_share_by_status"]["high_agreement_tie"]["share"] == 0.5
    columns, rows = tables.models_table(agreement_compute(project=project))
    row = dict(zip(columns, rows[0], strict=True))
    assert row["winner_share:high_agreement_tie"] == 0.5 and row["n:high_agreement_tie"] == 2
    csv_text = api(lead).get(url + "?format=csv&table=models").content.decode()
    assert "winner_share:diverging_significant" in csv_text.splitlines()[0]


def test_winner_share_is_none_where_the_model_predicted_nothing(voted_project):
    project = voted_project["project"]
    items = voted_project["votes"](VOTES)
    run_with(project, items, {0: 1})
    [model] = agreement_compute(project=project).models
    assert model.winner_share_by_status["diverging"] == {"share": None, "n": 0, "n_winner": 0}
    assert model.winner_share_by_status["high_agreement_preference"]["n"] == 1


# Vote patterns with their status, cycled over the items: diverging (True), agreeing on a side
# (False), or neither (None: left out of the AUROC).
PATTERNS = [
    ([-1, -1, -2], False),
    ([1, 2, 1], False),
    ([-1, 1, 1], True),
    ([-2, 1, 0], True),
    ([0, 0, 0], None),
    ([1, None, None], None),
    ([2, 2, 1], False),
    ([-1, 1, None], True),
]


def test_auroc_per_run_matches_scikit_learn(voted_project):
    project = voted_project["project"]
    table = [PATTERNS[n % len(PATTERNS)][0] for n in range(40)]
    items = voted_project["votes"](table)
    rng = np.random.default_rng(7)
    runs = {}
    for name in ("first", "second"):
        # Scores rounded to two decimals: ties between items occur and count one half.
        scores = {n: float(np.round(rng.uniform(0, 1), 2)) for n in range(40)}
        runs[name] = (
            run_with(project, items, dict.fromkeys(range(40), 1), scores, name=name),
            scores,
        )
    models = {m.model_name: m for m in agreement_compute(project=project).models}
    for name, (run, scores) in runs.items():
        labelled = [(n, PATTERNS[n % len(PATTERNS)][1]) for n in range(40)]
        kept = [(n, y) for n, y in labelled if y is not None]
        expected = roc_auc_score([y for _n, y in kept], [-abs(scores[n] - 0.5) for n, _y in kept])
        model = models[name]
        assert model.run_id == run.pk
        assert model.auroc == pytest.approx(expected, abs=1e-9), name
        assert model.auroc_n_diverging == sum(1 for _n, y in kept if y)
        assert model.auroc_n_agreeing == sum(1 for _n, y in kept if not y)
    assert models["first"].auroc != models["second"].auroc
