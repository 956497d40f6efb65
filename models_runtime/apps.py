from django.apps import AppConfig


class ModelsRuntimeConfig(AppConfig):
    name = "models_runtime"
    default_auto_field = "django.db.models.BigAutoField"
