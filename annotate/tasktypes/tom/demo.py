"""The ``tom`` demo project (``manage.py demo_setup``): SimpleToM-style question rows, imported
through the ``simpletom`` adapter.

Written for Dissensus, not taken from any dataset.
"""

from __future__ import annotations

import json
from typing import Any

from ..base import Demo

_STORIES = [
    (
        "demo_yoghurt",
        "groceries",
        "The yoghurt in the pot is past its date and smells off. "
        "Priya takes the pot from the fridge shelf and puts it in her basket.",
        "Priya",
        "The yoghurt in the pot is past its date and smells off.",
        ("pay for the yoghurt", "put the yoghurt back"),
    ),
    (
        "demo_bike",
        "second-hand sale",
        "The bicycle's brake cable is frayed and about to snap. "
        "Tom, the buyer, admires the shiny paint and hands the seller the money.",
        "Tom",
        "The bicycle's brake cable is frayed and about to snap.",
        ("ride the bicycle home", "ask for a lower price because of the brakes"),
    ),
    (
        "demo_laptop",
        "repair shop",
        "The used laptop has a cracked battery that could swell. "
        "Ines reads the price tag and asks the clerk to wrap it as a gift.",
        "Ines",
        "The used laptop has a cracked battery that could swell.",
        ("give the laptop as a gift", "ask for a new battery first"),
    ),
]

TOM_INSTRUCTIONS = """\
Read the short story, then answer three questions about the person in it, in order: what they
know, what they will likely do next, and how reasonable that behavior is.

Press **a**/**b** (or **1**/**2**) to answer the highlighted question; the next one lights up.
**Shift**+**1**–**5** says how sure you are (optional). Press **Enter** to submit.
"""


def tom_jsonl() -> bytes:
    rows: list[dict[str, Any]] = []
    for story_id, scenario, story, name, fact, (unaware, aware) in _STORIES:
        rows += [
            {
                "id": f"{story_id}_aware",
                "story": story,
                "scenario_name": scenario,
                "question": f'Is {name} likely to be aware that "{fact}"?',
                "choices": {"text": ["Yes", "No"], "label": ["A", "B"]},
                "answerKey": "B",
            },
            {
                "id": f"{story_id}_action",
                "story": story,
                "scenario_name": scenario,
                "question": f"What will {name} likely do next?",
                "choices": {"text": [unaware, aware], "label": ["A", "B"]},
                "answerKey": "A",
            },
            {
                "id": f"{story_id}_judge",
                "story": story,
                "scenario_name": scenario,
                "question": f'Next, {name} will "{unaware}" and not "{aware}". The behavior of '
                f"{name} can be best described as:",
                "choices": {"text": ["Not reasonable", "Reasonable"], "label": ["A", "B"]},
                "answerKey": "B",
            },
        ]
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


DEMO = Demo(
    "Demo: what does the person know?",
    TOM_INSTRUCTIONS,
    tom_jsonl,
    fmt="jsonl",
    adapter="simpletom",
)
