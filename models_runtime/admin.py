from django import forms
from django.contrib import admin

from .models import ModelRun, Prediction, Predictor
from .predictors import predictor_errors


class PredictorForm(forms.ModelForm):
    """Checks what ``predictors.predictor_errors`` checks: backend known, task type answered by
    the backend, local weights present, parameters understood."""

    class Meta:
        model = Predictor
        fields = ["name", "task_type", "backend", "weights_path", "params", "queue", "description"]

    def clean(self):
        cleaned = super().clean()
        errors = predictor_errors(
            task_type=cleaned.get("task_type", ""),
            backend=cleaned.get("backend", ""),
            weights_path=cleaned.get("weights_path", ""),
            params=cleaned.get("params", {}),
            queue=cleaned.get("queue", ""),
        )
        for error in errors:
            field = error.field if error.field in self.fields else None
            self.add_error(field, error.message)
        return cleaned


@admin.register(Predictor)
class PredictorAdmin(admin.ModelAdmin):
    form = PredictorForm
    list_display = ["id", "name", "task_type", "backend", "queue", "weights_path", "updated_at"]
    list_filter = ["task_type", "backend", "queue"]
    search_fields = ["name", "weights_path"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ModelRun)
class ModelRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "model_name",
        "source",
        "status",
        "n_done",
        "n_items",
        "device",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "source"]
    search_fields = ["model_name"]
    raw_id_fields = ["project", "predictor", "created_by"]
    readonly_fields = ["n_items", "n_done", "device", "started_at", "finished_at", "created_at"]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["id", "run", "item", "score", "created_at"]
    raw_id_fields = ["run", "item"]
    list_select_related = ["run", "item"]
    show_full_result_count = False
