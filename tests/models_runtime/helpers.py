"""Helpers of the model-runtime tests that drive real workers."""

import time

from django.db.models import Count

from annotate.models import Item
from models_runtime.models import Prediction


def wait_for(condition, *, timeout: float, workers=None, every: float = 0.05):
    """``condition()``'s first truthy value within ``timeout`` seconds, else fail with the workers'
    logs (a bound on waiting, not a timing assumption: the tests' lease and heartbeat settings make
    the awaited event happen long before it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    logs = workers.logs() if workers else ""
    raise AssertionError(f"timed out after {timeout} s\n--- worker logs ---\n{logs}")


def fresh(run):
    run.refresh_from_db()
    return run


def assert_one_prediction_per_item(run, n_items):
    counts = Prediction.objects.filter(run=run).values("item").annotate(n=Count("id"))
    assert len(counts) == n_items
    assert {row["n"] for row in counts} == {1}
    assert set(Prediction.objects.filter(run=run).values_list("item", flat=True)) == set(
        Item.objects.filter(project=run.project).values_list("id", flat=True)
    )
