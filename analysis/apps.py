from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from annotate import hooks

        from .services import analysis_annotations_changed

        hooks.annotations_changed.connect(analysis_annotations_changed)
