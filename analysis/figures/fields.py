"""Agreement per field: Krippendorff's alpha with a bootstrap interval, observed agreement, the
kappas, a tolerance window, the label distribution, accuracy against a reference; and the set
fields' figures (their own ``measure``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from annotate.tasktypes.base import SetField
from stats.alpha import AlphaPatterns, alpha_patterns, krippendorff_alpha_and_bootstrap
from stats.kappa import category_counts, cohen_kappa, fleiss_kappa, observed_agreement

from ..selectors.reliability import FieldData
from .types import FieldFigures, SetFieldFigures, SetFigure

BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20240601  # fixed: the same data gives the same interval on every refresh

MAX_DISTRIBUTION_LABELS = 20
"""Nominal fields with at most this many labels report how often each was given."""


def num(value: Any) -> float | None:
    """A float for JSON: ``None`` for missing or NaN."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def _figure(value: Any) -> int | float | None:
    """Counts stay whole numbers; other figures as ``num``."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    return num(value)


def alpha_kwargs(fd: FieldData) -> dict[str, Any]:
    """How alpha compares this field's values: its distance, else its level of measurement."""
    if fd.field.distance is not None:
        return {"distance": fd.field.distance}
    return {"level": fd.field.level}


def fields_figures(
    fds: Sequence[FieldData], payloads: Mapping[int, Any] | None, item_ids: np.ndarray
) -> list[FieldFigures]:
    """``field_figures`` of each field, in order; fields with the same values (one answer read
    at two levels) share the grouping of their values into alpha's patterns."""
    grouped: list[AlphaPatterns] = []

    def patterns_of(data: np.ndarray) -> AlphaPatterns | None:
        if data.size == 0:
            return None
        for known in grouped:
            if known.data.shape == data.shape and np.array_equal(known.data, data, equal_nan=True):
                return known
        grouped.append(alpha_patterns(data))
        return grouped[-1]

    return [field_figures(fd, payloads, item_ids, patterns=patterns_of(fd.data)) for fd in fds]


def field_figures(
    fd: FieldData,
    payloads: Mapping[int, Any] | None,
    item_ids: np.ndarray,
    *,
    patterns: AlphaPatterns | None = None,
) -> FieldFigures:
    """One agreement field's figures from its annotators x items matrix (``patterns``: its
    values grouped by ``stats.alpha.alpha_patterns`` already)."""
    field_ = fd.field
    data = fd.data
    if data.size == 0:
        return FieldFigures(
            name=field_.name, label=field_.label, level=field_.level, reason="no annotations yet"
        )
    kwargs = alpha_kwargs(fd)
    point, interval = krippendorff_alpha_and_bootstrap(
        data, n_samples=BOOTSTRAP_SAMPLES, seed=BOOTSTRAP_SEED, patterns=patterns, **kwargs
    )
    extra: dict[str, Any] = {}
    if field_.tolerance is not None:
        within = observed_agreement(data, tolerance=field_.tolerance)
        extra.update(tolerance=field_.tolerance, agreement_within_tolerance=num(within.agreement))
    if field_.level == "nominal":
        values, counts = np.unique(data[~np.isnan(data)], return_counts=True)
        if len(values) <= MAX_DISTRIBUTION_LABELS:
            extra["distribution"] = {
                fd.label(v): int(n) for v, n in zip(values, counts, strict=True)
            }
        fleiss = fleiss_kappa(category_counts(data)[0])
        extra.update(fleiss_kappa=num(fleiss.kappa), fleiss_reason=fleiss.reason)
        if data.shape[0] == 2:
            extra["cohen_kappa"] = num(cohen_kappa(data[0], data[1]).kappa)
    if field_.reference is not None and payloads is not None:
        reference = np.array(
            [fd.code_of(field_.reference(payloads[int(i)])) for i in item_ids], dtype=float
        )
        labelled = ~np.isnan(data) & ~np.isnan(reference)[None, :]
        n = int(labelled.sum())
        right = int((data == reference[None, :])[labelled].sum())
        extra.update(reference_accuracy=right / n if n else None, reference_n=n)
    return FieldFigures(
        name=field_.name,
        label=field_.label,
        level=field_.level,
        alpha=num(point.alpha),
        low=num(interval.low),
        high=num(interval.high),
        confidence=interval.confidence,
        n_bootstrap=interval.n_samples,
        reason=point.reason or interval.reason,
        n_coders=point.n_coders,
        n_units=point.n_units,
        n_pairable_values=point.n_pairable_values,
        observed_agreement=num(observed_agreement(data).agreement),
        **extra,
    )


def set_field_figures(field_: SetField, units: Sequence[Mapping[int, Any]]) -> SetFieldFigures:
    """A set field's figures (its ``measure`` on its units), in the order of ``figures``."""
    result = field_.measure(units)
    reasons = result.get("reasons") or {}
    return SetFieldFigures(
        name=field_.name,
        label=field_.label,
        figures=[
            SetFigure(
                name=name, label=label, value=_figure(result.get(name)), reason=reasons.get(name)
            )
            for name, label in field_.figures
        ],
    )
