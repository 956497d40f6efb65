"""Benchmark: next + submit over HTTP with concurrent annotators (SPEC 8, issue 11).

    .venv/bin/python bench/next_submit.py --items 10000
    .venv/bin/python bench/next_submit.py --items 10000 --worker-class sync
    .venv/bin/python bench/next_submit.py --items 1000000

Creates its own database, seeds a preference_pair project with N items in SQL (overlap 3), one lead
and 8 annotators with DRF tokens, starts gunicorn (``--worker-class``: one gthread worker with 8
threads by default, or sync workers), then runs one client process per annotator (separate
processes, not threads: the clients share no GIL), each looping POST next/ + POST
assignments/{id}/submit/ with pre-built requests on a plain socket (``--client requests``: a
``requests.Session``, as before) for a fixed time after a warm-up. Prints submissions per second,
p50/p95/p99 latency of each call, the submissions of each annotator (min/median/max, max/min,
Jain's fairness index), error counts and where the CPU went; then PostgreSQL's own pace on the same
machine in the same run (pgbench TPC-B, ``-c 8 -j 2``, on a scratch database dropped after) and the
ratio of submitted pairs/s to its tps; then checks in the database that no item has more than
``overlap`` annotations, that no (item, annotator) pair repeats and that every 201 the clients saw
is stored.

The clients run on the same machine and share its CPUs with gunicorn and PostgreSQL.
Target (SPEC 8): >= 400 submissions/s with 8 annotators, p99 < 50 ms for each call, the same with
1,000,000 items; issue 11: pairs/s >= 0.15 x pgbench tps.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from collections import Counter
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as c  # noqa: E402

# Chosen by measurement on the 2-core machine (bench/README.md): one gthread worker holds every
# keep-alive connection, so no annotator's connection sticks to a busier process (fair), and
# no request pays for a new connection (the cheapest per request). Several gthread workers
# serve annotators as unevenly as their connections fell on them; sync workers are fair and
# dearer (accept and close per request).
DEFAULT_WORKER_CLASS = "gthread"
DEFAULT_WORKERS = {"gthread": 1, "sync": 3}
DEFAULT_THREADS = 8
CONNECTIONS = {
    "sync": "sync workers close the connection after each response",
    "gthread": "keep-alive: a connection stays with the worker that accepted it",
}

CLIENTS = {
    "raw": "pre-built requests on a plain socket",
    "requests": "requests.Session",
}

Call = tuple[float, float, int]  # (wall-clock start, seconds taken, HTTP status or 0 on error)


class RawHttp:
    """A minimal HTTP/1.1 client on a plain socket, for the bench's annotators: requests are
    pre-built bytes, a response is read by its ``Content-Length``, and the connection is kept
    while the server keeps it (gthread) or opened afresh after it closes it (sync). Costs a
    fraction of a ``requests.Session``'s CPU per call, which the clients would otherwise take
    from gunicorn and PostgreSQL on the same CPUs."""

    def __init__(self, url: str, token: str) -> None:
        import urllib.parse

        parts = urllib.parse.urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.head = (
            f"Host: {parts.netloc}\r\nAuthorization: Token {token}\r\nAccept: application/json\r\n"
        ).encode()
        self.sock: Any = None
        self.buffer = b""

    def request(self, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """POST ``body`` (JSON, or nothing) to ``path``; (status, response body)."""
        import socket

        kind = b"Content-Type: application/json\r\n" if body else b""
        message = b"".join([
            b"POST ", path.encode(), b" HTTP/1.1\r\n", self.head, kind,
            b"Content-Length: ", str(len(body)).encode(), b"\r\n\r\n", body,
        ])  # fmt: skip
        if self.sock is None:
            self.sock = socket.create_connection(self.address, timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        try:
            self.sock.sendall(message)
            return self._response()
        except BaseException:
            self.close()
            raise

    def _read_more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def _response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._read_more()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(self.buffer) < length:
            self._read_more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def client_loop(
    url: str,
    project_id: int,
    token: str,
    t_start: float,
    t_end: float,
    seed: int,
    out: Any,
    client: str = "raw",
) -> None:
    """One annotator: next, then submit a random vote, until ``t_end``; calls go to ``out``."""
    import json

    post = _raw_post(url, token) if client == "raw" else _requests_post(url, token)
    rng = random.Random(seed)
    next_path = f"/api/v1/projects/{project_id}/next/"
    nexts: list[Call] = []
    submits: list[Call] = []
    errors: Counter[str] = Counter()
    ran_out = False
    while time.time() < t_start:
        time.sleep(0.001)
    while time.time() < t_end:
        wall = time.time()
        began = time.perf_counter()
        body = b""
        try:
            status, body = post(next_path, b"")
        except OSError as exc:
            status = 0
            errors[f"next {type(exc).__name__}"] += 1
        nexts.append((wall, time.perf_counter() - began, status))
        if status == 204:
            ran_out = True
            break
        if status != 200:
            if status:
                errors[f"next HTTP {status}"] += 1
            continue
        assignment_id = json.loads(body)["assignment"]["id"]
        vote = json.dumps({"value": {"preference": rng.randint(-2, 2)}}).encode()
        wall = time.time()
        began = time.perf_counter()
        try:
            status, _ = post(f"/api/v1/assignments/{assignment_id}/submit/", vote)
        except OSError as exc:
            status = 0
            errors[f"submit {type(exc).__name__}"] += 1
        submits.append((wall, time.perf_counter() - began, status))
        if status not in (0, 201):
            errors[f"submit HTTP {status}"] += 1
    out.put(
        {"seed": seed, "next": nexts, "submit": submits, "errors": dict(errors), "ran_out": ran_out}
    )


def _raw_post(url: str, token: str) -> Any:
    return RawHttp(url, token).request


def _requests_post(url: str, token: str) -> Any:
    """The earlier client (``--client requests``): a ``requests.Session``; its errors as
    ``OSError`` (``requests.RequestException`` is one)."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"

    def post(path: str, body: bytes) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body else {}
        response = session.post(url + path, data=body or None, headers=headers, timeout=30)
        return response.status_code, response.content

    return post


def fairness_line(counts: list[int]) -> str:
    """Submissions per annotator in the window: min/median/max, max/min and Jain's index."""
    if not counts:
        return "fairness: no annotators"
    low, high = min(counts), max(counts)
    ratio = f"{high / low:.2f}" if low else "inf"
    return (
        f"fairness (201s per annotator in the window): min {low}, median "
        f"{statistics.median(counts):g}, max {high}, max/min {ratio}, Jain's index "
        f"{c.jain_index(counts):.3f} (1 = equal shares)"
    )


def cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def start_py_spy(path: str | None, pid: int, seconds: float) -> Any:
    if not path:
        return None
    import shutil
    import subprocess

    exe = shutil.which("py-spy", path=str(c.VENV_BIN)) or shutil.which("py-spy")
    if exe is None:
        raise SystemExit("--py-spy: py-spy is not installed (.venv/bin/pip install py-spy)")
    return subprocess.Popen(
        [exe, "record", "--subprocesses", "--format", "raw", "-o", path, "-d",
         str(max(1, int(seconds))), "-p", str(pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def latency_line(name: str, calls: list[Call]) -> str:
    ms = sorted(1000 * seconds for _, seconds, _ in calls)
    p = {q: c.percentile(ms, q) for q in (50, 95, 99)}
    top = ms[-1] if ms else float("nan")
    return (
        f"  {name:<7} n={len(ms):>6}  p50 {p[50]:6.1f} ms  p95 {p[95]:6.1f} ms  "
        f"p99 {p[99]:6.1f} ms  max {top:6.1f} ms"
    )


def verify(conn: Any, project_id: int, overlap: int, created_seen: int) -> list[str]:
    """Integrity after the run; returns the problems found (empty when all is well)."""
    q = {
        "items with n_submitted > overlap": (
            "SELECT count(*) FROM annotate_item WHERE project_id = %(p)s AND n_submitted > %(o)s"
        ),
        "items with more annotations than overlap": (
            "SELECT count(*) FROM (SELECT item_id FROM annotate_annotation "
            "WHERE project_id = %(p)s GROUP BY item_id HAVING count(*) > %(o)s) x"
        ),
        "duplicate (item, annotator) annotations": (
            "SELECT count(*) FROM (SELECT 1 FROM annotate_annotation WHERE project_id = %(p)s "
            "GROUP BY item_id, annotator_id HAVING count(*) > 1) x"
        ),
        "duplicate (item, annotator) assignments": (
            "SELECT count(*) FROM (SELECT 1 FROM annotate_assignment WHERE project_id = %(p)s "
            "GROUP BY item_id, annotator_id HAVING count(*) > 1) x"
        ),
        "items whose n_submitted differs from their annotation count": (
            "SELECT count(*) FROM annotate_item i LEFT JOIN (SELECT item_id, count(*) n FROM "
            "annotate_annotation WHERE project_id = %(p)s GROUP BY item_id) a ON a.item_id = i.id "
            "WHERE i.project_id = %(p)s AND i.n_submitted <> coalesce(a.n, 0)"
        ),
    }
    problems = []
    print("integrity:")
    for label, statement in q.items():
        n = c.scalar(conn, statement, {"p": project_id, "o": overlap})
        print(f"  {label}: {n}")
        if n:
            problems.append(f"{label}: {n}")
    stored = c.scalar(
        conn, "SELECT count(*) FROM annotate_annotation WHERE project_id = %s", [project_id]
    )
    print(f"  annotations stored: {stored}; 201 responses seen by clients: {created_seen}")
    if stored != created_seen:
        problems.append(f"stored {stored} annotations but clients saw {created_seen} created")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--annotators", type=int, default=8, help="concurrent client processes")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument(
        "--workers", type=int,
        help=f"gunicorn worker processes (default: {DEFAULT_WORKERS['gthread']} for gthread, "
        f"{DEFAULT_WORKERS['sync']} for sync)",
    )  # fmt: skip
    parser.add_argument(
        "--worker-class", choices=c.WORKER_CLASSES, default=DEFAULT_WORKER_CLASS,
        help=f"gunicorn worker class (default {DEFAULT_WORKER_CLASS}: fair and cheapest per "
        "request with one worker, by measurement, see bench/README.md)",
    )  # fmt: skip
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULT_THREADS,
        help=f"gunicorn threads per worker (gthread only; default {DEFAULT_THREADS})",
    )
    parser.add_argument(
        "--pgbench-seconds", type=int, default=10,
        help="pgbench -T after the window, for the pairs/s : tps ratio (0: skip pgbench)",
    )  # fmt: skip
    parser.add_argument(
        "--client", choices=CLIENTS, default="raw",
        help="the annotators' HTTP client: raw (pre-built requests on a socket, the default: "
        "cheap) or requests (a requests.Session, as before)",
    )  # fmt: skip
    parser.add_argument(
        "--throttle-user", default="1000000/minute",
        help="DISSENSUS_API_THROTTLE_USER for the server (default: on, out of reach)",
    )  # fmt: skip
    parser.add_argument("--prompt-chars", type=int, default=200)
    parser.add_argument("--response-chars", type=int, default=1000)
    parser.add_argument(
        "--py-spy", metavar="FILE",
        help="profile gunicorn during the window with py-spy (if installed) into FILE (raw format)",
    )  # fmt: skip
    c.add_db_arguments(parser)
    args = parser.parse_args()
    if args.workers is None:
        args.workers = DEFAULT_WORKERS[args.worker_class]

    print(c.machine_line(at_start=True))
    problems: list[str] = []
    with c.bench_database(args) as env:
        with c.db_connect(args) as conn:
            project_id = c.seed_project(name="bench next+submit", overlap=args.overlap)
            users = c.seed_users(project_id=project_id, annotators=args.annotators)
            seconds = c.seed_items_sql(
                conn, project_id=project_id, n_items=args.items,
                prompt_chars=args.prompt_chars, response_chars=args.response_chars,
            )  # fmt: skip
            size = c.scalar(conn, "SELECT pg_size_pretty(pg_total_relation_size('annotate_item'))")
            print(
                f"seeded {args.items:,} items in {seconds:.1f} s "
                f"({args.items / seconds:,.0f} items/s; annotate_item {size}), "
                f"overlap {args.overlap}, {args.annotators} annotators"
            )

        c.from_django_close()  # the client processes are forked from this one
        # The per-user API throttle stays on (its cost is part of every request), at a rate the
        # annotators cannot reach: the default (1,200/minute) would refuse them within a minute.
        env = {**env, "DISSENSUS_API_THROTTLE_USER": args.throttle_user}
        with c.Gunicorn(
            env, workers=args.workers, threads=args.threads, worker_class=args.worker_class
        ) as server:
            ctx = mp.get_context("fork")
            out = ctx.Queue()
            t_start = time.time() + 1.0
            t_measure = t_start + args.warmup
            t_end = t_measure + args.duration
            clients = [
                ctx.Process(
                    target=client_loop,
                    args=(server.url, project_id, token, t_start, t_end, seed, out, args.client),
                )
                for seed, (_, token) in enumerate(users["annotator"])
            ]
            for process in clients:
                process.start()
            server_pids = [server.process.pid, *server.worker_pids()]
            client_pids = [p.pid for p in clients if p.pid is not None]
            time.sleep(max(0.0, t_measure - time.time()))
            spy = start_py_spy(args.py_spy, server.process.pid, args.duration)
            pg_before = c.postgres_cpu(args.db)
            cpu_before = [
                cpu_seconds(server_pids),
                0.0,
                cpu_seconds(client_pids),
                c.busy_cpu_seconds(),
            ]
            time.sleep(max(0.0, t_end - time.time()))
            cpu_after = [
                cpu_seconds(server_pids), c.cpu_used(pg_before, c.postgres_cpu(args.db)),
                cpu_seconds(client_pids), c.busy_cpu_seconds(),
            ]  # fmt: skip
            results = [out.get(timeout=120) for _ in clients]
            if spy is not None:
                spy.wait()
                print(f"py-spy profile written to {args.py_spy}")
            for process in clients:
                process.join()

        def in_window(calls: list[Call]) -> list[Call]:
            return [call for call in calls if call[0] >= t_measure and call[0] + call[1] <= t_end]

        nexts = [call for r in results for call in in_window(r["next"])]
        submits = [call for r in results for call in in_window(r["submit"])]
        created = [call for call in submits if call[2] == 201]
        errors: Counter[str] = Counter()
        for r in results:
            errors.update(r["errors"])
        created_total = sum(1 for r in results for call in r["submit"] if call[2] == 201)
        ran_out = sum(r["ran_out"] for r in results)

        print(
            f"\nserver: {server.describe}; clients: {args.annotators} processes "
            f"({CLIENTS[args.client]}; {CONNECTIONS[args.worker_class]}) on the same "
            f"{os.cpu_count()} CPUs; API throttle per user {args.throttle_user}"
        )
        print(f"window: {args.duration:.0f} s after {args.warmup:.0f} s warm-up")
        print(f"submissions/s: {len(created) / args.duration:,.1f}  (target >= 400)")
        print("latency (target p99 < 50 ms):")
        print(latency_line("next", nexts))
        print(latency_line("submit", submits))
        per_annotator = sorted(
            sum(1 for call in in_window(r["submit"]) if call[2] == 201) for r in results
        )
        print(fairness_line(per_annotator))
        print(f"errors: {dict(errors) if errors else 'none'}")
        if ran_out:
            print(f"note: {ran_out} clients ran out of items (204) before the end")
        used = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
        per = 1000 / max(1, len(created))
        others = max(0.0, used[3] - sum(used[:3]))
        print(
            f"CPU in window: gunicorn {used[0]:.1f} s, postgres {used[1]:.1f} s, clients "
            f"{used[2]:.1f} s, other processes {others:.1f} s, of "
            f"{args.duration * (os.cpu_count() or 1):.0f} s available; per "
            f"submission (next + submit): gunicorn {used[0] * per:.2f} ms, postgres "
            f"{used[1] * per:.2f} ms, clients {used[2] * per:.2f} ms"
        )
        print(c.machine_line())
        if args.pgbench_seconds:
            tps = c.pgbench_tps(args, seconds=args.pgbench_seconds)
            pairs = len(created) / args.duration
            print(
                f"pgbench TPC-B (scale 1, -c 8 -j 2 -T {args.pgbench_seconds}, same machine, "
                f"after the window): {tps:,.0f} tps; submitted pairs/s / pgbench tps = "
                f"{pairs / tps:.4f}  (issue 11 goal >= 0.15)"
            )
            print(c.machine_line())
        with c.db_connect(args) as conn:
            problems = verify(conn, project_id, args.overlap, created_total)
        if errors:
            problems.append(f"errors: {dict(errors)}")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print("integrity OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
