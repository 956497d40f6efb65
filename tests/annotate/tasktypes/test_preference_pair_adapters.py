"""The ``multipref`` and ``helpsteer2`` adapters (items with their published labels) and the
7-point preference scale. The fixtures are made up, in each dataset's published layout."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from analysis.figures import agreement_compute
from annotate import exporting, services
from annotate.models import Annotation, Item, Membership, Project
from annotate.tasktypes import get_task_type
from core.errors import ImportFailed, InvalidInput, SchemaError
from stats.preference import preference_agreement_status, vote_meaning

pytestmark = pytest.mark.django_db


def jsonl(rows) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def multipref_annotation(evaluator, overall, *, helpful="Tie", truthful=None, harmless=None):
    return {
        "evaluator": evaluator,
        "time_spent": 95,
        "timestamp": "2024-05-28 03:52:28",
        "overall_pref": overall,
        "overall_confidence": "fairly-confident",
        "helpful_pref": helpful,
        "helpful_checked_reasons": ["informative"],
        "helpful_own_reason": "",
        "helpful_confidence": "absolutely-confident",
        "truthful_pref": truthful or "Tie",
        "truthful_checked_reasons": [],
        "truthful_own_reason": "",
        "truthful_confidence": "fairly-confident",
        "harmless_pref": harmless or "Tie",
        "harmless_checked_reasons": [],
        "harmless_own_reason": "",
        "harmless_confidence": "fairly-confident",
    }


def multipref_row(n, normal, expert):
    return {
        "comparison_id": f"cmp{n:04d}",
        "prompt_id": f"p{n}",
        "text": f"How do I make tea number {n}?",
        "model_a": "model-one",
        "completion_a": f"Boil water, steep {n} minutes.",
        "model_b": "model-two",
        "completion_b": "Use a kettle.",
        "source": "made-up",
        "category": "Open QA",
        "subject_study": "Cooking",
        "highest_level_degree": "Bachelor",
        "normal_worker_annotations": normal,
        "expert_worker_annotations": expert,
    }


MULTIPREF = [
    multipref_row(
        1,
        [
            multipref_annotation("crowd-7", "A-is-clearly-better", helpful="A-is-slightly-better"),
            multipref_annotation("crowd-9", "B-is-slightly-better"),
        ],
        [multipref_annotation("expert-3", "Tie", harmless="B-is-clearly-better")],
    ),
    multipref_row(2, [multipref_annotation("crowd-7", "B-is-clearly-better")], []),
]


def helpsteer2_row(prompt, strength, raters, split="train"):
    return {
        "split": split,
        "prompt": prompt,
        "response_1": f"First answer to {prompt}",
        "response_2": f"Second answer to {prompt}",
        "preference_strength": strength,
        "preference_statement": "@Response 1 is better than @Response 2.",
        "preference_elaboration": "Made up for the tests.",
        "three_most_similar_preferences": [],
        "all_preferences_unprocessed": [
            {"strength": s, "justification": j, "task_id": "t"} for s, j in raters
        ],
    }


HELPSTEER2 = [
    helpsteer2_row("q one", -2, [(-3, "Much clearer."), (-2, "Better."), (1, "B is shorter.")]),
    helpsteer2_row("q two", 0, [(0, "Equal."), (0, "")]),
]


def items_import(project, rows, adapter):
    return services.items_import(
        project=project, stream=io.BytesIO(jsonl(rows)), fmt="jsonl", adapter=adapter
    )


def label_of(project, external_id, name):
    return Annotation.objects.get(
        item__project=project,
        item__external_id=external_id,
        annotator__memberships__external_name=name,
    )


# --- multipref


def test_multipref_creates_items_and_their_crowd_and_expert_labels(project):
    result = items_import(project, MULTIPREF, "multipref")
    assert (result.total, result.created) == (2, 2)
    assert result.labels == {
        "total": 4,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "annotators_created": 3,
    }
    item = Item.objects.get(project=project, external_id="cmp0001")
    assert item.payload["prompt"] == "How do I make tea number 1?"
    assert (item.payload["model_a"], item.payload["model_b"]) == ("model-one", "model-two")
    assert item.payload["metadata"]["category"] == "Open QA"
    assert item.payload["metadata"]["prompt_id"] == "p1"
    assert "normal_worker_annotations" not in item.payload["metadata"]
    assert item.n_submitted == 3
    cohorts = dict(
        Membership.objects.filter(project=project, external=True).values_list(
            "external_name", "cohort"
        )
    )
    assert cohorts == {"crowd-7": "crowd", "crowd-9": "crowd", "expert-3": "expert"}
    crowd = label_of(project, "cmp0001", "crowd-7")
    assert crowd.value["preference"] == -2
    assert crowd.value["aspects"] == {"helpful": -1, "truthful": 0, "harmless": 0}
    assert crowd.time_spent_ms == 95000
    assert crowd.created_at.isoformat() == "2024-05-28T03:52:28+00:00"
    assert crowd.metadata["overall_confidence"] == "fairly-confident"
    assert crowd.metadata["helpful_checked_reasons"] == ["informative"]
    assert "overall_pref" not in crowd.metadata
    assert label_of(project, "cmp0001", "expert-3").value["aspects"]["harmless"] == 2
    assert label_of(project, "cmp0002", "crowd-7").value["preference"] == 2
    project.refresh_from_db()
    assert project.config["aspects"] == ["helpful", "truthful", "harmless"]


def test_multipref_reimport_updates_labels_in_place(project):
    items_import(project, MULTIPREF, "multipref")
    again = json.loads(json.dumps(MULTIPREF))
    again[1]["normal_worker_annotations"][0]["overall_pref"] = "A-is-slightly-better"
    result = items_import(project, again, "multipref")
    assert (result.labels["updated"], result.labels["unchanged"]) == (1, 3)
    label = label_of(project, "cmp0002", "crowd-7")
    assert (label.version, label.value["preference"]) == (2, -1)
    assert Annotation.objects.count() == 4


def test_multipref_through_the_api_and_the_command(project, lead, api, tmp_path):
    url = f"/api/v1/projects/{project.pk}/items/?adapter=multipref"
    response = api(lead).post(url, jsonl(MULTIPREF[:1]), content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    assert response.json()["labels"]["created"] == 3
    path = tmp_path / "multipref.jsonl"
    path.write_bytes(jsonl(MULTIPREF))
    out = io.StringIO()
    call_command(
        "import_items",
        project.pk,
        str(path),
        "--adapter",
        "multipref",
        stdout=out,
        stderr=io.StringIO(),
        verbosity=0,
    )
    assert "'created': 1" in out.getvalue()
    assert Annotation.objects.filter(project=project).count() == 4


def test_a_misspelt_preference_fails_the_whole_import_with_line_and_field(project, lead, api):
    rows = json.loads(json.dumps(MULTIPREF))
    rows[1]["normal_worker_annotations"][0]["overall_pref"] = "B-is-better"
    rows[0]["expert_worker_annotations"][0]["truthful_pref"] = "tie"
    url = f"/api/v1/projects/{project.pk}/items/?adapter=multipref"
    response = api(lead).post(url, jsonl(rows), content_type="application/x-ndjson")
    assert response.status_code == 400
    errors = {
        (entry["line"], error["field"])
        for entry in response.json()["errors"]
        for error in entry["errors"]
    }
    assert errors == {
        (1, "expert_worker_annotations[0].truthful_pref"),
        (2, "normal_worker_annotations[0].overall_pref"),
    }
    assert "'B-is-better' is not one of A-is-clearly-better" in response.content.decode()
    assert not Item.objects.filter(project=project).exists()
    assert not Membership.objects.filter(external=True).exists()


def test_wrong_columns_are_named_on_their_line(project):
    rows = [{k: v for k, v in MULTIPREF[0].items() if k not in {"text", "completion_b"}}]
    with pytest.raises(ImportFailed) as exc:
        items_import(project, rows, "multipref")
    fields = {error["field"] for error in exc.value.detail[0]["errors"]}
    assert fields == {"text", "completion_b"}
    assert exc.value.detail[0]["line"] == 1


def test_a_duplicate_annotator_on_one_item_fails_the_import(project):
    rows = json.loads(json.dumps(MULTIPREF))
    rows[0]["expert_worker_annotations"].append(multipref_annotation("crowd-9", "Tie"))
    with pytest.raises(ImportFailed) as exc:
        items_import(project, rows, "multipref")
    assert exc.value.detail == [
        {
            "line": 1,
            "errors": [
                {"field": "annotator", "message": "'crowd-9' already labels 'cmp0001' on line 1"}
            ],
        }
    ]
    assert not Item.objects.filter(project=project).exists()
    assert not Annotation.objects.exists()


def test_an_unknown_adapter_is_a_400_naming_the_known_ones(project, lead, api):
    url = f"/api/v1/projects/{project.pk}/items/?adapter=multiprefs"
    response = api(lead).post(url, jsonl(MULTIPREF), content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "adapter",
            "message": "unknown adapter 'multiprefs' (known: helpsteer2, multipref)",
        }
    ]
    assert not Item.objects.exists()


# --- helpsteer2 and the 7-point scale


def test_helpsteer2_keeps_seven_points_and_names_anonymous_raters(project):
    result = items_import(project, HELPSTEER2, "helpsteer2")
    assert result.labels["created"] == 5
    project.refresh_from_db()
    assert project.config["scale"] == 7
    item = Item.objects.get(project=project, external_id="hs2-train-1")
    assert item.payload["response_a"] == "First answer to q one"
    assert item.payload["metadata"]["preference_strength"] == -2
    assert item.payload["metadata"]["row"] == 1
    first = label_of(project, "hs2-train-1", "hs2-train-1-1")
    assert (first.value["preference"], first.value["rationale"]) == (-3, "Much clearer.")
    assert first.metadata == {"task_id": "t"}
    assert label_of(project, "hs2-train-1", "hs2-train-1-3").value["preference"] == 1
    assert label_of(project, "hs2-train-2", "hs2-train-2-2").value["rationale"] == ""


def test_helpsteer2_strength_out_of_range_is_refused(project):
    rows = [helpsteer2_row("q", 4, [(-4, "x"), ("2", "y")])]
    with pytest.raises(ImportFailed) as exc:
        items_import(project, rows, "helpsteer2")
    fields = {error["field"] for error in exc.value.detail[0]["errors"]}
    assert fields == {"preference_strength", "all_preferences_unprocessed[0].strength"}
    project.refresh_from_db()
    assert "scale" not in project.config  # rolled back with the rest
    assert not Item.objects.exists()


def test_helpsteer2_into_a_five_point_project_with_items_is_refused(project, import_pairs):
    import_pairs(1)
    with pytest.raises(InvalidInput) as exc:
        items_import(project, HELPSTEER2, "helpsteer2")
    assert exc.value.detail[0].field == "adapter"
    assert Item.objects.filter(project=project).count() == 1


def test_the_scale_is_set_at_creation_and_checked(lead):
    project = services.project_create(
        name="seven", task_type="preference_pair", created_by=lead, config={"scale": 7}
    )
    assert project.config["scale"] == 7
    with pytest.raises(InvalidInput) as exc:
        services.project_create(
            name="six", task_type="preference_pair", created_by=lead, config={"scale": 6}
        )
    assert "config" in str(exc.value.detail)
    plugin = get_task_type("preference_pair")
    payload = {"prompt": "p", "response_a": "a", "response_b": "b"}
    assert plugin.validate_annotation({"preference": 3}, config={"scale": 7}, payload=payload)
    with pytest.raises(SchemaError) as refused:
        plugin.validate_annotation({"preference": 3}, config={}, payload=payload)
    assert refused.value.errors[0].field == "value.preference"
    assert "5-point scale (-2 to 2)" in refused.value.errors[0].message


def test_seven_point_statuses_read_much_better_as_three():
    assert vote_meaning(-3, 7).much_better and not vote_meaning(-2, 7).much_better
    assert vote_meaning(-2, 5).much_better
    assert vote_meaning(2, 7).words == "better" and vote_meaning(1, 7).words == "slightly better"
    cases = {
        (-3, 1): "diverging_significant",
        (-2, 1): "diverging",
        (-2, -1): "high_agreement_preference",
        (0, 0, 1): "high_agreement_tie",
        (0, 0, 3): "mixed",
        (0, 0, 2): "high_agreement_tie",
    }
    for votes, status in cases.items():
        assert preference_agreement_status(votes, scale=7) == status, votes
    # The same votes on 5 points: +-2 is "much better" there.
    assert preference_agreement_status((-2, 1)) == "diverging_significant"
    with pytest.raises(ValueError):
        preference_agreement_status((3, 1))


def test_a_seven_point_project_agrees_in_export_and_analysis(project):
    items_import(project, HELPSTEER2, "helpsteer2")
    project = Project.objects.get(pk=project.pk)
    rows = {row["external_id"]: row for row in exporting.item_rows(project, identities=False)}
    assert rows["hs2-train-1"]["agreement_status"] == "diverging_significant"
    assert rows["hs2-train-2"]["agreement_status"] == "high_agreement_tie"
    data = agreement_compute(project=project).to_dict()
    counts = {k: v for k, v in data["divergence"]["status_counts"].items() if v}
    assert counts == {
        "diverging_significant": 1,
        "high_agreement_tie": 1,
    }


def test_the_annotator_page_offers_seven_buttons_on_seven_points():
    plugin = get_task_type("preference_pair")
    payload = {"prompt": "p", "response_a": "a", "response_b": "b"}
    shown = {"left": "a", "right": "b"}
    seven = plugin.display_context(payload, shown_order=shown, config={"scale": 7})["scale"]
    assert [(key, value) for key, value, _text in seven] == [
        (1, -3),
        (2, -2),
        (3, -1),
        (4, 0),
        (5, 1),
        (6, 2),
        (7, 3),
    ]
    assert [text for _k, _v, text in seven] == [
        "Left much better",
        "Left better",
        "Left slightly better",
        "About the same",
        "Right slightly better",
        "Right better",
        "Right much better",
    ]
    five = plugin.display_context(payload, shown_order=shown, config={})["scale"]
    assert [text for _k, _v, text in five] == [
        "Left much better",
        "Left better",
        "About the same",
        "Right better",
        "Right much better",
    ]


def test_the_annotator_page_renders_seven_buttons(lead, make_annotator):
    project = services.project_create(
        name="seven", task_type="preference_pair", created_by=lead, config={"scale": 7}
    )
    items_import(project, HELPSTEER2[:1], "helpsteer2")
    Item.objects.filter(project=project).update(n_submitted=0)  # leave it open to a member
    annotator = make_annotator("ann", in_project=project)
    client = Client()
    client.force_login(annotator)
    page = client.post(f"/p/{project.pk}/annotate/next/", HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert html.count('name="preference"') == 7
    assert 'data-key="7"' in html and "slightly better" in html
    assert "<kbd>1</kbd>–<kbd>7</kbd> choose on the scale" in html


def test_the_command_reports_an_adapters_bad_rows(project, tmp_path):
    path = tmp_path / "hs2.jsonl"
    path.write_bytes(jsonl([helpsteer2_row("q", 0, [(9, "x")])]))
    err = io.StringIO()
    with pytest.raises(CommandError, match="bad lines: 1"):
        call_command(
            "import_items",
            project.pk,
            str(path),
            "--adapter",
            "helpsteer2",
            stdout=io.StringIO(),
            stderr=err,
            verbosity=0,
        )
    assert "all_preferences_unprocessed[0].strength" in err.getvalue()
