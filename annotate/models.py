"""Projects, items, reservations (assignments) and annotations.

The rules that must hold under concurrency are database constraints: one assignment per
(item, annotator), one annotation per assignment. The overlap limit is enforced by
``annotate.services.assignment`` under a row lock on the item.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q


def _random_rank() -> int:
    return secrets.randbelow(2**31 - 1)


def _default_reservation_seconds() -> int:
    return settings.DISSENSUS_DEFAULT_RESERVATION_SECONDS


ADAPTIVE_EXTRA_MAX = 20
"""The most annotations adaptive overlap may add to one item."""


class Project(models.Model):
    name = models.CharField(max_length=200)
    task_type = models.CharField(max_length=50)
    overlap = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    instructions = models.TextField(blank=True, help_text="Markdown shown to annotators.")
    reservation_seconds = models.PositiveIntegerField(
        default=_default_reservation_seconds,
        validators=[MinValueValidator(10)],
        help_text="How long a reserved item stays with an annotator before going back to the pool.",
    )
    gold_rate = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)]
    )
    config = models.JSONField(
        default=dict, blank=True, help_text="Task-type options, e.g. aspects and flags."
    )
    instructions_required = models.BooleanField(
        default=False,
        help_text="Annotators must open and confirm the instructions before their first item.",
    )
    qualification_pass_mark = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of qualification items an annotator must answer right to go on.",
    )
    gold_min_answers = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1)],
        help_text="Gold answers needed before an annotator's gold accuracy can pause them.",
    )
    gold_min_accuracy = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Annotators whose gold accuracy falls below this are paused (0 turns it off).",
    )
    # Adaptive overlap (annotate.services.adaptive; HelpSteer2's rule): up to ``adaptive_extra``
    # more annotations for an item whose first ``adaptive_first_k`` labels disagree.
    adaptive_extra = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(ADAPTIVE_EXTRA_MAX)],
        help_text="Annotations added to an item whose first labels disagree (0 turns it off).",
    )
    adaptive_first_k = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(2), MaxValueValidator(1000)],
        help_text="How many first labels are compared (empty: the overlap).",
    )
    adaptive_threshold = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1000.0)],
        help_text="Labels on a scale disagree when their spread is more than this many points "
        "(a preference's max vote - min vote); nominal labels disagree when not unanimous.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_positive"),
            models.CheckConstraint(
                condition=Q(gold_rate__gte=0) & Q(gold_rate__lte=1), name="project_gold_rate_0_1"
            ),
            models.CheckConstraint(
                condition=Q(gold_min_accuracy__gte=0) & Q(gold_min_accuracy__lte=1),
                name="project_gold_min_accuracy_0_1",
            ),
            models.CheckConstraint(
                condition=Q(qualification_pass_mark__gte=0) & Q(qualification_pass_mark__lte=1),
                name="project_qualification_pass_mark_0_1",
            ),
            models.CheckConstraint(
                condition=Q(adaptive_extra__lte=ADAPTIVE_EXTRA_MAX),
                name="project_adaptive_extra_max",
            ),
            models.CheckConstraint(
                condition=Q(adaptive_first_k__isnull=True) | Q(adaptive_first_k__gte=2),
                name="project_adaptive_first_k_gte_2",
            ),
            models.CheckConstraint(
                condition=Q(adaptive_threshold__gte=0), name="project_adaptive_threshold_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", "Lead"
        ANNOTATOR = "annotator", "Annotator"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class Qualification(models.TextChoices):
        PENDING = "pending", "Pending"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # Quality control and onboarding (annotate.services.gold, annotate.services.onboarding).
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    flagged = models.BooleanField(
        default=False, help_text="Their annotations are left out of exports and aggregates."
    )
    status_reason = models.CharField(max_length=300, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    instructions_confirmed_at = models.DateTimeField(null=True, blank=True)
    qualification = models.CharField(
        max_length=20, choices=Qualification.choices, default=Qualification.PENDING
    )
    gold_window_start = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Automatic pausing counts gold answers from here on (set on reinstatement).",
    )
    # Published labels (annotate.services.labels_import): an external annotator is an account
    # that cannot log in, made for one project; its name in the source file is kept here.
    external = models.BooleanField(
        default=False, help_text="An external annotator whose labels were imported."
    )
    external_name = models.CharField(max_length=255, blank=True)
    cohort = models.CharField(
        max_length=50, blank=True, help_text="A group of annotators, e.g. crowd or expert."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user"),
            models.UniqueConstraint(
                fields=["project", "external_name"],
                condition=Q(external=True),
                name="membership_unique_external_name",
            ),
        ]
        indexes = [
            models.Index(
                fields=["project", "user"], condition=Q(flagged=True), name="membership_flagged"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.project}"


class Item(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=255)
    payload = models.JSONField()
    is_gold = models.BooleanField(default=False)
    gold_value = models.JSONField(null=True, blank=True)
    is_qualification = models.BooleanField(
        default=False,
        help_text="A gold item shown before real work to qualify annotators (only while gold).",
    )
    n_submitted = models.PositiveIntegerField(default=0)
    extra_overlap = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,  # bulk imports COPY items without naming it
        help_text="Annotations wanted beyond the project's overlap (adaptive overlap adds them "
        "when the first labels disagree); the item's target is overlap + extra_overlap.",
    )
    rank = models.IntegerField(default=_random_rank, help_text="Stable random order.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="item_unique_external_id"
            ),
            models.CheckConstraint(condition=Q(n_submitted__gte=0), name="item_n_submitted_gte_0"),
        ]
        indexes = [
            # next(): walk the project's open items, closest to done first, then stable random.
            models.Index(F("project"), F("n_submitted").desc(), F("rank"), name="item_next_order"),
            # Gold and qualification items are few: found without walking the project's items.
            models.Index(fields=["project", "rank"], condition=Q(is_gold=True), name="item_gold"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.external_id}"


class ItemTally(models.Model):
    """How many ordinary (non-gold) items of a project have ``n_submitted`` annotations and
    ``extra_overlap`` extra: the sum of ``delta`` over a project's rows by those two columns.

    PostgreSQL keeps it in step with the items by statement-level triggers on the item table
    (migration 0008): every statement that inserts, updates or deletes items adds its net
    change as new rows (inserts never wait on each other), and rows are folded together now and
    then (``FOR UPDATE SKIP LOCKED``, never waiting either). So a project's open items, the
    ``n_left`` of every ``next``, is a sum over a few rows instead of a count over all its items,
    exact in any snapshot, and whatever the overlap is now (no row depends on it). Unused (and
    empty) on SQLite, where the counts are made from the items."""

    project = models.ForeignKey(
        Project,
        on_delete=models.DO_NOTHING,  # the project's rows go with it (a trigger)
        db_constraint=False,  # items deleted before their project still add rows
        db_index=False,  # the index below leads with it
        related_name="+",
    )
    n_submitted = models.IntegerField()
    extra_overlap = models.IntegerField()
    delta = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["project", "n_submitted", "extra_overlap"],
                include=["delta"],
                name="itemtally_by_project",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.delta:+d} at {self.n_submitted}+{self.extra_overlap}"


class Assignment(models.Model):
    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RESERVED)
    shown_order = models.JSONField(default=dict, blank=True)
    reserved_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "annotator"], name="assignment_unique_item_annotator"
            ),
        ]
        indexes = [
            models.Index(
                fields=["item", "expires_at"],
                condition=Q(status="reserved"),
                name="assignment_live_reservations",
            ),
            models.Index(fields=["annotator", "project", "status"], name="assignment_by_annotator"),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status})"


class Annotation(models.Model):
    """The current version of one annotator's label on one item. Earlier versions live in
    ``AnnotationVersion``; the value is always stored in the canonical orientation."""

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="annotation"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations"
    )
    value = models.JSONField()
    shown_order = models.JSONField(default=dict, blank=True)
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    # What an imported label came with beyond its value (confidence, source fields).
    metadata = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["item", "annotator"], name="annotation_unique_item_annotator"
            ),
        ]
        indexes = [models.Index(fields=["project", "id"], name="annotation_project_id")]

    def __str__(self) -> str:
        return f"annotation {self.pk} v{self.version}"

    def superseded(self) -> AnnotationVersion:
        """This annotation as it stands now, as an (unsaved) history row: what a new version
        supersedes. Saving it is the caller's write."""
        return AnnotationVersion(
            annotation=self,
            version=self.version,
            value=self.value,
            time_spent_ms=self.time_spent_ms,
            submitted_at=self.updated_at,
        )


class AnnotationVersion(models.Model):
    """A superseded version of an annotation, kept when the annotator resubmits."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="history")
    version = models.PositiveIntegerField()
    value = models.JSONField()
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["annotation", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "version"], name="annotation_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"annotation {self.annotation_id} v{self.version}"


def new_entry_token() -> str:
    return secrets.token_urlsafe(24)


DEFAULT_COMPLETION_URL = "https://app.prolific.com/submissions/complete?cc={code}"


class CrowdEntry(models.Model):
    """A project's entry link for a crowd platform: ``/e/<token>/?PROLIFIC_PID=…``.

    The token is random and can be rotated, which closes every link handed out before.
    """

    class QuotaPer(models.TextChoices):
        WORKER = "worker", "Worker and study (across sessions)"
        SESSION = "session", "Session"

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="crowd_entry")
    token = models.CharField(max_length=64, unique=True, default=new_entry_token)
    is_open = models.BooleanField(default=True)
    worker_param = models.CharField(max_length=50, default="PROLIFIC_PID")
    study_param = models.CharField(max_length=50, default="STUDY_ID", blank=True)
    session_param = models.CharField(max_length=50, default="SESSION_ID", blank=True)
    items_per_session = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=20,
        validators=[MinValueValidator(1)],
        help_text="Items a worker labels (per worker and study, or per session: quota_per); "
        "empty means until nothing is left.",
    )
    quota_per = models.CharField(
        max_length=10,
        choices=QuotaPer.choices,
        default=QuotaPer.WORKER,
        help_text="Whether the quota counts a worker's items in a study across all their "
        "sessions, or afresh in each session.",
    )
    new_workers_per_minute = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1)],
        help_text="New worker accounts the link may create per minute; arrivals beyond wait.",
    )
    completion_code = models.CharField(max_length=100, blank=True)
    screenout_code = models.CharField(
        max_length=100, blank=True, help_text="Shown to workers who fail the qualification."
    )
    no_work_code = models.CharField(
        max_length=100,
        blank=True,
        help_text="Shown to workers for whom the study has no work at all (they did nothing).",
    )
    completion_url = models.CharField(
        max_length=500,
        blank=True,
        default=DEFAULT_COMPLETION_URL,
        help_text="https URL the worker is sent to at the end; {code} is replaced by the code.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    token_rotated_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"entry link of {self.project}"


class CrowdWorker(models.Model):
    """A platform worker in one project, bound to their own passwordless annotator account."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="crowd_workers")
    worker_id = models.CharField(max_length=100)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crowd_worker"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "worker_id"], name="crowd_worker_unique_worker_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} in {self.project_id}"


class WorkerSession(models.Model):
    """One visit of a crowd worker (one platform session); the quota may count across them."""

    class Status(models.TextChoices):
        STARTED = "started", "Started"
        COMPLETED = "completed", "Completed"
        SCREENED_OUT = "screened_out", "Screened out"
        NO_WORK = "no_work", "No work available"

    worker = models.ForeignKey(CrowdWorker, on_delete=models.CASCADE, related_name="sessions")
    study_id = models.CharField(max_length=100, blank=True)
    session_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.STARTED)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["worker", "session_id"], name="worker_session_unique_session_id"
            ),
        ]
        indexes = [models.Index(fields=["worker", "-started_at"], name="worker_session_latest")]

    def __str__(self) -> str:
        return f"session {self.session_id or self.pk} of {self.worker}"
