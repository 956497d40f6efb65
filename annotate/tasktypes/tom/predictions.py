"""Model predictions for theory-of-mind items: each question asked after the story with its
labelled choices, by a judge's likelihood of each ``Answer: <label>`` (``compare_options``) or
by a chat endpoint (``chat``). The value holds the likeliest label per question; the score is
their mean probability, and the details hold each question's distribution."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..modeling import (
    CHAT,
    COMPARE_OPTIONS,
    Chat,
    ChatReply,
    Choice,
    CompareOptions,
    Conversation,
    ItemPrediction,
    ModelingError,
    OperationMapping,
    OptionPrompt,
    choices_of,
    reply_distribution,
    softmax,
)


def tom_questions(payload: Mapping[str, Any]) -> list[tuple[str, str, list[Choice]]]:
    """(id, text, choices) of each question of a ``tom`` item (SPEC 2.3)."""
    questions = payload.get("questions")
    if not isinstance(questions, Sequence) or not questions:
        raise ModelingError("a tom item needs a non-empty 'questions' list")
    return [(str(q["id"]), str(q["text"]), choices_of(q["choices"])) for q in questions]


def tom_prompt(payload: Mapping[str, Any], question: str, choices: Sequence[Choice]) -> str:
    lines = [f"Story: {payload['story']}", "", f"Question: {question}"]
    lines += [f"{choice.label}. {choice.text}" for choice in choices]
    return "\n".join(lines)


def tom_prediction(key: int, per_question: dict[str, dict[str, float]]) -> ItemPrediction:
    """The likeliest label per question, and their mean probability as the score."""
    answers = {qid: max(dist, key=lambda label: dist[label]) for qid, dist in per_question.items()}
    confidence = sum(per_question[qid][label] for qid, label in answers.items()) / len(answers)
    return ItemPrediction(
        key=key,
        value={"answers": answers},
        score=confidence,
        details={"questions": per_question},
    )


class TomJudge(OperationMapping):
    """``compare_options``: each choice label scored as the answer after the question."""

    operation = COMPARE_OPTIONS

    def request(self, payload: Mapping[str, Any]) -> CompareOptions:
        return CompareOptions(
            [
                OptionPrompt(
                    tom_prompt(payload, text, choices) + "\n",
                    [f"Answer: {c.label}" for c in choices],
                )
                for _qid, text, choices in tom_questions(payload)
            ]
        )

    def prediction(
        self, key: int, payload: Mapping[str, Any], response: list[list[float]]
    ) -> ItemPrediction:
        per_question = {
            qid: dict(zip([c.label for c in choices], softmax(logliks), strict=True))
            for (qid, _text, choices), logliks in zip(tom_questions(payload), response, strict=True)
        }
        return tom_prediction(key, per_question)


class TomChat(OperationMapping):
    """``chat``: one completion per question, answered with one of its labels."""

    operation = CHAT

    def request(self, payload: Mapping[str, Any]) -> Chat:
        conversations = []
        for _qid, text, choices in tom_questions(payload):
            labels = [c.label for c in choices]
            question = tom_prompt(payload, text, choices)
            question += f"\nReply with exactly one of: {', '.join(labels)}."
            conversations.append(Conversation([{"role": "user", "content": question}], labels))
        return Chat(conversations)

    def prediction(
        self, key: int, payload: Mapping[str, Any], response: list[ChatReply]
    ) -> ItemPrediction:
        per_question = {
            qid: reply_distribution(reply, [c.label for c in choices])
            for (qid, _text, choices), reply in zip(tom_questions(payload), response, strict=True)
        }
        return tom_prediction(key, per_question)


PREDICTIONS = (TomJudge, TomChat)
