"""Agreement on sets of labels per unit (multi-label data: tones per comment, say).

Input: ``units``, each a mapping annotator -> the set of labels that annotator gave the unit (an
empty set is an answer: "none of the labels"); an annotator missing from a unit did not label it.

Three readings, all Krippendorff's alpha (``alpha.krippendorff_alpha``), each with its reason
when undefined:

- **per label**, nominal alpha over presence / absence: each (unit, annotator) value is 1 when the
  label is in the set and 0 when not. It says which labels annotators can apply reliably;
- **any label**, nominal alpha over "the set is not empty" (whether the unit has a label at all);
- **whole sets**, alpha with the MASI distance (Passonneau 2006, "Measuring agreement on
  set-valued items"): ``1 - J x M``, where J is the Jaccard index and M is 1 for equal sets, 2/3
  when one contains the other, 1/3 when they overlap otherwise, 0 when disjoint; 0 between two
  empty sets. Partial overlaps count as partial agreement.

``exact_agreement`` is the share of annotator pairs (pooled over units) that gave identical sets.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .alpha import AlphaResult, krippendorff_alpha
from .kappa import observed_agreement


@dataclass(frozen=True)
class LabelSetAgreement:
    labels: tuple[str, ...]
    per_label: Mapping[str, AlphaResult]
    prevalence: Mapping[str, float | None]
    """Share of (unit, annotator) values that carry the label."""
    any_label: AlphaResult
    masi: AlphaResult
    exact_agreement: float | None
    n_units: int  # units with at least two annotators
    n_values: int  # (unit, annotator) values in those units


def masi_distance(a: Collection[Hashable], b: Collection[Hashable]) -> float:
    """Passonneau's MASI distance between two sets; 0 between two empty sets."""
    first, second = set(a), set(b)
    if first == second:
        return 0.0
    union = len(first | second)
    common = len(first & second)
    if common == 0:
        return 1.0
    monotonicity = 2 / 3 if (first <= second or second <= first) else 1 / 3
    return 1.0 - (common / union) * monotonicity


def label_set_agreement(
    units: Sequence[Mapping[Hashable, Collection[str]]],
    *,
    labels: Sequence[str] | None = None,
) -> LabelSetAgreement:
    """Per-label, any-label and whole-set (MASI) alpha; ``labels`` fixes which labels get a
    per-label figure and their order (default: every label given, sorted)."""
    pairable = [unit for unit in units if len(unit) >= 2]
    coders = sorted({coder for unit in pairable for coder in unit}, key=repr)
    row = {coder: n for n, coder in enumerate(coders)}
    shape = (len(coders), len(pairable))
    seen = sorted({label for unit in pairable for given in unit.values() for label in given})
    chosen = tuple(labels) if labels is not None else tuple(seen)
    presence = {label: np.full(shape, np.nan) for label in chosen}
    any_label = np.full(shape, np.nan)
    set_codes = np.full(shape, np.nan)
    distinct: dict[frozenset[str], int] = {}
    for column, unit in enumerate(pairable):
        for coder, given in unit.items():
            r = row[coder]
            chosen_set = frozenset(given)
            for label in chosen:
                presence[label][r, column] = float(label in chosen_set)
            any_label[r, column] = float(bool(chosen_set))
            set_codes[r, column] = distinct.setdefault(chosen_set, len(distinct))
    sets = list(distinct)
    matrix = np.array([[masi_distance(a, b) for b in sets] for a in sets]).reshape(
        len(sets), len(sets)
    )
    domain = np.arange(len(sets), dtype=float)
    if len(sets):
        masi = krippendorff_alpha(set_codes, distance=matrix, value_domain=domain)
    else:
        masi = krippendorff_alpha(set_codes, level="nominal")
    n_values = int(np.count_nonzero(~np.isnan(any_label)))
    return LabelSetAgreement(
        labels=chosen,
        per_label={label: krippendorff_alpha(presence[label], level="nominal") for label in chosen},
        prevalence={
            label: float(np.nanmean(presence[label])) if n_values else None for label in chosen
        },
        any_label=krippendorff_alpha(any_label, level="nominal"),
        masi=masi,
        exact_agreement=observed_agreement(set_codes).agreement if pairable else None,
        n_units=len(pairable),
        n_values=n_values,
    )
