"""One pass through the whole preference-pair flow over the REST API."""

import json


def test_lead_imports_annotators_label_and_export_reflects_votes(
    project, lead, make_annotator, api
):
    records = [
        {"external_id": "p1", "prompt": "Hi?", "response_a": "Hello.", "response_b": "Hey!"},
        {"external_id": "p2", "prompt": "2+2?", "response_a": "4", "response_b": "5"},
    ]
    body = "".join(json.dumps(r) + "\n" for r in records)
    response = api(lead).post(
        f"/api/v1/projects/{project.pk}/items/", body, content_type="application/x-ndjson"
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"total": 2, "created": 2, "updated": 0}

    votes = {"p1": [-2, -1, 1], "p2": [-1, -1, -2]}
    for name in ("ann1", "ann2", "ann3"):
        client = api(make_annotator(name))
        for _ in range(2):
            reserved = client.post(f"/api/v1/projects/{project.pk}/next/")
            assert reserved.status_code == 200, reserved.content
            external_id = reserved.json()["item"]["external_id"]
            vote = votes[external_id].pop()
            submitted = client.post(
                f"/api/v1/assignments/{reserved.json()['assignment']['id']}/submit/",
                {"value": {"preference": vote}},
                format="json",
            )
            assert submitted.status_code == 201, submitted.content
        assert client.post(f"/api/v1/projects/{project.pk}/next/").status_code == 204

    exported = api(lead).get(f"/api/v1/projects/{project.pk}/export/?shape=items&format=jsonl")
    rows = {
        r["external_id"]: r
        for r in map(json.loads, b"".join(exported.streaming_content).splitlines())
    }
    assert rows["p1"]["agreement_status"] == "diverging_significant"
    assert rows["p2"]["agreement_status"] == "high_agreement_preference"
    assert rows["p2"]["label_distribution"] == {"-2": 1, "-1": 2, "0": 0, "1": 0, "2": 0}
    assert rows["p2"]["majority_label"] == -1
