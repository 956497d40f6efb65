"""Shared plumbing for the benchmarks: a throwaway database, Django, gunicorn, percentiles.

Every benchmark runs against its own PostgreSQL database (``dissensus_bench`` unless ``--db`` says
otherwise), created here with psycopg, migrated with ``manage.py migrate`` and dropped at the end,
so the test and demo databases are never touched.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
# The project's .venv, else the environment running this script (a worktree sharing a venv).
VENV_BIN = ROOT / ".venv" / "bin"
if not (VENV_BIN / "gunicorn").exists():
    VENV_BIN = Path(sys.executable).parent
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
SERVER = "postgres://postgres@127.0.0.1:5432"


def add_db_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default="dissensus_bench", help="database to create and drop")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL, no database")
    parser.add_argument(
        "--keep-db", action="store_true", help="leave the database behind (for inspection)"
    )


def bench_env(server: str, db: str) -> dict[str, str]:
    """The environment the app runs under for a benchmark: production settings, bench database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DJANGO_SECRET_KEY="bench-only-secret-key-not-for-production-0123456789",
        DATABASE_URL=f"{server}/{db}",
        DJANGO_DEBUG="0",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def admin_connect(server: str) -> psycopg.Connection[Any]:
    return psycopg.connect(f"{server}/postgres", autocommit=True)


def drop_database(server: str, db: str) -> None:
    with admin_connect(server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))


def create_database(server: str, db: str) -> None:
    if db in {"dissensus", "test_dissensus", "postgres"}:
        raise SystemExit(f"refusing to use {db!r} as a benchmark database")
    drop_database(server, db)
    with admin_connect(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )


@contextlib.contextmanager
def bench_database(args: argparse.Namespace, *, django: bool = True) -> Iterator[dict[str, str]]:
    """Create and migrate the benchmark database, and set Django up on it in this process unless
    ``django`` is false; drop the database afterwards unless ``--keep-db``."""
    env = bench_env(args.server, args.db)
    started = time.perf_counter()
    create_database(args.server, args.db)
    try:
        migrate(env)
        print(f"database {args.db}: created and migrated in {time.perf_counter() - started:.1f} s")
        if django:
            django_setup(env)
        yield env
    finally:
        if args.keep_db:
            print(f"database {args.db} kept (--keep-db)")
        else:
            from_django_close()
            drop_database(args.server, args.db)
            print(f"database {args.db} dropped")


def django_setup(env: dict[str, str]) -> None:
    """Configure Django in this process against the benchmark database."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def from_django_close() -> None:
    """Close this process's Django connections, if Django was set up (before DROP or fork)."""
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def db_connect(args: argparse.Namespace) -> psycopg.Connection[Any]:
    return psycopg.connect(f"{args.server}/{args.db}", autocommit=True)


def scalar(conn: psycopg.Connection[Any], statement: str, params: Any = None) -> Any:
    """The first column of the first row of ``statement``."""
    row = conn.execute(statement, params).fetchone()  # type: ignore[arg-type]
    if row is None:
        raise RuntimeError(f"no row from {statement[:60]!r}")
    return row[0]


def seed_project(*, name: str, overlap: int) -> int:
    """A preference_pair project made by the service, so new fields get their defaults."""
    from annotate.services import project_create

    return project_create(
        name=name, task_type="preference_pair", created_by=None, overlap=overlap
    ).pk


def seed_users(
    *, project_id: int, annotators: int, leads: int = 1
) -> dict[str, list[tuple[int, str]]]:
    """Users with DRF tokens and memberships: {role: [(user_id, token)]}."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotate.models import Project
    from annotate.services import membership_add

    project = Project.objects.get(pk=project_id)
    out: dict[str, list[tuple[int, str]]] = {"lead": [], "annotator": []}
    for role, count in (("lead", leads), ("annotator", annotators)):
        for n in range(1, count + 1):
            user = get_user_model().objects.create_user(f"bench-{role}-{project_id}-{n}")
            membership_add(project=project, user=user, role=role)
            out[role].append((user.pk, Token.objects.create(user=user).key))
    return out


def insert_select(
    conn: psycopg.Connection[Any], model: Any, values: dict[str, str], rest: str, params: Any
) -> None:
    """``INSERT INTO <model's table> (...) SELECT <values> <rest>``.

    ``values`` maps field names to SQL expressions. Every other column gets its field's default
    (evaluated once), ``now()`` for auto_now fields, or NULL, so a field added to the model later
    does not break the seeding.
    """
    from django.db import connection

    columns, expressions, defaults = [], [], {}
    for field in model._meta.concrete_fields:
        if field.primary_key and field.name not in values:
            continue
        columns.append(f'"{field.column}"')
        if field.name in values:
            expressions.append(values[field.name])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expressions.append("now()")
        elif field.has_default():
            key = f"default_{field.column}"
            defaults[key] = field.get_db_prep_save(field.get_default(), connection=connection)
            expressions.append(f"%({key})s")
        elif field.null:
            expressions.append("NULL")
        else:
            raise RuntimeError(f"{model.__name__}.{field.name}: no value and no default")
    statement = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} {rest}"
    )
    conn.execute(statement, {**params, **defaults})


# Item payloads are generated inside PostgreSQL from a pool of md5-hex texts, so seeding a million
# items is one INSERT ... SELECT per batch. md5 text does not compress to nothing, as repeated words
# would, so rows have realistic on-disk sizes.
POOL = 997


def _make_pool(conn: psycopg.Connection[Any], name: str, n_chars: int) -> None:
    pieces = max(1, (n_chars + 32) // 33)
    conn.execute(f"DROP TABLE IF EXISTS {name}")
    conn.execute(
        f"CREATE TEMP TABLE {name} AS SELECT i, "
        f"left(string_agg(md5(i::text || '{name}' || k::text), ' '), %s) AS t "
        f"FROM generate_series(0, {POOL - 1}) i, generate_series(1, {pieces}) k GROUP BY i",
        [n_chars],
    )
    conn.execute(f"CREATE UNIQUE INDEX ON {name} (i)")


def seed_items_sql(
    conn: psycopg.Connection[Any],
    *,
    project_id: int,
    n_items: int,
    prompt_chars: int,
    response_chars: int,
    n_submitted: int = 0,
    batch: int = 250_000,
) -> float:
    """Insert ``n_items`` preference pairs with ``INSERT ... SELECT generate_series``; seconds."""
    started = time.perf_counter()
    _make_pool(conn, "bench_prompts", prompt_chars)
    _make_pool(conn, "bench_responses", response_chars)
    from annotate.models import Item

    payload = """jsonb_build_object(
        'prompt', 'Question ' || g || ': ' || p.t, 'context', '[]'::jsonb,
        'response_a', a.t, 'response_b', b.t, 'model_a', 'model-x', 'model_b', 'model-y',
        'metadata', '{}'::jsonb)"""
    values = {
        "project": "%(project)s",
        "external_id": "'pair-' || g",
        "payload": payload,
        "is_gold": "false",
        "n_submitted": "%(n_submitted)s::int",
        "rank": "(random() * 2147483646)::int",
    }
    rest = f"""
        FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g
        JOIN bench_prompts p ON p.i = g %% {POOL}
        JOIN bench_responses a ON a.i = (g * 7) %% {POOL}
        JOIN bench_responses b ON b.i = (g * 13 + 5) %% {POOL}
    """
    for lo in range(1, n_items + 1, batch):
        hi = min(n_items, lo + batch - 1)
        params = {"project": project_id, "n_submitted": n_submitted, "lo": lo, "hi": hi}
        insert_select(conn, Item, values, rest, params)
    conn.execute("ANALYZE annotate_item")
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


WORKER_CLASSES = ("sync", "gthread")


class Gunicorn:
    """``gunicorn config.wsgi`` on a free local port, with ``sync`` or ``gthread`` workers.

    ``sync`` workers answer one request at a time and close the connection after it (no
    keep-alive), so every request queues afresh on the shared socket; ``gthread`` workers keep
    a client's connection (keep-alive) and serve ``threads`` of them at once."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        workers: int,
        threads: int,
        worker_class: str = "gthread",
        root: str | None = None,
    ) -> None:
        """``root``: the checkout whose code the server runs (default this one)."""
        if worker_class not in WORKER_CLASSES:
            raise ValueError(f"worker class must be one of {WORKER_CLASSES}, not {worker_class!r}")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Closed in stop(); gunicorn writes to it for the server's whole life.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="bench-gunicorn-", suffix=".log", delete=False
        )
        # gunicorn turns a sync worker with more than one thread into gthread: pass no threads.
        per_worker = ["--threads", str(threads)] if worker_class == "gthread" else []
        command = [
            str(VENV_BIN / "gunicorn"), "config.wsgi",
            "-w", str(workers), "-k", worker_class, *per_worker,
            "-b", f"127.0.0.1:{self.port}", "--keep-alive", "10", "--timeout", "600",
            "--log-level", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=root or ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.worker_class = worker_class
        self.describe = f"gunicorn -w {workers} -k {worker_class}" + (
            f" --threads {threads}" if worker_class == "gthread" else ""
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_tail()}")
            try:  # the first request also loads the app lazily: allow it time on a busy machine
                requests.get(self.url + "/api/v1/projects/", timeout=30)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        import psutil

        return [child.pid for child in psutil.Process(self.process.pid).children(recursive=True)]

    def log_tail(self, n: int = 40) -> str:
        self.log.flush()
        lines = Path(self.log.name).read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)

    def __enter__(self) -> Gunicorn:
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence; NaN when empty."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(q / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def machine_line(*, at_start: bool = False) -> str:
    load = os.getloadavg()
    line = f"machine: {os.cpu_count()} CPUs, load average " + ", ".join(f"{x:.2f}" for x in load)
    if at_start and load[0] > 1.0:
        line += " (busy: other work on the machine skews the figures)"
    return line


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (every process), for spotting interference."""
    import psutil

    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def postgres_cpu(db: str) -> dict[int, float]:
    """CPU seconds by pid of PostgreSQL's backends on ``db`` and its background processes (WAL
    writer, checkpointer, ...); other databases' backends are left out."""
    import psutil

    out = {}
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        if process.info["name"] != "postgres" or not process.info["cpu_times"]:
            continue
        title = " ".join(process.info["cmdline"] or [])
        is_backend = "(" in title or "[local]" in title
        if is_backend and f" {db} " not in f"{title} ":
            continue
        out[process.pid] = process.info["cpu_times"].user + process.info["cpu_times"].system
    return out


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two ``postgres_cpu`` snapshots (new processes count from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def rss_mb(pids: Sequence[int]) -> float:
    import psutil

    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += psutil.Process(pid).memory_info().rss
    return total / 2**20


def pgbench_tps(
    args: argparse.Namespace, *, clients: int = 8, jobs: int = 2, seconds: int = 10
) -> float:
    """PostgreSQL's own pace on this machine now: TPC-B-like tps of ``pgbench -c clients -j jobs
    -T seconds`` on a scratch database (``pgbench -i -s 1``), created here and dropped after."""
    import re
    import shutil

    exe = shutil.which("pgbench")
    if exe is None:
        raise SystemExit("pgbench is not installed (apt-get install postgresql-client)")
    scratch = f"{args.db}_pgbench"
    create_database(args.server, scratch)
    try:
        url = f"{args.server}/{scratch}"
        subprocess.run([exe, "-i", "-s", "1", "-q", url], check=True, capture_output=True)
        done = subprocess.run(
            [exe, "-c", str(clients), "-j", str(jobs), "-T", str(seconds), url],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
    finally:
        drop_database(args.server, scratch)
    found = re.search(r"tps = ([0-9.]+)", done.stdout)
    if found is None:
        raise RuntimeError(f"no tps in pgbench's output:\n{done.stdout}")
    return float(found.group(1))


def jain_index(values: Sequence[float]) -> float:
    """Jain's fairness index, (sum x)^2 / (n * sum x^2): 1 when all are equal, 1/n when one
    takes everything; NaN for no values or all zero."""
    squares = sum(x * x for x in values)
    return sum(values) ** 2 / (len(values) * squares) if squares else float("nan")
