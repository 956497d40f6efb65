"""Predictor registry: validated in the service, the admin form and the API."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from models_runtime import predictors
from models_runtime.admin import PredictorForm
from models_runtime.models import Predictor

from ..factories import UserFactory


def fields_of(exc) -> set[str]:
    return {error["field"] for error in exc.value.as_dict()["errors"]}


def test_a_valid_predictor_is_saved(db, reward_model_dir):
    predictor = predictors.predictor_create(
        name="rm",
        task_type="preference_pair",
        backend="reward_model",
        weights_path=reward_model_dir,
        params={"max_batch": 8},
        queue="gpu",
    )
    assert Predictor.objects.get(name="rm").queue == "gpu"
    assert predictor.params == {"max_batch": 8}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"backend": "onnx"}, "backend"),
        ({"task_type": "no_such_type"}, "task_type"),
        ({"backend": "sequence_classifier"}, "task_type"),  # classifiers answer derailment only
        ({"weights_path": "/nonexistent/model"}, "weights_path"),
        ({"weights_path": ""}, "weights_path"),
        ({"params": {"temperature": 3}}, "params"),
        ({"params": [1, 2]}, "params"),
        ({"queue": "tpu"}, "queue"),
    ],
)
def test_an_invalid_predictor_is_refused_naming_the_field(db, reward_model_dir, changes, field):
    fields = {
        "name": "rm",
        "task_type": "preference_pair",
        "backend": "reward_model",
        "weights_path": reward_model_dir,
        **changes,
    }
    with pytest.raises(InvalidInput) as exc:
        predictors.predictor_create(**fields)
    assert field in fields_of(exc)
    assert not Predictor.objects.exists()


def test_a_directory_without_a_model_config_is_refused(db, tmp_path):
    with pytest.raises(InvalidInput) as exc:
        predictors.predictor_create(
            name="x",
            task_type="preference_pair",
            backend="reward_model",
            weights_path=str(tmp_path),
        )
    assert "weights_path" in fields_of(exc)


def test_the_http_backend_needs_no_weights(db):
    predictor = predictors.predictor_create(
        name="judge",
        task_type="preference_pair",
        backend="openai_http",
        params={"base_url": "http://127.0.0.1:8000/v1", "model": "big"},
    )
    assert predictor.weights_path == ""


def test_the_admin_form_runs_the_same_checks(db, reward_model_dir):
    form = PredictorForm(
        data={
            "name": "rm",
            "task_type": "preference_pair",
            "backend": "reward_model",
            "weights_path": "/nope",
            "params": "{}",
            "queue": "default",
        }
    )
    assert not form.is_valid()
    assert "weights_path" in form.errors
    good = PredictorForm(
        data={
            "name": "rm",
            "task_type": "preference_pair",
            "backend": "reward_model",
            "weights_path": reward_model_dir,
            "params": '{"max_batch": 2}',
            "queue": "default",
        }
    )
    assert good.is_valid(), good.errors


def test_only_staff_register_predictors_through_the_api(db, api, reward_model_dir):
    body = {
        "name": "rm",
        "task_type": "preference_pair",
        "backend": "reward_model",
        "weights_path": reward_model_dir,
        "params": {"max_batch": 4},
    }
    assert (
        api(UserFactory(username="someone"))
        .post("/api/v1/predictors/", body, format="json")
        .status_code
        == 403
    )
    staff = UserFactory(username="admin", is_staff=True)
    response = api(staff).post("/api/v1/predictors/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["params"] == {"max_batch": 4}
    bad = api(staff).post(
        "/api/v1/predictors/", {**body, "name": "other", "backend": "nope"}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "backend"
    patched = api(staff).patch(
        f"/api/v1/predictors/{response.json()['id']}/", {"queue": "gpu"}, format="json"
    )
    assert patched.status_code == 200 and patched.json()["queue"] == "gpu"
