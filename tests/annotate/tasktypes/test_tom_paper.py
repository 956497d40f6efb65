"""tom: SimpleToM's figures, accuracy against gold per question kind with ``na_frac``, for each
model run and for the humans; worked out by hand and checked with scikit-learn, then end to end
(items and labels imported, predictions through the ``simpletom`` prediction adapter)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from sklearn.metrics import accuracy_score

from analysis.figures import agreement_compute
from annotate import services
from annotate.services.labels_import import labels_store
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import RunPrediction
from annotate.tasktypes.tom.paper import model_metrics, paper_figures
from annotate.tasktypes.tom.prediction_adapters import simpletom_predictions
from models_runtime.models import ModelRun, Prediction
from tests.typedata import jsonl_bytes, simpletom_rows

PLUGIN = get_task_type("tom")
KINDS = {"aware": "mental_state", "action": "behavior", "judge": "judgment"}
GOLD = {"aware": "B", "action": "A", "judge": "B"}


def payload(n: int, *, with_answers: bool = True) -> dict:
    return {
        "story": f"Story {n}.",
        "questions": [
            {
                "id": f"s{n}_{suffix}",
                "kind": kind,
                "text": f"{suffix}?",
                "choices": [{"label": "A", "text": "x"}, {"label": "B", "text": "y"}],
                **({"answer": GOLD[suffix]} if with_answers else {}),
            }
            for suffix, kind in KINDS.items()
        ],
    }


@dataclass
class Data:
    """Plain data standing in for ``analysis.selectors.metrics.ProjectMetricsData``."""

    items: dict
    gold_values: dict = field(default_factory=dict)
    humans: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    def payloads(self):
        return self.items

    def gold(self):
        return self.gold_values

    def human_values(self):
        return self.humans

    def statuses(self):
        return {}


def answers(n: int, **by_suffix) -> dict:
    return {"answers": {f"s{n}_{s}": label for s, label in by_suffix.items()}}


def prediction(item_id, value, details=None) -> RunPrediction:
    return RunPrediction(item_id, value, None, None, details or {})


# Item 4's gold is its gold value, not its questions' answers.
DATA = Data(
    items={1: payload(1), 2: payload(2), 3: payload(3), 4: payload(4, with_answers=False)},
    gold_values={4: answers(4, aware="B", action="A", judge="B")},
)
PREDICTIONS = [
    # right, right, wrong
    prediction(
        1,
        answers(1, aware="B", action="A", judge="A"),
        {"raw": dict.fromkeys(["s1_aware", "s1_action", "s1_judge"], "")},
    ),
    # right, wrong, unparsed
    prediction(
        2,
        answers(2, aware="B", action="B"),
        {"raw": dict.fromkeys(["s2_aware", "s2_action", "s2_judge"], ""), "unparsed": ["s2_judge"]},
    ),
    # only the mental-state question asked: wrong
    prediction(3, answers(3, aware="A"), {"raw": {"s3_aware": "(A)"}}),
    # a backend's prediction (no details): every question asked, all right
    prediction(4, answers(4, aware="B", action="A", judge="B")),
    # an item not in the project: left out
    prediction(99, answers(99, aware="B")),
]


def test_model_metrics_worked_out_by_hand():
    metrics = model_metrics(DATA, PREDICTIONS)
    assert metrics["n_items"] == 4
    per_kind = metrics["per_kind"]
    assert per_kind["mental_state"] == {
        "accuracy": pytest.approx(3 / 4),
        "n": 4,
        "correct": 3,
        "n_unanswered": 0,
        "asked": 4,
        "unparsed": 0,
        "na_frac": 0.0,
    }
    assert (per_kind["behavior"]["accuracy"], per_kind["behavior"]["n"]) == (
        pytest.approx(2 / 3),
        3,
    )
    judgment = per_kind["judgment"]
    assert (judgment["accuracy"], judgment["correct"], judgment["n"]) == (
        pytest.approx(1 / 3),
        1,
        3,
    )
    assert (judgment["unparsed"], judgment["asked"], judgment["na_frac"]) == (
        1,
        3,
        pytest.approx(1 / 3),
    )
    assert judgment["n_unanswered"] == 1
    overall = metrics["overall"]
    assert (overall["accuracy"], overall["n"], overall["na_frac"]) == (
        pytest.approx(0.6),
        10,
        pytest.approx(0.1),
    )


def test_model_accuracy_per_kind_matches_scikit_learn():
    metrics = model_metrics(DATA, PREDICTIONS)
    by_kind: dict[str, tuple[list, list]] = {kind: ([], []) for kind in KINDS.values()}
    for p in PREDICTIONS:
        if p.item_id not in DATA.items:
            continue
        asked = p.details.get("raw") or {f"s{p.item_id}_{s}": "" for s in KINDS}
        for qid in asked:
            suffix = qid.split("_", 1)[1]
            truth, pred = by_kind[KINDS[suffix]]
            truth.append(GOLD[suffix])
            pred.append(p.value["answers"].get(qid, "none"))  # unparsed: wrong
    for kind, (truth, pred) in by_kind.items():
        expected = accuracy_score(truth, pred)
        assert metrics["per_kind"][kind]["accuracy"] == pytest.approx(expected)


def test_nothing_to_compare_is_none_with_a_reason():
    metrics = model_metrics(Data(items={1: payload(1, with_answers=False)}), PREDICTIONS[:1])
    assert metrics["per_kind"]["judgment"]["accuracy"] is None
    assert metrics["per_kind"]["judgment"]["reason"] == "nothing to compare"
    assert metrics["per_kind"]["judgment"]["na_frac"] == 0.0
    assert model_metrics(DATA, [])["overall"]["na_frac"] is None


# Item 1: three annotators; item 2: two. Gold: aware B, action A, judge B.
HUMANS = {
    1: [
        answers(1, aware="B", action="A", judge="B"),
        answers(1, aware="B", action="B", judge="A"),
        answers(1, aware="A", action="B", judge="B"),
    ],
    2: [
        answers(2, aware="B", action="A", judge="A"),
        answers(2, aware="A", action="A", judge="A"),
    ],
}


def test_paper_figures_worked_out_by_hand():
    figures = paper_figures(Data(items=DATA.items, humans=HUMANS))
    assert figures["n_items"] == 2
    per_kind = figures["per_kind"]
    # Each answer: aware 3/5, action 3/5, judge 2/5.
    assert {k: (v["humans"]["correct"], v["humans"]["n"]) for k, v in per_kind.items()} == {
        "mental_state": (3, 5),
        "behavior": (3, 5),
        "judgment": (2, 5),
    }
    # Majorities: aware item 1 B (right), item 2 tied; action B (wrong), A (right);
    # judge B (right), A (wrong).
    assert {
        k: (v["majority"]["correct"], v["majority"]["n"], v["majority"]["n_tied"])
        for k, v in per_kind.items()
    } == {"mental_state": (1, 1, 1), "behavior": (1, 2, 0), "judgment": (1, 2, 0)}
    overall = figures["overall"]
    assert overall["humans"]["accuracy"] == pytest.approx(8 / 15)
    assert (overall["majority"]["accuracy"], overall["majority"]["n_tied"]) == (
        pytest.approx(3 / 5),
        1,
    )


def test_paper_figures_each_answer_matches_scikit_learn():
    figures = paper_figures(Data(items=DATA.items, humans=HUMANS))
    for suffix, kind in KINDS.items():
        given = [v["answers"][f"s{n}_{suffix}"] for n, values in HUMANS.items() for v in values]
        expected = accuracy_score([GOLD[suffix]] * len(given), given)
        assert figures["per_kind"][kind]["humans"]["accuracy"] == pytest.approx(expected)


def test_no_human_labels_no_paper_figures():
    assert paper_figures(DATA) == {}


# --- end to end: SimpleToM items, published labels, a model's SimpleToM output


@pytest.fixture
def tproject(lead):
    project = services.project_create(name="tom", task_type="tom", created_by=lead, overlap=2)
    rows = simpletom_rows("milk_sev1") + simpletom_rows("milk_sev2", story="Other story.")
    services.items_import(
        project=project, stream=io.BytesIO(jsonl_bytes(rows)), fmt="jsonl", adapter="simpletom"
    )
    return project


def label_rows(story: str, by_annotator: dict[str, tuple[str, str, str]]) -> list:
    return [
        {
            "external_id": story,
            "annotator": name,
            "value": {"answers": {f"{story}_{s}": a for s, a in zip(KINDS, given, strict=True)}},
        }
        for name, given in by_annotator.items()
    ]


def model_output(question_id: str, text: str) -> dict:
    """A SimpleToM inference row: the prompt's choices are (A) and (B)."""
    prompt = "Story:\nA story.\n\nQuestion: A question? \n(A) one \n(B) two\n\nAnswer."
    return {"prompt": prompt, "correct": "B", "id": question_id, "llm_output": text}


def import_simpletom_output(project, rows) -> ModelRun:
    """What the predictions import does with the adapter's rows (stored as a finished run)."""
    run = ModelRun.objects.create(
        project=project, model_name="gpt-x", source="import", status=ModelRun.Status.DONE
    )
    for _line, row in simpletom_predictions(iter(enumerate(rows, start=1))):
        item = project.items.get(external_id=row["external_id"])
        value = PLUGIN.validate_prediction(
            row["value"], config=project.config, payload=item.payload
        )
        Prediction.objects.create(run=run, item=item, value=value, details=row["details"])
    return run


OUTPUT = [
    model_output("milk_sev1_aware", "Ann has not opened it. Therefore, the answer is: (B)"),
    model_output("milk_sev2_aware", "(A)"),
    model_output("milk_sev1_action", "(A)"),
    model_output("milk_sev2_action", "(A)"),
    model_output("milk_sev1_judge", "It depends."),
    model_output("milk_sev2_judge", "Answer: (B)"),
]


def test_end_to_end_from_simpletom_files(tproject, client, lead):
    labels = label_rows("milk_sev1", {"ann": ("B", "A", "B"), "bob": ("A", "A", "A")})
    labels += label_rows("milk_sev2", {"ann": ("B", "B", "B"), "bob": ("B", "A", "B")})
    labels_store(project=tproject, rows=list(enumerate(labels, start=1)))
    run = import_simpletom_output(tproject, OUTPUT)

    figures = agreement_compute(project=tproject)
    (model,) = figures.models
    assert model.run_id == run.pk
    per_kind = model.metrics["per_kind"]
    # Gold: aware B, action A, judge B. Model: aware B, A; action A, A; judge unparsed, B.
    assert {k: (v["correct"], v["n"], v["unparsed"]) for k, v in per_kind.items()} == {
        "mental_state": (1, 2, 0),
        "behavior": (2, 2, 0),
        "judgment": (1, 2, 1),
    }
    assert per_kind["judgment"]["na_frac"] == pytest.approx(0.5)
    humans = figures.paper["per_kind"]
    # Each answer: aware B, A, B, B -> 3/4; action A, A, B, A -> 3/4; judge B, A, B, B -> 3/4.
    assert {k: v["humans"]["correct"] for k, v in humans.items()} == dict.fromkeys(
        ["mental_state", "behavior", "judgment"], 3
    )
    # Majority per question: sev1 aware and judge tied (B, A), action A; sev2 all B, so aware
    # right, action wrong, judge right.
    assert humans["mental_state"]["majority"] == {
        "accuracy": 1.0,
        "n": 1,
        "correct": 1,
        "n_unanswered": 0,
        "n_tied": 1,
    }

    accuracy = PLUGIN.paper_tables(figures.to_dict())[0]
    assert accuracy.columns == ["Who", "Mental state", "Behavior", "Judgment", "All", "na_frac"]
    humans_each, humans_majority, model_row = accuracy.rows
    assert humans_each == ["Humans (every answer)", 3 / 4, 3 / 4, 3 / 4, 9 / 12, None]
    assert humans_majority[0] == "Humans (majority answer)" and humans_majority[1] == 1.0
    assert model_row == ["gpt-x", 1 / 2, 1.0, 1 / 2, pytest.approx(4 / 6), pytest.approx(1 / 6)]

    client.force_login(lead)
    report = reverse("api-report", args=[tproject.pk])
    csv = client.get(report + "?format=csv").content.decode().splitlines()
    assert csv[:2] == [
        "Accuracy against gold per question kind",
        "Who,Mental state,Behavior,Judgment,All,na_frac",
    ]
    assert any(line.startswith("gpt-x,0.5,1.0,0.5,0.666") for line in csv)
    html = client.get(reverse("analysis-dashboard", args=[tproject.pk])).content.decode()
    assert "Accuracy against gold per question kind" in html and "Mental state" in html
    assert "<td>gpt-x</td>" in html


def test_model_metrics_without_human_labels(tproject):
    """A SimpleToM sample imported with its gold and a model's output, no human labels yet."""
    import_simpletom_output(tproject, OUTPUT)
    (model,) = agreement_compute(project=tproject).models
    assert model.accuracy_vs_majority is None and model.n_compared == 0
    assert model.metrics["overall"]["correct"] == 4
    assert model.metrics["overall"]["unparsed"] == 1
