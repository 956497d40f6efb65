"""Visual arguments in the analysis: box hit rate, mean IoU and alpha with 1 - IoU (structure
mode), accuracy against the gold option (identification mode); on the dashboard, in the API and
its CSV, and in ``compute_agreement``. Expected figures are worked out by hand (IoUs in the
comments) or through the `krippendorff` package."""

import csv
import io
import math

import krippendorff
import pytest
from django.core.management import call_command
from django.urls import reverse

from annotate.models import Item, Membership

from ..factories import MembershipFactory, ProjectFactory, UserFactory
from ..stats.test_box_agreement import package_alpha
from .conftest import add_value

pytestmark = pytest.mark.django_db
NAN = math.nan


def setup_project(mode):
    lead = UserFactory(username="lead")
    project = ProjectFactory(created_by=lead, task_type="visual_argument", config={"mode": mode})
    MembershipFactory(project=project, user=lead, role=Membership.Role.LEAD)
    users = {}
    for name in ("ann", "bob", "cat", "dan"):
        users[name] = UserFactory(username=name)
        MembershipFactory(
            project=project, user=users[name], role=Membership.Role.ANNOTATOR, flagged=name == "dan"
        )
    return lead, project, users


def image_item(project, n, width, height, **extra):
    payload = {
        "image": {"path": f"images/{n}.png", "width": width, "height": height},
        "premise_options": [],
        "metadata": {},
        **extra,
    }
    return Item.objects.create(project=project, external_id=f"img-{n}", payload=payload)


def structure(*boxes):
    premises = [
        {"id": f"VP{i + 1}", "text": f"premise {i + 1}", "box": {"x": x, "y": y, "w": w, "h": h}}
        for i, (x, y, w, h) in enumerate(boxes)
    ]
    return {
        "visual_premises": premises,
        "commonsense_premises": [],
        "reasoning_steps": [{"from": ["VP1"], "to": "C", "text": ""}],
        "conclusion": "c",
    }


# Item 0 is 200 x 100 pixels, item 1 is 400 x 400.
BOXES = {
    0: {
        "ann": [(20, 10, 60, 40), (120, 50, 60, 40)],
        "bob": [(20, 10, 60, 40), (140, 50, 60, 40)],  # IoU 1 and 1600 / 3200 = 0.5
        "cat": [(30, 10, 60, 40)],
    },  # with VP1 of ann and bob: 2000 / 2800 = 5/7
    1: {
        "ann": [(0, 0, 100, 100)],
        "bob": [(50, 0, 100, 100)],  # 5000 / 15000 = 1/3: assigned, not a hit
        "cat": [(300, 300, 50, 50)],
    },  # overlaps nothing
}
SIZES = {0: (200, 100), 1: (400, 400)}


@pytest.fixture
def boxes_project():
    lead, project, users = setup_project("structure")
    for n, by_user in BOXES.items():
        item = image_item(project, n, *SIZES[n])
        for name, boxes in by_user.items():
            add_value(item, users[name], structure(*boxes))
        # A flagged annotator's boxes are left out of every figure.
        add_value(item, users["dan"], structure((0, 0, 10, 10), (50, 50, 10, 10)))
    return lead, project


def figures_of(data, name):
    field = next(f for f in data["set_fields"] if f["name"] == name)
    return {f["name"]: f["value"] for f in field["figures"]}


def norm(n, box):
    width, height = SIZES[n]
    x, y, w, h = box
    return [x / width, y / height, w / width, h / height]


def test_box_hit_rate_and_mean_iou_over_annotator_pairs(boxes_project):
    from analysis.figures import agreement_compute

    _lead, project = boxes_project
    figures = figures_of(agreement_compute(project=project).to_dict(), "boxes")
    # Pairs (boxes, hits): item 0 ann-bob (4, 2), ann-cat (3, 1), bob-cat (3, 1);
    # item 1 each pair (2, 0). Hit rate = 2 x 4 / 16.
    assert figures["n_items"] == 2
    assert figures["n_pairs"] == 6
    assert figures["n_boxes"] == 16
    assert figures["n_hits"] == 4
    assert figures["hit_rate"] == pytest.approx(0.5)
    assert figures["mean_iou"] == pytest.approx((1 + 0.5 + 5 / 7 + 5 / 7) / 4)
    assert figures["mean_iou_assigned"] == pytest.approx((1 + 0.5 + 5 / 7 + 5 / 7 + 1 / 3) / 5)


def test_box_alpha_uses_matched_groups_in_image_fractions(boxes_project):
    from analysis.figures import agreement_compute

    _lead, project = boxes_project
    figures = figures_of(agreement_compute(project=project).to_dict(), "boxes")
    b = {
        n: {name: [norm(n, box) for box in boxes] for name, boxes in by.items()}
        for n, by in BOXES.items()
    }
    groups = [
        [b[0]["ann"][0], b[0]["bob"][0], b[0]["cat"][0]],
        [b[0]["ann"][1], b[0]["bob"][1], []],  # cat drew no box there
        [b[1]["ann"][0], b[1]["bob"][0], []],
        [[], [], b[1]["cat"][0]],
    ]
    assert figures["n_units"] == 4
    assert figures["alpha"] == pytest.approx(package_alpha(groups), abs=1e-9)


def test_premise_count_is_an_interval_field_and_the_primary_one(boxes_project):
    from analysis.figures import agreement_compute

    _lead, project = boxes_project
    data = agreement_compute(project=project).to_dict()
    field = next(f for f in data["fields"] if f["name"] == "n_visual_premises")
    counts = [[2, 1], [2, 1], [1, 1]]  # ann, bob, cat on items 0 and 1
    expected = krippendorff.alpha(reliability_data=counts, level_of_measurement="interval")
    assert field["alpha"] == pytest.approx(expected, abs=1e-9)
    assert data["annotators"]["field"] == "n_visual_premises"
    assert [r["username"] for r in data["annotators"]["rows"]] == ["ann", "bob", "cat", "dan"]


def test_box_figures_in_the_api_its_csv_the_dashboard_and_the_command(boxes_project, api, client):
    lead, project = boxes_project
    url = reverse("api-agreement", args=[project.pk])
    body = api(lead).get(url).json()
    figures = figures_of(body, "boxes")
    assert figures["hit_rate"] == pytest.approx(0.5)

    response = api(lead).get(url + "?format=csv&table=sets")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_figure = {row["figure"]: row for row in rows}
    assert by_figure["hit_rate"]["field"] == "boxes"
    assert float(by_figure["hit_rate"]["value"]) == pytest.approx(0.5)
    assert float(by_figure["n_boxes"]["value"]) == 16
    assert by_figure["alpha"]["label"] == "Alpha with 1 - IoU as the distance"

    client.force_login(lead)
    page = client.get(reverse("analysis-dashboard", args=[project.pk])).content.decode()
    assert 'data-set-field="boxes"' in page
    assert "Box hit rate (IoU &gt;= 0.5, pairs of annotators)" in page
    assert "0.500" in page

    out = io.StringIO()
    call_command("compute_agreement", str(project.pk), stdout=out)
    text = out.getvalue()
    assert "== sets" in text
    line = next(row for row in text.splitlines() if row.startswith("boxes") and "hit_rate" in row)
    assert "0.5" in line


# --- identification mode: option picked per item, the item's ``answer`` is the gold option

CHOICES = [  # (answer, ann, bob, cat); None = no annotation
    ("o1", "o1", "o1", "o2"),
    ("o2", "o2", "o3", "o2"),
    ("o3", "o3", "o3", None),
]


def test_identification_mode_accuracy_against_gold_and_nominal_alpha(api):
    from analysis.figures import agreement_compute

    lead, project, users = setup_project("identification")
    options = [{"id": f"o{i}", "text": f"option {i}"} for i in (1, 2, 3)]
    for n, (answer, *picks) in enumerate(CHOICES):
        item = image_item(project, n, 100, 100, premise_options=options, answer=answer)
        for name, pick in zip(("ann", "bob", "cat"), picks, strict=True):
            if pick is not None:
                add_value(item, users[name], {"choice": pick})
        add_value(item, users["dan"], {"choice": "o1"})  # flagged: left out
    data = agreement_compute(project=project).to_dict()
    assert data["set_fields"] == []
    field = next(f for f in data["fields"] if f["name"] == "choice")
    # Right: item 0 ann, bob; item 1 ann, cat; item 2 ann, bob -> 6 of 8 answers.
    assert field["reference_accuracy"] == pytest.approx(6 / 8)
    assert field["reference_n"] == 8
    code = {"o1": 1.0, "o2": 2.0, "o3": 3.0, None: NAN}
    matrix = [[code[row[c]] for row in CHOICES] for c in (1, 2, 3)]
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert field["alpha"] == pytest.approx(expected, abs=1e-9)
    response = api(lead).get(reverse("api-agreement", args=[project.pk]) + "?format=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert float(rows[0]["reference_accuracy"]) == pytest.approx(0.75)
