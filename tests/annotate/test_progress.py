"""The annotator's real remaining work (issue 10, point 6): quota-aware for crowd workers."""

import pytest

from annotate import selectors
from annotate.models import Annotation, CrowdWorker

from .test_crowd_entry import crowd_project, entry_url


def worker_arrives(client, entry):
    client.get(entry_url(entry))
    return CrowdWorker.objects.get().user


@pytest.mark.django_db
def test_a_crowd_worker_with_a_three_item_quota_never_sees_more_than_three_left(client):
    project, entry = crowd_project(15, quota=3)
    worker = worker_arrives(client, entry)

    html = client.get(f"/p/{project.pk}/annotate/").content.decode()

    assert "0 done, 3 left for you" in html
    assert selectors.annotator_progress(project=project, annotator=worker).n_left == 3


@pytest.mark.django_db
def test_the_quota_left_shrinks_as_the_worker_answers(client):
    project, entry = crowd_project(15, quota=3)
    worker = worker_arrives(client, entry)
    response = client.post(f"/api/v1/projects/{project.pk}/next/")
    assignment = response.json()["assignment"]["id"]
    assert response.json()["progress"] == {"n_done": 0, "n_left": 3}
    client.post(
        f"/api/v1/assignments/{assignment}/submit/",
        {"value": {"preference": 1}},
        content_type="application/json",
    )
    assert Annotation.objects.count() == 1
    progress = selectors.annotator_progress(project=project, annotator=worker)
    assert (progress.n_done, progress.n_left) == (1, 2)


@pytest.mark.django_db
def test_items_left_bound_the_count_when_fewer_than_the_quota(client):
    project, entry = crowd_project(2, quota=3)
    worker = worker_arrives(client, entry)
    assert selectors.annotator_progress(project=project, annotator=worker).n_left == 2


def test_an_in_house_annotator_sees_every_open_item_in_next(
    project, make_annotator, import_pairs, api
):
    import_pairs(15)
    response = api(make_annotator("ann")).post(f"/api/v1/projects/{project.pk}/next/")
    assert response.json()["progress"] == {"n_done": 0, "n_left": 15}
