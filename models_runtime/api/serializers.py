from __future__ import annotations

from rest_framework import serializers

from models_runtime.models import ModelRun, Prediction, Predictor


class PredictorOut(serializers.ModelSerializer):
    class Meta:
        model = Predictor
        fields = [
            "id",
            "name",
            "task_type",
            "backend",
            "weights_path",
            "params",
            "queue",
            "description",
            "created_at",
            "updated_at",
        ]


class PredictorIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    task_type = serializers.CharField(max_length=50)
    backend = serializers.CharField(max_length=40)
    weights_path = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    params = serializers.JSONField(required=False)
    queue = serializers.CharField(max_length=20, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class PredictorPatchIn(PredictorIn):
    name = serializers.CharField(max_length=200, required=False)
    task_type = serializers.CharField(max_length=50, required=False)
    backend = serializers.CharField(max_length=40, required=False)


class ModelRunIn(serializers.Serializer):
    predictor = serializers.CharField(help_text="The predictor's id or name.")
    filters = serializers.JSONField(required=False, help_text="status, external_ids, limit")


class ModelRunOut(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ModelRun
        fields = [
            "id",
            "project",
            "predictor",
            "model_name",
            "source",
            "status",
            "filters",
            "params",
            "n_items",
            "n_done",
            "progress",
            "error",
            "device",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_progress(self, run: ModelRun) -> float:
        return run.n_done / run.n_items if run.n_items else 1.0 if run.is_finished else 0.0


class PredictionsImportOut(ModelRunOut):
    """The imported run, with how many rows became predictions and how many were left out
    because their ``external_id`` names no item (``?unknown=skip``)."""

    n_predictions = serializers.IntegerField()
    n_skipped_unknown = serializers.IntegerField()

    class Meta(ModelRunOut.Meta):
        fields = [*ModelRunOut.Meta.fields, "n_predictions", "n_skipped_unknown"]


class PredictionOut(serializers.ModelSerializer):
    external_id = serializers.CharField(source="item.external_id")

    class Meta:
        model = Prediction
        fields = [
            "id",
            "item",
            "external_id",
            "value",
            "score",
            "distribution",
            "details",
            "created_at",
        ]
