"""Whether a few labels of one item disagree: the rule of adaptive overlap (HelpSteer2 collected
more annotations for an item whose first ones disagreed). Pure functions, no Django.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any


def spread(values: Sequence[float]) -> float | None:
    """``max - min`` of the values (NaN left out); ``None`` below two values."""
    numbers = [float(value) for value in values if not math.isnan(float(value))]
    if len(numbers) < 2:
        return None
    return max(numbers) - min(numbers)


def spread_exceeds(values: Sequence[float], threshold: float) -> bool:
    """Whether labels on a scale disagree: their spread is *more* than ``threshold`` points
    (on a 5-point preference scale with threshold 1, "A better" and "tie" agree; "A better"
    and "B better" do not). Fewer than two values never disagree."""
    found = spread(values)
    return found is not None and found > threshold


def not_unanimous(labels: Iterable[Any]) -> bool:
    """Whether nominal labels disagree: two or more distinct labels (``None`` left out). Labels
    are compared as JSON, so lists and dicts work and ``1`` equals ``1.0``."""
    seen = {_key(label) for label in labels if label is not None}
    return len(seen) > 1


def _key(label: Any) -> Any:
    if isinstance(label, bool):
        return ("bool", label)
    if isinstance(label, int | float):
        return ("number", float(label))
    return ("json", json.dumps(label, sort_keys=True))
