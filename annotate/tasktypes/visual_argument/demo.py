"""The ``visual_argument`` demo project (``manage.py demo_setup``): posters drawn with Pillow and
VisArgs rows in a zip, imported through the ``visargs`` adapter.

Written for Dissensus, not taken from any dataset.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from ..base import Demo

VISUAL_INSTRUCTIONS = """\
Each image makes an argument. Find the parts of the image the argument rests on:

1. **Drag** on the image to draw a box around each part (drag a box to move it, its corner to
   resize it; **b** adds a box, **[**/**]** select, arrows move, **r** switches to resizing,
   **Delete** removes). Describe each box in its text field.
2. Add **commonsense premises** (**c**): facts the image relies on but does not show.
3. Link **reasoning steps** (**l**): tick the premises a step uses; the last step gives **C**,
   the conclusion.

Press **Enter** to submit.
"""


def _poster(draw_fn: Callable[[Any], None], size: tuple[int, int] = (480, 320)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (245, 243, 236))
    draw_fn(ImageDraw.Draw(image))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _melting_globe(draw: Any) -> None:
    draw.ellipse([160, 40, 320, 200], fill=(60, 120, 200))
    draw.polygon([(190, 80), (240, 70), (260, 120), (210, 140)], fill=(70, 160, 80))
    for x in (190, 230, 270):
        draw.rectangle([x, 195, x + 12, 260], fill=(60, 120, 200))
        draw.ellipse([x - 3, 252, x + 15, 270], fill=(60, 120, 200))
    draw.rectangle([380, 60, 400, 260], outline=(80, 80, 80), width=2)
    draw.rectangle([383, 100, 397, 257], fill=(210, 40, 40))
    draw.text((150, 285), "IT'S MELTING. ACT NOW.", fill=(30, 30, 30))


def _cigarette_fuse(draw: Any) -> None:
    draw.ellipse([60, 110, 220, 270], fill=(40, 40, 40))
    draw.rectangle([190, 120, 240, 150], fill=(40, 40, 40))
    draw.rectangle([240, 128, 420, 142], fill=(250, 250, 250), outline=(120, 120, 120))
    draw.rectangle([400, 128, 420, 142], fill=(230, 120, 30))
    draw.text((130, 40), "EVERY PUFF SHORTENS THE FUSE", fill=(30, 30, 30))


def _paper_tree(draw: Any) -> None:
    draw.rectangle([225, 150, 255, 290], fill=(110, 80, 50))
    draw.ellipse([150, 30, 240, 160], fill=(50, 140, 60))
    for y in range(40, 160, 16):
        draw.rectangle([245, y, 330, y + 10], fill=(255, 255, 255), outline=(180, 180, 180))
    draw.text((140, 295), "PRINT ONLY WHAT YOU NEED", fill=(30, 30, 30))


_ARGUMENTS = [
    (
        "poster-globe",
        _melting_globe,
        "Act now against climate change.",
        [
            ("The Earth is drawn as a melting ball of ice.", (160, 40, 160, 230)),
            ("A thermometer shows a high temperature.", (380, 60, 20, 200)),
        ],
        ["Ice melts when it gets warm.", "Rising temperatures change the climate."],
        [
            "(VP1, CP1 -> IC1): The Earth is melting like ice in the heat.",
            "(VP2, CP2 -> IC2): The heat is climate change.",
            "(IC1, IC2 -> C): Climate change is destroying the Earth; act now.",
        ],
    ),
    (
        "poster-fuse",
        _cigarette_fuse,
        "Smoking is a time bomb for your health.",
        [
            ("A cigarette is the fuse of a bomb.", (190, 110, 230, 40)),
            ("The lit end burns toward the bomb.", (400, 128, 20, 14)),
        ],
        ["A burning fuse makes a bomb explode."],
        [
            "(VP1, VP2 -> IC1): Smoking the cigarette burns the fuse down.",
            "(IC1, CP1 -> C): Every cigarette brings the explosion, illness, closer.",
        ],
    ),
    (
        "poster-tree",
        _paper_tree,
        "Save trees: print only what you need.",
        [("Half of the tree's crown is sheets of paper.", (240, 35, 95, 130))],
        ["Paper is made from trees."],
        ["(VP1, CP1 -> C): Printing uses up trees, so print less."],
    ),
]


def visual_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        lines = []
        for name, draw_fn, conclusion, visual, commonsense, steps in _ARGUMENTS:
            archive.writestr(f"images/{name}.png", _poster(draw_fn))
            lines.append(
                json.dumps(
                    {
                        "id": name,
                        "url": f"images/{name}.png",
                        "conclusion": conclusion,
                        "visual_premises": [text for text, _box in visual],
                        "b_box": [
                            {"startX": x, "startY": y, "w": w, "h": h}
                            for _t, (x, y, w, h) in visual
                        ],
                        "commonsense_premises": commonsense,
                        "reasoning_steps": steps,
                    }
                )
            )
        archive.writestr("manifest.jsonl", "\n".join(lines) + "\n")
    return out.getvalue()


DEMO = Demo(
    "Demo: the premises of a visual argument",
    VISUAL_INSTRUCTIONS,
    visual_zip,
    fmt=None,
    adapter="visargs",
)
