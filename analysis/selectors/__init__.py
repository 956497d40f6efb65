"""Reads of the analysis, one module per concern (the package's names are re-exported here):

- ``reliability``: what the figures are computed from (reliability matrices, set units, position
  facts, model predictions) and the key that tells whether cached figures are still fresh;
- ``divergence``: the taxonomy, the leads' tags, the divergence summary and report;
- ``review``: one item of the review queue with its votes, tag and suggestions;
- ``snapshot``: the cached figures, for other pages (the crowd lead's consensus agreement).
"""

from .divergence import (
    DivergenceItem,
    DivergenceReport,
    TaxonomyCount,
    divergence_items,
    divergence_items_queryset,
    divergence_report,
    divergence_summary,
    external_ids,
    item_in_project,
    labels_by_item,
    payload_suggestions,
    status_filter,
    tag_category_counts,
    tagged_item_ids,
    tags_by_item,
    taxonomy_categories,
    taxonomy_default,
    taxonomy_rows,
)
from .reliability import (
    AnnotationFacts,
    FieldData,
    ReliabilityData,
    analysis_annotations,
    analysis_source_key,
    annotations_per_day,
    done_model_runs,
    extract_py,
    item_payloads,
    position_facts,
    reliability_data,
    run_predictions,
    set_units,
)
from .review import item_suggestions, item_votes, review_item_context
from .snapshot import consensus_agreement_by_annotator, snapshot_figures

__all__ = [
    "DivergenceItem",
    "DivergenceReport",
    "TaxonomyCount",
    "AnnotationFacts",
    "FieldData",
    "ReliabilityData",
    "analysis_annotations",
    "analysis_source_key",
    "annotations_per_day",
    "consensus_agreement_by_annotator",
    "divergence_items",
    "divergence_items_queryset",
    "divergence_report",
    "divergence_summary",
    "done_model_runs",
    "external_ids",
    "extract_py",
    "item_in_project",
    "item_payloads",
    "item_suggestions",
    "item_votes",
    "labels_by_item",
    "payload_suggestions",
    "position_facts",
    "reliability_data",
    "review_item_context",
    "run_predictions",
    "set_units",
    "snapshot_figures",
    "status_filter",
    "tag_category_counts",
    "tagged_item_ids",
    "tags_by_item",
    "taxonomy_categories",
    "taxonomy_default",
    "taxonomy_rows",
]
