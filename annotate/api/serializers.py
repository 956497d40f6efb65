"""API envelopes. Item and annotation contents are validated by the task type's schema."""

from __future__ import annotations

from rest_framework import serializers

from annotate.models import ADAPTIVE_EXTRA_MAX, Annotation, Assignment, Item, Membership, Project
from annotate.services.assignment import MAX_TIME_SPENT_MS
from annotate.tasktypes import task_type_choices
from core.serializers import NoUnknownFields


class ProjectCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    task_type = serializers.ChoiceField(choices=[])
    overlap = serializers.IntegerField(min_value=1, max_value=1000, default=3)
    instructions = serializers.CharField(allow_blank=True, default="")
    reservation_seconds = serializers.IntegerField(min_value=10, required=False)
    gold_rate = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.0)
    config = serializers.DictField(default=dict)
    adaptive_extra = serializers.IntegerField(
        min_value=0,
        max_value=ADAPTIVE_EXTRA_MAX,
        default=0,
        help_text="Adaptive overlap: annotations added to an item whose first labels disagree "
        "(0: off).",
    )
    adaptive_first_k = serializers.IntegerField(
        min_value=2,
        max_value=1000,
        allow_null=True,
        default=None,
        help_text="How many first labels are compared (null: the overlap; at most the overlap).",
    )
    adaptive_threshold = serializers.FloatField(
        min_value=0.0,
        max_value=1000.0,
        default=1.0,
        help_text="Labels on a scale disagree when their spread is more than this many points; "
        "nominal labels when not unanimous.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task_type"].choices = task_type_choices()


class ProjectUpdateIn(NoUnknownFields):
    """A project's settings, each optional (a PATCH); the task type is fixed once created."""

    # A misspelt or fixed setting (``task_type``) would otherwise be ignored with a 200.
    unknown_field_message = "not a setting a PATCH can change"

    name = serializers.CharField(max_length=200, required=False)
    overlap = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    instructions = serializers.CharField(allow_blank=True, required=False)
    reservation_seconds = serializers.IntegerField(min_value=10, required=False)
    gold_rate = serializers.FloatField(min_value=0.0, max_value=1.0, required=False)
    config = serializers.DictField(required=False)
    adaptive_extra = serializers.IntegerField(
        min_value=0, max_value=ADAPTIVE_EXTRA_MAX, required=False
    )
    adaptive_first_k = serializers.IntegerField(
        min_value=2, max_value=1000, allow_null=True, required=False
    )
    adaptive_threshold = serializers.FloatField(min_value=0.0, max_value=1000.0, required=False)


class ProjectOut(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "task_type",
            "overlap",
            "instructions",
            "reservation_seconds",
            "gold_rate",
            "config",
            "adaptive_extra",
            "adaptive_first_k",
            "adaptive_threshold",
            "created_at",
        ]


class ProgressOut(serializers.Serializer):
    n_items = serializers.IntegerField()
    n_done = serializers.IntegerField()
    n_in_progress = serializers.IntegerField()
    n_open = serializers.IntegerField()
    n_annotations = serializers.IntegerField()
    n_annotations_wanted = serializers.IntegerField()
    n_extended = serializers.IntegerField(
        help_text="Items given more annotations because their first labels disagreed."
    )


class ProjectDetailOut(ProjectOut):
    role = serializers.CharField()
    progress = ProgressOut(required=False)

    class Meta(ProjectOut.Meta):
        fields = [*ProjectOut.Meta.fields, "role", "progress"]


class MemberIn(serializers.Serializer):
    user = serializers.CharField(max_length=254, help_text="Username or e-mail address.")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberOut(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["id", "user", "username", "role", "created_at"]


class ItemOut(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = [
            "id",
            "external_id",
            "payload",
            "is_gold",
            "gold_value",
            "n_submitted",
            "created_at",
            "updated_at",
        ]


class ImportResultOut(serializers.Serializer):
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()


class AnnotatorItemOut(serializers.Serializer):
    """What an annotator sees of an item: its content, never gold answers or counts."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    payload = serializers.JSONField()


class AssignmentOut(serializers.ModelSerializer):
    class Meta:
        model = Assignment
        fields = ["id", "status", "shown_order", "reserved_at", "expires_at"]


class AnnotatorProgressOut(serializers.Serializer):
    n_done = serializers.IntegerField()
    n_left = serializers.IntegerField(
        help_text="Items still open to you; for a crowd worker never more than the quota allows."
    )


class NextOut(serializers.Serializer):
    assignment = AssignmentOut()
    item = AnnotatorItemOut()
    progress = AnnotatorProgressOut()


class SubmitIn(serializers.Serializer):
    value = serializers.JSONField()
    time_spent_ms = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_TIME_SPENT_MS
    )
    base_version = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="The annotation version this answer is based on (0: none yet). When given "
        "and another version is stored, nothing is stored: 409 stale_version.",
    )


class AnnotationOut(serializers.ModelSerializer):
    external_id = serializers.CharField(source="item.external_id")

    class Meta:
        model = Annotation
        fields = [
            "id",
            "assignment",
            "item",
            "external_id",
            "annotator",
            "value",
            "shown_order",
            "time_spent_ms",
            "version",
            "created_at",
            "updated_at",
        ]


class ErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    errors = serializers.JSONField(required=False)
    current_version = serializers.IntegerField(
        required=False, help_text="With code stale_version: the version stored now."
    )


class LabelsImportResultOut(serializers.Serializer):
    total = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    annotators_created = serializers.IntegerField()
