"""The figures' outputs pinned whole: the agreement and divergence API (JSON), every CSV table and
the dashboard's figures fragment, for three small projects (preference pairs with a model run and
a tag, derailment with tone sets, and a project without annotations), against
``golden_output.json`` recorded from the code before the figures became typed.

Ids and times change from run to run: they are replaced by names (``normalise``) before the
comparison; everything else must match exactly, but for the last bits of a float: NumPy's sums
take other SIMD paths on other CPUs, so a long-digit number (a float, or one written in a CSV cell
or the page) equals its recorded value to 1e-12 relative (``same``).
"""

import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from analysis import tables, taxonomy
from annotate.models import Item, Membership
from annotate.tasktypes import get_task_type
from models_runtime.models import ModelRun, Prediction

from ..factories import MembershipFactory, ProjectFactory, UserFactory
from ..typedata import thread_record
from .conftest import add_value
from .test_agreement import VOTES

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).with_name("golden_output.json")
PREDICTIONS = {0: (-2, 0.10), 1: (0, 0.70), 2: (1, 0.60), 4: (2, 0.92), 5: (-2, 0.10)}
TONES = {
    0: {
        "ann": {"t0c0": ["Irony"], "t0c1": ["Mocking", "Irony"]},
        "bob": {"t0c0": ["Irony"], "t0c1": ["Mocking"]},
        "cat": {"t0c1": ["Mocking"], "t0c2": ["Impatience"]},
    },
    1: {"ann": {}, "bob": {"t1c2": ["Impatience"]}},
}


class Names:
    """Replaces the ids of one project's rows by stable names."""

    def __init__(self, project):
        self.project = project
        self.items = dict(Item.objects.filter(project=project).values_list("id", "external_id"))
        self.runs = {
            pk: f"run-{name}"
            for pk, name in ModelRun.objects.filter(project=project).values_list("id", "model_name")
        }
        self.users = {m.user_id: m.user.username for m in project.memberships.all()}

    def json(self, value, key=None):
        if isinstance(value, dict):
            return {k: self.json(v, k) for k, v in value.items()}
        if isinstance(value, list):
            if key == "diverging_items":
                return [[self.items[i], s] for i, s in value]
            if key == "category_ids":
                return ["<id>" for _ in value]
            return [self.json(v) for v in value]
        if key == "computed_at" or key == "date":
            return "<time>"
        if key == "item_id":
            return self.items[value]
        if key == "run_id":
            return self.runs[value]
        if key == "annotator_id":
            return self.users[value]
        if key in ("id", "category_id") and isinstance(value, int):
            return "<id>"
        return value

    def csv(self, text):
        rows = list(csv.reader(io.StringIO(text)))
        header = rows[0]
        out = [header]
        for row in rows[1:]:
            cells = []
            for column, cell in zip(header, row, strict=True):
                if column == "item_id":
                    cell = self.items[int(cell)]
                elif column == "run_id":
                    cell = self.runs[int(cell)]
                elif column == "date":
                    cell = "<time>"
                cells.append(cell)
            out.append(cells)
        return out

    def html(self, text):
        text = re.sub(r"\d{4}-\d{2}-\d{2}", "<time>", text)
        text = re.sub(rf"/p/{self.project.pk}/", "/p/<project>/", text)
        text = re.sub(rf"/projects/{self.project.pk}/", "/projects/<project>/", text)
        for pk, name in self.runs.items():
            text = text.replace(f'data-run="{pk}"', f'data-run="{name}"')
            text = re.sub(rf"#{pk}(?!\d)", f"#{name}", text)
        return text


def preference_project(prefix="", names=("ann", "bob", "cat")):
    lead = UserFactory(username=f"{prefix}lead")
    project = ProjectFactory(created_by=lead, overlap=3, name=f"{prefix}pairs")
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    users = []
    for name in names:
        users.append(UserFactory(username=f"{prefix}{name}"))
        MembershipFactory(project=project, user=users[-1], role=Membership.Role.ANNOTATOR)
    items = []
    for n, row in enumerate(VOTES):
        items.append(
            Item.objects.create(
                project=project,
                external_id=f"pair-{n}",
                payload={
                    "prompt": f"Question {n}?",
                    "context": [],
                    "response_a": f"Answer A to {n}." + (" More words." * n),
                    "response_b": f"Answer B to {n}.",
                    "metadata": {},
                },
            )
        )
        for user, vote in zip(users, row, strict=False):
            if vote is not None:
                value = {"preference": vote, "aspects": {}, "rationale": "", "flags": []}
                left = "a" if n % 2 else "b"
                add_value(
                    items[-1],
                    user,
                    value,
                    shown={"left": left, "right": "b" if left == "a" else "a"},
                    seconds=5.0 + n,
                )
    run = ModelRun.objects.create(
        project=project, model_name="judge", source="import", status=ModelRun.Status.DONE
    )
    for n, (preference, score) in PREDICTIONS.items():
        Prediction.objects.create(
            run=run,
            item=items[n],
            score=score,
            value={"preference": preference, "aspects": {}, "rationale": "", "flags": []},
        )
    return lead, project, items


def tone_project():
    lead = UserFactory(username="tone-lead")
    project = ProjectFactory(
        created_by=lead,
        name="tones",
        task_type="derailment",
        config={"tones": ["Irony", "Mocking"]},
    )
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    users = {}
    for name in ("ann", "bob", "cat"):
        users[name] = UserFactory(username=f"tone-{name}")
        MembershipFactory(project=project, user=users[name], role=Membership.Role.ANNOTATOR)
    plugin = get_task_type("derailment")
    for n, by_user in TONES.items():
        record = thread_record(n, n_comments=3)
        external_id = record.pop("external_id")
        item = Item.objects.create(
            project=project, external_id=external_id, payload=plugin.validate_item(record)
        )
        for name, tones in by_user.items():
            value = {
                "toxic": n == 0 and name != "cat",
                "toxic_comment": None,
                "derailment_comment": None,
                "tones": tones,
            }
            add_value(item, users[name], value)
    return lead, project


def empty_project():
    lead = UserFactory(username="empty-lead")
    project = ProjectFactory(created_by=lead, name="empty")
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    return lead, project


def outputs(api, client, lead, project):
    names = Names(project)
    agreement_url = reverse("api-agreement", args=[project.pk])
    divergence_url = reverse("api-divergence", args=[project.pk])
    out = {}
    # Twice: computed in the request, then read back from the snapshot.
    for attempt in ("computed", "cached"):
        body = api(lead).get(agreement_url).json()
        out[f"agreement:{attempt}"] = names.json(body)
    divergence = api(lead).get(divergence_url)
    out["divergence"] = names.json(divergence.json()) if divergence.status_code == 200 else None
    for table in tables.AGREEMENT_TABLES:
        response = api(lead).get(agreement_url + f"?format=csv&table={table}")
        out[f"csv:agreement:{table}"] = names.csv(response.content.decode())
    if divergence.status_code == 200:
        for table in tables.DIVERGENCE_TABLES:
            response = api(lead).get(divergence_url + f"?format=csv&table={table}")
            out[f"csv:divergence:{table}"] = names.csv(response.content.decode())
    client.force_login(lead)
    page = client.get(reverse("analysis-dashboard", args=[project.pk]), HTTP_HX_REQUEST="true")
    out["dashboard"] = names.html(page.content.decode()).splitlines()
    return out


def everything(api, client):
    lead, project, items = preference_project()
    categories = {c.name: c for c in taxonomy.taxonomy_ensure(project=project)}
    taxonomy.divergence_tag_set(
        project=project,
        item_id=items[1].pk,
        category_ids=[categories["Verbosity"].pk],
        note="longer wins",
        tagged_by=lead,
    )
    result = {"preference": outputs(api, client, lead, project)}
    lead, project, _items = preference_project("two-", ("ann", "bob"))
    result["two_coders"] = outputs(api, client, lead, project)
    lead, project = tone_project()
    result["derailment"] = outputs(api, client, lead, project)
    lead, project = empty_project()
    result["empty"] = outputs(api, client, lead, project)
    return result


# A number with at least 10 significant digits after its point: the ones that can differ in the
# last bits between CPUs. Shorter (rounded) numbers are compared as text.
_LONG_NUMBER = re.compile(r"-?\d+\.\d{10,}(?:e-?\d+)?")


def _numbers_close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300) or a == b


def same(got, expected) -> bool:
    """``got == expected``, but for floats and long-digit numbers inside strings, which may
    differ in their last bits (see the module's docstring)."""
    if isinstance(expected, dict):
        return (
            isinstance(got, dict)
            and got.keys() == expected.keys()
            and all(same(got[k], v) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(got, list)
            and len(got) == len(expected)
            and all(same(g, e) for g, e in zip(got, expected, strict=True))
        )
    if isinstance(expected, float) and isinstance(got, float):
        return _numbers_close(got, expected)
    if isinstance(expected, str) and isinstance(got, str) and got != expected:
        if _LONG_NUMBER.split(got) != _LONG_NUMBER.split(expected):
            return False
        pairs = zip(_LONG_NUMBER.findall(got), _LONG_NUMBER.findall(expected), strict=True)
        return all(_numbers_close(float(g), float(e)) for g, e in pairs)
    return got == expected and type(got) is type(expected)


def test_same_allows_only_the_last_bits_of_long_numbers():
    assert same({"a": [0.29357798165137605]}, {"a": [0.29357798165137616]})
    assert same("x,0.29357798165137605,y", "x,0.29357798165137616,y")
    assert not same("x,0.2935779816,y", "x,0.2935779817,y")
    assert not same("x,0.29357798165137605,y", "x,0.29357798165137605,z")
    assert not same({"a": 0.1}, {"a": 0.1000001})
    assert not same({"a": 1}, {"a": 1.0})
    assert not same("0.3", "0.4")


def key_order(value):
    """The keys of every mapping in ``value``, in order."""
    if isinstance(value, dict):
        return [(k, key_order(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [key_order(v) for v in value]
    return None


def label_order_left_out(value):
    """``value`` with the mappings keyed by labels (``distribution``, ``status_counts``, the
    statuses of ``winner_share_by_status``) sorted:
    JSONB does not keep their order, and nothing tells it back."""
    if isinstance(value, dict):
        return {
            k: dict(sorted(v.items()))
            if k in ("distribution", "status_counts", "winner_share_by_status")
            else label_order_left_out(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [label_order_left_out(v) for v in value]
    return value


def test_api_csv_and_dashboard_outputs_match_the_recorded_ones(api, client):
    """Equal values everywhere; and the JSON of figures computed in the request lists its keys in
    the recorded order (a snapshot read back from JSONB had PostgreSQL's key order before; it
    now has this one too)."""
    got = everything(api, client)
    expected = json.loads(GOLDEN.read_text())
    for project, parts in expected.items():
        for name, value in parts.items():
            assert same(got[project][name], value), f"{project} {name}"
    assert got.keys() == expected.keys()
    assert {k: v.keys() for k, v in got.items()} == {k: v.keys() for k, v in expected.items()}
    for project in ("preference", "two_coders", "derailment"):
        assert key_order(got[project]["agreement:computed"]) == key_order(
            expected[project]["agreement:computed"]
        ), project
        # Read back from the snapshot, the figures come out in the same order.
        cached, computed = (
            label_order_left_out(got[project][f"agreement:{how}"]) for how in ("cached", "computed")
        )
        assert key_order(cached) == key_order(computed), project
