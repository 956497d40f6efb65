"""The web process never loads torch or transformers: importing every web-facing module of the
model runtime, validating a predictor and rendering its section leave them unloaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
import django
django.setup()
import config.urls, models_runtime.models, models_runtime.runs, models_runtime.selectors
import models_runtime.predictors, models_runtime.predictions_import, models_runtime.dispatch
import models_runtime.views, models_runtime.api.views, models_runtime.admin
import models_runtime.celery_tasks, models_runtime.backends
from models_runtime.backends import backend_spec
from models_runtime import predictors
predictors.predictor_errors(task_type="preference_pair", backend="reward_model",
                          weights_path="/nonexistent", params={"max_batch": 4}, queue="default")
backend_spec("causal_lm_judge").params_with_defaults({"allow_tie": False})
loaded = sorted(m for m in ("torch", "transformers", "tokenizers") if m in sys.modules)
print("LOADED:" + ",".join(loaded))
"""


def test_importing_the_web_facing_modules_does_not_load_torch():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "LOADED:\n" in result.stdout or result.stdout.strip().endswith("LOADED:"), result.stdout


def test_the_check_itself_sees_torch_when_a_backend_module_is_imported():
    # The same probe notices torch once a backend module is imported: the test above can fail.
    script = SCRIPT.replace(
        "import models_runtime.celery_tasks,",
        "import models_runtime.backends.reward_model, models_runtime.celery_tasks,",
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "torch" in result.stdout.split("LOADED:")[-1], result.stdout + result.stderr
