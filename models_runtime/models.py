"""Predictors (configured models), model runs over a project's items, and their predictions.

A ``Prediction`` holds a model's answer for one item in the same shape as a human annotation of
the project's task type (``value``), plus a ``score`` and/or a probability ``distribution``. The
unique constraint on (run, item) is what makes retried or redelivered work safe: an item never
gets a second prediction in a run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Predictor(models.Model):
    """A named, configured model for one task type; validated by ``predictors.predictor_create``."""

    class Backend(models.TextChoices):
        REWARD_MODEL = "reward_model", "Reward model (transformers sequence classification)"
        SEQUENCE_CLASSIFIER = "sequence_classifier", "Sequence classifier (transformers)"
        CAUSAL_LM_JUDGE = "causal_lm_judge", "Causal LM judge (transformers)"
        CLIP = "clip", "CLIP-style image-text model (transformers)"
        OPENAI_HTTP = "openai_http", "OpenAI-compatible HTTP endpoint"

    class Queue(models.TextChoices):
        DEFAULT = "default", "Default (CPU workers)"
        GPU = "gpu", "GPU workers"

    name = models.CharField(max_length=200, unique=True)
    task_type = models.CharField(max_length=50)
    backend = models.CharField(max_length=40, choices=Backend.choices)
    weights_path = models.CharField(
        max_length=1000,
        blank=True,
        help_text="Local directory with the model's weights (never downloaded at run time). "
        "Empty for the HTTP backend.",
    )
    params = models.JSONField(default=dict, blank=True, help_text="Backend parameters.")
    queue = models.CharField(max_length=20, choices=Queue.choices, default=Queue.DEFAULT)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ModelRun(models.Model):
    """One model's predictions over a project's items: started here, or imported from outside."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Source(models.TextChoices):
        PREDICTOR = "predictor", "Run by a predictor"
        IMPORT = "import", "Imported predictions"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    project = models.ForeignKey(
        "annotate.Project", on_delete=models.CASCADE, related_name="model_runs"
    )
    predictor = models.ForeignKey(
        Predictor, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    model_name = models.CharField(
        max_length=200, help_text="The predictor's name, or the model named by an import."
    )
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.PREDICTOR)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    filters = models.JSONField(default=dict, blank=True)
    params = models.JSONField(
        default=dict, blank=True, help_text="The predictor's parameters as the run used them."
    )
    n_items = models.PositiveIntegerField(default=0)
    n_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    device = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The run's last sign of life: set when work is sent for it, when a worker claims a chunk
    # and on every heartbeat while one is predicted. An unfinished run silent for longer than
    # DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS is stalled: the periodic sweep sends its work
    # again, and a lead may resume it.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source="import") | Q(predictor__isnull=False),
                name="model_run_predictor_unless_imported",
            ),
        ]
        indexes = [models.Index(fields=["project", "-id"], name="model_run_project")]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.model_name} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def is_stalled(self) -> bool:
        """Unfinished, run by a predictor, and silent for longer than a heartbeat allows."""
        if self.is_finished or self.source != self.Source.PREDICTOR:
            return False
        silent = timedelta(seconds=settings.DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS)
        return self.heartbeat_at is None or self.heartbeat_at < timezone.now() - silent


class ModelRunChunk(models.Model):
    """A slice of a run's items, snapshotted at planning time: the unit of one Celery task."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    run = models.ForeignKey(ModelRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    item_ids = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # A worker's claim: a lease renewed after each batch, and a heartbeat the worker beats while
    # it predicts. Once either lapses (the lease ran out, or the heartbeat stopped for
    # DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS: the worker died), another worker may take over.
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="model_run_chunk_unique_index"),
        ]
        indexes = [
            models.Index(
                fields=["run", "index"],
                condition=Q(status="pending"),
                name="model_run_chunk_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of run {self.run_id} ({self.status})"

    @staticmethod
    def live_claim(now: datetime) -> Q:
        """Chunks held by a worker that is alive: its lease runs and its heartbeat is recent."""
        silent = timedelta(seconds=settings.DISSENSUS_MODEL_RUN_HEARTBEAT_SECONDS)
        return Q(claimed_until__gte=now, heartbeat_at__gte=now - silent)


class Prediction(models.Model):
    """A model's answer for one item, in the task type's annotation shape."""

    run = models.ForeignKey(ModelRun, on_delete=models.CASCADE, related_name="predictions")
    item = models.ForeignKey("annotate.Item", on_delete=models.CASCADE, related_name="predictions")
    value = models.JSONField(help_text="The answer, shaped like a human annotation of the type.")
    score = models.FloatField(
        null=True,
        blank=True,
        help_text="Probability of the positive class, or the model's confidence.",
    )
    distribution = models.JSONField(
        null=True, blank=True, help_text="Probability per label, keys as strings; sums to 1."
    )
    details = models.JSONField(
        default=dict,
        blank=True,
        help_text="Backend extras: raw rewards, variances, per-prefix or per-question scores.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "item"], name="prediction_unique_run_item"),
        ]
        indexes = [models.Index(fields=["item"], name="prediction_item")]

    def __str__(self) -> str:
        return f"prediction {self.pk} (run {self.run_id}, item {self.item_id})"
