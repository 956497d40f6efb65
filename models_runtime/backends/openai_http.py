"""OpenAI-compatible chat completions (a vLLM server, for instance): ``chat``.

For large models served elsewhere: each conversation goes out as one chat completion at
temperature 0; where it has a few allowed answers, with ``guided_choice`` (a vLLM extension
that other servers ignore) the server enforces them. With ``logprobs`` the reply carries the
first token's top log-probabilities. Requests (one per item, its conversations in turn) run
``max_concurrency`` at a time; a connection failure, a 429 or a 5xx is retried
``max_retries`` times and then raised as transient, so the Celery task retries later.

Parameters: ``base_url`` (e.g. ``http://gpu-host:8000/v1``), ``model``, ``api_key_env`` (the name
of an environment variable holding the key; the key itself is never stored), ``timeout``,
``system_prompt`` (replaces the conversation's system message, or adds one, when set).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from annotate.tasktypes.modeling import CHAT, Chat, ChatReply, Conversation, Message

from .base import Backend, BackendError, PredictorConfig, TransientBackendError


class OpenAIChatBackend(Backend):
    operations = frozenset({CHAT})

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

    def batches(self, requests: Sequence[Any]) -> Iterator[list[int]]:
        size = self.concurrency * 2
        for start in range(0, len(requests), size):
            yield list(range(start, min(start + size, len(requests))))

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

    def messages(self, conversation: Conversation) -> list[Message]:
        system = str(self.params["system_prompt"])
        messages = list(conversation.messages)
        if system:
            if messages and messages[0]["role"] == "system":
                messages = messages[1:]
            messages.insert(0, {"role": "system", "content": system})
        return messages

    def complete(self, conversation: Conversation) -> ChatReply:
        """One chat completion."""
        body: dict[str, Any] = {
            "model": self.params["model"],
            "messages": self.messages(conversation),
            "temperature": 0,
            "max_tokens": 8,
        }
        if self.params["guided_choice"] and conversation.answers:
            body["guided_choice"] = conversation.answers
        if self.params["logprobs"]:
            body.update(logprobs=True, top_logprobs=10)
        reply = self._post(body)
        try:
            choice = reply["choices"][0]
            content = str(choice["message"]["content"] or "").strip()
        except (KeyError, IndexError, TypeError):
            raise BackendError(f"not a chat completion: {str(reply)[:300]}") from None
        return ChatReply(content, self._top_logprobs(choice.get("logprobs")))

    @staticmethod
    def _top_logprobs(logprobs: Any) -> list[tuple[str, float]] | None:
        """The first token's top ``(token, log-probability)``, when the reply has them."""
        try:
            top = logprobs["content"][0]["top_logprobs"]
        except (KeyError, IndexError, TypeError):
            return None
        return [(str(entry.get("token", "")), float(entry["logprob"])) for entry in top]

    # --- items
    def _answer_one(self, request: Chat) -> list[ChatReply]:
        return [self.complete(conversation) for conversation in request.conversations]

    def answer(self, requests: Sequence[Chat]) -> list[list[ChatReply]]:
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests) or 1)) as pool:
            return list(pool.map(self._answer_one, requests))
