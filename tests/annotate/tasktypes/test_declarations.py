"""What a task type declares (config schema, export shapes and their options, review filters,
its demo, position picks) and how the API, the commands and the pages render it generically."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from annotate import exporting, services
from annotate.models import Item, Membership
from annotate.tasktypes import get_task_type, task_types
from annotate.tasktypes.base import ConfigInvalid, ShapeOption
from core.errors import InvalidInput
from tests.analysis.conftest import add_value, add_vote, make_item
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.typedata import thread_record

# --- configuration schemas


@pytest.mark.parametrize(
    ("task_type", "config", "field"),
    [
        ("preference_pair", {"aspects": "helpfulness"}, "config.aspects"),
        ("preference_pair", {"aspects": [""]}, "config.aspects.0"),
        ("preference_pair", {"flags": [1]}, "config.flags.0"),
        ("preference_pair", {"flags": None}, "config.flags"),
        ("derailment", {"tones": ["Mocking", "Mocking"]}, "config.tones"),
        ("derailment", {"tones": ["  "]}, "config.tones.0"),
        ("derailment", {"tolerance": -1}, "config.tolerance"),
        ("derailment", {"tolerance": True}, "config.tolerance"),
        ("derailment", {"tolerance": "2"}, "config.tolerance"),
        ("tom", {"ask_confidence": "yes"}, "config.ask_confidence"),
        ("visual_argument", {"mode": "guessing"}, "config.mode"),
    ],
)
def test_a_bad_config_is_refused_naming_its_key(task_type, config, field):
    with pytest.raises(ConfigInvalid) as exc:
        get_task_type(task_type).validate_config(config)
    assert [error.field for error in exc.value.errors] == [field]
    assert isinstance(exc.value, ValueError)  # the project service's 400 on ``config``


@pytest.mark.parametrize(
    ("task_type", "config"),
    [
        ("preference_pair", {"aspects": ["helpfulness"], "flags": ["off topic"], "extra": 1}),
        ("derailment", {"tones": ["Irony"], "tolerance": 0}),
        ("tom", {"ask_confidence": False}),
        ("visual_argument", {"mode": "identification"}),
        ("visual_argument", {}),
    ],
)
def test_a_good_config_is_kept_as_given_and_defaults_come_from_config(task_type, config):
    plugin = get_task_type(task_type)
    assert plugin.validate_config(config) == config
    assert plugin.config(config) == {**plugin.default_config, **config}


def test_every_task_type_declares_a_config_schema_its_defaults_fit():
    for plugin in task_types():
        assert plugin.config_schema is not None, plugin.name
        assert plugin.validate_config(plugin.default_config) == plugin.default_config


def test_a_bad_config_is_a_400_on_config_through_the_service(lead):
    with pytest.raises(InvalidInput) as exc:
        services.project_create(
            name="x", task_type="tom", created_by=lead, config={"ask_confidence": 3}
        )
    assert exc.value.detail[0].field == "config"
    assert "ask_confidence" in exc.value.message


# --- export shapes and their options


def test_a_shape_option_names_itself_and_its_choices_when_refused():
    option = ShapeOption("side", "Side", (("a", "A"), ("b", "B"), ("c", "C")), default="a")
    assert option.check("b") == "b"
    with pytest.raises(ValueError, match="^side must be a, b or c$"):
        option.check("d")


def test_every_shape_option_default_is_one_of_its_choices():
    for plugin in task_types():
        for shape in plugin.export_shapes():
            assert shape.rows is not None
            for option in shape.options:
                assert option.check(option.default) == option.default


def test_no_shape_option_takes_the_name_of_a_parameter_every_shape_has():
    from annotate.api.views import EXPORT_PARAMS

    for plugin in task_types():
        for shape in plugin.export_shapes():
            assert not {option.name for option in shape.options} & set(EXPORT_PARAMS)


def test_an_option_the_shape_does_not_declare_is_a_400_naming_it(project, lead, api):
    client = api(lead)
    url = f"/api/v1/projects/{project.pk}/export/"
    for query, name in (
        ("shape=annotations&diverging=drop", "diverging"),
        ("shape=preference_pairs&colour=red", "colour"),
        ("shape=preference_pairs&include_reference=no", "include_reference"),
    ):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 400, query
        assert not getattr(response, "streaming", False)
        assert name in response.json()["message"]
        assert response.json()["errors"][0]["field"] == "options"


def test_the_openapi_schema_lists_every_declared_option(db, api, lead):
    lead.is_staff = True
    lead.save(update_fields=["is_staff"])
    response = api(lead).get("/api/schema/", HTTP_ACCEPT="application/json")
    if response.status_code == 404:  # the schema's path as configured in config/urls.py
        response = api(lead).get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    text = response.content.decode()
    assert response.status_code == 200, text[:200]
    for plugin in task_types():
        for shape in plugin.export_shapes():
            for option in shape.options:
                assert option.name in text


def test_the_export_command_has_a_flag_per_declared_option(project, tmp_path):
    out = io.StringIO()
    with pytest.raises(CommandError, match="--include-reference does not apply"):
        call_command(
            "export",
            project.pk,
            "--shape",
            "preference_pairs",
            "--include-reference",
            "no",
            "--output",
            str(tmp_path / "x.jsonl"),
            stdout=out,
        )
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("export", project.pk, "--diverging", "sideways", stdout=out)


def test_the_project_page_offers_each_shape_option_as_a_select(project, lead, client):
    client.force_login(lead)
    html = client.get(reverse("project", args=[project.pk])).content.decode()
    assert 'data-shape="preference_pairs"' in html
    assert '<select name="diverging">' in html
    for value in ("keep", "drop", "only"):
        assert f'<option value="{value}"' in html
    assert '<option value="keep" selected>' in html
    assert "&amp;diverging=drop" not in html  # no hand-written hint any more


def test_every_shape_has_an_export_form_with_the_common_choices_as_controls(lead, client):
    """Usernames and flagged annotators are form controls (issue 10), on every shape; a type
    without shape options shows no option select."""
    project = ProjectFactory(created_by=lead, task_type="tom")
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    client.force_login(lead)
    html = client.get(reverse("project", args=[project.pk])).content.decode()
    assert exporting.export_shapes(project) == ("annotations", "items", "tom_answers")
    for shape in exporting.export_shapes(project):
        assert f'class="export-options" data-shape="{shape}"' in html
    assert html.count('<input type="checkbox" name="identities" value="1">') == 3
    assert html.count('<input type="checkbox" name="include_flagged" value="1">') == 3
    assert '<select name="diverging">' not in html
    assert "&amp;identities=1" not in html  # no hand-edited URL in the hint any more


# --- review filters and position picks


def test_review_filters_come_from_the_task_type():
    spec = get_task_type("preference_pair").divergence()
    assert [(f.name, f.label, f.statuses) for f in spec.review_filters] == [
        ("diverging_significant", "Significant only", ("diverging_significant",))
    ]
    assert all(set(f.statuses) <= spec.diverging for f in spec.review_filters)


def test_the_review_page_lists_the_types_filters_between_all_and_tagged(db, client):
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, overlap=3)
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    client.force_login(lead)
    html = client.get(reverse("analysis-review", args=[project.pk])).content.decode()
    order = [html.index(label) for label in ("All diverging", "Significant only", "Tagged")]
    assert order == sorted(order)
    # An unknown list falls back to the untagged one.
    html = client.get(reverse("analysis-review", args=[project.pk]) + "?show=nope").content
    assert b'?show=untagged" class="filter current"' in html


def test_only_types_that_pick_a_side_declare_position_picks():
    assert {p.name for p in task_types() if p.has_position_pick} == {"preference_pair"}


def _voters(project, names=("ann", "bob")):
    users = []
    for name in names:
        user = UserFactory(username=name)
        MembershipFactory(project=project, user=user, role=Membership.Role.ANNOTATOR)
        users.append(user)
    return users


def test_the_dashboard_shows_left_picks_only_for_types_with_sides(db, client):
    lead = UserFactory(username="lead")
    pairs = ProjectFactory(created_by=lead, overlap=2)
    threads = ProjectFactory(created_by=lead, overlap=2, task_type="derailment")
    for project in (pairs, threads):
        MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    ann, bob = _voters(pairs)
    for n in range(2):
        item = make_item(pairs, n)
        add_vote(item, ann, -1)
        add_vote(item, bob, 1)
    for user in (ann, bob):
        MembershipFactory(project=threads, user=user, role=Membership.Role.ANNOTATOR)
    record = thread_record(0, n_comments=3)
    item = Item.objects.create(
        project=threads,
        external_id=record.pop("external_id"),
        payload=get_task_type("derailment").validate_item(record),
    )
    never = {"toxic": False, "toxic_comment": None, "derailment_comment": None, "tones": {}}
    for user in (ann, bob):
        add_value(item, user, never)
    client.force_login(lead)
    shown = {}
    for project in (pairs, threads):
        html = client.get(reverse("analysis-dashboard", args=[project.pk])).content.decode()
        assert 'id="annotators"' in html, project.task_type
        shown[project.task_type] = "left picks" in html
    assert shown == {"preference_pair": True, "derailment": False}
