"""Fixtures for the derailment, tom and visual_argument task types, written in the real formats
(the paper's one-row-per-comment CSV, SimpleToM rows, VisArgs rows) but with made-up content."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from annotate.tasktypes.derailment.adapters import PAPER_COLUMNS as PAPER_COLUMNS_LONG_LAYOUT

PAPER_COLUMNS = [
    "title",
    "speaker",
    "issue_id",
    "comment_sequence",
    "comment_unique_id",
    "toxic",
    "text",
    "is_first_comment",
    "tbdf",
]
PAPER_COLUMNS_LONG = list(PAPER_COLUMNS_LONG_LAYOUT)


def paper_csv(rows: list[dict], columns: list[str] = PAPER_COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in columns})
    return out.getvalue().encode()


def paper_rows(
    issue: str,
    texts: list[str],
    *,
    toxic_at: int | None = None,
    tbdf: dict[int, str] | None = None,
    title: str = "Build fails on ARM",
) -> list[dict]:
    """Rows of one thread; ``toxic_at`` and ``tbdf`` keys are 1-based comment sequences."""
    tbdf = tbdf or {}
    return [
        {
            "title": title,
            "speaker": f"user{sequence % 3}",
            "issue_id": issue,
            "comment_sequence": str(sequence),
            "comment_unique_id": f"{issue}{sequence:03d}",
            "toxic": "1" if sequence == toxic_at else "0",
            "text": text,
            "is_first_comment": "True" if sequence == 1 else "False",
            "tbdf": tbdf.get(sequence, "0"),
        }
        for sequence, text in enumerate(texts, start=1)
    ]


def thread_record(n: int, *, n_comments: int = 4, **overrides) -> dict:
    """A derailment item in the platform's own format."""
    record = {
        "external_id": f"thread-{n}",
        "title": f"Thread {n}: crash on startup",
        "comments": [
            {
                "id": f"t{n}c{i}",
                "author": f"dev{i}",
                "author_association": "MEMBER" if i else "NONE",
                "created_at": f"2024-01-0{i + 1}T10:00:00Z",
                "body": f"Comment {i} of thread {n}.",
            }
            for i in range(n_comments)
        ],
        "metadata": {"repository": "example/project"},
    }
    record.update(overrides)
    return record


def simpletom_rows(
    story_id: str,
    *,
    story: str = "The milk in the carton is sour. Ann puts it in her cart.",
    name: str = "Ann",
) -> list[dict]:
    """SimpleToM benchmark rows (``choices: {text, label}``, ``answerKey``) for one story."""
    return [
        {
            "id": f"{story_id}_aware",
            "story": story,
            "scenario_name": "grocery",
            "question": f'Is {name} likely to be aware that "The milk in the carton is sour."?',
            "choices": {"text": ["Yes", "No"], "label": ["A", "B"]},
            "answerKey": "B",
        },
        {
            "id": f"{story_id}_action",
            "story": story,
            "scenario_name": "grocery",
            "question": f"What will {name} likely do next?",
            "choices": {
                "text": ["pay for the milk", "ask for a fresh carton"],
                "label": ["A", "B"],
            },
            "answerKey": "A",
        },
        {
            "id": f"{story_id}_judge",
            "story": story,
            "scenario_name": "grocery",
            "question": f'Next, {name} "pay for the milk". The behavior of {name} can be best '
            "described as:",
            "choices": {"text": ["Not reasonable", "Reasonable"], "label": ["A", "B"]},
            "answerKey": "B",
        },
    ]


def tom_record(n: int, **overrides) -> dict:
    """A tom item in the platform's own format, questions deliberately out of kind order."""
    record = {
        "external_id": f"story-{n}",
        "story": f"Story {n}: the bread is mouldy. Bo takes it to the till.",
        "questions": [
            {
                "id": "judge",
                "kind": "judgment",
                "text": "Bo pays. The behavior of Bo is:",
                "choices": [
                    {"label": "A", "text": "Reasonable"},
                    {"label": "B", "text": "Not reasonable"},
                ],
                "answer": "A",
            },
            {
                "id": "aware",
                "kind": "mental_state",
                "text": "Is Bo aware the bread is mouldy?",
                "choices": [{"label": "A", "text": "Yes"}, {"label": "B", "text": "No"}],
                "answer": "B",
            },
            {
                "id": "action",
                "kind": "behavior",
                "text": "What will Bo do next?",
                "choices": [
                    {"label": "A", "text": "Pay for the bread"},
                    {"label": "B", "text": "Return it"},
                ],
                "answer": "A",
            },
        ],
    }
    record.update(overrides)
    return record


def jsonl_bytes(records) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def png_bytes(width: int = 200, height: int = 100, color=(200, 30, 30)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (240, 240, 240))
    ImageDraw.Draw(image).rectangle([width // 4, height // 4, width // 2, height // 2], fill=color)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def zip_bytes(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def structure_value(**overrides) -> dict:
    """A valid structure-mode annotation for a 200×100 image."""
    value = {
        "visual_premises": [
            {"id": "VP1", "text": "A red square", "box": {"x": 50, "y": 25, "w": 50, "h": 25}},
            {"id": "VP2", "text": "A grey field", "box": {"x": 0, "y": 0, "w": 200, "h": 100}},
        ],
        "commonsense_premises": [{"id": "CP1", "text": "Red draws the eye."}],
        "reasoning_steps": [
            {"from": ["VP1", "CP1"], "to": "IC1", "text": "The square is the focus."},
            {"from": ["IC1", "VP2"], "to": "C", "text": "It stands out."},
        ],
        "conclusion": "The square stands out.",
    }
    value.update(overrides)
    return value


def rows_of(project, shape: str, fmt: str) -> list[dict]:
    """A project's export of ``shape`` in ``fmt``, read back as a list of rows (usernames shown)."""
    import pyarrow.parquet as pq

    from annotate import exporting

    data = b"".join(
        exporting.export_bytes(
            exporting.export_rows(project, shape=shape, identities=True), fmt=fmt
        )
    )
    if fmt == "jsonl":
        return [json.loads(line) for line in data.decode().splitlines()]
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(data.decode())))
    return pq.read_table(io.BytesIO(data)).to_pylist()
