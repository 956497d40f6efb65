"""Benchmark: streamed export over HTTP (SPEC 8).

    .venv/bin/python bench/export.py --annotations 1000000

Creates its own database and seeds, in SQL, a preference_pair project with N annotations (N/4
items x 4 annotators, each with its submitted assignment and a valid value). Then, for each export
asked for (default: annotations as JSONL, then as CSV, then the items shape as JSONL), it starts a
fresh gunicorn, warms it up on a one-item project, and streams
GET /api/v1/projects/{id}/export/?shape=...&format=... with a lead's token, counting rows as they
arrive. It prints rows/s, MB/s, time to first byte, and the gunicorn worker's RSS before the
request and at its peak (sampled every 50 ms through the process tree, psutil).

With ``--roots A,B`` each export runs once per checkout, in turn (A B for each export): the
server is started in that checkout (its directory and ``PYTHONPATH``), on the same seeded
database, so a before/after comparison needs one seeding and its runs interleave. The database
is migrated by this checkout: an older checkout must read its schema (extra tables are fine).

The client runs on the same machine and shares its CPUs with gunicorn and PostgreSQL.
Target (SPEC 8): >= 100,000 annotation rows/s streamed; server memory growth < 100 MB for
1,000,000 annotations.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as c  # noqa: E402

SHOWN = """CASE WHEN random() < 0.5 THEN '{"left": "a", "right": "b"}'::jsonb
               ELSE '{"left": "b", "right": "a"}'::jsonb END"""
VALUE = """jsonb_build_object('preference', floor(random() * 5)::int - 2, 'aspects', '{}'::jsonb,
                              'rationale', '', 'flags', '[]'::jsonb)"""


def seed_annotations(conn: Any, *, project_id: int, annotator_ids: list[int], batch: int) -> None:
    """One submitted assignment and one annotation per (item, annotator), in item-id batches."""
    from annotate.models import Annotation, Assignment

    low = c.scalar(conn, "SELECT min(id) FROM annotate_item WHERE project_id = %s", [project_id])
    high = c.scalar(conn, "SELECT max(id) FROM annotate_item WHERE project_id = %s", [project_id])
    assignment = {
        "project": "%(p)s",
        "item": "i.id",
        "annotator": "u",
        "status": "'submitted'",
        "shown_order": SHOWN,
        "reserved_at": "now() - interval '1 hour'",
        "expires_at": "now() - interval '30 minutes'",
        "finished_at": "now() - interval '50 minutes'",
    }
    annotation = {
        "assignment": "a.id",
        "project": "a.project_id",
        "item": "a.item_id",
        "annotator": "a.annotator_id",
        "value": VALUE,
        "shown_order": "a.shown_order",
        "time_spent_ms": "(random() * 60000)::int",
        "version": "1",
        "created_at": "a.finished_at",
        "updated_at": "a.finished_at",
    }
    for lo in range(low, high + 1, batch):
        params = {"p": project_id, "users": annotator_ids, "lo": lo, "hi": lo + batch - 1}
        c.insert_select(
            conn, Assignment, assignment,
            "FROM annotate_item i CROSS JOIN unnest(%(users)s::bigint[]) u "
            "WHERE i.project_id = %(p)s AND i.id BETWEEN %(lo)s AND %(hi)s ORDER BY i.id, u",
            params,
        )  # fmt: skip
        c.insert_select(
            conn, Annotation, annotation,
            "FROM annotate_assignment a WHERE a.project_id = %(p)s "
            "AND a.item_id BETWEEN %(lo)s AND %(hi)s ORDER BY a.id",
            params,
        )  # fmt: skip
    conn.execute("ANALYZE annotate_assignment")
    conn.execute("ANALYZE annotate_annotation")


def seed_project(
    conn: Any, *, name: str, n_items: int, annotators: int, args: argparse.Namespace
) -> tuple[int, str]:
    """A project with ``n_items`` x ``annotators`` annotations; returns (project id, lead token)."""
    project_id = c.seed_project(name=name, overlap=annotators)
    users = c.seed_users(project_id=project_id, annotators=annotators)
    c.seed_items_sql(
        conn, project_id=project_id, n_items=n_items, prompt_chars=args.prompt_chars,
        response_chars=args.response_chars, n_submitted=annotators,
    )  # fmt: skip
    seed_annotations(
        conn, project_id=project_id, annotator_ids=[uid for uid, _ in users["annotator"]],
        batch=50_000,
    )  # fmt: skip
    return project_id, users["lead"][0][1]


class RssSampler(threading.Thread):
    """Peak RSS of a process tree (the gunicorn workers), sampled until stopped."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = c.rss_mb(pids)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.peak = max(self.peak, c.rss_mb(self.pids))
            self.halt.wait(0.05)

    def stop(self) -> float:
        self.halt.set()
        self.join()
        return self.peak


def stream(url: str, token: str, fmt: str, sink: Path | None) -> tuple[int, int, float, float]:
    """GET the export; returns (newlines, bytes, seconds to first byte, seconds in all)."""
    import requests

    newlines = size = 0
    started = time.perf_counter()
    first = None
    headers = {"Authorization": f"Token {token}"}
    with requests.get(url, headers=headers, stream=True, timeout=600) as response:
        response.raise_for_status()
        out = sink.open("wb") if sink else None
        try:
            for chunk in response.iter_content(chunk_size=1 << 20):
                if first is None:
                    first = time.perf_counter() - started
                size += len(chunk)
                if out:
                    out.write(chunk)
                else:
                    newlines += chunk.count(b"\n")
        finally:
            if out:
                out.close()
    return newlines, size, first or 0.0, time.perf_counter() - started


def export_once(
    env: dict[str, str], args: argparse.Namespace, *, shape: str, fmt: str,
    project_id: int, token: str, warm_id: int, warm_token: str, expected: int | None,
    root: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    query = f"shape={shape}&format={fmt}"
    if root is not None:  # the server's code from another checkout, started in it
        env = {**env, "PYTHONPATH": root}
    with c.Gunicorn(env, workers=args.workers, threads=args.threads, root=root) as server:
        stream(f"{server.url}/api/v1/projects/{warm_id}/export/?{query}", warm_token, fmt, None)
        workers = server.worker_pids()
        before = c.rss_mb(workers)
        pg_before = c.postgres_cpu(args.db)
        cpu = [_cpu(workers), _cpu([os.getpid()]), c.busy_cpu_seconds()]
        sampler = RssSampler(workers)
        sampler.start()
        sink = Path(tempfile.mkstemp(suffix=".parquet")[1]) if fmt == "parquet" else None
        try:
            url = f"{server.url}/api/v1/projects/{project_id}/export/?{query}"
            newlines, size, first, seconds = stream(url, token, fmt, sink)
            peak = sampler.stop()
            after = c.rss_mb(workers)
            pg_used = c.cpu_used(pg_before, c.postgres_cpu(args.db))
            ours = [_cpu(workers) - cpu[0], pg_used, _cpu([os.getpid()]) - cpu[1]]
            cpu = [*ours, max(0.0, c.busy_cpu_seconds() - cpu[2] - sum(ours))]
            if fmt == "parquet" and sink:
                import pyarrow.parquet as pq

                rows = pq.ParquetFile(sink).metadata.num_rows
            else:
                rows = newlines - (1 if fmt == "csv" else 0)
        finally:
            if sink:
                sink.unlink(missing_ok=True)
    return {
        "root": root, "shape": shape, "format": fmt, "rows": rows, "expected": expected,
        "bytes": size, "first": first, "seconds": seconds, "before": before, "peak": peak,
        "after": after, "cpu": cpu,
    }  # fmt: skip


def _label(result: dict[str, Any]) -> str:
    """``shape/format``, with the checkout's folder name when several are compared."""
    label = f"{result['shape']}/{result['format']}"
    return f"{label} @{os.path.basename(result['root'])}" if result["root"] else label


def _cpu(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--annotators", type=int, default=4, help="annotations per item")
    parser.add_argument(
        "--exports", default="annotations:jsonl,annotations:csv,items:jsonl",
        help="comma-separated shape:format pairs (shapes: annotations, items, preference_pairs; "
        "formats: jsonl, csv, parquet)",
    )  # fmt: skip
    parser.add_argument(
        "--roots", default="",
        help="comma-separated checkouts to serve each export from, in turn (default: this one)",
    )  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker")
    parser.add_argument("--prompt-chars", type=int, default=200)
    parser.add_argument("--response-chars", type=int, default=500)
    c.add_db_arguments(parser)
    args = parser.parse_args()
    exports = [tuple(pair.split(":")) for pair in args.exports.split(",")]
    roots: list[str | None] = [os.path.abspath(root) for root in args.roots.split(",") if root] or [
        None
    ]
    n_items = args.annotations // args.annotators

    print(c.machine_line(at_start=True))
    results = []
    with c.bench_database(args) as env:
        with c.db_connect(args) as conn:
            started = time.perf_counter()
            project_id, token = seed_project(
                conn, name="bench export", n_items=n_items, annotators=args.annotators, args=args
            )
            n_annotations = c.scalar(
                conn, "SELECT count(*) FROM annotate_annotation WHERE project_id = %s", [project_id]
            )
            print(
                f"seeded {n_items:,} items x {args.annotators} annotators = {n_annotations:,} "
                f"annotations in {time.perf_counter() - started:.1f} s"
            )
            warm_id, warm_token = seed_project(
                conn, name="warm-up", n_items=1, annotators=args.annotators, args=args
            )
        for shape, fmt in exports:
            # preference_pairs leaves out ties, so only the base shapes have a known row count.
            expected = {"annotations": n_annotations, "items": n_items}.get(shape)
            for root in roots:
                result = export_once(
                    env, args, shape=shape, fmt=fmt, project_id=project_id, token=token,
                    warm_id=warm_id, warm_token=warm_token, expected=expected, root=root,
                )  # fmt: skip
                results.append(result)
                print(
                    f"  {_label(result)}: {result['rows']:,} rows in {result['seconds']:.1f} s; "
                    f"worker RSS {result['before']:.0f} -> peak {result['peak']:.0f} MB"
                )

    print(
        f"\nserver: gunicorn -w {args.workers} -k gthread --threads {args.threads}, fresh per "
        f"export; client: one process streaming on the same {os.cpu_count()} CPUs"
    )
    print(
        "target: >= 100,000 annotation rows/s; server memory growth < 100 MB for 1M annotations"
        " (ann/s: annotations covered per second; an items row covers its item's annotations)"
    )
    header = (
        f"{'export':<34} {'rows':>10} {'MB':>7} {'s':>6} {'rows/s':>9} {'ann/s':>9} {'MB/s':>6} "
        f"{'TTFB s':>6} {'RSS MB':>7} {'peak':>6} {'growth':>7}  CPU s (gunicorn/pg/client/other)"
    )
    print(header)
    problems = []
    for r in results:
        mb = r["bytes"] / 2**20
        # Annotations covered: the items shape's rows carry every annotation of their items.
        covered = n_annotations if r["shape"] == "items" else r["rows"]
        print(
            f"{_label(r):<34} {r['rows']:>10,} {mb:7.1f} {r['seconds']:6.1f} "
            f"{r['rows'] / r['seconds']:9,.0f} {covered / r['seconds']:9,.0f} "
            f"{mb / r['seconds']:6.1f} {r['first']:6.2f} "
            f"{r['before']:7.0f} {r['peak']:6.0f} {r['peak'] - r['before']:+7.0f}  "
            + "/".join(f"{x:.1f}" for x in r["cpu"])
        )
        if r["expected"] is not None and r["rows"] != r["expected"]:
            problems.append(f"{r['shape']}/{r['format']}: {r['rows']} rows, want {r['expected']}")
    print(c.machine_line())
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
