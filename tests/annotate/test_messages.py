"""Validation errors in an annotator's words (issue 10, point 1): one-based, naming what is on
screen, each keeping its field path."""

import pytest
from django.http import QueryDict
from django.test import Client

from annotate import services
from annotate.messages import (
    annotator_errors,
    answer_form_fields,
    answer_lines,
    generic_label,
    plain_message,
)
from annotate.models import Membership
from annotate.tasktypes import get_task_type
from core.errors import FieldError, SchemaError
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.typedata import structure_value, thread_record, tom_record


def errors_for(task_type, value, payload, config=None):
    plugin = get_task_type(task_type)
    with pytest.raises(SchemaError) as exc:
        plugin.validate_annotation(value, config=plugin.config(config or {}), payload=payload)
    project = ProjectFactory.build(task_type=task_type)
    return annotator_errors(project, exc.value.as_list(), payload=payload)


def item(task_type, record):
    record = dict(record)
    record.pop("external_id", None)
    return get_task_type(task_type).validate_item(record)


def test_generic_label_is_one_based():
    assert generic_label(("reasoning_steps", "0", "from")) == "Reasoning steps 1, from"
    assert generic_label(()) == "This answer"


def test_plain_message_rewords_schema_library_output():
    assert plain_message("Field required") == "please answer this"
    assert plain_message("Input should be less than or equal to 5") == "at most 5"
    assert plain_message("a message of our own") == "a message of our own"


def test_visual_argument_step_without_start_names_the_step_one_based():
    value = structure_value()
    value["reasoning_steps"][0]["from"] = []
    errors = errors_for("visual_argument", value, {}, {"mode": "structure"})
    assert (
        FieldError("value.reasoning_steps.0.from", "Reasoning step 1: choose where it starts")
        in errors
    )


def test_visual_argument_premise_without_text_asks_to_describe_the_box():
    value = structure_value()
    value["visual_premises"][0]["text"] = ""
    errors = errors_for("visual_argument", value, {}, {"mode": "structure"})
    assert [e.message for e in errors] == ["Visual premise 1: describe what the box shows"]


def test_tom_unanswered_questions_are_numbered_as_on_screen():
    payload = item("tom", tom_record(1))
    form = QueryDict(f"answer:{payload['questions'][0]['id']}=A")
    value = get_task_type("tom").form_to_value(form, shown_order={}, config={})
    errors = errors_for("tom", value, payload)
    assert [e.message for e in errors] == [
        "Question 2: choose an answer",
        "Question 3: choose an answer",
    ]
    assert errors[0].field == f"value.answers.{payload['questions'][1]['id']}"


def test_derailment_point_after_the_toxic_comment_in_words():
    payload = item("derailment", thread_record(1))
    ids = [c["id"] for c in payload["comments"]]
    form = QueryDict(f"toxic_comment=c:{ids[1]}&derailment_comment=c:{ids[2]}")
    value = get_task_type("derailment").form_to_value(form, shown_order={}, config={})
    errors = errors_for("derailment", value, payload)
    assert errors == [
        FieldError(
            "value.derailment_comment",
            "Derailment point: comment #3 comes after the toxic comment (#2); choose the toxic "
            "comment or one before it",
        )
    ]


def test_derailment_unanswered_says_each_question_once():
    payload = item("derailment", thread_record(1))
    value = get_task_type("derailment").form_to_value(QueryDict(""), shown_order={}, config={})
    messages = [e.message for e in errors_for("derailment", value, payload)]
    assert messages == [
        'Toxic comment: choose the toxic comment, or "no toxic comment"',
        'Derailment point: choose where the conversation derails, or "never derails"',
    ]


def test_annotation_page_shows_worded_errors_next_to_their_fields(db, import_pairs, project):
    import_pairs(1)
    annotator = UserFactory(username="ann")
    MembershipFactory(project=project, user=annotator, role=Membership.Role.ANNOTATOR)
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    client = Client()
    client.force_login(annotator)
    html = client.post(f"/a/{assignment.pk}/submit/", {}, HTTP_HX_REQUEST="true").content.decode()
    assert (
        '<li data-field="value.preference">Which response is better: choose one point on the '
        "scale</li>"
    ) in html
    assert "Saved." not in html
    assert "Input should be" not in html


# --- an answer, as the annotator would say it (the revisit page)


def test_preference_answer_is_summarised_as_it_was_shown():
    project = ProjectFactory.build(task_type="preference_pair")
    value = {"preference": -2, "aspects": {}, "rationale": "clearer", "flags": []}
    as_shown = answer_lines(project, value, payload={}, shown_order={"left": "a"})
    flipped = answer_lines(project, value, payload={}, shown_order={"left": "b"})
    assert as_shown == [("Which response is better", "Left much better"), ("Why", "clearer")]
    assert flipped[0] == ("Which response is better", "Right much better")


def test_derailment_answer_is_summarised_by_comment_number():
    payload = item("derailment", thread_record(1))
    ids = [c["id"] for c in payload["comments"]]
    project = ProjectFactory.build(task_type="derailment")
    value = {"toxic": True, "toxic_comment": ids[2], "derailment_comment": ids[1], "tones": {}}
    assert answer_lines(project, value, payload=payload, shown_order={}) == [
        ("Toxic comment", "comment #3"),
        ("Derailment point", "comment #2"),
    ]


def test_tom_answer_is_summarised_per_question():
    payload = item("tom", tom_record(1))
    first = payload["questions"][0]
    project = ProjectFactory.build(task_type="tom")
    lines = answer_lines(
        project, {"answers": {first["id"]: "A"}, "confidence": {}}, payload=payload, shown_order={}
    )
    assert lines == [("Question 1", f"A: {first['choices'][0]['text']}")]


def test_revisit_page_shows_the_answer_in_words(project, make_annotator, import_pairs):
    import_pairs(1)
    annotator = make_annotator("ann")
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    services.annotation_submit(
        assignment_id=assignment.pk, annotator=annotator, value={"preference": 0}
    )
    client = Client()
    client.force_login(annotator)
    html = client.get(f"/a/{assignment.pk}/").content.decode()
    assert "<dt>Which response is better</dt><dd>About the same</dd>" in html


# --- an answer back in the form's controls (the revisit page)


def form_of(fields):
    form = QueryDict(mutable=True)
    for name, values in fields.items():
        form.setlist(name, values)
    return form


@pytest.mark.parametrize("left", ["a", "b"])
def test_preference_answer_goes_back_into_its_form(left):
    plugin = get_task_type("preference_pair")
    project = ProjectFactory.build(task_type="preference_pair")
    value = {"preference": -2, "aspects": {}, "rationale": "clearer", "flags": []}
    fields = answer_form_fields(project, value, shown_order={"left": left})
    assert plugin.form_to_value(form_of(fields), shown_order={"left": left}, config={}) == value


def test_derailment_answer_goes_back_into_its_form():
    plugin = get_task_type("derailment")
    project = ProjectFactory.build(task_type="derailment")
    for value in (
        {
            "toxic": True,
            "toxic_comment": "t1c2",
            "derailment_comment": "t1c1",
            "tones": {"t1c1": ["Mocking", "Irony"]},
        },
        {"toxic": False, "toxic_comment": None, "derailment_comment": None, "tones": {}},
    ):
        fields = answer_form_fields(project, value, shown_order={})
        assert plugin.form_to_value(form_of(fields), shown_order={}, config={}) == value


def test_tom_answer_goes_back_into_its_form():
    plugin = get_task_type("tom")
    project = ProjectFactory.build(task_type="tom")
    value = {"answers": {"judge": "A", "aware": "B"}, "confidence": {"judge": 4}}
    fields = answer_form_fields(project, value, shown_order={})
    assert plugin.form_to_value(form_of(fields), shown_order={}, config={}) == value


def test_a_type_without_a_form_mapping_gets_none():
    project = ProjectFactory.build(task_type="visual_argument")
    assert answer_form_fields(project, {"choice": "x"}, shown_order={}) is None
