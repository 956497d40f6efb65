"""Model predictions for preference pairs: rewards, a judge's option likelihoods, a chat judge.

Every way ends in P(B better than A), read on the SPEC 2.1 signed 5-point scale with
``tie_margin`` and ``strong_margin``:

- ``score_texts`` (reward models): each response is scored on its own, after the earlier turns
  and the prompt; P(B better) is Bradley–Terry on the two rewards (``scale`` its temperature),
  accounting for their variances where the model gives them;
- ``compare_options`` (causal LM judges): the pair is laid out as "Response A … Response B …
  Which response is better?", and the answers (``options``: ``{"a": " A", "b": " B", "tie":
  " tie"}``; the tie only with ``allow_tie``) are scored by their log-likelihood after it; their
  softmax is the distribution over a / tie / b, a tie counting half towards P(B better). With
  ``debias_order`` the pair is also asked with the responses swapped and the two answers
  averaged, which cancels the judge's position bias;
- ``chat`` (a chat endpoint): the same question, answered with one of A, B (and tie).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..modeling import (
    CHAT,
    COMPARE_OPTIONS,
    SCORE_TEXTS,
    Chat,
    ChatReply,
    CompareOptions,
    Conversation,
    ItemPrediction,
    Message,
    ModelingError,
    OperationMapping,
    OptionPrompt,
    ScoreTexts,
    TextScore,
    reply_distribution,
    sigmoid,
    softmax,
)

# The preference scale of SPEC 2.1, from P(B better than A).
DEFAULT_TIE_MARGIN = 0.1
DEFAULT_STRONG_MARGIN = 0.35
MARGINS = {"tie_margin": DEFAULT_TIE_MARGIN, "strong_margin": DEFAULT_STRONG_MARGIN}


def bradley_terry(
    reward_a: float, reward_b: float, *, var_a: float = 0.0, var_b: float = 0.0, scale: float = 1.0
) -> float:
    """P(B better than A) under Bradley–Terry on the rewards.

    With reward variances (a distributional head) the logistic is averaged over the Gaussian
    reward difference with the probit approximation (MacKay 1992):
    E[sigmoid(d)] ≈ sigmoid(mu / sqrt(1 + pi * s2 / 8)), mu and s2 the difference's mean and
    variance. Without variances this is ``sigmoid((reward_b - reward_a) / scale)``.
    """
    mu = (reward_b - reward_a) / scale
    s2 = (var_a + var_b) / (scale * scale)
    return sigmoid(mu / math.sqrt(1.0 + math.pi * s2 / 8.0))


def preference_from_probability(
    p_b: float,
    *,
    tie_margin: float = DEFAULT_TIE_MARGIN,
    strong_margin: float = DEFAULT_STRONG_MARGIN,
) -> int:
    """The SPEC 2.1 signed 5-point vote from P(B better): 0 near 1/2, ±2 far from it."""
    margin = p_b - 0.5
    if abs(margin) < tie_margin:
        return 0
    strength = 2 if abs(margin) >= strong_margin else 1
    return strength if margin > 0 else -strength


def preference_value(p_b: float, params: Mapping[str, Any]) -> dict[str, Any]:
    """A preference_pair annotation value (the shape humans submit) from P(B better)."""
    vote = preference_from_probability(
        p_b,
        tie_margin=float(params.get("tie_margin", DEFAULT_TIE_MARGIN)),
        strong_margin=float(params.get("strong_margin", DEFAULT_STRONG_MARGIN)),
    )
    return {"preference": vote, "aspects": {}, "rationale": "", "flags": []}


def preference_prediction(
    key: int,
    distribution: dict[str, float],
    params: Mapping[str, Any],
    details: dict[str, Any] | None = None,
) -> ItemPrediction:
    """A prediction from a judge's distribution over ``a``, ``b`` (and ``tie``): a tie counts
    half towards P(B better)."""
    p_b = distribution["b"] + distribution.get("tie", 0.0) / 2
    return ItemPrediction(
        key=key,
        value=preference_value(p_b, params),
        score=p_b,
        distribution=distribution,
        details=details or {},
    )


def conversation_messages(payload: Mapping[str, Any], response: str) -> list[Message]:
    """A pair's earlier turns, its prompt and one response as chat messages."""
    messages = [
        {"role": str(turn["role"]), "content": str(turn["content"])}
        for turn in payload.get("context", [])
    ]
    messages.append({"role": "user", "content": str(payload["prompt"])})
    messages.append({"role": "assistant", "content": response})
    return messages


class PreferenceRewards(OperationMapping):
    """``score_texts``: Bradley–Terry on the two responses' rewards."""

    operation = SCORE_TEXTS
    default_params = {**MARGINS, "scale": 1.0}

    def request(self, payload: Mapping[str, Any]) -> ScoreTexts:
        return ScoreTexts(
            [
                conversation_messages(payload, str(response))
                for response in (payload["response_a"], payload["response_b"])
            ]
        )

    def prediction(
        self, key: int, payload: Mapping[str, Any], response: list[TextScore]
    ) -> ItemPrediction:
        reward_a, reward_b = response
        p_b = bradley_terry(
            reward_a.mean,
            reward_b.mean,
            var_a=reward_a.variance or 0.0,
            var_b=reward_b.variance or 0.0,
            scale=float(self.params["scale"]),
        )
        details: dict[str, Any] = {"reward_a": reward_a.mean, "reward_b": reward_b.mean}
        if reward_a.variance is not None and reward_b.variance is not None:
            details.update(variance_a=reward_a.variance, variance_b=reward_b.variance)
        return ItemPrediction(
            key=key,
            value=preference_value(p_b, self.params),
            score=p_b,
            distribution={"a": 1.0 - p_b, "b": p_b},
            details=details,
        )


def judge_prompt(payload: Mapping[str, Any], first: str, second: str, allow_tie: bool) -> str:
    lines = []
    for turn in payload.get("context", []):
        lines.append(f"{str(turn['role']).capitalize()}: {turn['content']}")
    lines += [
        f"User prompt: {payload['prompt']}",
        "",
        f"Response A: {first}",
        "",
        f"Response B: {second}",
        "",
        "Which response is better? Answer A, B or tie."
        if allow_tie
        else "Which response is better? Answer A or B.",
    ]
    return "\n".join(lines)


class PreferenceJudge(OperationMapping):
    """``compare_options``: the likelihood of each answer after the question (one order, or
    both orders averaged with ``debias_order``)."""

    operation = COMPARE_OPTIONS
    default_params = {
        **MARGINS,
        "options": {"a": " A", "b": " B", "tie": " tie"},
        "allow_tie": True,
        "debias_order": False,
    }

    def __init__(self, params: Mapping[str, Any]):
        super().__init__(params)
        options = self.params["options"]
        if not isinstance(options, Mapping) or not {"a", "b"} <= set(options):
            raise ModelingError("options must map 'a', 'b' (and 'tie') to the answer strings")
        self.labels = ["a", "b", "tie"] if self.params["allow_tie"] else ["a", "b"]

    def orders(self, payload: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        a, b = str(payload["response_a"]), str(payload["response_b"])
        return [("ab", a, b), ("ba", b, a)] if self.params["debias_order"] else [("ab", a, b)]

    def request(self, payload: Mapping[str, Any]) -> CompareOptions:
        allow_tie = bool(self.params["allow_tie"])
        options = [str(self.params["options"][label]) for label in self.labels]
        return CompareOptions(
            [
                OptionPrompt(judge_prompt(payload, first, second, allow_tie) + "\nAnswer:", options)
                for _key, first, second in self.orders(payload)
            ]
        )

    def prediction(
        self, key: int, payload: Mapping[str, Any], response: list[list[float]]
    ) -> ItemPrediction:
        per_order = {
            order: dict(zip(self.labels, softmax(logliks), strict=True))
            for (order, _first, _second), logliks in zip(
                self.orders(payload), response, strict=True
            )
        }
        if "ba" in per_order:
            swapped = {"a": "b", "b": "a", "tie": "tie"}
            dist = {
                label: (per_order["ab"][label] + per_order["ba"][swapped[label]]) / 2
                for label in self.labels
            }
        else:
            dist = dict(per_order["ab"])
        return preference_prediction(key, dist, self.params, {"orders": per_order})


PREFERENCE_SYSTEM = (
    "You compare two responses to the same prompt and say which one is better. "
    "Reply with exactly one of: {answers}."
)


def chat_question(payload: Mapping[str, Any], answers: list[str]) -> str:
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


class PreferenceChat(OperationMapping):
    """``chat``: the question with the answers A, B (and tie), one completion per pair."""

    operation = CHAT
    default_params = {**MARGINS, "allow_tie": True}

    def answers(self) -> list[str]:
        return ["A", "B", "tie"] if self.params["allow_tie"] else ["A", "B"]

    def request(self, payload: Mapping[str, Any]) -> Chat:
        answers = self.answers()
        system = PREFERENCE_SYSTEM.format(answers=", ".join(answers))
        messages = [
            {"role": "system", "content": system},
            {"role": "user", "content": chat_question(payload, answers)},
        ]
        return Chat([Conversation(messages, answers)])

    def prediction(
        self, key: int, payload: Mapping[str, Any], response: list[ChatReply]
    ) -> ItemPrediction:
        dist = reply_distribution(response[0], self.answers())
        distribution = {"a": dist["A"], "b": dist["B"]}
        if "tie" in dist:
            distribution["tie"] = dist["tie"]
        return preference_prediction(key, distribution, self.params)


PREDICTIONS = (PreferenceRewards, PreferenceJudge, PreferenceChat)
