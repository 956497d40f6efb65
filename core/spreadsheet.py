"""CSV cells that a spreadsheet will not run as formulas (CSV or formula injection).

The OWASP rule: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is prefixed with a single quote, which spreadsheets show as text and never evaluate; the csv
module quotes the cell where needed. A plain number written as text (``-1``, ``+0.5``, ``-2e3``)
is left alone: no spreadsheet runs it, and exported figures stay exactly as they were. Every CSV
the platform writes (exports, analysis tables, the crowd payment list) passes its cells through
``csv_safe``.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def csv_safe(value: Any) -> Any:
    """``value``, with a text cell that could start a formula prefixed by ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
