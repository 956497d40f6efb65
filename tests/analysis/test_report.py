"""The paper view's data: ``GET /api/v1/projects/{id}/report/`` as JSON, CSV and LaTeX, who may see
it, and the preference-pair tables worked out by hand from the votes."""

import csv
import io

import pytest
from django.urls import reverse

from annotate.models import Membership

from ..factories import MembershipFactory, ProjectFactory, UserFactory
from .test_agreement import VOTES
from .test_models_vs_humans import predict

pytestmark = pytest.mark.django_db

# VOTES on the 5-point scale, by the status rule of SPEC 2.1 worked out by hand:
# 0 [-2,-1,-1] all A: high-agreement preference; 1 [1,2,-1] both sides, a "much better": diverging
# significant; 2 [0,0,1] and 3 [0,0,0] a majority of ties: high-agreement tie; 4 [2,2]: preference;
# 5 [-1,1,0]: diverging; 6 [0,1]: mixed; 7 [1]: one vote, no status.
STATUS_ROWS = [
    ["High agreement preference", 2, 2 / 7],
    ["High agreement tie", 2, 2 / 7],
    ["Diverging", 1, 1 / 7],
    ["Diverging significant", 1, 1 / 7],
    ["Mixed", 1, 1 / 7],
    ["Total with a status", 7, 1.0],
]


def report_url(project, fmt=None):
    url = reverse("api-report", args=[project.pk])
    return url + (f"?format={fmt}" if fmt else "")


def test_status_table_and_model_table_from_the_votes(voted_project, api):
    project = voted_project["project"]
    items = voted_project["votes"](VOTES)
    predict(project, items)
    body = api(voted_project["lead"]).get(report_url(project)).json()
    assert body["project"]["task_type"] == "preference_pair"
    tables = {t["key"]: t for t in body["tables"]}
    statuses = tables["statuses"]
    assert statuses["columns"] == ["Status", "Items", "Share"]
    assert [row[:2] for row in statuses["rows"]] == [row[:2] for row in STATUS_ROWS]
    assert [row[2] for row in statuses["rows"]] == pytest.approx([row[2] for row in STATUS_ROWS])
    assert "1 annotated item has fewer than two votes" in statuses["notes"][0]
    (model,) = tables["models"]["rows"]
    # The AUROC worked out in test_models_vs_humans: 0.875 on 2 diverging and 2 agreeing items.
    assert model[:4] == ["judge", pytest.approx(0.875), 2, 2]


def test_csv_holds_every_table_and_latex_each_one(voted_project, api):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    client = api(voted_project["lead"])
    response = client.get(report_url(project, "csv"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Agreement statuses"]
    assert rows[1] == ["Status", "Items", "Share"]
    assert rows[2][:2] == ["High agreement preference", "2"]
    assert float(rows[2][2]) == pytest.approx(2 / 7)  # full precision in the CSV
    assert ["Do models know?"] in rows
    latex = client.get(report_url(project, "latex")).content.decode()
    assert latex.count(r"\begin{tabular}") == 2
    assert r"High agreement preference & 2 & 0.2857 \\" in latex


def test_leads_only_and_a_bad_format_is_a_400(voted_project, api):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    annotator = voted_project["annotators"][0]
    other_lead = UserFactory(username="other")
    other = ProjectFactory(created_by=other_lead)
    MembershipFactory(project=other, user=other_lead, role=Membership.Role.LEAD)
    assert api(annotator).get(report_url(project)).status_code == 403
    assert api(other_lead).get(report_url(project)).status_code == 404
    response = api(voted_project["lead"]).get(report_url(project, "xlsx"))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "format"


def test_the_page_shows_the_tables(voted_project, client):
    project = voted_project["project"]
    voted_project["votes"](VOTES)
    client.force_login(voted_project["lead"])
    page = client.get(reverse("analysis-paper", args=[project.pk])).content.decode()
    assert "Agreement statuses" in page
    assert "0.2857" in page
    assert "Download LaTeX" in page


def threads_with_references(lead, truth, *, first_id=0):
    """A derailment project whose threads ``first_id + n`` carry the reference label ``truth[n]``,
    and a function posting a prediction CSV in the paper's one-row-per-thread layout (``ltm``)."""
    from annotate import services
    from tests.conftest import jsonl
    from tests.typedata import thread_record

    project = services.project_create(name="ltm", task_type="derailment", created_by=lead)
    records = []
    for n, toxic in enumerate(truth):
        record = thread_record(n, external_id=str(first_id + n))
        record["reference"] = {
            "source": "paper",
            "value": {
                "toxic": toxic,
                "toxic_comment": f"t{n}c3" if toxic else None,
                "derailment_comment": None,
            },
        }
        records.append(record)
    services.items_import(project=project, stream=jsonl(records), fmt="jsonl")

    def post_ltm(api, model, scores):
        body = "issue_id,possibility_toxic\n" + "".join(
            f"{first_id + n},{p}\n" for n, p in enumerate(scores)
        )
        url = f"/api/v1/projects/{project.pk}/predictions/?model={model}&adapter=ltm"
        return api(lead).post(url, body.encode(), content_type="text/csv")

    return project, post_ltm


def test_derailment_table_from_an_ltm_prediction_file_matches_scikit_learn(api):
    """Threads with reference labels, the paper's one-row-per-thread prediction CSV (``ltm``),
    and the paper view's P/R/F1 against scikit-learn on the same labels and scores."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    lead = UserFactory(username="lead")
    truth = [True, True, True, False, False, False, False, True, False, True]
    scores = [0.91, 0.55, 0.20, 0.61, 0.10, 0.49, 0.50, 0.05, 0.30, 0.77]
    project, post_ltm = threads_with_references(lead, truth, first_id=1000)
    response = post_ltm(api, "LtM", scores)
    assert response.status_code == 201, response.content
    body = api(lead).get(report_url(project)).json()
    (row,) = {t["key"]: t for t in body["tables"]}["vs_reference"]["rows"]
    predicted = [p >= 0.5 for p in scores]
    p, r, f, _ = precision_recall_fscore_support(truth, predicted, average="binary")
    assert row[0:2] == ["LtM", 0.5]
    assert row[2:6] == pytest.approx([p, r, f, accuracy_score(truth, predicted)])
    assert row[6] == 10


def test_a_new_threshold_refreshes_the_paper_tables(api):
    """The figures' cache key holds the project's configuration: a lead who changes the
    derailment threshold sees the report at the new threshold without recomputing by hand."""
    lead = UserFactory(username="lead")
    project, post_ltm = threads_with_references(lead, [True, False])
    assert post_ltm(api, "m", [0.45, 0.2]).status_code == 201

    def reference_row():
        tables = api(lead).get(report_url(project)).json()["tables"]
        return {t["key"]: t for t in tables}["vs_reference"]["rows"][0]

    assert reference_row()[1:3] == [0.5, None]  # nothing predicted positive: no precision
    response = api(lead).patch(
        f"/api/v1/projects/{project.pk}/", {"config": {"threshold": 0.4}}, format="json"
    )
    assert response.status_code == 200, response.content
    assert reference_row()[1:4] == [0.4, 1.0, 1.0]
