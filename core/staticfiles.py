"""Static files in production: WhiteNoise's compressed, hashed storage, and what happens when
``collectstatic`` has not run.

Django's manifest storage answers 500 on every page that links a static file until
``collectstatic`` has written its manifest. Here, a missing manifest instead falls back to plain
(unhashed) URLs, which WhiteNoise serves from the source folders (``WHITENOISE_USE_FINDERS`` is
on in that case, see the settings), and says so loudly: an error in the log on the first page,
and a system check warning (``manage.py check --deploy``, ``migrate``). The production entry
point (``docker/entrypoint.sh``) runs ``collectstatic`` before the web process starts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks
from whitenoise.storage import CompressedManifestStaticFilesStorage

logger = logging.getLogger(__name__)

NOT_COLLECTED = (
    "static files have not been collected (no {manifest}): pages link unhashed files served "
    "from the source folders. Run `python manage.py collectstatic --noinput` before starting "
    "the web server (docker/entrypoint.sh does)."
)


class StaticStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's manifest storage that, without a manifest, falls back to plain names."""

    _warned = False

    def stored_name(self, name: str) -> str:
        if not self.hashed_files:
            if not StaticStorage._warned:
                StaticStorage._warned = True
                logger.error(NOT_COLLECTED.format(manifest=self.manifest_path()))
            return name
        return str(super().stored_name(name))

    def manifest_path(self) -> str:
        return str(Path(self.location) / self.manifest_name)


def static_collected_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when production static storage has no manifest (``collectstatic`` has not run)."""
    storage: Any = settings.STORAGES.get("staticfiles") or {}
    backend = storage.get("BACKEND", "")
    if backend != "core.staticfiles.StaticStorage":
        return []
    manifest = Path(settings.STATIC_ROOT) / StaticStorage.manifest_name
    if manifest.exists():
        return []
    return [
        checks.Warning(
            NOT_COLLECTED.format(manifest=manifest),
            hint="python manage.py collectstatic --noinput",
            id="dissensus.W001",
        )
    ]
