"""tom: schemas (one answer per question, choices, confidence), SimpleToM adapter, shown order,
hidden gold answers, form, consistency flag and export."""

from __future__ import annotations

import io
import random

import pytest
from django.http import QueryDict

from annotate import services
from annotate.models import Item
from annotate.tasktypes import get_task_type
from core.errors import ImportFailed, SchemaError
from tests.factories import UserFactory
from tests.typedata import jsonl_bytes, rows_of, simpletom_rows, tom_record

PLUGIN = get_task_type("tom")
PAYLOAD = PLUGIN.validate_item({k: v for k, v in tom_record(0).items() if k != "external_id"})
CONFIG = PLUGIN.config({})


@pytest.fixture
def tproject(lead):
    return services.project_create(name="tom", task_type="tom", created_by=lead, overlap=2)


def check(value):
    return PLUGIN.validate_annotation(value, config=CONFIG, payload=PAYLOAD)


def fields_of(exc) -> set[str]:
    return {error.field for error in exc.value.errors}


ANSWERS = {"aware": "B", "action": "A", "judge": "A"}


# --- annotation rules


def test_one_answer_per_question_with_confidence_is_valid():
    value = {"answers": ANSWERS, "confidence": {"aware": 5, "judge": 1}}
    assert check(value) == value


def test_confidence_is_optional():
    assert check({"answers": ANSWERS}) == {"answers": ANSWERS, "confidence": {}}


def test_a_missing_answer_is_named():
    with pytest.raises(SchemaError) as exc:
        check({"answers": {"aware": "B", "action": "A"}})
    assert fields_of(exc) == {"value.answers.judge"}


def test_a_choice_outside_the_question_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check({"answers": dict(ANSWERS, action="C")})
    assert fields_of(exc) == {"value.answers.action"}


def test_an_answer_to_an_unknown_question_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check({"answers": dict(ANSWERS, extra="A")})
    assert fields_of(exc) == {"value.answers.extra"}


@pytest.mark.parametrize("level", [0, 6, "3", 2.5, True])
def test_confidence_outside_one_to_five_is_rejected(level):
    with pytest.raises(SchemaError) as exc:
        check({"answers": ANSWERS, "confidence": {"aware": level}})
    assert fields_of(exc) == {"value.confidence.aware"}


def test_confidence_for_an_unknown_question_is_rejected():
    with pytest.raises(SchemaError) as exc:
        check({"answers": ANSWERS, "confidence": {"ghost": 3}})
    assert fields_of(exc) == {"value.confidence.ghost"}


# --- items


def test_item_gold_answer_must_be_a_choice_label():
    record = tom_record(1)
    record["questions"][0]["answer"] = "Z"
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item({k: v for k, v in record.items() if k != "external_id"})
    assert fields_of(exc) == {"questions.0.answer"}


def test_item_question_kind_must_be_known():
    record = tom_record(1)
    record["questions"][1]["kind"] = "emotion"
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item({k: v for k, v in record.items() if k != "external_id"})
    assert fields_of(exc) == {"questions.1.kind"}


def test_item_question_ids_must_be_unique():
    record = tom_record(1)
    record["questions"][2]["id"] = "judge"
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item({k: v for k, v in record.items() if k != "external_id"})
    assert fields_of(exc) == {"questions.2.id"}


# --- SimpleToM adapter


def import_simpletom(project, rows):
    return services.items_import(
        project=project, stream=io.BytesIO(jsonl_bytes(rows)), fmt="jsonl", adapter="simpletom"
    )


def test_simpletom_rows_are_grouped_by_story_even_when_interleaved(tproject):
    one, two = simpletom_rows("milk_sev1"), simpletom_rows("milk_sev2", story="Other story.")
    # As in the benchmark's evaluation outputs: every _aware row first, then _action, _judge.
    rows = [one[0], two[0], one[1], two[1], one[2], two[2]]
    assert import_simpletom(tproject, rows).as_dict() == {"total": 2, "created": 2, "updated": 0}
    payload = Item.objects.get(project=tproject, external_id="milk_sev1").payload
    assert [(q["id"], q["kind"], q["answer"]) for q in payload["questions"]] == [
        ("milk_sev1_aware", "mental_state", "B"),
        ("milk_sev1_action", "behavior", "A"),
        ("milk_sev1_judge", "judgment", "B"),
    ]
    assert payload["questions"][1]["choices"] == [
        {"label": "A", "text": "pay for the milk"},
        {"label": "B", "text": "ask for a fresh carton"},
    ]
    assert payload["scenario"] == "grocery"


def test_simpletom_reads_evaluation_output_prompts(tproject):
    prompt = (
        "Given the following story, answer the question.\n\nStory:\nThe soup is cold. "
        "Raj serves it.\n\nQuestion: What will Raj likely do next? \n(A) apologise \n"
        "(B) smile\n\nWhat is the correct answer? Think step by step.\n"
    )
    import_simpletom(tproject, [{"id": "soup_sev1_action", "prompt": prompt, "correct": "B"}])
    payload = Item.objects.get(project=tproject).payload
    assert payload["story"] == "The soup is cold. Raj serves it."
    assert payload["questions"] == [
        {
            "id": "soup_sev1_action",
            "kind": "behavior",
            "text": "What will Raj likely do next?",
            "choices": [{"label": "A", "text": "apologise"}, {"label": "B", "text": "smile"}],
            "answer": "B",
        }
    ]


def test_simpletom_reads_story_generation_rows(tproject):
    row = {
        "id": "gen1_sev2_aware",
        "story": "The jar is cracked. Lee buys it.",
        "question": "Is Lee likely to be aware that the jar is cracked?",
        "answer_correct": "No",
        "answer_incorrect": "Yes",
        "severity": 2,
    }
    import_simpletom(tproject, [row])
    question = Item.objects.get(project=tproject).payload["questions"][0]
    assert question["choices"] == [{"label": "A", "text": "No"}, {"label": "B", "text": "Yes"}]
    assert question["answer"] == "A"


def test_simpletom_rejects_an_id_without_a_kind_suffix(tproject):
    rows = simpletom_rows("a")
    rows[1]["id"] = "a_question"
    with pytest.raises(ImportFailed) as exc:
        import_simpletom(tproject, rows)
    assert exc.value.detail == [
        {
            "line": 2,
            "errors": [
                {
                    "field": "id",
                    "message": "must end in _aware, _action or _judge (SimpleToM question ids)",
                }
            ],
        }
    ]


def test_simpletom_rejects_a_repeated_question_kind_on_its_line(tproject):
    rows = simpletom_rows("a") + simpletom_rows("b")
    rows[4]["id"] = "a_action"  # line 5: story a already has its behavior question
    with pytest.raises(ImportFailed) as exc:
        import_simpletom(tproject, rows)
    assert [(d["line"], d["errors"][0]["field"]) for d in exc.value.detail] == [(5, "id")]


def test_simpletom_rejects_a_story_that_differs_within_its_group(tproject):
    rows = simpletom_rows("a")
    rows[2]["story"] = "Something else entirely."
    with pytest.raises(ImportFailed) as exc:
        import_simpletom(tproject, rows)
    assert [(d["line"], d["errors"][0]["field"]) for d in exc.value.detail] == [(3, "story")]


def test_simpletom_rejects_malformed_choices(tproject):
    rows = simpletom_rows("a")
    rows[0]["choices"] = {"text": ["Yes", "No"], "label": ["A"]}
    with pytest.raises(ImportFailed) as exc:
        import_simpletom(tproject, rows)
    assert [(d["line"], d["errors"][0]["field"]) for d in exc.value.detail] == [(1, "choices")]


# --- shown order, hidden gold, form


def test_questions_are_shown_mental_state_then_behavior_then_judgment():
    order = PLUGIN.shown_order(PAYLOAD, random.Random(1))
    assert order["questions"] == ["aware", "action", "judge"]
    shown = PLUGIN.display_context(PAYLOAD, shown_order=order, config={})
    assert [q["kind"] for q in shown["questions"]] == ["mental_state", "behavior", "judgment"]


def test_choice_order_is_drawn_per_annotator_and_followed_on_screen():
    orders = {
        tuple(PLUGIN.shown_order(PAYLOAD, random.Random(seed))["choices"]["aware"])
        for seed in range(40)
    }
    assert orders == {("A", "B"), ("B", "A")}
    order = {
        "questions": ["aware", "action", "judge"],
        "choices": {"aware": ["B", "A"], "action": ["A", "B"], "judge": ["B", "A"]},
    }
    shown = PLUGIN.display_context(PAYLOAD, shown_order=order, config={})
    assert [(c["key"], c["label"], c["text"]) for c in shown["questions"][0]["choices"]] == [
        ("a", "B", "No"),
        ("b", "A", "Yes"),
    ]


def test_gold_answers_never_reach_the_annotator(tproject, make_annotator, api, client):
    services.items_import(
        project=tproject, stream=io.BytesIO(jsonl_bytes([tom_record(1)])), fmt="jsonl"
    )
    annie = make_annotator("annie", in_project=tproject)
    body = api(annie).post(f"/api/v1/projects/{tproject.pk}/next/").json()
    assert all("answer" not in q for q in body["item"]["payload"]["questions"])
    assert Item.objects.get(project=tproject).payload["questions"][0]["answer"] == "A"
    client.force_login(annie)
    page = client.get(f"/p/{tproject.pk}/annotate/").content.decode()
    assert "Is Bo aware the bread is mouldy?" in page
    assert '"answer"' not in page and 'answer":' not in page


def test_form_stores_choice_labels_not_screen_positions():
    form = QueryDict("answer:aware=B&answer:action=A&answer:judge=A&confidence:aware=4")
    assert PLUGIN.form_to_value(form, shown_order={}, config={}) == {
        "answers": {"aware": "B", "action": "A", "judge": "A"},
        "confidence": {"aware": 4},
    }


# --- export


@pytest.fixture
def annotated(tproject):
    services.items_import(
        project=tproject, stream=io.BytesIO(jsonl_bytes([tom_record(1)])), fmt="jsonl"
    )
    answers = {
        "ann1": {"aware": "B", "action": "A", "judge": "A"},  # all gold
        "ann2": {"aware": "B", "action": "A", "judge": "B"},  # unaware, yet "not reasonable"
    }
    for username, chosen in answers.items():
        user = UserFactory(username=username)
        services.membership_add(project=tproject, user=user, role="annotator")
        assignment = services.assignment_reserve_next(project=tproject, annotator=user)
        services.annotation_submit(
            assignment_id=assignment.pk,
            annotator=user,
            value={"answers": chosen, "confidence": {"aware": 3}},
        )
    return tproject


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_tom_answers_export_scores_against_gold_and_flags_inconsistency(annotated, fmt):
    rows = rows_of(annotated, "tom_answers", fmt)
    got = [
        (
            r["annotator"],
            r["question_id"],
            r["kind"],
            r["answer"],
            str(r["correct"]),
            str(r["inconsistent"]),
        )
        for r in rows
    ]
    assert got == [
        ("ann1", "aware", "mental_state", "B", "True", "False"),
        ("ann1", "action", "behavior", "A", "True", "False"),
        ("ann1", "judge", "judgment", "A", "True", "False"),
        ("ann2", "aware", "mental_state", "B", "True", "True"),
        ("ann2", "action", "behavior", "A", "True", "True"),
        ("ann2", "judge", "judgment", "B", "False", "True"),
    ]
    assert [str(r["confidence"]) for r in rows][:2] == ["3", "None" if fmt != "csv" else ""]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_tom_items_and_annotations_export(annotated, fmt):
    items = rows_of(annotated, "items", fmt)
    assert len(items) == 1 and str(items[0]["n_annotations"]) == "2"
    assert items[0]["agreement_status"] == "split"
    assert len(rows_of(annotated, "annotations", fmt)) == 2
