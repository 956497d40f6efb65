"""Fixtures for the model runtime: tiny models built on the spot (no download), a Celery app
pointed at a Redis database of its own, and real worker processes."""

from __future__ import annotations

import os
import signal
import socket
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


def _point_celery_at(url: str) -> None:
    from config.celery import app

    app.conf.broker_url = url
    # Forget the cached connection and producer pools, so the next send uses ``url``.
    app._pool = None
    app.amqp._producer_pool = None


class PrivateRedis:
    """A ``redis-server`` of this test's own on a free port, without persistence, that the test
    may stop and start again (an outage; what was queued is lost, as after a crash). Never the
    machine's shared Redis on 6379."""

    def __init__(self, log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "no"],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"no redis-server: {self.log.read_text()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(tmp_path / "redis.log").start()
    yield server
    server.stop()


@pytest.fixture
def private_broker(settings, private_redis):
    """Like ``redis_broker``, on a Redis of this test's own (``private_redis``) that the test
    may stop: yields (server, queue name). Workers get its URL with ``broker=server.url``."""
    from config.celery import app

    queue = f"mrt-private-{time.time_ns()}"
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    previous = app.conf.broker_url
    _point_celery_at(private_redis.url)
    yield private_redis, queue
    _point_celery_at(previous)


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
    _point_celery_at(BROKER_URL)
    yield client, queue
    _point_celery_at(previous)
    client.delete(queue)


class Worker:
    """``celery -A config worker`` in its own process group, on the test database."""

    def __init__(
        self,
        log: Path,
        *,
        queues: str,
        env: dict[str, str] | None = None,
        broker: str = BROKER_URL,
        beat: bool = False,
    ):
        settings = connection.settings_dict
        database_url = (
            f"postgres://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
            f"{settings['PORT'] or 5432}/{settings['NAME']}"
        )
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker,
            "CELERY_TASK_DEFAULT_QUEUE": queues.split(",")[0],
            "PYTHONUNBUFFERED": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "OMP_NUM_THREADS": "1",
            **(env or {}),
        }
        self.log = log
        self.queues = queues
        # -B: this worker runs beat too (the sweep of stalled model runs).
        self.beat_args = ["-B", "-s", str(log.with_suffix(".beat"))] if beat else []
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
                *self.beat_args,
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


@pytest.fixture
def reward_predictor(reward_model_dir, lead):
    """Registers a predictor over the tiny reward model, with the given name and parameters."""

    def make(name="tiny-rm", **params):
        from models_runtime import predictors

        return predictors.predictor_create(
            name=name,
            task_type="preference_pair",
            backend="reward_model",
            weights_path=reward_model_dir,
            params=params,
            created_by=lead,
        )

    return make
