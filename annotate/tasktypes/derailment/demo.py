"""The ``derailment`` demo project (``manage.py demo_setup``): threads in the paper's
one-row-per-comment CSV layout, imported through the ``github_derailment`` adapter.

Written for Dissensus, not taken from any dataset.
"""

from __future__ import annotations

import csv
import io

from ..base import Demo
from .adapters import PAPER_COLUMNS

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


DEMO = Demo(
    "Demo: where does the thread derail?",
    DERAILMENT_INSTRUCTIONS,
    derailment_csv,
    fmt="csv",
    adapter="github_derailment",
)
