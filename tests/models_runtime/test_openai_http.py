"""The OpenAI-compatible backend against a small fake server on loopback, started by the test."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from models_runtime.backends import PredictInput, PredictorConfig, load_predictor
from models_runtime.backends.base import BackendError, TransientBackendError

PAIR = {"prompt": "2+2?", "response_a": "4", "response_b": "5"}


class FakeServer:
    """Answers chat completions from ``self.answer(body)``; records the requests it got."""

    def __init__(self):
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.fail_next = 0
        self.answer = lambda body: {"content": "A", "top": {"A": -0.2, "B": -2.0, "tie": -3.0}}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions":
                    self.send_response(404)
                    self.end_headers()
                    return
                if server.fail_next:
                    server.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                answer = server.answer(body)
                choice = {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer["content"]},
                }
                if body.get("logprobs") and answer.get("top"):
                    choice["logprobs"] = {
                        "content": [
                            {
                                "token": answer["content"],
                                "top_logprobs": [
                                    {"token": t, "logprob": lp} for t, lp in answer["top"].items()
                                ],
                            }
                        ]
                    }
                data = json.dumps({"choices": [choice]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_server():
    server = FakeServer()
    yield server
    server.close()


def predictor(url, task_type="preference_pair", **params):
    return load_predictor(
        "openai_http",
        PredictorConfig(
            task_type, "", {"base_url": url, "model": "judge-70b", "max_retries": 1, **params}
        ),
    )


def test_http_judge_reads_the_answer_distribution_from_logprobs(fake_server):
    prediction = predictor(fake_server.url).predict([PredictInput(1, PAIR)])[0]
    weights = {"a": math.exp(-0.2), "b": math.exp(-2.0), "tie": math.exp(-3.0)}
    total = sum(weights.values())
    assert prediction.distribution == pytest.approx({k: v / total for k, v in weights.items()})
    assert prediction.score == pytest.approx((weights["b"] + weights["tie"] / 2) / total)
    assert prediction.value["preference"] == -1  # p(B) = 0.16: A better, not much better
    body = fake_server.requests[0]
    assert body["model"] == "judge-70b" and body["temperature"] == 0
    assert body["guided_choice"] == ["A", "B", "tie"]
    assert "Response A: 4" in body["messages"][-1]["content"]


def test_http_judge_without_logprobs_takes_the_answer_as_certain(fake_server):
    fake_server.answer = lambda body: {"content": "B"}
    prediction = predictor(fake_server.url, logprobs=False, guided_choice=False).predict(
        [PredictInput(1, PAIR)]
    )[0]
    assert prediction.distribution == {"a": 0.0, "b": 1.0, "tie": 0.0}
    assert prediction.value["preference"] == 2
    assert "guided_choice" not in fake_server.requests[0]


def test_http_judge_answers_tom_questions_one_request_each(fake_server):
    fake_server.answer = lambda body: (
        {"content": "No", "top": {"No": -0.1, "Yes": -2.5}}
        if "aware" in body["messages"][-1]["content"]
        else {"content": "drawer"}
    )
    item = {
        "story": "Anna left.",
        "questions": [
            {
                "id": "q1",
                "kind": "mental_state",
                "text": "Is Anna aware?",
                "choices": {"text": ["Yes", "No"], "label": ["Yes", "No"]},
            },
            {
                "id": "q2",
                "kind": "behavior",
                "text": "Where will Anna look?",
                "choices": ["drawer", "box"],
            },
        ],
    }
    prediction = predictor(fake_server.url, task_type="tom").predict([PredictInput(5, item)])[0]
    assert prediction.value == {"answers": {"q1": "No", "q2": "drawer"}}
    assert len(fake_server.requests) == 2
    assert fake_server.requests[0]["guided_choice"] == ["Yes", "No"]


def test_http_judge_retries_a_server_error_then_succeeds(fake_server):
    fake_server.fail_next = 1
    prediction = predictor(fake_server.url).predict([PredictInput(1, PAIR)])[0]
    assert prediction.distribution["a"] > 0.5
    assert len(fake_server.requests) == 2


def test_http_judge_sends_the_key_from_the_named_environment_variable(fake_server, monkeypatch):
    monkeypatch.setenv("JUDGE_KEY_FOR_TEST", "sk-test-123")
    predictor(fake_server.url, api_key_env="JUDGE_KEY_FOR_TEST").predict([PredictInput(1, PAIR)])
    assert fake_server.headers[0]["Authorization"] == "Bearer sk-test-123"


def test_http_judge_unreachable_endpoint_is_a_transient_error():
    with pytest.raises(TransientBackendError):
        predictor("http://127.0.0.1:9/v1", timeout=2).predict([PredictInput(1, PAIR)])


def test_http_judge_rejects_an_answer_outside_the_options(fake_server):
    fake_server.answer = lambda body: {"content": "Neither, really."}
    with pytest.raises(BackendError, match="not one of"):
        predictor(fake_server.url, logprobs=False).predict([PredictInput(1, PAIR)])
