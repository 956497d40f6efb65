"""Fixtures for the model runtime: tiny models built on the spot (no download), a Celery app
pointed at a Redis database of its own, and real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_DB = 11
BROKER_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("tiny_models")


@pytest.fixture(scope="session")
def reward_model_dir(tiny_dir):
    from models_runtime.tiny_models import build_bert_classifier

    return str(build_bert_classifier(tiny_dir / "reward", num_labels=1, initializer_range=0.5))


@pytest.fixture(scope="session")
def distributional_reward_dir(tiny_dir):
    from models_runtime.tiny_models import build_bert_classifier

    return str(
        build_bert_classifier(tiny_dir / "reward2", num_labels=2, initializer_range=0.5, seed=3)
    )


@pytest.fixture(scope="session")
def classifier_dir(tiny_dir):
    from models_runtime.tiny_models import build_bert_classifier

    return str(
        build_bert_classifier(tiny_dir / "derail", num_labels=2, initializer_range=0.5, seed=1)
    )


@pytest.fixture(scope="session")
def lm_dir(tiny_dir):
    from models_runtime.tiny_models import build_gpt2_lm

    return str(build_gpt2_lm(tiny_dir / "lm"))


@pytest.fixture(scope="session")
def clip_dir(tiny_dir):
    from models_runtime.tiny_models import build_clip

    return str(build_clip(tiny_dir / "clip"))


@pytest.fixture
def redis_broker(settings):
    """Point this process's Celery app at Redis, and model-run work at a queue of its own.

    Other test sessions (other databases) may share the Redis database at the same time, so the
    queue name carries this session's test database and process: their workers never take our
    tasks, nor ours theirs. Yields (Redis client, queue name).
    """
    from config.celery import app

    queue = f"mrt-{connection.settings_dict['NAME']}-{os.getpid()}-{time.time_ns()}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    client = redis.Redis.from_url(BROKER_URL)
    previous = app.conf.broker_url

    def point_at(url):
        app.conf.broker_url = url
        # Forget the cached connection and producer pools, so the next send uses ``url``.
        app._pool = None
        app.amqp._producer_pool = None

    point_at(BROKER_URL)
    yield client, queue
    point_at(previous)
    client.delete(queue)


class Worker:
    """``celery -A config worker`` in its own process group, on the test database."""

    def __init__(self, log: Path, *, queues: str, env: dict[str, str] | None = None):
        settings = connection.settings_dict
        database_url = (
            f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        )
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": BROKER_URL,
            "CELERY_TASK_DEFAULT_QUEUE": queues.split(",")[0],
            "PYTHONUNBUFFERED": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1",
            **(env or {}),
        }
        self.log = log
        self.queues = queues
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-Q",
                self.queues,
                "--concurrency",
                "1",
                "--pool",
                "prefork",
                "-l",
                "info",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"mrt-test-{time.time_ns()}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no warm shutdown, no acks."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(tmp_path, redis_broker):
    """Start workers on this test's queue with ``workers(**options)``; all stopped after."""
    started: list[Worker] = []

    def start(**options) -> Worker:
        options.setdefault("queues", redis_broker[1])
        worker = Worker(tmp_path / f"worker{len(started)}.log", **options).start()
        started.append(worker)
        return worker

    start.logs = (
        lambda: "\n".join(  # type: ignore[attr-defined]
            w.log.read_text(errors="replace")[-4000:] for w in started if w.log.exists()
        )
    )
    yield start
    for worker in started:
        worker.stop()
