from django.apps import AppConfig


class AnalysisConfig(AppConfig):
    name = "analysis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the Celery task (``snapshots`` enqueues it by name) and connect the receivers
        of the hooks through which ``annotate`` tells the analysis about its events."""
        from annotate import hooks

        from . import (
            celery_tasks,  # noqa: F401  (registers ``analysis.refresh``)
            receivers,
        )

        hooks.annotations_changed.connect(receivers.annotations_changed)
        hooks.annotator_consensus_agreement.connect(receivers.annotator_consensus_agreement)
        hooks.item_export_columns.connect(receivers.item_export_dawid_skene)
