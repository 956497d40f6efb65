"""Analysis services: compute a project's figures, cache them, and the divergence review writes.

Figures (``agreement_compute``) are a JSON-ready dict: progress, agreement per field (alpha with
a bootstrap interval, observed agreement, kappas), annotators (leave-one-out agreement, pairwise
matrix, gold accuracy, speed, position bias), divergence (status counts), and model versus humans.
They are cached in ``AnalysisSnapshot`` under the key of what they were computed from.

Caching policy (``analysis_get``): a fresh snapshot is used as is. Without one, a project with at
most ``INLINE_MAX_ANNOTATIONS`` counted annotations is computed in the request (well under a
second); a bigger one gets a background computation (``analysis_refresh_request``) and the page
shows the last snapshot, marked stale, until it lands. Submitting an annotation to such a big
project requests a refresh too, debounced: one pending computation per project
(``AnalysisRefresh.pending``), so the figures are ready when a lead comes back.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.utils import timezone

from annotate.models import Item, Project
from annotate.selectors import annotator_quality, project_progress
from annotate.tasktypes import get_task_type
from annotate.tasktypes.base import AgreementField, DivergenceSpec, SetField
from core.errors import InvalidInput, NotFound
from stats.aggregation import majority_vote
from stats.alpha import krippendorff_alpha, krippendorff_alpha_bootstrap
from stats.annotators import leave_one_out_agreement, pairwise_agreement_matrix
from stats.auroc import auroc
from stats.kappa import category_counts, cohen_kappa, fleiss_kappa, observed_agreement

from . import selectors, suggestions
from .models import AnalysisRefresh, AnalysisSnapshot, DivergenceTag, TaxonomyCategory

logger = logging.getLogger(__name__)

INLINE_MAX_ANNOTATIONS = 20_000
"""Projects with at most this many counted annotations are computed in the request when the
cached figures are stale; bigger ones only in the background (Celery)."""

BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20240601  # fixed: the same data gives the same interval on every refresh
MIN_VOTES_FOR_STATUS = 2
"""Items need at least this many counted votes to get an agreement status: one vote cannot
diverge, and would count as high agreement."""

MAX_DISTRIBUTION_LABELS = 20
"""Nominal fields with at most this many labels report how often each was given."""

HEATMAP_MAX_ANNOTATORS = 40
"""The pairwise matrix covers the annotators with the most annotations, up to this many."""

REFRESH_STALE_AFTER = timedelta(minutes=10)
"""A pending refresh older than this is requested again (its worker may have died)."""


def _num(value: Any) -> float | None:
    """A float for JSON: ``None`` for missing or NaN."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


# --- figures


def _field_figures(
    fd: selectors.FieldData, payloads: Mapping[int, Any] | None, item_ids: np.ndarray
) -> dict[str, Any]:
    field_ = fd.field
    data = fd.data
    kwargs: dict[str, Any] = (
        {"distance": field_.distance} if field_.distance is not None else {"level": field_.level}
    )
    row: dict[str, Any] = {"name": field_.name, "label": field_.label, "level": field_.level}
    if data.size == 0:
        row.update(
            alpha=None,
            low=None,
            high=None,
            reason="no annotations yet",
            n_units=0,
            n_pairable_values=0,
            observed_agreement=None,
            n_coders=0,
        )
        return row
    point = krippendorff_alpha(data, **kwargs)
    interval = krippendorff_alpha_bootstrap(
        data, n_samples=BOOTSTRAP_SAMPLES, seed=BOOTSTRAP_SEED, **kwargs
    )
    observed = observed_agreement(data)
    row.update(
        alpha=_num(point.alpha),
        low=_num(interval.low),
        high=_num(interval.high),
        confidence=interval.confidence,
        n_bootstrap=interval.n_samples,
        reason=point.reason or interval.reason,
        n_coders=point.n_coders,
        n_units=point.n_units,
        n_pairable_values=point.n_pairable_values,
        observed_agreement=_num(observed.agreement),
    )
    if field_.tolerance is not None:
        within = observed_agreement(data, tolerance=field_.tolerance)
        row["tolerance"] = field_.tolerance
        row["agreement_within_tolerance"] = _num(within.agreement)
    if field_.level == "nominal":
        values, counts = np.unique(data[~np.isnan(data)], return_counts=True)
        if len(values) <= MAX_DISTRIBUTION_LABELS:
            row["distribution"] = {fd.label(v): int(n) for v, n in zip(values, counts, strict=True)}
        fleiss = fleiss_kappa(category_counts(data)[0])
        row["fleiss_kappa"] = _num(fleiss.kappa)
        row["fleiss_reason"] = fleiss.reason
        if data.shape[0] == 2:
            cohen = cohen_kappa(data[0], data[1])
            row["cohen_kappa"] = _num(cohen.kappa)
    if field_.reference is not None and payloads is not None:
        reference = np.array(
            [fd.code_of(field_.reference(payloads[int(i)])) for i in item_ids], dtype=float
        )
        labelled = ~np.isnan(data) & ~np.isnan(reference)[None, :]
        n = int(labelled.sum())
        right = int((data == reference[None, :])[labelled].sum())
        row["reference_accuracy"] = right / n if n else None
        row["reference_n"] = n
    return row


def _figure(value: Any) -> int | float | None:
    """Counts stay whole numbers; other figures as ``_num``."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    return _num(value)


def _set_field_figures(field_: SetField, units: Sequence[Mapping[int, Any]]) -> dict[str, Any]:
    """A set field's figures (its ``measure`` on its units), in the order of ``figures``."""
    result = field_.measure(units)
    reasons = result.get("reasons") or {}
    return {
        "name": field_.name,
        "label": field_.label,
        "figures": [
            {
                "name": name,
                "label": label,
                "value": _figure(result.get(name)),
                "reason": reasons.get(name),
            }
            for name, label in field_.figures
        ],
    }


def _primary(rd: selectors.ReliabilityData) -> selectors.FieldData | None:
    for fd in rd.fields.values():
        if fd.field.primary:
            return fd
    return next(iter(rd.fields.values()), None)


def _annotator_figures(
    project: Project, rd: selectors.ReliabilityData, primary: selectors.FieldData | None
) -> dict[str, Any]:
    plugin = get_task_type(project.task_type)
    quality = {row.membership.user_id: row for row in annotator_quality(project=project)}
    position = selectors.position_facts(project=project, position_pick=plugin.position_pick)
    left: Counter[int] = Counter()
    sided: Counter[int] = Counter()
    for annotator_id, pick in zip(position.annotator_ids, position.picks, strict=True):
        if pick is not None:
            sided[annotator_id] += 1
            left[annotator_id] += pick == "left"
    loo = leave_one_out_agreement(primary.data) if primary is not None and rd.fields else None
    row_of = {int(a): n for n, a in enumerate(rd.annotator_ids)}
    names = dict(
        User.objects.filter(pk__in=set(row_of) | set(quality)).values_list("id", "username")
    )
    rows = []
    for user_id in sorted(set(row_of) | set(quality), key=lambda u: names.get(u, "")):
        q = quality.get(user_id)
        n = row_of.get(user_id)
        rows.append(
            {
                "annotator_id": user_id,
                "username": names.get(user_id, str(user_id)),
                "flagged": bool(q.membership.flagged) if q else False,
                "n_annotations": int(np.count_nonzero(~np.isnan(primary.data[n])))
                if n is not None and primary is not None
                else 0,
                "loo_agreement": _num(loo.agreement[n])
                if loo is not None and n is not None
                else None,
                "loo_compared": int(loo.n_compared[n]) if loo is not None and n is not None else 0,
                "gold_accuracy": _num(q.gold.accuracy) if q else None,
                "gold_answers": q.gold.n_answers if q else 0,
                "median_seconds": _num(q.median_seconds) if q else None,
                "left_pick_rate": left[user_id] / sided[user_id] if sided[user_id] else None,
                "side_picks": sided[user_id],
            }
        )
    pairwise: dict[str, Any] = {"annotators": [], "agreement": [], "n_common": []}
    if primary is not None and rd.annotator_ids.size:
        counts = np.count_nonzero(~np.isnan(primary.data), axis=1)
        top = np.argsort(-counts, kind="stable")[:HEATMAP_MAX_ANNOTATORS]
        top = top[np.argsort([names.get(int(rd.annotator_ids[i]), "") for i in top], kind="stable")]
        matrix = pairwise_agreement_matrix(primary.data[top])
        pairwise = {
            "field": primary.field.name,
            "annotators": [names.get(int(rd.annotator_ids[i]), "") for i in top],
            "agreement": [[_num(v) for v in row] for row in matrix.agreement],
            "n_common": matrix.n_common.tolist(),
            "truncated": len(rd.annotator_ids) > HEATMAP_MAX_ANNOTATORS,
        }
    return {"field": primary.field.name if primary else None, "rows": rows, "pairwise": pairwise}


def item_statuses(plugin: Any, fd: selectors.FieldData, *, config: Any = None) -> list[str | None]:
    """The agreement status of every item (column) from its votes; ``None`` under
    ``MIN_VOTES_FOR_STATUS`` votes. Items are grouped by their vote counts, so the status function
    runs once per distinct pattern, not once per item."""
    data = fd.data
    if data.size == 0:
        return []
    present = ~np.isnan(data)
    domain = np.unique(data[present])
    counts = np.stack([(data == value).sum(axis=0) for value in domain], axis=1)
    patterns, inverse = np.unique(counts, axis=0, return_inverse=True)
    statuses: list[str | None] = []
    for pattern in patterns:
        votes = [int(value) for value, n in zip(domain, pattern, strict=True) for _ in range(n)]
        statuses.append(
            plugin.agreement_status(votes, config=config)
            if len(votes) >= MIN_VOTES_FOR_STATUS
            else None
        )
    return [statuses[i] for i in np.asarray(inverse).ravel()]


def _divergence_figures(
    spec: DivergenceSpec, statuses: Sequence[str | None], item_ids: np.ndarray
) -> dict[str, Any]:
    counts = Counter(s for s in statuses if s is not None)
    diverging = [
        [int(item_id), status]
        for item_id, status in zip(item_ids, statuses, strict=True)
        if status in spec.diverging
    ]
    return {
        "status_counts": {status: counts.get(status, 0) for status in spec.statuses},
        "n_with_status": sum(counts.values()),
        "n_too_few_votes": sum(1 for s in statuses if s is None),
        "diverging_items": diverging,
    }


def _model_figures(
    project: Project,
    rd: selectors.ReliabilityData,
    spec: DivergenceSpec | None,
    statuses: Sequence[str | None],
) -> list[dict]:
    runs = selectors.done_model_runs(project=project)
    if not runs or not rd.fields:
        return []
    index = rd.item_index()
    primary = _primary(rd)
    assert primary is not None
    majority = majority_vote(primary.data)
    needs_payload = any(fd.field.extract is not None for fd in rd.fields.values())
    out = []
    for run in runs:
        predictions = [p for p in selectors.run_predictions(run=run) if p[0] in index]
        payloads = (
            selectors.item_payloads(item_ids=[p[0] for p in predictions]) if needs_payload else {}
        )
        columns = np.array([index[p[0]] for p in predictions], dtype=np.int64)
        row: dict[str, Any] = {
            "run_id": run.pk,
            "model_name": run.model_name,
            "source": run.source,
            "n_predictions": len(predictions),
        }
        field_rows = []
        for fd in rd.fields.values():
            model = np.array(
                [
                    fd.code_of(selectors.extract_py(fd.field, p[1], payloads.get(p[0], {})))
                    for p in predictions
                ],
                dtype=float,
            )
            humans = fd.data[:, columns] if columns.size else np.empty((fd.data.shape[0], 0))
            kwargs: dict[str, Any] = (
                {"distance": fd.field.distance}
                if fd.field.distance is not None
                else {"level": fd.field.level}
            )
            with_model = np.vstack([humans, model[None, :]]) if columns.size else humans
            alpha_h = krippendorff_alpha(humans, **kwargs) if columns.size else None
            alpha_m = krippendorff_alpha(with_model, **kwargs) if columns.size else None
            field_rows.append(
                {
                    "name": fd.field.name,
                    "alpha_humans": _num(alpha_h.alpha) if alpha_h else None,
                    "alpha_with_model": _num(alpha_m.alpha) if alpha_m else None,
                    "reason": (alpha_m.reason if alpha_m else "no predictions on annotated items"),
                }
            )
            if fd is primary:
                target = majority.label[columns] if columns.size else np.array([])
                compared = ~np.isnan(target) & ~np.isnan(model)
                n = int(compared.sum())
                row["accuracy_vs_majority"] = (
                    float((target[compared] == model[compared]).mean()) if n else None
                )
                row["n_compared"] = n
        row["fields"] = field_rows
        if spec is not None:
            positive, scores, winners = [], [], []
            for item_id, value, score, distribution in predictions:
                status = statuses[index[item_id]]
                if status in spec.diverging or status in spec.agreeing:
                    uncertainty = spec.uncertainty(score, distribution)
                    scores.append(math.nan if uncertainty is None else uncertainty)
                    positive.append(status in spec.diverging)
                if status in spec.diverging:
                    picked = spec.picks_winner(value)
                    if picked is not None:
                        winners.append(picked)
            result = auroc(np.array(scores, dtype=float), np.array(positive, dtype=bool))
            row.update(
                auroc=_num(result.auroc),
                auroc_reason=result.reason,
                auroc_n_diverging=result.n_positive,
                auroc_n_agreeing=result.n_negative,
                diverging_winner_share=(sum(winners) / len(winners)) if winners else None,
                n_diverging_predicted=len(winners),
            )
        out.append(row)
    return out


def agreement_compute(*, project: Project) -> dict[str, Any]:
    """Every figure of the project's analysis, as a JSON-ready dict (no caching here)."""
    plugin = get_task_type(project.task_type)
    fields: list[AgreementField] = plugin.agreement_fields(plugin.config(project.config))
    spec = plugin.divergence()
    rd = selectors.reliability_data(project=project, fields=fields)
    payloads = (
        selectors.item_payloads(item_ids=[int(i) for i in rd.item_ids])
        if any(f.reference is not None for f in fields)
        else None
    )
    progress = project_progress(project=project)
    cumulative, timeline = 0, []
    for day, n in selectors.annotations_per_day(project=project):
        cumulative += n
        timeline.append({"date": day, "n": n, "cumulative": cumulative})
    primary = _primary(rd)
    data: dict[str, Any] = {
        "project": {"id": project.pk, "name": project.name, "task_type": project.task_type},
        "computed_at": timezone.now().isoformat(),
        "n_annotations": rd.n_annotations,
        "n_items_annotated": int(rd.item_ids.size),
        "n_annotators": int(rd.annotator_ids.size),
        "progress": {**progress.as_dict(), "timeline": timeline},
        "fields": [_field_figures(fd, payloads, rd.item_ids) for fd in rd.fields.values()],
        "annotators": _annotator_figures(project, rd, primary),
        "divergence": None,
    }
    set_fields = plugin.set_fields(plugin.config(project.config))
    units = selectors.set_units(project=project, fields=set_fields)
    data["set_fields"] = [_set_field_figures(f, units[f.name]) for f in set_fields]
    statuses: list[str | None] = []
    if spec is not None and spec.status_field in rd.fields:
        statuses = item_statuses(plugin, rd.fields[spec.status_field], config=project.config)
        data["divergence"] = _divergence_figures(spec, statuses, rd.item_ids)
    data["models"] = _model_figures(project, rd, spec, statuses)
    return data


# --- cache


@transaction.atomic
def analysis_refresh(*, project_id: int) -> AnalysisSnapshot | None:
    """Compute and store a project's figures (the Celery task's body); ``None`` if it is gone."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    AnalysisRefresh.objects.filter(project=project).update(pending=False)
    key, count = selectors.analysis_source_key(project=project)
    started = time.perf_counter()
    data = agreement_compute(project=project)
    snapshot, _ = AnalysisSnapshot.objects.update_or_create(
        project=project,
        defaults={
            "computed_at": timezone.now(),
            "source_key": key,
            "annotations_count": count,
            "seconds": time.perf_counter() - started,
            "data": data,
        },
    )
    return snapshot


def analysis_annotations_changed(*, project_id: int) -> bool:
    """Called when an annotation arrives: queue a background refresh for a big project (one
    whose last figures counted more than ``INLINE_MAX_ANNOTATIONS``). Small projects, and big
    ones nobody has opened yet, are computed when a lead asks for them. Whether one was queued."""
    big = AnalysisSnapshot.objects.filter(
        project_id=project_id, annotations_count__gt=INLINE_MAX_ANNOTATIONS
    )
    return big.exists() and analysis_refresh_request(project_id=project_id)


def analysis_refresh_request(*, project_id: int) -> bool:
    """Queue a background computation unless one is already pending; whether one was queued.

    One statement marks the project pending (or finds it pending already), so concurrent
    submits queue one task between them. Enqueued after commit; a broker that is down is logged,
    never raised into the caller (annotators keep working).
    """
    now = timezone.now()
    already = AnalysisRefresh.objects.filter(
        project_id=project_id, pending=True, requested_at__gte=now - REFRESH_STALE_AFTER
    )
    if already.exists():  # the common case while annotators work: a plain read, no lock
        return False
    table = AnalysisRefresh._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (project_id, pending, requested_at) VALUES (%s, true, %s)
            ON CONFLICT (project_id)
            DO UPDATE SET pending = true, requested_at = EXCLUDED.requested_at
            WHERE NOT {table}.pending OR {table}.requested_at < %s
            RETURNING id
            """,
            [project_id, now, now - REFRESH_STALE_AFTER],
        )
        queued = cursor.fetchone() is not None
    if queued:
        transaction.on_commit(lambda: _enqueue_refresh(project_id))
    return queued


def _enqueue_refresh(project_id: int) -> None:
    from .celery_tasks import analysis_refresh_task

    try:
        analysis_refresh_task.apply_async(args=[project_id], retry=False)
    except Exception:  # the broker is down: the next request or submit asks again
        logger.warning("could not queue the analysis of project %s", project_id, exc_info=True)
        AnalysisRefresh.objects.filter(project_id=project_id).update(pending=False)


@dataclass
class AnalysisView:
    data: dict[str, Any] | None
    fresh: bool
    pending: bool
    computed_at: Any = None


def analysis_get(*, project: Project, inline: bool = True) -> AnalysisView:
    """The project's figures: the cached snapshot if fresh; else computed now for a small project
    (``INLINE_MAX_ANNOTATIONS``), or the stale snapshot with a background refresh requested."""
    key, count = selectors.analysis_source_key(project=project)
    snapshot = AnalysisSnapshot.objects.filter(project=project).first()
    if snapshot is not None and snapshot.source_key == key:
        return AnalysisView(
            snapshot.data, fresh=True, pending=False, computed_at=snapshot.computed_at
        )
    if inline and count <= INLINE_MAX_ANNOTATIONS:
        snapshot = analysis_refresh(project_id=project.pk)
        assert snapshot is not None
        return AnalysisView(
            snapshot.data, fresh=True, pending=False, computed_at=snapshot.computed_at
        )
    analysis_refresh_request(project_id=project.pk)
    return AnalysisView(
        snapshot.data if snapshot else None,
        fresh=False,
        pending=True,
        computed_at=snapshot.computed_at if snapshot else None,
    )


# --- taxonomy and tags


def taxonomy_ensure(*, project: Project) -> list[TaxonomyCategory]:
    """The project's taxonomy, seeded with its task type's default on first use."""
    categories = selectors.taxonomy_categories(project=project)
    spec = get_task_type(project.task_type).divergence()
    if categories or spec is None:
        return categories
    order = 0
    rows = []
    for group, names in spec.default_taxonomy:
        for name in names:
            order += 1
            rows.append(TaxonomyCategory(project=project, group=group, name=name, order=order))
    TaxonomyCategory.objects.bulk_create(rows, ignore_conflicts=True)
    return selectors.taxonomy_categories(project=project)


def _clean_name(value: str, what: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 100:
        raise InvalidInput(
            f"the {what} must be 1 to 100 characters",
            detail=[{"field": what, "message": "1 to 100 characters"}],
        )
    return value


def taxonomy_category_add(*, project: Project, group: str, name: str) -> TaxonomyCategory:
    """Add a category (a new group is made by naming it); names are unique within a group."""
    group, name = _clean_name(group, "group"), _clean_name(name, "name")
    taxonomy_ensure(project=project)
    if TaxonomyCategory.objects.filter(project=project, group=group, name=name).exists():
        raise InvalidInput(
            f"{group} / {name} exists already",
            detail=[{"field": "name", "message": "exists already"}],
        )
    last = TaxonomyCategory.objects.filter(project=project).order_by("-order").first()
    return TaxonomyCategory.objects.create(
        project=project, group=group, name=name, order=(last.order + 1) if last else 1
    )


def taxonomy_category_update(
    *, project: Project, category_id: int, group: str, name: str
) -> TaxonomyCategory:
    category = TaxonomyCategory.objects.filter(project=project, pk=category_id).first()
    if category is None:
        raise NotFound("no such category in this project")
    group, name = _clean_name(group, "group"), _clean_name(name, "name")
    clash = TaxonomyCategory.objects.filter(project=project, group=group, name=name).exclude(
        pk=category.pk
    )
    if clash.exists():
        raise InvalidInput(
            f"{group} / {name} exists already",
            detail=[{"field": "name", "message": "exists already"}],
        )
    category.group, category.name = group, name
    category.save(update_fields=["group", "name"])
    return category


def taxonomy_category_delete(*, project: Project, category_id: int) -> None:
    """Delete a category; the items tagged with it keep their other categories and notes."""
    deleted, _ = TaxonomyCategory.objects.filter(project=project, pk=category_id).delete()
    if not deleted:
        raise NotFound("no such category in this project")


@transaction.atomic
def divergence_tag_set(
    *, project: Project, item_id: int, category_ids: Sequence[int], note: str, tagged_by: User
) -> DivergenceTag:
    """Record a lead's reading of one item: its categories (any number) and a note. Saving again
    replaces both; saving with neither still records that the item was reviewed."""
    item = Item.objects.filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound("no such item in this project")
    wanted = {int(c) for c in category_ids}
    categories = list(TaxonomyCategory.objects.filter(project=project, pk__in=wanted))
    if len(categories) != len(wanted):
        raise InvalidInput(
            "unknown category for this project",
            detail=[{"field": "categories", "message": "not in the taxonomy"}],
        )
    note = (note or "").strip()
    if len(note) > 5000:
        raise InvalidInput(
            "the note is too long",
            detail=[{"field": "note", "message": "at most 5,000 characters"}],
        )
    tag, _ = DivergenceTag.objects.select_for_update().update_or_create(
        item=item,
        defaults={
            "project": project,
            "note": note,
            "tagged_by": tagged_by,
            "tagged_at": timezone.now(),
        },
    )
    tag.categories.set(categories)
    return tag


# --- divergence review reads that combine the cache and live tags


def item_suggestions(
    *, project: Project, item: Item, categories: Sequence[TaxonomyCategory]
) -> list[dict[str, Any]]:
    """The cheap signals that fire on an item, with the matching category of the taxonomy."""
    spec = get_task_type(project.task_type).divergence()
    texts = spec.texts(item.payload) if spec else None
    if texts is None:
        return []
    by_name = {c.name.casefold(): c for c in categories}
    out = []
    for suggestion in suggestions.suggest(*texts):
        category = by_name.get(suggestion.category.casefold())
        out.append(
            {
                "category": suggestion.category,
                "category_id": category.pk if category else None,
                "signal": suggestion.signal,
                "evidence": suggestion.evidence,
            }
        )
    return out


def divergence_summary(*, project: Project, data: Mapping[str, Any] | None) -> dict[str, Any]:
    """Status counts (from the figures) with the live taxonomy distribution of the tags."""
    categories = taxonomy_ensure(project=project)
    counts = selectors.tag_category_counts(project=project)
    divergence = (data or {}).get("divergence") or {}
    diverging_ids = [row[0] for row in divergence.get("diverging_items", [])]
    tagged_ids = selectors.tagged_item_ids(project=project, item_ids=diverging_ids)
    spec = get_task_type(project.task_type).divergence()
    stored = divergence.get("status_counts", {})
    # In the spec's order: JSONB does not keep the order of keys.
    status_counts = {status: stored.get(status, 0) for status in (spec.statuses if spec else ())}
    return {
        "status_counts": status_counts,
        "n_with_status": divergence.get("n_with_status", 0),
        "n_diverging": len(diverging_ids),
        "n_diverging_tagged": len(tagged_ids),
        "taxonomy": [
            {"id": c.pk, "group": c.group, "name": c.name, "n_items": counts.get(c.pk, 0)}
            for c in categories
        ],
    }


def divergence_report(*, project: Project, data: Mapping[str, Any]) -> dict[str, Any]:
    """The divergence summary with every diverging item: status, votes, categories, note."""
    summary = divergence_summary(project=project, data=data)
    rows = ((data.get("divergence") or {}).get("diverging_items")) or []
    item_ids = [row[0] for row in rows]
    plugin = get_task_type(project.task_type)
    votes = selectors.labels_by_item(project=project, item_ids=item_ids, label_of=plugin.label_of)
    external = selectors.external_ids(project=project, item_ids=item_ids)
    tags = selectors.tags_by_item(project=project, item_ids=item_ids)
    items = []
    for item_id, status in rows:
        tag = tags.get(item_id)
        items.append(
            {
                "item_id": item_id,
                "external_id": external.get(item_id, ""),
                "status": status,
                "votes": votes.get(item_id, []),
                "categories": [f"{c.group} / {c.name}" for c in tag.categories.all()]
                if tag
                else [],
                "note": tag.note if tag else "",
                "tagged_by": tag.tagged_by.username if tag and tag.tagged_by else None,
            }
        )
    summary["items"] = items
    return summary
