"""The production path (issue 13): with DEBUG off and no ``collectstatic``, pages still render
(plain static URLs served from the source folders) and a system check says what to run; once
collected, pages link the hashed files. Each case runs the production settings in a fresh
process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, re, django
django.setup()
from django.test import Client
from core.staticfiles import static_collected_check
client = Client()
page = client.get("/login/")
css = re.search(r'href="(/static/css/app[^"]*)"', page.content.decode()).group(1)
asset = client.get(css)
print(json.dumps({
    "page": page.status_code,
    "css": css,
    "asset": asset.status_code,
    "checks": [message.id for message in static_collected_check()],
}))
"""


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DJANGO_SECRET_KEY": "production-path-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DISSENSUS_VAR_DIR": str(tmp_path / "var"),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def probe(tmp_path: Path) -> tuple[dict, str]:
    done = run(tmp_path, "-c", PROBE)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_debug_off_without_collectstatic_renders_pages_and_says_so(tmp_path):
    result, log = probe(tmp_path)
    assert result == {
        "page": 200,
        "css": "/static/css/app.css",
        "asset": 200,
        "checks": ["dissensus.W001"],
    }
    assert "static files have not been collected" in log
    assert "collectstatic" in log


def test_after_collectstatic_pages_link_hashed_files(tmp_path):
    collected = run(tmp_path, "manage.py", "collectstatic", "--noinput", "-v", "0")
    assert collected.returncode == 0, collected.stderr
    result, log = probe(tmp_path)
    assert result["page"] == 200 and result["asset"] == 200
    assert result["css"].startswith("/static/css/app.") and result["css"] != "/static/css/app.css"
    assert result["checks"] == []
    assert "not been collected" not in log
