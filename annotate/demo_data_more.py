"""Demo projects for the derailment, tom and visual_argument task types (``manage.py demo_setup``).

Written for Dissensus, not taken from any dataset; each goes through its type's import adapter in
the source format (the derailment paper's CSV, SimpleToM rows, a zip of VisArgs rows with images
drawn here with Pillow), so the demo exercises the same path as real data.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from annotate import services
from annotate.models import Membership, Project
from annotate.services.importing import ImportResult
from annotate.tasktypes.derailment.plugin import PAPER_COLUMNS

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# --- derailment: threads in the paper's one-row-per-comment layout

_THREADS = [
    (
        "9001",
        "Crash when the config file is empty",
        "acme/widgets",
        [
            (
                "maya",
                "CONTRIBUTOR",
                "Starting the app with an empty `config.toml` crashes with a "
                "`KeyError: 'server'`. Expected: defaults are used.",
                "0",
                "0",
            ),
            ("sam", "MEMBER", "Thanks for the report. Can you share the full traceback?", "0", "0"),
            (
                "maya",
                "CONTRIBUTOR",
                "I already wrote the error above. It's a one-line fix.",
                "0",
                "Impatience",
            ),
            (
                "sam",
                "MEMBER",
                "A traceback helps us see *where* it fails. We get many reports.",
                "0",
                "0",
            ),
            (
                "maya",
                "CONTRIBUTOR",
                "Unbelievable. Three weeks and nobody can read a KeyError? "
                "Maybe hire people who know Python.",
                "1",
                "Insulting",
            ),
            ("lee", "OWNER", "Please keep it civil. Fixed in #812.", "0", "0"),
        ],
    ),
    (
        "9002",
        "Add dark mode",
        "acme/widgets",
        [
            ("ana", "NONE", "Would be great to have a dark theme for the dashboard.", "0", "0"),
            (
                "rob",
                "NONE",
                "Dark mode is for people who can't be bothered to adjust their screen. "
                "What a stupid request.",
                "1",
                "Mocking",
            ),
            (
                "lee",
                "OWNER",
                "That tone is not welcome here. @ana, a PR would be welcome.",
                "0",
                "0",
            ),
        ],
    ),
    (
        "9003",
        "Docs: typo in installation guide",
        "acme/widgets",
        [
            ("kim", "NONE", "`pip instal widgets` should be `pip install widgets`.", "0", "0"),
            ("sam", "MEMBER", "Good catch, thank you! Would you like to open a PR?", "0", "0"),
            ("kim", "NONE", "Done: #815.", "0", "0"),
            ("sam", "MEMBER", "Merged. :tada:", "0", "0"),
        ],
    ),
    (
        "9004",
        "Memory grows when polling every second",
        "acme/widgets",
        [
            (
                "jo",
                "CONTRIBUTOR",
                "With `interval=1` memory grows ~10 MB/hour. Heap dump attached.",
                "0",
                "0",
            ),
            ("sam", "MEMBER", "Is this on 2.3? We fixed a leak in 2.3.1.", "0", "0"),
            ("jo", "CONTRIBUTOR", "2.3.1, yes. Sorry, should have said.", "0", "0"),
            (
                "sam",
                "MEMBER",
                "Sure... because reading the issue template is too hard, right?",
                "0",
                "Irony",
            ),
            ("jo", "CONTRIBUTOR", "I did read it. No need for that.", "0", "0"),
            ("lee", "OWNER", "Reproduced; the cache never evicts. Working on it.", "0", "0"),
        ],
    ),
]

DERAILMENT_INSTRUCTIONS = """\
Read the issue thread from top to bottom, as on GitHub. Then mark:

- **t** on the **toxic comment**, if the thread turns toxic (or **x**: no comment is toxic);
- **d** on the comment where the conversation **first turns toward toxicity** (the derailment
  point: the toxic comment itself or an earlier one), or **n** if it never derails;
- optionally, tones per comment with keys **1**–**9**.

Move between comments with **j** (next) and **k** (previous). Press **Enter** to submit.
"""


def derailment_csv() -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=PAPER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for issue, title, repo, comments in _THREADS:
        number = int(issue) - 8000
        for sequence, (author, association, text, toxic, tbdf) in enumerate(comments, start=1):
            writer.writerow(
                {
                    "link": f"https://api.github.com/repos/{repo}/issues/{number}",
                    "title": title,
                    "speaker": author,
                    "comments_count": str(len(comments)),
                    "issue_id": issue,
                    "comment_sequence": str(sequence),
                    "comment_unique_id": f"{issue}{sequence:02d}",
                    "toxic": toxic,
                    "reply_to": "0",
                    "timestamp": f"2024-03-{sequence + 1:02d}T09:{sequence:02d}:00Z",
                    "text": text,
                    "is_first_comment": str(sequence == 1),
                    "tbdf": tbdf,
                    "author_association": association,
                }
            )
    return out.getvalue().encode()


# --- tom: SimpleToM-style question rows

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


# --- visual_argument: posters drawn with Pillow, VisArgs rows in a zip

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


# name, task type, instructions, (bytes, format, adapter)
DEMO_MORE: list[tuple[str, str, str, Callable[[], bytes], str | None, str]] = [
    (
        "Demo: where does the thread derail?",
        "derailment",
        DERAILMENT_INSTRUCTIONS,
        derailment_csv,
        "csv",
        "github_derailment",
    ),
    ("Demo: what does the person know?", "tom", TOM_INSTRUCTIONS, tom_jsonl, "jsonl", "simpletom"),
    (
        "Demo: the premises of a visual argument",
        "visual_argument",
        VISUAL_INSTRUCTIONS,
        visual_zip,
        None,
        "visargs",
    ),
]


def demo_more_projects(*, lead: User, annotators: list[User]) -> list[tuple[Project, ImportResult]]:
    """Create (or refresh) one demo project per task type beyond preference pairs."""
    done = []
    for name, task_type, instructions, data, fmt, adapter in DEMO_MORE:
        project = Project.objects.filter(name=name).order_by("pk").first()
        if project is None:
            project = services.project_create(
                name=name,
                task_type=task_type,
                created_by=lead,
                overlap=3,
                instructions=instructions,
            )
        services.membership_add(project=project, user=lead, role=Membership.Role.LEAD)
        for user in annotators:
            services.membership_add(project=project, user=user, role=Membership.Role.ANNOTATOR)
        result = services.items_import(
            project=project, stream=io.BytesIO(data()), fmt=fmt, adapter=adapter
        )
        done.append((project, result))
    return done
