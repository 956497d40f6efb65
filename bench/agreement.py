"""Benchmark: Krippendorff's alpha with a 1,000-sample bootstrap from the database (SPEC 8).

    .venv/bin/python bench/agreement.py --items 100000 --annotators 4

Seeds, in SQL (``INSERT ... SELECT generate_series``), a ``preference_pair`` project in its own
database with N items and every one of M annotators voting on every item (ordinal votes -2..2 near
a per-item truth, about a third off by one step), then times, each the median of ``--repeats``:

- the reliability matrix read from the database (``analysis.selectors.reliability_data``: one
  query, JSON path read in SQL, one row per annotator of binary arrays (its items, its values)
  read with ``np.frombuffer``, placed into an annotators x items NumPy array);
- ordinal alpha with a ``--samples`` bootstrap on it (``stats``);
- the two together: the SPEC 8 figure (target under 2 s for 100,000 items x 4 annotators; issue
  11's: under 0.5 s);
- for comparison, in the same run, the same alpha through the `krippendorff` package on the same
  matrix (the two alphas are printed with their difference);
- the dashboard's whole computation (``analysis.figures.agreement_compute``: every field,
  annotators, statuses, Dawid-Skene, ...), which runs in Celery for projects this big: once as
  a warm-up, then the median of ``--repeats`` (issue 11's target: under 2 s), and the CPU
  seconds per run it took in this process and in PostgreSQL (this database's backends and the
  shared background processes, as ``next_submit.py`` counts them): on a busy machine the wall
  clock waits for other work, the CPU seconds much less.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as c  # noqa: E402


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def seed_votes(args: argparse.Namespace, project_id: int, annotator_ids: list[int]) -> float:
    """Assignments and annotations for every (item, annotator), in two INSERT ... SELECTs."""
    from annotate.models import Annotation, Assignment

    started = time.perf_counter()
    annotators = ", ".join(f"({int(a)})" for a in annotator_ids)
    with c.db_connect(args) as conn:
        c.insert_select(
            conn,
            Assignment,
            {
                "project": "%(project)s",
                "item": "i.id",
                "annotator": "u.id",
                "status": "'submitted'",
                "shown_order": """CASE WHEN random() < 0.5
                THEN '{"left": "a", "right": "b"}'::jsonb
                ELSE '{"left": "b", "right": "a"}'::jsonb END""",
                "reserved_at": "now()",
                "expires_at": "now() + interval '30 minutes'",
                "finished_at": "now()",
            },
            f"FROM annotate_item i CROSS JOIN (VALUES {annotators}) u(id) "
            "WHERE i.project_id = %(project)s",
            {"project": project_id},
        )
        vote = """least(2, greatest(-2, ((s.item_id * 7919) %% 5 - 2) + CASE
            WHEN random() < 0.17 THEN -1 WHEN random() < 0.2 THEN 1 ELSE 0 END))"""
        c.insert_select(
            conn,
            Annotation,
            {
                "assignment": "s.id",
                "project": "%(project)s",
                "item": "s.item_id",
                "annotator": "s.annotator_id",
                "value": f"""jsonb_build_object('preference', {vote}, 'aspects', '{{}}'::jsonb,
                'rationale', '', 'flags', '[]'::jsonb)""",
                "shown_order": "s.shown_order",
                "time_spent_ms": "(5000 + random() * 30000)::int",
                "version": "1",
            },
            "FROM annotate_assignment s WHERE s.project_id = %(project)s",
            {"project": project_id},
        )
        conn.execute("ANALYZE annotate_assignment")
        conn.execute("ANALYZE annotate_annotation")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=4)
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--repeats", type=int, default=5, help="runs per timing (median)")
    c.add_db_arguments(parser)
    args = parser.parse_args()

    print(c.machine_line(at_start=True))
    with c.bench_database(args):
        import krippendorff

        from analysis import selectors
        from analysis.figures import agreement_compute
        from analysis.figures.fields import BOOTSTRAP_SAMPLES
        from annotate.models import Project
        from annotate.tasktypes import get_task_type
        from stats.alpha import krippendorff_alpha_bootstrap

        project_id = c.seed_project(name="bench agreement", overlap=args.annotators)
        users = c.seed_users(project_id=project_id, annotators=args.annotators)
        with c.db_connect(args) as conn:
            items_s = c.seed_items_sql(
                conn,
                project_id=project_id,
                n_items=args.items,
                prompt_chars=100,
                response_chars=300,
                n_submitted=args.annotators,
            )
        votes_s = seed_votes(args, project_id, [uid for uid, _ in users["annotator"]])
        n_votes = args.items * args.annotators
        print(
            f"seeded {args.items:,} items in {items_s:.1f} s and {n_votes:,} votes "
            f"({args.annotators} per item) in {votes_s:.1f} s, in SQL"
        )

        project = Project.objects.get(pk=project_id)
        fields = get_task_type("preference_pair").agreement_fields({})
        ordinal = [f for f in fields if f.name == "preference"]

        def read() -> object:
            return selectors.reliability_data(project=project, fields=ordinal)

        read_s, rd = median_seconds(read, args.repeats)
        data = rd.fields["preference"].data  # type: ignore[attr-defined]

        def ours() -> object:
            return krippendorff_alpha_bootstrap(
                data, level="ordinal", n_samples=args.samples, seed=1
            )

        alpha_s, interval = median_seconds(ours, args.repeats)

        def both() -> object:
            matrix = selectors.reliability_data(project=project, fields=ordinal)
            return krippendorff_alpha_bootstrap(
                matrix.fields["preference"].data, level="ordinal", n_samples=args.samples, seed=1
            )

        total_s, _ = median_seconds(both, args.repeats)
        package_s, package_alpha = median_seconds(
            lambda: krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal"),
            max(1, min(3, args.repeats)),
        )
        agreement_compute(project=project)  # warm-up: imports, first queries
        dashboard_repeats = max(1, min(3, args.repeats))
        python_before, postgres_before = time.process_time(), c.postgres_cpu(args.db)
        dashboard_s, _ = median_seconds(
            lambda: agreement_compute(project=project), dashboard_repeats
        )
        python_cpu = (time.process_time() - python_before) / dashboard_repeats
        postgres_cpu = c.cpu_used(postgres_before, c.postgres_cpu(args.db)) / dashboard_repeats

        print(f"matrix {data.shape[0]} x {data.shape[1]:,} from the database: {read_s:.3f} s")
        print(
            f"ours: ordinal alpha + {args.samples:,}-sample bootstrap: {alpha_s:.3f} s "
            f"(alpha {interval.alpha:.6f}, 95% [{interval.low:.6f}, {interval.high:.6f}])"
        )
        difference = abs(interval.alpha - package_alpha)
        print(
            f"krippendorff package: ordinal alpha alone: {package_s:.3f} s "
            f"(alpha {package_alpha:.6f}, |difference| {difference:.1e})"
        )
        print(
            f"whole dashboard computation (every field, annotators, statuses, "
            f"{BOOTSTRAP_SAMPLES:,} resamples per field; median of "
            f"{dashboard_repeats} after a warm-up): {dashboard_s:.2f} s; CPU per run (mean): "
            f"{python_cpu:.2f} s Python + {postgres_cpu:.2f} s PostgreSQL = "
            f"{python_cpu + postgres_cpu:.2f} s"
        )
        print()
        print(c.machine_line())
        verdict = "met" if total_s < 2.0 else "NOT met"
        print(
            f"SPEC 8: from the database, alpha + {args.samples:,}-sample bootstrap for "
            f"{args.items:,} items x {args.annotators} annotators: {total_s:.3f} s "
            f"(target < 2 s: {verdict}; issue 11's < 0.5 s: "
            f"{'met' if total_s < 0.5 else 'NOT met'})"
        )
        print(
            f"issue 11: whole dashboard computation {dashboard_s:.2f} s "
            f"(target < 2 s: {'met' if dashboard_s < 2.0 else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
