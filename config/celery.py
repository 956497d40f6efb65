import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("dissensus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="celery_tasks")


@app.on_after_finalize.connect
def _periodic_tasks(sender: Celery, **_kwargs: object) -> None:
    """Beat's schedule (``celery -A config beat``, or a worker with ``-B``): the sweep that sends
    work again for model runs that stalled (their work was lost with a broker outage or a
    worker), every ``DISSENSUS_MODEL_RUN_SWEEP_SECONDS``."""
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.DISSENSUS_MODEL_RUN_SWEEP_SECONDS),
        sender.signature("models_runtime.model_runs_sweep"),
        name="model runs: re-send stalled work",
    )
