from django.apps import AppConfig


class ModelsRuntimeConfig(AppConfig):
    name = "models_runtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The items export asks for extra columns through a hook: annotate never imports us.
        from annotate import hooks

        from . import celery_tasks  # noqa: F401  (registers the tasks ``dispatch`` sends by name)
        from .selectors import item_export_predictions

        hooks.item_export_columns.connect(item_export_predictions)
