"""Hostile input on the issue-12 endpoints: labels import, predictions import, the paper report,
``/divergence/`` and its tags over REST, the adaptive-overlap PATCH. Each must answer a 4xx that
names the line, field and reason (never a 500), store nothing of a refused request, and refuse
annotators and other projects' leads."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from analysis.models import DivergenceTag, TaxonomyCategory
from annotate import services
from annotate.models import Annotation, Membership
from models_runtime.models import ModelRun
from tests.conftest import jsonl
from tests.factories import MembershipFactory, ProjectFactory, UserFactory, pair_record

pytestmark = pytest.mark.django_db

NDJSON = "application/x-ndjson"


@pytest.fixture
def pairs(project, import_pairs):
    import_pairs(3)
    return project


@pytest.fixture
def other(db):
    """Another project, with its own lead, item and (seeded) taxonomy."""
    lead = UserFactory(username="other-lead")
    project = ProjectFactory(created_by=lead)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    services.items_import(project=project, stream=jsonl([pair_record(9)]), fmt="jsonl")
    return {"project": project, "lead": lead, "item": project.items.get()}


def client(api, user):
    c = api(user)
    c.raise_request_exception = False  # a server error must show as a 500, not raise here
    return c


def label(**more) -> dict:
    return {"external_id": "pair-0", "annotator": "w1", "value": {"preference": 1}, **more}


def lines(*rows) -> bytes:
    return b"".join(
        (row if isinstance(row, bytes) else json.dumps(row).encode()) + b"\n" for row in rows
    )


def fields_of(body: dict) -> set[str]:
    """Every field an error body names (an import's line errors or a request's field errors)."""
    found = set()
    for entry in body.get("errors", []):
        for error in entry.get("errors", [entry]):
            found.add(error["field"])
    return found


# --- labels import


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (label(time_spent_ms=10**22), "time_spent_ms"),
        (label(time_spent_ms=2**31), "time_spent_ms"),
        (label(time_spent_ms="9" * 30), "time_spent_ms"),
        (label(time_spent_ms=True), "time_spent_ms"),
        (label(time_spent_ms=1.5), "time_spent_ms"),
        (label(created_at="0001-01-01T00:00:00+01:00"), "created_at"),
        (label(created_at="0001-01-01T00:00:00"), "created_at"),
        (label(created_at="9999-12-31T23:59:59-05:00"), "created_at"),
        (label(created_at="99999-01-01"), "created_at"),
        (label(cohort={"a": 1}), "cohort"),
        (label(cohort=["crowd"]), "cohort"),
        (label(cohort=True), "cohort"),
        (label(cohort="a\u0000b"), "cohort"),
        (label(annotator="w\u0000"), "annotator"),
        (label(annotator="w" * 300), "annotator"),
        (label(metadata=[1]), "metadata"),
        (label(value="1"), "value"),
        (label(value={"preference": 10**30}), "value.preference"),
        (label(zzz=1), "zzz"),
        (label(external_id="pair-9"), "external_id"),
        (b'{"external_id":"pair-0","annotator":"\\ud800","value":{"preference":1}}', "annotator"),
        (
            b'{"external_id":"pair-0","annotator":"w","value":' + b"[" * 5000 + b"]" * 5000 + b"}",
            "(line)",
        ),
        (b"[1, 2]", "(row)"),
        (b'{"external_id": "pair-0", "annotator": "\xff"}', "(line)"),
    ],
)
def test_a_bad_label_row_is_a_400_naming_its_field_and_nothing_is_imported(
    pairs, lead, api, other, row, field
):
    url = f"/api/v1/projects/{pairs.pk}/annotations/?format=jsonl"
    good = label(external_id="pair-1", annotator="w2")
    response = client(api, lead).post(url, lines(good, row), content_type=NDJSON)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "import_failed"
    [entry] = body["errors"]
    assert entry["line"] == 2
    assert field in fields_of(body)
    assert not Annotation.objects.filter(item__project=pairs).exists()


def test_a_refused_date_leaves_the_annotations_readable(pairs, lead, api):
    """A date of year 1 with a positive offset used to be stored as a BC timestamp that no read
    could load: every later read of the project's annotations failed with a 500."""
    c = client(api, lead)
    url = f"/api/v1/projects/{pairs.pk}/annotations/"
    bad = c.post(
        url + "?format=jsonl",
        lines(label(created_at="0001-01-01T00:00:00+01:00")),
        content_type=NDJSON,
    )
    assert bad.status_code == 400
    assert c.post(url + "?format=jsonl", lines(label()), content_type=NDJSON).status_code == 201
    assert c.get(url).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type", "query"),
    [
        (b"", NDJSON, "?format=jsonl"),
        (b"", "application/json", ""),
        (b'{"a": 1}', "application/json", ""),
        (b"external_id,annotator\n", "image/png", ""),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", ""),
        (b"x", NDJSON, "?format=xml"),
    ],
)
def test_an_empty_or_malformed_labels_file_is_a_400(pairs, lead, api, body, content_type, query):
    url = f"/api/v1/projects/{pairs.pk}/annotations/{query}"
    response = client(api, lead).post(url, body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response.json()["message"]
    assert not Annotation.objects.filter(item__project=pairs).exists()


def test_a_labels_csv_with_a_bom_and_formula_cells_imports_them_as_text(pairs, lead, api):
    body = '\ufeffexternal_id,annotator,value,cohort\npair-0,=cmd|x,"{""preference"": 1}",@crowd\n'
    imported = client(api, lead).post(
        f"/api/v1/projects/{pairs.pk}/annotations/?format=csv",
        body.encode(),
        content_type="text/csv",
    )
    assert imported.status_code == 201, imported.content
    member = Membership.objects.get(project=pairs, external=True)
    assert (member.external_name, member.cohort) == ("=cmd|x", "@crowd")


# --- predictions import


def prediction(**more) -> dict:
    return {"external_id": "pair-0", "value": {"preference": 1}, **more}


@pytest.mark.parametrize(
    ("body", "query", "field"),
    [
        (b'{"external_id":"pair-0","value":{"preference":1},"score":NaN}', "", "score"),
        (b'{"external_id":"pair-0","value":{"preference":1},"score":Infinity}', "", "score"),
        (b'{"external_id":"pair-0","value":{"preference":1},"score":-Infinity}', "", "score"),
        (b'{"external_id":"pair-0","value":{"preference":1},"score":1e999}', "", "score"),
        (json.dumps(prediction(score="high")).encode(), "", "score"),
        (json.dumps(prediction(score=True)).encode(), "", "score"),
        (json.dumps(prediction(external_id={"a": 1})).encode(), "", "external_id"),
        (json.dumps(prediction(external_id="pair-9")).encode(), "", "external_id"),
        (json.dumps(prediction(value=[1])).encode(), "", "value"),
        (json.dumps(prediction(details={"a": "\u0000"})).encode(), "", "details.a"),
        (b"[1]", "", "(row)"),
        (
            b'{"external_id":"pair-0","details":' + b"[" * 5000 + b"]" * 5000 + b"}",
            "",
            "(row)",
        ),
    ],
)
def test_a_bad_prediction_row_is_a_400_naming_its_field_and_no_run_is_made(
    pairs, lead, api, other, body, query, field
):
    url = f"/api/v1/projects/{pairs.pk}/predictions/?model=m&format=jsonl{query}"
    good = json.dumps(prediction(external_id="pair-1")).encode()
    response = client(api, lead).post(url, good + b"\n" + body + b"\n", content_type=NDJSON)
    assert response.status_code == 400, response.content
    body_out = response.json()
    assert body_out["errors"][0]["line"] == 2
    assert field in fields_of(body_out)
    assert not ModelRun.objects.filter(project=pairs).exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"external_id,score\npair-0,nan\n", "text/csv"),
        (b"external_id,score\npair-0,inf\n", "text/csv"),
        (b"external_id,score\npair-0,-Infinity\n", "text/csv"),
    ],
)
def test_non_finite_scores_in_a_csv_are_refused(pairs, lead, api, body, content_type):
    url = f"/api/v1/projects/{pairs.pk}/predictions/?model=m&format=csv"
    response = client(api, lead).post(url, body, content_type=content_type)
    assert response.status_code == 400
    assert "score" in fields_of(response.json())
    assert not ModelRun.objects.filter(project=pairs).exists()


def test_duplicate_prediction_rows_name_the_first_line(pairs, lead, api):
    url = f"/api/v1/projects/{pairs.pk}/predictions/?model=m&format=jsonl"
    row = json.dumps(prediction()).encode()
    response = client(api, lead).post(url, row + b"\n" + row + b"\n", content_type=NDJSON)
    assert response.status_code == 400
    [entry] = response.json()["errors"]
    assert entry["line"] == 2 and "line 1" in entry["errors"][0]["message"]
    assert not ModelRun.objects.filter(project=pairs).exists()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?model=m&format=jsonl&adapter=" + quote("\x00../x<b>"), "adapter"),
        ("?model=m&format=jsonl&adapter=" + quote("../../etc/passwd"), "adapter"),
        ("?model=m&format=jsonl&adapter=ltm", "adapter"),  # derailment's adapter on pairs
        ("?model=m&format=jsonl&unknown=maybe", "unknown"),
        ("?format=jsonl", "model"),
        ("?format=jsonl&model=" + "m" * 5000, "model"),
        ("?format=jsonl&model=a%00b", "model"),
        ("?model=m&format=yaml", "format"),
    ],
)
def test_bad_predictions_parameters_are_a_400_naming_them(pairs, lead, api, query, field):
    url = f"/api/v1/projects/{pairs.pk}/predictions/{query}"
    body = json.dumps(prediction()).encode() + b"\n"
    response = client(api, lead).post(url, body, content_type=NDJSON)
    assert response.status_code == 400, response.content
    assert field in fields_of(response.json())
    assert not ModelRun.objects.filter(project=pairs).exists()


@pytest.mark.parametrize(("body", "content_type"), [(b"", NDJSON), (b"xx", "image/png")])
def test_an_empty_predictions_file_is_a_400(pairs, lead, api, body, content_type):
    url = f"/api/v1/projects/{pairs.pk}/predictions/?model=m"
    response = client(api, lead).post(url, body, content_type=content_type)
    assert response.status_code == 400
    assert not ModelRun.objects.filter(project=pairs).exists()


# --- report: hostile names stay text in CSV, LaTeX and HTML


HOSTILE_MODELS = [
    "=cmd|' /C calc'!A0",
    "<img src=x onerror=alert(1)>",
    r"\input{/etc/passwd} 50% $x$ #1 a_b ~ ^ {}",
]


def test_hostile_model_names_stay_text_in_the_report_csv_latex_and_paper_view(
    pairs, lead, api, client_for_web
):
    c = client(api, lead)
    votes = b"".join(
        lines(label(external_id=f"pair-{j}", annotator=f"w{n}", value={"preference": p}))
        for j in range(3)
        for n, p in enumerate([1, -1, 2])
    )
    assert (
        c.post(
            f"/api/v1/projects/{pairs.pk}/annotations/?format=jsonl", votes, content_type=NDJSON
        ).status_code
        == 201
    )
    body = lines(*(prediction(external_id=f"pair-{j}", score=0.5) for j in range(3)))
    for name in HOSTILE_MODELS:
        url = f"/api/v1/projects/{pairs.pk}/predictions/?format=jsonl&model={quote(name)}"
        assert c.post(url, body, content_type=NDJSON).status_code == 201
    csv_text = c.get(f"/api/v1/projects/{pairs.pk}/report/?format=csv").content.decode()
    assert "\n'=cmd|" in csv_text and "\n=cmd" not in csv_text
    latex = c.get(f"/api/v1/projects/{pairs.pk}/report/?format=latex").content.decode()
    assert r"\textbackslash{}input\{/etc/passwd\} 50\% \$x\$ \#1 a\_b" in latex
    assert r"\input{" not in latex
    html = client_for_web(lead).get(f"/p/{pairs.pk}/analysis/paper/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.fixture
def client_for_web():
    from django.test import Client

    def make(user):
        web = Client()
        web.force_login(user)
        return web

    return make


# --- divergence and tags


def test_thousands_of_status_parameters_are_a_json_400(pairs, lead, api):
    query = "&".join(["status=mixed"] * 3000)
    response = client(api, lead).get(f"/api/v1/projects/{pairs.pk}/divergence/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "(request)"


def test_a_long_comma_separated_status_list_is_answered(pairs, lead, api):
    statuses = ",".join(["diverging", "mixed", "none"] * 3000)
    response = client(api, lead).get(f"/api/v1/projects/{pairs.pk}/divergence/?status={statuses}")
    assert response.status_code in (200, 202)
    bad = client(api, lead).get(f"/api/v1/projects/{pairs.pk}/divergence/?status={statuses},nope")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "status"


@pytest.mark.parametrize(
    "query",
    ["?page_size=abc", "?page_size=-1", "?cursor=%00", "?format=xml", "?format=csv&table=x"],
)
def test_bad_divergence_parameters_are_a_400(pairs, lead, api, query):
    response = client(api, lead).get(f"/api/v1/projects/{pairs.pk}/divergence/{query}")
    assert response.status_code == 400
    assert response.json()["errors"]


def tag_url(project, item_id) -> str:
    return f"/api/v1/projects/{project.pk}/divergence/items/{item_id}/tag/"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([1], "(body)"),
        ({"categories": "Verbosity"}, "categories"),
        ({"categories": [True]}, "categories.0"),
        ({"categories": [[["x"]]]}, "categories.0"),
        ({"categories": [10**30]}, "categories"),
        ({"categories": [-1]}, "categories"),
        ({"categories": ["Verb\u0000osity"]}, "categories.0"),
        ({"categories": ["Nope"]}, "categories[0]"),
        ({"categories": [], "note": "a\u0000b"}, "note"),
        ({"categories": [], "zzz": 1}, "zzz"),
        ({"categories": ["x"] * 101}, "categories"),
        (None, "categories"),
    ],
)
def test_a_bad_tag_is_a_400_naming_its_field_and_stores_nothing(pairs, lead, api, body, field):
    item = pairs.items.first()
    response = client(api, lead).put(tag_url(pairs, item.pk), body, format="json")
    assert response.status_code == 400, response.content
    assert field in fields_of(response.json())
    assert not DivergenceTag.objects.filter(item=item).exists()


def test_a_category_of_another_project_is_refused(pairs, lead, api, other):
    seeded = client(api, other["lead"]).put(
        tag_url(other["project"], other["item"].pk), {"categories": ["Verbosity"]}, format="json"
    )
    assert seeded.status_code == 200
    foreign = TaxonomyCategory.objects.filter(project=other["project"]).first()
    item = pairs.items.first()
    response = client(api, lead).put(
        tag_url(pairs, item.pk), {"categories": [foreign.pk]}, format="json"
    )
    assert response.status_code == 400
    assert "categories" in fields_of(response.json())
    assert not DivergenceTag.objects.filter(item=item).exists()


def test_an_item_of_another_project_or_a_huge_id_is_a_404(pairs, lead, api, other):
    c = client(api, lead)
    for item_id in (other["item"].pk, 10**30):
        assert c.get(tag_url(pairs, item_id)).status_code == 404
        assert c.put(tag_url(pairs, item_id), {"categories": []}, format="json").status_code == 404
        assert c.delete(tag_url(pairs, item_id)).status_code == 404
    assert c.get(f"/api/v1/projects/{pairs.pk}/divergence/items/abc/tag/").status_code == 404
    assert c.get(f"/api/v1/projects/{10**30}/report/").status_code == 404
    assert not DivergenceTag.objects.filter(item=other["item"]).exists()


def test_a_tag_body_nested_too_deeply_or_not_json_is_a_400(pairs, lead, api):
    url = tag_url(pairs, pairs.items.first().pk)
    c = client(api, lead)
    deep = b'{"categories":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert c.put(url, deep, content_type="application/json").status_code == 400
    assert c.put(url, b"{", content_type="application/json").status_code == 400


# --- adaptive overlap settings


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"adaptive_extra": -1}, "adaptive_extra"),
        ({"adaptive_extra": 1.5}, "adaptive_extra"),
        ({"adaptive_extra": True}, "adaptive_extra"),
        ({"adaptive_extra": None}, "adaptive_extra"),
        ({"adaptive_extra": 10**30}, "adaptive_extra"),
        ({"adaptive_extra": [1]}, "adaptive_extra"),
        ({"adaptive_first_k": 1}, "adaptive_first_k"),
        ({"adaptive_extra": 1, "adaptive_first_k": 50}, "adaptive_first_k"),  # > the overlap
        ({"adaptive_first_k": "two"}, "adaptive_first_k"),
        ({"adaptive_threshold": "NaN"}, "adaptive_threshold"),
        ({"adaptive_threshold": "Infinity"}, "adaptive_threshold"),
        ({"adaptive_threshold": -0.5}, "adaptive_threshold"),
        ({"adaptive_threshold": None}, "adaptive_threshold"),
        ({"adaptive_threshold": {"a": 1}}, "adaptive_threshold"),
        ({"adaptve_extra": 2}, "adaptve_extra"),  # a typo is not silently ignored
        ({"task_type": "derailment"}, "task_type"),  # fixed once created
        ([1], "(body)"),
    ],
)
def test_nonsense_adaptive_settings_are_a_400_naming_the_field(pairs, lead, api, body, field):
    response = client(api, lead).patch(f"/api/v1/projects/{pairs.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in fields_of(response.json())
    pairs.refresh_from_db()
    assert (pairs.adaptive_extra, pairs.adaptive_first_k, pairs.adaptive_threshold) == (
        0,
        None,
        1.0,
    )
    assert pairs.task_type == "preference_pair"


def test_a_nan_literal_in_a_patch_body_is_a_400(pairs, lead, api):
    response = client(api, lead).patch(
        f"/api/v1/projects/{pairs.pk}/",
        b'{"adaptive_threshold": NaN}',
        content_type="application/json",
    )
    assert response.status_code == 400
    pairs.refresh_from_db()
    assert pairs.adaptive_threshold == 1.0


# --- permissions: annotators and other projects' leads


def endpoints(project, item_id) -> list[tuple[str, str, object, str]]:
    base = f"/api/v1/projects/{project.pk}"
    return [
        ("post", f"{base}/annotations/?format=jsonl", lines(label()), NDJSON),
        ("post", f"{base}/predictions/?model=m&format=jsonl", lines(prediction()), NDJSON),
        ("get", f"{base}/report/?format=json", None, ""),
        ("get", f"{base}/report/?format=latex", None, ""),
        ("get", f"{base}/divergence/?status=mixed", None, ""),
        ("get", f"{base}/agreement/?format=csv&table=dawid_skene_labels", None, ""),
        ("get", f"{base}/divergence/items/{item_id}/tag/", None, ""),
        ("put", f"{base}/divergence/items/{item_id}/tag/", {"categories": []}, "json"),
        ("delete", f"{base}/divergence/items/{item_id}/tag/", None, ""),
        ("patch", f"{base}/", {"adaptive_extra": 1}, "json"),
    ]


def call(c, method, url, body, kind):
    if kind == "json":
        return getattr(c, method)(url, body, format="json")
    if body is not None:
        return getattr(c, method)(url, body, content_type=kind)
    return getattr(c, method)(url)


def test_annotators_and_other_leads_are_refused_every_new_endpoint(
    pairs, lead, api, make_annotator, other, client_for_web
):
    item = pairs.items.first()
    annotator = make_annotator("ann")
    for user in (annotator, other["lead"], UserFactory(username="stranger")):
        c = client(api, user)
        for method, url, body, kind in endpoints(pairs, item.pk):
            response = call(c, method, url, body, kind)
            assert response.status_code in (403, 404), (user.username, method, url)
        web = client_for_web(user)
        for page in ("analysis/", "analysis/paper/", "analysis/review/"):
            assert web.get(f"/p/{pairs.pk}/{page}").status_code in (403, 404), (user, page)
    anonymous = client(api, None)
    for method, url, body, kind in endpoints(pairs, item.pk):
        assert call(anonymous, method, url, body, kind).status_code in (401, 403), url
    assert not Annotation.objects.filter(item__project=pairs).exists()
    assert not ModelRun.objects.filter(project=pairs).exists()
    assert not DivergenceTag.objects.exists()
    pairs.refresh_from_db()
    assert pairs.adaptive_extra == 0
