from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing (errors, web helpers, DRF glue, middleware, markdown, record reading); an app
    so that its template tags load and its system checks register."""

    name = "core"

    def ready(self) -> None:
        from django.core import checks

        from core.staticfiles import static_collected_check

        checks.register(static_collected_check, "dissensus_static")
