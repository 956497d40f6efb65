from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing (errors, web helpers, DRF glue, middleware, markdown, record reading); an app
    only so that its template tags load."""

    name = "core"
