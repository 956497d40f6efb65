"""``derailment`` import adapter: the paper's CSV (Imran et al., 2025), one row per comment,
grouped into one thread per ``issue_id`` (``github_derailment``)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from core.errors import FieldError, SchemaError

from .schemas import DEFAULT_TONES

PAPER_COLUMNS = (
    "link",
    "title",
    "speaker",
    "comments_count",
    "issue_id",
    "comment_sequence",
    "comment_unique_id",
    "toxic",
    "reply_to",
    "timestamp",
    "text",
    "is_first_comment",
    "tbdf",
    "author_association",
)
"""Every column of the paper's CSV, in its order; the adapter reads them by name."""
REQUIRED_COLUMNS = ("issue_id", "comment_sequence", "comment_unique_id", "speaker")
_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no"}
_ISSUE_URL = re.compile(r"^https://api\.github\.com/repos/([^/]+/[^/]+)/issues/(\d+)$")


def _tone_key(label: str) -> str:
    return re.sub(r"[^a-z]", "", label.lower())


# The dataset writes "Identity attacks/Name-Calling"; the default set says it in the SPEC's words.
_TONE_ALIASES = {_tone_key(t): t for t in DEFAULT_TONES} | {
    "identityattacksnamecalling": "Identity attack / name-calling",
}


def _flag(raw: Any) -> bool | None:
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def github_derailment_records(
    rows: Iterator[tuple[int, Any]],
) -> Iterator[tuple[int, Any]]:
    """Group the paper's one-row-per-comment CSV into threads, one item per ``issue_id``.

    The rows of one issue must be contiguous (as in the paper's files); an issue that appears again
    after another one is reported on the row where it reappears. Each item is reported under the
    line of its first row; a bad row is reported under its own line, with the column named.
    When any row of a thread has ``toxic`` or ``tbdf`` filled, the thread gets a reference label:
    the toxic comment is the row with ``toxic`` = 1, the derailment point the first earlier row
    with a ``tbdf`` label (none: the thread turned toxic without derailing first), and every
    ``tbdf`` label becomes a tone of its comment.
    """
    group: list[tuple[int, dict[str, Any]]] = []
    group_ok = True
    finished: dict[str, int] = {}
    current: str | None = None

    def emit() -> Iterator[tuple[int, Any]]:
        if group and group_ok:
            yield from _thread_record(group)

    for line, row in rows:
        if not isinstance(row, dict):
            yield line, row  # a parse problem: passed on for the importer to report
            continue
        missing = [column for column in REQUIRED_COLUMNS if not str(row.get(column, "")).strip()]
        if missing:
            yield line, SchemaError([FieldError(c, "required in every row") for c in missing])
            group_ok = False
            continue
        issue = str(row["issue_id"]).strip()
        if issue != current:
            yield from emit()
            if issue in finished:
                yield (
                    line,
                    SchemaError(
                        [
                            FieldError(
                                "issue_id",
                                f"issue {issue} reappears; its rows must be contiguous "
                                f"(its first row is on line {finished[issue]})",
                            )
                        ]
                    ),
                )
                group, group_ok, current = [], False, issue
                continue
            finished[issue] = line
            group, group_ok, current = [], True, issue
        problems = _row_problems(row)
        if problems:
            yield line, SchemaError(problems)
            group_ok = False
            continue
        group.append((line, row))
    yield from emit()


def _row_problems(row: Mapping[str, Any]) -> list[FieldError]:
    errors = []
    sequence = str(row["comment_sequence"]).strip()
    if not sequence.isdigit():
        errors.append(FieldError("comment_sequence", f"must be a whole number, not {sequence!r}"))
    if "toxic" in row and _flag(row["toxic"]) is None:
        errors.append(FieldError("toxic", f"must be 0 or 1, not {row['toxic']!r}"))
    tbdf = str(row.get("tbdf", "")).strip()
    if tbdf and tbdf != "0" and _tone_key(tbdf) not in _TONE_ALIASES:
        errors.append(FieldError("tbdf", f"unknown tone-bearing discussion feature {tbdf!r}"))
    return errors


def _thread_record(group: list[tuple[int, dict[str, Any]]]) -> Iterator[tuple[int, Any]]:
    first_line, first = group[0]
    rows = sorted(group, key=lambda pair: int(str(pair[1]["comment_sequence"]).strip()))
    seen: dict[int, int] = {}
    errors: list[tuple[int, FieldError]] = []
    for line, row in rows:
        sequence = int(str(row["comment_sequence"]).strip())
        if sequence in seen:
            errors.append(
                (
                    line,
                    FieldError("comment_sequence", f"{sequence} is also on line {seen[sequence]}"),
                )
            )
        seen.setdefault(sequence, line)
    toxic_lines = [line for line, row in rows if _flag(row.get("toxic", "0"))]
    for line in toxic_lines[1:]:
        errors.append(
            (
                line,
                FieldError(
                    "toxic", f"a second toxic comment (the first is on line {toxic_lines[0]})"
                ),
            )
        )
    if errors:
        for line, error in errors:
            yield line, SchemaError([error])
        return

    comments = []
    for _line, row in rows:
        comment = {
            "id": str(row["comment_unique_id"]).strip(),
            "author": str(row["speaker"]).strip(),
            "body": str(row.get("text", "")),
        }
        for source, target in (
            ("author_association", "author_association"),
            ("timestamp", "created_at"),
            ("reply_to", "reply_to"),
        ):
            raw = str(row.get(source, "")).strip()
            if raw and not (source == "reply_to" and raw == "0"):
                comment[target] = raw
        comments.append(comment)

    metadata: dict[str, Any] = {"issue_id": str(first["issue_id"]).strip()}
    match = _ISSUE_URL.match(str(first.get("link", "")).strip())
    if match:
        metadata["repository"] = match.group(1)
        metadata["issue_number"] = int(match.group(2))
        metadata["link"] = f"https://github.com/{match.group(1)}/issues/{match.group(2)}"
    if str(first.get("comments_count", "")).strip().isdigit():
        metadata["comments_count"] = int(str(first["comments_count"]).strip())

    record: dict[str, Any] = {
        "external_id": metadata["issue_id"],
        "title": str(first.get("title", "")).strip() or f"Issue {metadata['issue_id']}",
        "comments": comments,
        "metadata": metadata,
    }
    labelled = any(
        str(row.get(column, "")).strip() for _line, row in rows for column in ("toxic", "tbdf")
    )
    if labelled:
        record["reference"] = {"source": "github_derailment", "value": _reference(rows)}
    yield first_line, record


def _reference(rows: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    ids = [str(row["comment_unique_id"]).strip() for _line, row in rows]
    toxic_index = next(
        (index for index, (_line, row) in enumerate(rows) if _flag(row.get("toxic", "0"))), None
    )
    tones: dict[str, list[str]] = {}
    for comment_id, (_line, row) in zip(ids, rows, strict=True):
        tbdf = str(row.get("tbdf", "")).strip()
        if tbdf and tbdf != "0":
            tones[comment_id] = [_TONE_ALIASES[_tone_key(tbdf)]]
    derailment = None
    if toxic_index is not None:
        derailment = next((ids[i] for i in range(toxic_index) if ids[i] in tones), None)
    return {
        "toxic": toxic_index is not None,
        "toxic_comment": ids[toxic_index] if toxic_index is not None else None,
        "derailment_comment": derailment,
        "tones": tones,
    }
