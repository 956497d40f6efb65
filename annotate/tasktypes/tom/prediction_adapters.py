"""``tom`` prediction adapter: SimpleToM's model-output rows grouped into one prediction per story
(``simpletom``; Gu et al., 2024).

SimpleToM's inference script writes one row per question (``id`` ending in ``_aware``,
``_action`` or ``_judge``) with the prompt, the gold letter (``correct``), the model's raw reply
(``llm_output``: the API's response object, or a plain string) and its own parse (``predicted``).
The rows of one story become one prediction row for the story's item (``external_id`` = the id
without its suffix, as the ``simpletom`` items adapter names it):

``{"external_id": story, "value": {"answers": {question_id: label}},
"details": {"raw": {question_id: reply text}, "unparsed": [question_id, ...]}}``

``details.raw`` names every question asked; a question whose reply does not parse has no answer
in ``value`` and is listed in ``details.unparsed`` (SimpleToM's ``na_frac`` counts them), never
dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from core.errors import FieldError, SchemaError

from .adapters import _question_from_row, _split_id
from .schemas import KIND_ORDER, KINDS

# The labels SimpleToM's prompts use when a row does not say (its parser tries A-D).
DEFAULT_LABELS = ("A", "B", "C", "D")
_PARENTHESISED = re.compile(r"\(\s*([A-Za-z0-9])\s*\)")
_BARE = re.compile(
    r"^(?:(?:the\s+)?(?:final\s+)?answer(?:\s+is)?\s*[:：]?\s*)?\(?\s*([A-Za-z0-9])\s*\)?[.!]?$",
    re.IGNORECASE,
)


def parse_answer(text: str | None, labels: Sequence[str]) -> str | None:
    """The choice label a reply gives, or ``None`` when it gives none.

    A reply that is just a label (``A``, ``(A)``, ``Answer: (B)``, ``the answer is B.``) gives that
    label; otherwise the last ``(X)`` in the reply whose X is one of ``labels`` (a chain of thought
    ending in "Therefore, the answer is: (B)"). Labels are case-sensitive."""
    if not text:
        return None
    stripped = text.strip()
    bare = _BARE.match(stripped)
    if bare and bare.group(1) in labels:
        return bare.group(1)
    found = [m.group(1) for m in _PARENTHESISED.finditer(stripped) if m.group(1) in labels]
    return found[-1] if found else None


def reply_text(output: Any) -> str | None:
    """The text of a model's reply as SimpleToM stores it (``llm_output``): a string, or the
    response object of the OpenAI Responses API (``output[].content[].text`` of its messages),
    of Anthropic's Messages API (``content[].text``) or of a chat completion
    (``choices[0].message.content``). ``None`` when it holds no text (an error response)."""
    if output is None:
        return None
    if isinstance(output, str):
        return output
    if not isinstance(output, Mapping):
        return None
    texts: list[str] = []
    if isinstance(output.get("output"), list):
        for part in output["output"]:
            if isinstance(part, Mapping) and part.get("type", "message") == "message":
                texts += _texts(part.get("content"))
    elif isinstance(output.get("content"), list | str):
        texts = _texts(output["content"])
    elif isinstance(output.get("choices"), list) and output["choices"]:
        first = output["choices"][0]
        message = first.get("message") if isinstance(first, Mapping) else None
        if isinstance(message, Mapping):
            texts = _texts(message.get("content"))
        elif isinstance(first, Mapping) and isinstance(first.get("text"), str):
            texts = [first["text"]]
    return "\n".join(texts) if texts else None


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [
        block["text"]
        for block in content
        if isinstance(block, Mapping) and isinstance(block.get("text"), str)
    ]


def _labels_of(row: Mapping[str, Any]) -> Sequence[str]:
    """The question's choice labels from the row (its ``choices`` or its prompt's ``(X)``
    lines); SimpleToM's A-D when the row does not say."""
    if "choices" in row or "prompt" in row:
        try:
            _story, question = _question_from_row(row)
        except SchemaError:
            return DEFAULT_LABELS
        labels = [choice["label"] for choice in question["choices"]]
        if labels:
            return labels
    return DEFAULT_LABELS


def _row_error(field: str, message: str) -> SchemaError:
    return SchemaError([FieldError(field, message)])


def simpletom_predictions(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """Group SimpleToM model-output rows into one prediction row per story.

    A row's reply is its ``llm_output`` (string or response object), or, without one, its
    ``predicted`` letter; a row with neither is an error on its line, as is an id without a
    question suffix or a question given twice. The rows of a story need not be contiguous
    (SimpleToM lists every ``_aware`` row first): a story is emitted once its three questions are
    in, the others at the end in the order of their first rows, each under the line of its
    first row. Memory holds the stories not yet complete (their reply texts)."""
    open_groups: dict[str, dict[str, Any]] = {}
    for line, row in rows:
        if not isinstance(row, dict):
            yield line, row
            continue
        parts = _split_id(row.get("id"))
        if parts is None:
            yield (
                line,
                _row_error("id", "must end in _aware, _action or _judge (SimpleToM question ids)"),
            )
            continue
        story_id, kind = parts
        if "llm_output" in row:
            text = reply_text(row["llm_output"])
        elif isinstance(row.get("predicted"), str):
            text = row["predicted"]
        else:
            yield (
                line,
                _row_error(
                    "llm_output", "required: the model's reply (or SimpleToM's predicted letter)"
                ),
            )
            continue
        group = open_groups.setdefault(story_id, {"line": line, "questions": {}})
        question_id = str(row["id"]).strip()
        if any(q["kind"] == kind for q in group["questions"].values()):
            yield (
                line,
                _row_error(
                    "id",
                    f"a second {kind} question for story {story_id!r} "
                    f"(first row of the story on line {group['line']})",
                ),
            )
            continue
        group["questions"][question_id] = {
            "kind": kind,
            "text": text,
            "answer": parse_answer(text, _labels_of(row)),
        }
        if len(group["questions"]) == len(KINDS):
            yield _prediction(story_id, open_groups.pop(story_id))
    for story_id, group in sorted(open_groups.items(), key=lambda pair: pair[1]["line"]):
        yield _prediction(story_id, group)


def _prediction(story_id: str, group: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    questions = sorted(group["questions"].items(), key=lambda q: KIND_ORDER[q[1]["kind"]])
    return group["line"], {
        "external_id": story_id,
        "value": {"answers": {qid: q["answer"] for qid, q in questions if q["answer"]}},
        "details": {
            "raw": {qid: q["text"] for qid, q in questions},
            "unparsed": [qid for qid, q in questions if not q["answer"]],
        },
    }


PREDICTION_ADAPTERS = {"simpletom": simpletom_predictions}
