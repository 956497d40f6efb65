"""Dawid-Skene (``stats.aggregation.dawid_skene``) in the product: per nominal agreement field,
the estimated true-label posteriors summarised per label and each annotator's estimated accuracy
(``Figures.dawid_skene``), and each item's most probable label with its posterior as columns of
the ``items`` export (``export_columns``, the ``annotate.hooks.item_export_columns`` receiver).

The data are the analysis's: gold items and flagged annotators are left out, as for agreement.
The model runs on the items with at least one label in the field; each annotator's estimated
accuracy is ``sum_k prior_k * confusion[k, k]``, the chance that their label is the true one on an
item drawn from the estimated class prior.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import User

from annotate.models import Project
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import AgreementField
from stats.aggregation import DawidSkeneResult, dawid_skene, majority_vote

from ..selectors.reliability import (
    FieldData,
    ReliabilityData,
    analysis_source_key,
    reliability_data,
)
from .fields import num
from .types import DawidSkeneAnnotator, DawidSkeneFigures, DawidSkeneLabel

EXPORT_LABEL = "dawid_skene_label"
EXPORT_POSTERIOR = "dawid_skene_posterior"


def _fit(fd: FieldData) -> tuple[np.ndarray, np.ndarray, DawidSkeneResult]:
    """(columns of the labelled items, the labels on them, Dawid-Skene on them)."""
    labelled = np.flatnonzero(~np.isnan(fd.data).all(axis=0))
    data = fd.data[:, labelled]
    return labelled, data, dawid_skene(data)


def field_dawid_skene(
    fd: FieldData, annotator_ids: np.ndarray, names: Mapping[int, str]
) -> DawidSkeneFigures | None:
    """One nominal field's Dawid-Skene figures; ``None`` when it has no label."""
    labelled, data, result = _fit(fd)
    k = len(result.categories)
    if not labelled.size or not k:
        return None
    posteriors = result.posteriors
    best = posteriors.argmax(axis=1)
    n_map = np.bincount(best, minlength=k)
    mean_posterior = posteriors.mean(axis=0)
    majority = majority_vote(data, categories=result.categories)
    decided = ~np.isnan(majority.label)
    n_labels = np.count_nonzero(~np.isnan(data), axis=1)
    accuracy = (result.priors[None, :] * np.diagonal(result.confusion, axis1=1, axis2=2)).sum(
        axis=1
    )
    annotators = [
        DawidSkeneAnnotator(
            annotator_id=int(annotator_ids[j]),
            username=names.get(int(annotator_ids[j]), str(int(annotator_ids[j]))),
            n_labels=int(n_labels[j]),
            accuracy=num(accuracy[j]),
        )
        for j in range(len(annotator_ids))
        if n_labels[j]
    ]
    annotators.sort(key=lambda a: a.username)
    return DawidSkeneFigures(
        field=fd.field.name,
        label=fd.field.label,
        n_items=int(labelled.size),
        n_annotators=len(annotators),
        labels=[
            DawidSkeneLabel(
                label=fd.label(code),
                prior=num(result.priors[n]),
                mean_posterior=num(mean_posterior[n]),
                n_map=int(n_map[n]),
            )
            for n, code in enumerate(result.categories)
        ],
        annotators=annotators,
        mean_map_posterior=num(posteriors.max(axis=1).mean()),
        n_differs_from_majority=int((majority.label[decided] != result.label[decided]).sum()),
        n_majority_ties=int(majority.tie.sum()),
        iterations=result.n_iterations,
        converged=result.converged,
        log_likelihood=num(result.log_likelihood),
    )


def dawid_skene_figures(rd: ReliabilityData) -> list[DawidSkeneFigures]:
    """Dawid-Skene on every nominal agreement field that has labels, in the fields' order."""
    nominal = [fd for fd in rd.fields.values() if fd.field.level == "nominal" and fd.data.size]
    if not nominal:
        return []
    names = dict(
        User.objects.filter(pk__in=[int(a) for a in rd.annotator_ids]).values_list("id", "username")
    )
    out = []
    for fd in nominal:
        figures = field_dawid_skene(fd, rd.annotator_ids, names)
        if figures is not None:
            out.append(figures)
    return out


# --- the items export's columns


def export_field(fields: Sequence[AgreementField]) -> AgreementField | None:
    """The field of the export's columns: the primary field when nominal, else the first nominal
    field; ``None`` when the type has no nominal field (the export then has no such columns)."""
    nominal = [f for f in fields if f.level == "nominal"]
    primary = [f for f in nominal if f.primary]
    chosen = primary or nominal
    return chosen[0] if chosen else None


@dataclass
class _Computed:
    """The item labels of the last project exported in this process, what they were computed
    from (``key``), and the highest item id served since (an export asks in ascending id order,
    one chunk at a time, so a chunk starting above it continues the same export).

    Kept as arrays, not a Python object per item: the labelled items' ids (ascending), the index
    of each one's label in ``names`` and its posterior; the fit itself is not kept."""

    key: tuple[int, str, str]
    item_ids: np.ndarray
    codes: np.ndarray
    posteriors: np.ndarray
    names: list[str]
    served_up_to: int

    def labels(self, item_ids: Sequence[int]) -> list[tuple[str, float] | None]:
        """Each of ``item_ids``' label and posterior, ``None`` for an item without one."""
        if not self.item_ids.size:
            return [None] * len(item_ids)
        wanted = np.asarray(item_ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.item_ids, wanted), self.item_ids.size - 1)
        found = (self.item_ids[at] == wanted).tolist()
        codes = self.codes[at].tolist()
        posteriors = self.posteriors[at].tolist()
        names = self.names
        return [
            (names[code], posterior) if hit else None
            for hit, code, posterior in zip(found, codes, posteriors, strict=True)
        ]


_last: _Computed | None = None


def _computed(*, project: Project, field: AgreementField, key: tuple[int, str, str]) -> _Computed:
    """Dawid-Skene on the project's whole field, reduced to each labelled item's most probable
    label and its posterior (``_Computed``)."""
    rd = reliability_data(project=project, fields=[field])
    fd = rd.fields[field.name]
    empty = np.zeros(0)
    item_ids, codes, posteriors, names = empty.astype(np.int64), empty.astype(np.intp), empty, []
    if fd.data.size:
        labelled, _data, result = _fit(fd)
        del _data
        if len(result.categories):
            best = result.posteriors.argmax(axis=1)
            posteriors = np.take_along_axis(result.posteriors, best[:, None], axis=1)[:, 0]
            names = [fd.label(code) for code in result.categories]
            item_ids = rd.item_ids[labelled].astype(np.int64)
            codes = best
            order = np.argsort(item_ids, kind="stable")
            if (order != np.arange(order.size)).any():
                item_ids, codes, posteriors = item_ids[order], codes[order], posteriors[order]
        del result
    return _Computed(
        key=key,
        item_ids=np.ascontiguousarray(item_ids),
        codes=np.ascontiguousarray(codes),
        posteriors=np.ascontiguousarray(posteriors),
        names=names,
        served_up_to=0,
    )


def _item_labels(
    *, project: Project, field: AgreementField, item_ids: Sequence[int]
) -> list[tuple[str, float] | None]:
    """Each of ``item_ids``' most probable true label and its posterior (Dawid-Skene on the
    project's whole field), ``None`` for an item without one. Computed at the start of an export,
    unless the project's annotations have not changed since the last one; the following chunks
    of the same export reuse it."""
    global _last
    first, last = min(item_ids), max(item_ids)
    cached = _last
    if cached is not None and cached.key[:2] == (project.pk, field.name):
        if first > cached.served_up_to:  # the same export, its next chunk
            cached.served_up_to = last
            return cached.labels(item_ids)
        if cached.key[2] == analysis_source_key(project=project)[0]:  # a new one, same data
            cached.served_up_to = last
            return cached.labels(item_ids)
    key = (project.pk, field.name, analysis_source_key(project=project)[0])
    _last = None  # the previous project's arrays freed before this one's fit
    computed = _computed(project=project, field=field, key=key)
    computed.served_up_to = last
    _last = computed
    return computed.labels(item_ids)


def export_columns(*, item_ids: list[int]) -> dict[str, dict[int, Any]]:
    """``dawid_skene_label`` and ``dawid_skene_posterior`` of a chunk of the items export (the
    ``annotate.hooks.item_export_columns`` receiver): empty for an item without labels (and for
    gold items); no columns at all for a task type without a nominal agreement field."""
    if not item_ids:
        return {}
    project = Project.objects.filter(items__pk=item_ids[0]).first()
    if project is None:
        return {}
    plugin = get_task_type(project.task_type)
    field = export_field(plugin.agreement_fields(plugin.config(project.config)))
    if field is None:
        return {}
    found = list(
        zip(item_ids, _item_labels(project=project, field=field, item_ids=item_ids), strict=True)
    )
    return {
        EXPORT_LABEL: {i: hit[0] if hit else None for i, hit in found},
        EXPORT_POSTERIOR: {i: hit[1] if hit else None for i, hit in found},
    }
