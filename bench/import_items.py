"""Benchmark: importing preference pairs from JSON Lines (SPEC 8).

    .venv/bin/python bench/import_items.py --items 100000

Writes JSONL files of realistic preference pairs (prompt ~200 characters, responses 1-2 KB each)
to a temporary folder, then times ``annotate.services.items_import`` on each in its own process
(django.setup(), production settings, own database), so every size starts from the same memory.
By default it imports N/10 and N items, to show whether memory grows with the file. For each size
it prints items/s, RSS growth over the import (sampled every 20 ms, psutil) and, in a second run of
the same file, the tracemalloc peak (tracemalloc slows Python down, so that run is not timed).

Target (SPEC 8): >= 20,000 preference-pair items per second, memory flat in the file size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as c  # noqa: E402

WORDS = [
    "the", "model", "answer", "question", "because", "however", "response", "should", "would",
    "data", "example", "result", "first", "second", "step", "therefore", "consider", "function",
    "value", "which", "error", "python", "return", "list", "include", "explain", "simple",
    "better", "clear", "code", "test", "input", "output", "case", "number", "string", "user",
    "system", "approach", "method", "reason", "detail", "also", "more", "than", "this", "that",
]  # fmt: skip


def write_jsonl(path: Path, n: int, *, prompt_chars: int, response_chars: tuple[int, int]) -> int:
    """``n`` preference pairs, one JSON object per line; returns the file's size in bytes."""
    rng = random.Random(n)
    corpus = " ".join(rng.choice(WORDS) for _ in range(400_000))
    top = len(corpus) - response_chars[1] - 1

    def text(length: int) -> str:
        start = rng.randrange(top)
        return corpus[start : start + length]

    dumps = json.JSONEncoder(ensure_ascii=False).encode
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            record = {
                "external_id": f"pair-{i}",
                "prompt": text(prompt_chars),
                "response_a": text(rng.randint(*response_chars)),
                "response_b": text(rng.randint(*response_chars)),
                "model_a": "model-x",
                "model_b": "model-y",
                "metadata": {"source": "bench", "n": i},
            }
            out.write(dumps(record) + "\n")
    return path.stat().st_size


# --- child: one import in a fresh process


def _rss_sampler(stop: threading.Event, peak: list[int]) -> None:
    import psutil

    process = psutil.Process()
    while not stop.is_set():
        peak[0] = max(peak[0], process.memory_info().rss)
        stop.wait(0.02)


def child(args: argparse.Namespace) -> None:
    import tracemalloc

    import psutil

    c.django_setup(c.bench_env(args.server, args.db))
    import io

    from annotate.models import Project
    from annotate.services import items_import

    # Warm up: load the task type, pydantic schemas and the ORM paths before measuring.
    warm = Project.objects.create(name="warm-up", task_type="preference_pair", overlap=3)
    sample = json.dumps({"external_id": "w", "prompt": "p", "response_a": "a", "response_b": "b"})
    items_import(project=warm, stream=io.BytesIO(sample.encode()), fmt="jsonl")
    project = Project.objects.create(name="bench import", task_type="preference_pair", overlap=3)

    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = [baseline]
    stop = threading.Event()
    sampler = threading.Thread(target=_rss_sampler, args=(stop, peak), daemon=True)
    profiler = None
    if args.tracemalloc:
        tracemalloc.start()
    elif args.profile:
        import cProfile

        profiler = cProfile.Profile()
    sampler.start()
    pg_before = c.postgres_cpu(args.db)
    busy_before = c.busy_cpu_seconds()
    cpu_before = time.process_time()
    started = time.perf_counter()
    with open(args.child, "rb") as stream:
        if profiler:
            profiler.enable()
        result = items_import(project=project, stream=stream, fmt="jsonl")
        if profiler:
            profiler.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    pg = c.cpu_used(pg_before, c.postgres_cpu(args.db))
    other = max(0.0, c.busy_cpu_seconds() - busy_before - cpu - pg)
    stop.set()
    sampler.join()
    traced_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    if profiler:
        import pstats

        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(20)
    out = {
        "created": result.created,
        "seconds": seconds,
        "cpu": [cpu, pg, other],
        "rss_growth": peak[0] - baseline,
        "baseline_rss": baseline,
        "tracemalloc_peak": traced_peak,
    }
    print("RESULT " + json.dumps(out))


def run_child(args: argparse.Namespace, path: Path, *, tracemalloc: bool) -> dict[str, Any]:
    command = [
        c.PYTHON, os.path.abspath(__file__), "--child", str(path),
        "--db", args.db, "--server", args.server,
    ]  # fmt: skip
    if tracemalloc:
        command.append("--tracemalloc")
    elif args.profile:
        command.append("--profile")
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line.removeprefix("RESULT ")))
    raise RuntimeError(f"no result from the import process:\n{done.stdout}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="the largest file's items")
    parser.add_argument(
        "--sizes", help="comma-separated item counts to import (default: N/10 and N)"
    )
    parser.add_argument("--prompt-chars", type=int, default=200)
    parser.add_argument("--response-min", type=int, default=1000)
    parser.add_argument("--response-max", type=int, default=2000)
    parser.add_argument(
        "--no-tracemalloc", action="store_true", help="skip the tracemalloc run of each size"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a cProfile of each timed import on stderr"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    c.add_db_arguments(parser)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else sorted({max(1, args.items // 10), args.items})
    )
    print(c.machine_line(at_start=True))
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    rows = []
    try:
        with c.bench_database(args, django=False):
            for n in sizes:
                path = folder / f"pairs-{n}.jsonl"
                started = time.perf_counter()
                size = write_jsonl(
                    path, n, prompt_chars=args.prompt_chars,
                    response_chars=(args.response_min, args.response_max),
                )  # fmt: skip
                print(
                    f"wrote {n:,} pairs ({size / 2**20:,.1f} MB, {size / n:,.0f} bytes/item) "
                    f"in {time.perf_counter() - started:.1f} s"
                )
                with c.db_connect(args) as conn:  # each import starts from empty tables
                    conn.execute("TRUNCATE annotate_item, annotate_project CASCADE")
                timed = run_child(args, path, tracemalloc=False)
                assert timed["created"] == n, timed
                traced = None
                if not args.no_tracemalloc:
                    with c.db_connect(args) as conn:
                        conn.execute("TRUNCATE annotate_item, annotate_project CASCADE")
                    traced = run_child(args, path, tracemalloc=True)["tracemalloc_peak"]
                rows.append((n, size, timed, traced))
                path.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print("\nitems_import, JSONL, one process, in one transaction (target >= 20,000 items/s):")
    print(
        f"{'items':>9} {'file MB':>8} {'seconds':>8} {'items/s':>9} {'RSS +MB':>8} "
        f"{'traced MB':>9}  CPU s (import/pg/other)  CPU us/item (import/pg)"
    )
    for n, size, timed, traced in rows:
        traced_mb = f"{traced / 2**20:9.1f}" if traced is not None else f"{'-':>9}"
        print(
            f"{n:>9,} {size / 2**20:8.1f} {timed['seconds']:8.2f} {n / timed['seconds']:9,.0f} "
            f"{timed['rss_growth'] / 2**20:8.1f} {traced_mb}  "
            + "/".join(f"{x:.1f}" for x in timed["cpu"])
            + f"  {timed['cpu'][0] / n * 1e6:.0f}/{timed['cpu'][1] / n * 1e6:.0f}"
        )
    for n, _, timed, _ in rows:
        # What the CPU cost allows where the import and PostgreSQL have the machine's cores to
        # themselves: each side at most one core, both at most all of them.
        py_cpu, pg_cpu = timed["cpu"][0], timed["cpu"][1]
        cores = os.cpu_count() or 1
        bound = max(py_cpu, pg_cpu, (py_cpu + pg_cpu) / cores)
        print(f"{n:,} items: {n / bound:,.0f} items/s were the machine's {cores} cores free")
    if len(rows) > 1:
        (_, s0, t0, m0), (_, s1, t1, m1) = rows[0], rows[-1]
        growth = (t1["rss_growth"] - t0["rss_growth"]) / 2**20
        line = f"memory vs file size: {s1 / s0:.0f}x the file, RSS growth {growth:+.1f} MB"
        if m0 is not None and m1 is not None:
            line += f", tracemalloc peak {(m1 - m0) / 2**20:+.1f} MB"
        print(line)
    print(c.machine_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
