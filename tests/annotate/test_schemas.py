"""The preference_pair item and annotation schemas: what they accept, what they reject, and that
every rejection names the field."""

import pytest

from annotate import services
from annotate.tasktypes import get_task_type
from core.errors import InvalidInput, SchemaError

PLUGIN = get_task_type("preference_pair")


def item(**overrides):
    data = {"prompt": "What is 2+2?", "response_a": "4", "response_b": "Four."}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not ...}


def fields_of(exc_info):
    return [error.field for error in exc_info.value.errors]


def validate_annotation(value, *, config=None):
    return PLUGIN.validate_annotation(value, config=config or {}, payload=item())


# --- items


def test_a_minimal_item_is_valid_and_gets_empty_context_and_metadata():
    assert PLUGIN.validate_item(item()) == {
        "prompt": "What is 2+2?",
        "context": [],
        "response_a": "4",
        "response_b": "Four.",
        "metadata": {},
    }


def test_a_full_item_keeps_every_field():
    data = item(
        context=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": ""},
            {"role": "tool", "content": "{}"},
        ],
        model_a="model-x",
        model_b="model-y",
        metadata={"source": "multipref", "tags": ["math"], "nested": {"n": 1}},
    )
    assert PLUGIN.validate_item(data) == data


def test_an_item_without_prompt_is_rejected_naming_prompt():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(prompt=...))
    assert fields_of(exc) == ["prompt"]
    assert "required" in exc.value.errors[0].message.lower()


@pytest.mark.parametrize("field", ["prompt", "response_a", "response_b"])
def test_an_empty_text_field_is_rejected_naming_it(field):
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(**{field: ""}))
    assert fields_of(exc) == [field]


def test_a_missing_response_is_rejected_naming_it():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(response_b=...))
    assert fields_of(exc) == ["response_b"]


def test_an_unknown_extra_item_field_is_rejected_naming_it():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(response_c="a third one"))
    assert fields_of(exc) == ["response_c"]
    assert "extra" in exc.value.errors[0].message.lower()


def test_a_context_turn_with_a_bad_role_is_rejected_naming_the_turn():
    context = [{"role": "user", "content": "Hi"}, {"role": "narrator", "content": "Once"}]
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(context=context))
    assert fields_of(exc) == ["context.1.role"]
    assert "user" in exc.value.errors[0].message  # it says which roles are allowed


def test_a_context_turn_with_an_extra_key_or_no_content_is_rejected():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(context=[{"role": "user", "content": "x", "name": "bob"}]))
    assert fields_of(exc) == ["context.0.name"]
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(context=[{"role": "user"}]))
    assert fields_of(exc) == ["context.0.content"]


def test_context_must_be_a_list_and_metadata_an_object():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(context={"role": "user", "content": "Hi"}))
    assert fields_of(exc) == ["context"]
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(metadata=["not", "an", "object"]))
    assert fields_of(exc) == ["metadata"]


def test_a_number_is_not_accepted_as_text():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(prompt=42))
    assert fields_of(exc) == ["prompt"]


def test_every_bad_item_field_is_reported_at_once():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(
            {"response_a": "", "extra": 1, "context": [{"role": "x", "content": "y"}]}
        )
    assert set(fields_of(exc)) == {"prompt", "response_a", "response_b", "extra", "context.0.role"}


def test_an_overlong_model_name_is_rejected():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(model_a="m" * 201))
    assert fields_of(exc) == ["model_a"]


def test_the_schema_error_message_names_each_field():
    with pytest.raises(SchemaError) as exc:
        PLUGIN.validate_item(item(prompt=..., response_a=""))
    assert "prompt:" in str(exc.value)
    assert "response_a:" in str(exc.value)
    assert exc.value.as_list()[0].keys() == {"field", "message"}


# --- annotations


@pytest.mark.parametrize("vote", [-2, -1, 0, 1, 2])
def test_every_vote_of_the_five_point_scale_is_valid(vote):
    assert validate_annotation({"preference": vote}) == {
        "preference": vote,
        "aspects": {},
        "rationale": "",
        "flags": [],
    }


def test_a_full_annotation_is_valid_with_configured_aspects_and_flags():
    config = {"aspects": ["helpfulness", "truthfulness"], "flags": ["harmful content"]}
    value = {
        "preference": -1,
        "aspects": {"helpfulness": -2, "truthfulness": 0},
        "rationale": "A is correct.",
        "flags": ["harmful content"],
    }
    assert validate_annotation(value, config=config) == value


@pytest.mark.parametrize("vote", [-3, 3, 100, -100])
def test_a_preference_off_the_scale_is_rejected(vote):
    with pytest.raises(SchemaError) as exc:
        validate_annotation({"preference": vote})
    assert fields_of(exc) == ["value.preference"]


@pytest.mark.parametrize("vote", [True, False, "1", "-2", 1.0, 0.0, None, [1]])
def test_a_preference_that_is_not_an_integer_is_rejected_strictly(vote):
    with pytest.raises(SchemaError) as exc:
        validate_annotation({"preference": vote})
    assert fields_of(exc) == ["value.preference"]


def test_an_annotation_without_preference_is_rejected():
    with pytest.raises(SchemaError) as exc:
        validate_annotation({"rationale": "no vote"})
    assert fields_of(exc) == ["value.preference"]


def test_an_annotation_that_is_not_an_object_is_rejected():
    with pytest.raises(SchemaError) as exc:
        validate_annotation(1)
    assert len(exc.value.errors) == 1
    assert exc.value.errors[0].field.startswith("value")


def test_an_unknown_annotation_field_is_rejected_naming_it():
    with pytest.raises(SchemaError) as exc:
        validate_annotation({"preference": 1, "confidence": 5})
    assert fields_of(exc) == ["value.confidence"]


def test_an_aspect_not_configured_in_the_project_is_rejected_naming_it():
    with pytest.raises(SchemaError) as exc:
        validate_annotation(
            {"preference": 1, "aspects": {"helpfulness": 1, "humour": 2}},
            config={"aspects": ["helpfulness"]},
        )
    assert fields_of(exc) == ["value.aspects.humour"]


def test_aspects_are_rejected_when_the_project_configures_none():
    with pytest.raises(SchemaError) as exc:
        validate_annotation({"preference": 0, "aspects": {"helpfulness": 1}})
    assert fields_of(exc) == ["value.aspects.helpfulness"]


@pytest.mark.parametrize("rating", [3, -3, True, "1"])
def test_an_aspect_rating_off_the_scale_or_not_an_integer_is_rejected(rating):
    with pytest.raises(SchemaError) as exc:
        validate_annotation(
            {"preference": 0, "aspects": {"helpfulness": rating}},
            config={"aspects": ["helpfulness"]},
        )
    assert fields_of(exc) == ["value.aspects.helpfulness"]


def test_an_unknown_flag_is_rejected_naming_flags_and_the_flag():
    with pytest.raises(SchemaError) as exc:
        validate_annotation({"preference": 0, "flags": ["cannot judge", "boring"]})
    assert fields_of(exc) == ["value.flags"]
    assert "boring" in exc.value.errors[0].message


def test_the_default_flags_are_accepted_and_a_project_can_replace_them():
    value = {"preference": 0, "flags": ["cannot judge", "harmful content"]}
    assert validate_annotation(value)["flags"] == ["cannot judge", "harmful content"]
    with pytest.raises(SchemaError):
        validate_annotation(value, config={"flags": ["off topic"]})
    assert validate_annotation(
        {"preference": 0, "flags": ["off topic"]}, config={"flags": ["off topic"]}
    )


def test_an_overlong_rationale_is_rejected():
    with pytest.raises(SchemaError) as exc:
        validate_annotation({"preference": 0, "rationale": "x" * 10_001})
    assert fields_of(exc) == ["value.rationale"]


# --- project configuration and submission use the same schemas


@pytest.mark.parametrize(
    "config",
    [{"aspects": "helpfulness"}, {"aspects": [""]}, {"flags": [1]}, {"flags": None}],
)
def test_a_project_with_a_malformed_aspects_or_flags_config_is_rejected(lead, config):
    with pytest.raises(InvalidInput) as exc:
        services.project_create(
            name="p", task_type="preference_pair", created_by=lead, config=config
        )
    assert exc.value.detail[0].field == "config"


def test_an_unknown_task_type_is_rejected(lead):
    with pytest.raises(InvalidInput) as exc:
        services.project_create(name="p", task_type="sentiment", created_by=lead)
    assert exc.value.detail[0]["field"] == "task_type"


def test_submit_validates_the_value_and_names_the_field(project, make_annotator, import_pairs):
    import_pairs(1)
    annotator = make_annotator("ann")
    assignment = services.assignment_reserve_next(project=project, annotator=annotator)
    with pytest.raises(InvalidInput) as exc:
        services.annotation_submit(
            assignment_id=assignment.pk, annotator=annotator, value={"preference": "1"}
        )
    assert exc.value.detail == [
        {"field": "value.preference", "message": exc.value.detail[0]["message"]}
    ]
    assert "integer" in exc.value.detail[0]["message"].lower()


def test_submit_over_the_api_rejects_a_bool_vote_with_400_naming_the_field(
    project, make_annotator, import_pairs, api
):
    import_pairs(1)
    client = api(make_annotator("ann"))
    reserved = client.post(f"/api/v1/projects/{project.pk}/next/").json()
    response = client.post(
        f"/api/v1/assignments/{reserved['assignment']['id']}/submit/",
        {"value": {"preference": True}},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert [e["field"] for e in body["errors"]] == ["value.preference"]


@pytest.mark.parametrize("field", ["prompt", "response_a", "response_b"])
def test_whitespace_only_text_is_rejected_as_blank(field):
    record = {"prompt": "Q?", "response_a": "A", "response_b": "B", field: "   \n "}
    with pytest.raises(SchemaError) as info:
        get_task_type("preference_pair").validate_item(record)
    assert [e.field for e in info.value.errors] == [field]
    assert "blank" in info.value.errors[0].message
