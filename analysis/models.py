"""Analysis: cached figures per project, the divergence taxonomy and the leads' tags.

``AnalysisSnapshot`` holds the last computed figures of a project (``analysis.snapshots``), keyed
by what they were computed from, so a page can tell whether they are still fresh.
``AnalysisRefresh`` is the debounce row: at most one pending background computation per project.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AnalysisSnapshot(models.Model):
    project = models.OneToOneField(
        "annotate.Project", on_delete=models.CASCADE, related_name="analysis_snapshot"
    )
    computed_at = models.DateTimeField()
    # What the figures were computed from: annotations counted in aggregates and the latest
    # change to them, flagged annotators, finished model runs (see selectors.analysis_source_key).
    source_key = models.CharField(max_length=200)
    annotations_count = models.PositiveIntegerField()
    seconds = models.FloatField(help_text="How long the computation took.")
    data = models.JSONField()

    def __str__(self) -> str:
        return f"analysis of project {self.project_id} at {self.computed_at:%Y-%m-%d %H:%M}"


class AnalysisRefresh(models.Model):
    """One row per project: ``pending`` while a background computation is queued."""

    project = models.OneToOneField(
        "annotate.Project", on_delete=models.CASCADE, related_name="analysis_refresh"
    )
    pending = models.BooleanField(default=False)
    requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refresh of project {self.project_id} ({'pending' if self.pending else 'idle'})"


class TaxonomyCategory(models.Model):
    """A reason items diverge, in a group (the paper's four classes by default); per project."""

    project = models.ForeignKey(
        "annotate.Project", on_delete=models.CASCADE, related_name="taxonomy_categories"
    )
    group = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    order = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "group", "name"], name="taxonomy_category_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group} / {self.name}"


class DivergenceTag(models.Model):
    """A lead's reading of why one item diverges: any number of categories and a note."""

    item = models.OneToOneField(
        "annotate.Item", on_delete=models.CASCADE, related_name="divergence_tag"
    )
    project = models.ForeignKey(
        "annotate.Project", on_delete=models.CASCADE, related_name="divergence_tags"
    )
    categories = models.ManyToManyField(TaxonomyCategory, blank=True, related_name="tags")
    note = models.TextField(blank=True, max_length=5000)
    tagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    tagged_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["project", "item"], name="divergence_tag_project")]

    def __str__(self) -> str:
        return f"tag of item {self.item_id}"
