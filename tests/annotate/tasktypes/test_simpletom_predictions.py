"""tom: the ``simpletom`` prediction adapter (SimpleToM's model-output rows, one per question,
grouped into one prediction per story), its answer parsing, and predictions that leave a question
unanswered."""

from __future__ import annotations

import pytest

from annotate.tasktypes import get_task_type
from annotate.tasktypes.tom.prediction_adapters import (
    parse_answer,
    reply_text,
    simpletom_predictions,
)
from core.errors import SchemaError
from tests.typedata import tom_record

PLUGIN = get_task_type("tom")
LABELS = ("A", "B")


def prompt(story: str = "The milk is sour. Ann pays.", choices=("Yes", "No")) -> str:
    """A SimpleToM evaluation prompt with its ``(X)`` choice lines."""
    lines = " \n".join(f"({label}) {text}" for label, text in zip("ABCD", choices, strict=False))
    return (
        "Given the following story, answer the question by giving the correct answer choice, "
        f"(A) or (B).\n\nStory:\n{story}\n\nQuestion: Is Ann aware? \n{lines}\n\n"
        'What is the correct answer? Respond with just "(A)" or "(B)"\n'
    )


def responses_api(text: str) -> dict:
    """The OpenAI Responses API object SimpleToM stores for gpt-5: a reasoning part first."""
    return {
        "object": "response",
        "output": [
            {"type": "reasoning", "summary": [], "content": None},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            },
        ],
    }


def row(question_id: str, output, **extra) -> dict:
    return {"prompt": prompt(), "correct": "B", "id": question_id, "llm_output": output, **extra}


def run(rows):
    return list(simpletom_predictions(iter(enumerate(rows, start=1))))


# --- answer parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(A)", "A"),
        ("B", "B"),
        ("  (B)\n", "B"),
        ("Answer: (B)", "B"),
        ("answer: A", "A"),
        ("The answer is B.", "B"),
        (
            "Option (A) Yes would need her to see the mould; she cannot. "
            "Therefore, the answer is: (B)",
            "B",
        ),
        ("(B) ... on reflection (A)", "A"),
        ("(C)", None),  # not a choice of the question
        ("(c) maybe", None),
        ("b", None),  # labels are case-sensitive
        ("B) No", None),
        ("I cannot tell from the story.", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_answer(text, expected):
    assert parse_answer(text, LABELS) == expected


def test_parse_answer_reads_the_question_s_own_labels():
    assert parse_answer("(C)", ("A", "B", "C")) == "C"
    assert parse_answer("Answer: 2", ("1", "2")) == "2"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("(A)", "(A)"),
        (responses_api("so (B)"), "so (B)"),
        ({"content": [{"type": "text", "text": "(A)"}], "role": "assistant"}, "(A)"),
        ({"choices": [{"message": {"role": "assistant", "content": "(B)"}}]}, "(B)"),
        ({"choices": [{"text": "(B)"}]}, "(B)"),
        ({"output": [], "error": {"message": "rate limited"}}, None),
        (None, None),
        (42, None),
    ],
)
def test_reply_text_reads_the_stored_api_responses(output, expected):
    assert reply_text(output) == expected


# --- grouping


def test_rows_are_grouped_per_story_and_unparsed_replies_are_kept():
    rows = [  # SimpleToM's order: every _aware row, then _action, then _judge
        row("milk_sev1_aware", responses_api("She has not looked. Therefore, the answer is: (B)")),
        row("milk_sev2_aware", "(A)"),
        row("milk_sev1_action", "Answer: (A)"),
        row("milk_sev2_action", "(B)"),
        row("milk_sev1_judge", "I would rather not say."),
        row("milk_sev2_judge", "(B)"),
    ]
    assert run(rows) == [
        (
            1,
            {
                "external_id": "milk_sev1",
                "value": {"answers": {"milk_sev1_aware": "B", "milk_sev1_action": "A"}},
                "details": {
                    "raw": {
                        "milk_sev1_aware": "She has not looked. Therefore, the answer is: (B)",
                        "milk_sev1_action": "Answer: (A)",
                        "milk_sev1_judge": "I would rather not say.",
                    },
                    "unparsed": ["milk_sev1_judge"],
                },
            },
        ),
        (
            2,
            {
                "external_id": "milk_sev2",
                "value": {
                    "answers": {"milk_sev2_aware": "A", "milk_sev2_action": "B"}
                    | {"milk_sev2_judge": "B"}
                },
                "details": {
                    "raw": {"milk_sev2_aware": "(A)", "milk_sev2_action": "(B)"}
                    | {"milk_sev2_judge": "(B)"},
                    "unparsed": [],
                },
            },
        ),
    ]


def test_a_story_is_emitted_as_soon_as_its_three_questions_are_in():
    rows = [
        row("late_aware", "(A)"),
        row("early_aware", "(B)"),
        row("early_action", "(B)"),
        row("early_judge", "(A)"),
        row("late_judge", "(A)"),
    ]
    emitted = run(rows)
    assert [(line, r["external_id"]) for line, r in emitted] == [(2, "early"), (1, "late")]
    # A story the file asks only part of: the questions asked are the ones in details.raw.
    assert emitted[1][1]["details"] == {
        "raw": {"late_aware": "(A)", "late_judge": "(A)"},
        "unparsed": [],
    }


def test_a_reply_outside_the_prompt_s_choices_is_unparsed():
    # The prompt offers (A) and (B); a "(C)" is no answer to this question.
    emitted = run([row("soup_aware", "(C)")])
    assert emitted[0][1]["value"] == {"answers": {}}
    assert emitted[0][1]["details"]["unparsed"] == ["soup_aware"]


def test_benchmark_rows_with_choices_and_simpletom_s_predicted_letter():
    rows = [
        {
            "id": "soup_action",
            "story": "The soup is cold.",
            "question": "What next?",
            "choices": {"text": ["x", "y", "z"], "label": ["A", "B", "C"]},
            "answerKey": "C",
            "predicted": "C",
        }
    ]
    assert run(rows)[0][1]["value"] == {"answers": {"soup_action": "C"}}


def test_bad_rows_are_errors_on_their_own_lines():
    rows = [
        row("milk_aware", "(A)"),
        row("milk_question", "(A)"),  # no kind suffix
        row("milk_aware", "(B)"),  # the same question again
        {"id": "milk_judge", "prompt": prompt()},  # no reply at all
        ["not", "an", "object"],
    ]
    emitted = run(rows)
    errors = {line: record for line, record in emitted if isinstance(record, SchemaError)}
    assert {line: [e.field for e in exc.errors] for line, exc in errors.items()} == {
        2: ["id"],
        3: ["id"],
        4: ["llm_output"],
    }
    assert "first row of the story on line 1" in errors[3].errors[0].message
    assert (5, ["not", "an", "object"]) in emitted  # left for the importer to name
    assert [r["external_id"] for _line, r in emitted if isinstance(r, dict)] == ["milk"]


def test_the_adapter_is_registered_on_the_type():
    assert PLUGIN.prediction_adapters()["simpletom"] is simpletom_predictions


# --- predictions may leave a question unanswered; annotations may not

PAYLOAD = PLUGIN.validate_item({k: v for k, v in tom_record(0).items() if k != "external_id"})


def test_a_prediction_may_leave_a_question_unanswered():
    value = {"answers": {"aware": "B"}}
    cleaned = PLUGIN.validate_prediction(value, config={}, payload=PAYLOAD)
    assert cleaned == {"answers": {"aware": "B"}, "confidence": {}}
    with pytest.raises(SchemaError):
        PLUGIN.validate_annotation(value, config={}, payload=PAYLOAD)


@pytest.mark.parametrize(
    ("answers", "field"),
    [({"aware": "C"}, "value.answers.aware"), ({"ghost": "A"}, "value.answers.ghost")],
)
def test_a_prediction_s_answers_are_still_checked(answers, field):
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_prediction({"answers": answers}, config={}, payload=PAYLOAD)
    assert [e.field for e in exc.value.errors] == [field]
