from django.contrib import admin

from annotate.models import (
    Annotation,
    AnnotationVersion,
    Assignment,
    CrowdEntry,
    CrowdWorker,
    Item,
    Membership,
    Project,
    WorkerSession,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "task_type",
        "overlap",
        "gold_rate",
        "reservation_seconds",
        "created_by",
        "created_at",
    ]
    list_filter = ["task_type", "created_at"]
    search_fields = ["name", "instructions"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "user",
        "role",
        "status",
        "flagged",
        "qualification",
        "created_at",
    ]
    list_filter = ["role", "status", "flagged", "qualification", "project"]
    search_fields = ["user__username", "project__name"]
    autocomplete_fields = ["user", "project"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "external_id",
        "n_submitted",
        "is_gold",
        "is_qualification",
        "updated_at",
    ]
    list_filter = ["project", "is_gold", "is_qualification"]
    search_fields = ["external_id"]
    readonly_fields = ["n_submitted", "rank", "created_at", "updated_at"]
    list_select_related = ["project"]
    show_full_result_count = False


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "item",
        "annotator",
        "status",
        "reserved_at",
        "expires_at",
        "finished_at",
    ]
    list_filter = ["status", "project"]
    search_fields = ["annotator__username", "item__external_id"]
    raw_id_fields = ["item", "annotator", "project"]
    list_select_related = ["project", "item", "annotator"]
    show_full_result_count = False


class AnnotationVersionInline(admin.TabularInline):
    model = AnnotationVersion
    extra = 0
    can_delete = False
    readonly_fields = ["version", "value", "time_spent_ms", "submitted_at"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "item", "annotator", "version", "time_spent_ms", "updated_at"]
    list_filter = ["project", "version"]
    search_fields = ["annotator__username", "item__external_id"]
    raw_id_fields = ["assignment", "item", "annotator", "project"]
    readonly_fields = ["created_at", "updated_at"]
    list_select_related = ["project", "item", "annotator"]
    inlines = [AnnotationVersionInline]
    show_full_result_count = False


@admin.register(AnnotationVersion)
class AnnotationVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "annotation", "version", "submitted_at"]
    search_fields = ["annotation__annotator__username"]
    raw_id_fields = ["annotation"]


@admin.register(CrowdEntry)
class CrowdEntryAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "is_open",
        "items_per_session",
        "completion_code",
        "created_at",
        "token_rotated_at",
    ]
    list_filter = ["is_open"]
    raw_id_fields = ["project"]
    readonly_fields = ["token", "created_at", "token_rotated_at"]


class WorkerSessionInline(admin.TabularInline):
    model = WorkerSession
    extra = 0
    can_delete = False
    readonly_fields = [
        "study_id",
        "session_id",
        "status",
        "started_at",
        "last_seen_at",
        "completed_at",
    ]


@admin.register(CrowdWorker)
class CrowdWorkerAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "worker_id", "user", "created_at"]
    list_filter = ["project"]
    search_fields = ["worker_id"]
    raw_id_fields = ["project", "user"]
    list_select_related = ["project", "user"]
    inlines = [WorkerSessionInline]
