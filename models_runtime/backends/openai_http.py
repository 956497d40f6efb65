"""OpenAI-compatible chat completions (a vLLM server, for instance) as a judge.

For large judges served elsewhere: each question goes out as one chat completion at temperature
0 with the allowed answers stated in the prompt and, with ``guided_choice`` (a vLLM extension
that other servers ignore), enforced by the server. With ``logprobs`` the first token's top
log-probabilities give the distribution over the answers; without them (or when the server sends
none) the answer counts as certain. Requests run ``max_concurrency`` at a time; a connection
failure, a 429 or a 5xx is retried ``max_retries`` times and then raised as transient, so the
Celery task retries later.

Parameters: ``base_url`` (e.g. ``http://gpu-host:8000/v1``), ``model``, ``api_key_env`` (the name
of an environment variable holding the key; the key itself is never stored), ``timeout``,
``system_prompt``, ``allow_tie`` and the preference margins.
"""

from __future__ import annotations

import json
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from .base import (
    BackendError,
    ItemPrediction,
    PredictInput,
    Predictor,
    PredictorConfig,
    TransientBackendError,
    preference_prediction,
    tom_prediction,
    tom_prompt,
    tom_questions,
)

PREFERENCE_SYSTEM = (
    "You compare two responses to the same prompt and say which one is better. "
    "Reply with exactly one of: {answers}."
)


def _preference_question(payload: Mapping[str, Any], answers: list[str]) -> str:
    lines = [f"{str(t['role']).capitalize()}: {t['content']}" for t in payload.get("context", [])]
    lines += [
        f"Prompt: {payload['prompt']}",
        "",
        f"Response A: {payload['response_a']}",
        "",
        f"Response B: {payload['response_b']}",
        "",
        f"Which response is better? Reply with exactly one of: {', '.join(answers)}.",
    ]
    return "\n".join(lines)


class OpenAIChatPredictor(Predictor):
    def __init__(self, config: PredictorConfig, params: Mapping[str, Any]):
        super().__init__(config, params)
        base_url = str(self.params["base_url"]).rstrip("/")
        if urlsplit(base_url).scheme not in {"http", "https"} or not self.params["model"]:
            raise BackendError("openai_http needs base_url (http or https) and model")
        self.url = f"{base_url}/chat/completions"
        self.api_key = ""
        if self.params["api_key_env"]:
            self.api_key = os.environ.get(str(self.params["api_key_env"]), "")
            if not self.api_key:
                raise BackendError(f"environment variable {self.params['api_key_env']} is not set")
        self.concurrency = max(1, int(self.params["max_concurrency"]))

    @property
    def device(self) -> str:
        return f"http ({urlsplit(self.url).netloc})"

    def batches(self, inputs: Sequence[PredictInput]) -> Iterator[list[PredictInput]]:
        size = self.concurrency * 2
        for start in range(0, len(inputs), size):
            yield list(inputs[start : start + size])

    # --- one question
    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last_error = ""
        for attempt in range(int(self.params["max_retries"]) + 1):
            if attempt:
                time.sleep(min(8.0, 0.5 * 2**attempt))
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=float(self.params["timeout"])) as resp:
                    answer: dict[str, Any] = json.loads(resp.read())
                    return answer
            except urllib.error.HTTPError as exc:
                if exc.code != 429 and exc.code < 500:
                    detail = exc.read()[:500].decode(errors="replace")
                    raise BackendError(f"the endpoint answered {exc.code}: {detail}") from None
                last_error = f"HTTP {exc.code}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last_error = str(exc)
        raise TransientBackendError(f"{self.url} unreachable: {last_error}")

    def ask(self, question: str, answers: list[str], system: str) -> dict[str, float]:
        """The distribution over ``answers`` for one question."""
        messages = [{"role": "system", "content": system}] if system else []
        messages.append({"role": "user", "content": question})
        body: dict[str, Any] = {
            "model": self.params["model"],
            "messages": messages,
            "temperature": 0,
            "max_tokens": 8,
        }
        if self.params["guided_choice"]:
            body["guided_choice"] = answers
        if self.params["logprobs"]:
            body.update(logprobs=True, top_logprobs=10)
        reply = self._post(body)
        try:
            choice = reply["choices"][0]
            content = str(choice["message"]["content"] or "").strip()
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"not a chat completion: {str(reply)[:300]}") from None
        distribution = self._from_logprobs(choice.get("logprobs"), answers)
        if distribution is not None:
            return distribution
        chosen = next((a for a in answers if content.lower() == a.lower()), None)
        chosen = chosen or next((a for a in answers if content.lower().startswith(a.lower())), None)
        if chosen is None:
            raise BackendError(f"the model answered {content!r}, not one of {answers}")
        return {answer: 1.0 if answer == chosen else 0.0 for answer in answers}

    @staticmethod
    def _from_logprobs(logprobs: Any, answers: list[str]) -> dict[str, float] | None:
        """Probability mass of each answer's first token among the first token's top choices."""
        try:
            top = logprobs["content"][0]["top_logprobs"]
        except (KeyError, IndexError, TypeError):
            return None
        mass = dict.fromkeys(answers, 0.0)
        for entry in top:
            token = str(entry.get("token", "")).strip().lower()
            if not token:
                continue
            matches = [a for a in answers if a.lower() == token]
            matches = matches or [a for a in answers if a.lower().startswith(token)]
            if len(matches) == 1:
                mass[matches[0]] += math.exp(float(entry["logprob"]))
        total = sum(mass.values())
        if total <= 0:
            return None
        return {answer: value / total for answer, value in mass.items()}

    # --- items
    def _predict_one(self, item: PredictInput) -> ItemPrediction:
        system = str(self.params["system_prompt"])
        if self.task_type == "tom":
            per_question = {}
            for qid, text, choices in tom_questions(item.payload):
                labels = [c.label for c in choices]
                question = tom_prompt(item.payload, text, choices)
                question += f"\nReply with exactly one of: {', '.join(labels)}."
                per_question[qid] = self.ask(question, labels, system)
            return tom_prediction(item.key, per_question)
        options = ["A", "B", "tie"] if self.params["allow_tie"] else ["A", "B"]
        dist = self.ask(
            _preference_question(item.payload, options),
            options,
            system or PREFERENCE_SYSTEM.format(answers=", ".join(options)),
        )
        distribution = {"a": dist["A"], "b": dist["B"]}
        if "tie" in dist:
            distribution["tie"] = dist["tie"]
        return preference_prediction(item.key, distribution, self.params)

    def predict_batch(self, inputs: Sequence[PredictInput]) -> list[ItemPrediction]:
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(inputs) or 1)) as pool:
            return list(pool.map(self._predict_one, inputs))
