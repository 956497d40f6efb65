"""Benchmark: what adaptive overlap costs (issue #12 point 10).

    .venv/bin/python bench/adaptive_overlap.py
    .venv/bin/python bench/adaptive_overlap.py --items 20000 --submits 2000

Creates its own database. Two figures, each a ratio or a rate measured in this one run:

1. The submit path, in process (services, no HTTP): five annotators in turn reserve and submit
   on two preference-pair projects seeded alike (overlap 3), one without the option and one with it
   (``adaptive_extra`` 2, first 3 labels, threshold 1), in alternating blocks so that both see
   the same machine load. Prints the seconds per reserve+submit of each and their ratio (on/off).
2. The set-based pass (``adaptive_extend_items``) that a settings change (``project_update``) and a
   labels import run: a project with N items seeded in SQL with 3 annotations each (votes spread
   so that about half the items disagree), then ``project_update(adaptive_extra=2)`` timed;
   prints items decided per second and how many were extended (checked against SQL).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common as c  # noqa: E402


def submit_path(*, items: int, submits: int, block: int) -> None:
    from annotate import services
    from annotate.models import Project

    projects = {}
    for name, extra in (("off", 0), ("on", 2)):
        project_id = c.seed_project(name=f"adaptive-{name}", overlap=3)
        Project.objects.filter(pk=project_id).update(adaptive_extra=extra)
        with c.db_connect(ARGS) as conn:
            c.seed_items_sql(
                conn, project_id=project_id, n_items=items, prompt_chars=200, response_chars=1000
            )
        users = c.seed_users(project_id=project_id, annotators=5, leads=0)["annotator"]
        projects[name] = (Project.objects.get(pk=project_id), users)

    from django.contrib.auth import get_user_model

    User = get_user_model()
    annotators = {
        name: [User.objects.get(pk=user_id) for user_id, _token in users]
        for name, (_project, users) in projects.items()
    }
    spent = {"off": 0.0, "on": 0.0}
    done = {"off": 0, "on": 0}
    # Five annotators in turn: the first three disagree, so on the 'on' project every item is
    # extended to 5 and the last two fill it; on the 'off' one items are done at 3.
    votes = (-2, 2, 1, 0, 0)
    order = ("off", "on")
    while min(done.values()) < submits:
        for name in order:
            project = projects[name][0]
            started = time.perf_counter()
            for n in range(block):
                index = (done[name] + n) % len(votes)
                annotator = annotators[name][index]
                assignment = services.assignment_reserve_next(project=project, annotator=annotator)
                if assignment is None:
                    raise RuntimeError("ran out of items: raise --items")
                services.annotation_submit(
                    assignment_id=assignment.pk,
                    annotator=annotator,
                    value={"preference": votes[index]},
                )
            spent[name] += time.perf_counter() - started
            done[name] += block
        order = order[::-1]
    per = {name: spent[name] / done[name] * 1000 for name in spent}
    extended = projects["on"][0].items.filter(extra_overlap__gt=0).count()
    print(
        f"submit path: {done['off']} reserve+submit each; off {per['off']:.2f} ms, "
        f"on {per['on']:.2f} ms; ratio on/off {per['on'] / per['off']:.3f} "
        f"({extended} items extended in the 'on' project)"
    )


def settings_pass(*, items: int) -> None:
    from annotate import services
    from annotate.models import Annotation, Assignment, Item, Project

    project_id = c.seed_project(name="adaptive-pass", overlap=3)
    users = [
        user_id
        for user_id, _ in c.seed_users(project_id=project_id, annotators=3, leads=0)["annotator"]
    ]
    with c.db_connect(ARGS) as conn:
        c.seed_items_sql(
            conn,
            project_id=project_id,
            n_items=items,
            prompt_chars=200,
            response_chars=1000,
            n_submitted=3,
        )
        started = time.perf_counter()
        c.insert_select(
            conn,
            Assignment,
            {
                "project": "i.project_id",
                "item": "i.id",
                "annotator": "u.id",
                "status": "'submitted'",
                "reserved_at": "now()",
                "expires_at": "now()",
                "finished_at": "now()",
            },
            "FROM annotate_item i CROSS JOIN auth_user u "
            "WHERE i.project_id = %(project)s AND u.id = ANY(%(users)s)",
            {"project": project_id, "users": users},
        )
        # Votes -2..2 from the item and the annotator: about half the items spread over 1 point.
        c.insert_select(
            conn,
            Annotation,
            {
                "assignment": "a.id",
                "project": "a.project_id",
                "item": "a.item_id",
                "annotator": "a.annotator_id",
                "value": "jsonb_build_object('preference', "
                "((a.item_id * 7 + a.annotator_id * (a.item_id %% 3)) %% 5) - 2)",
            },
            "FROM annotate_assignment a WHERE a.project_id = %(project)s",
            {"project": project_id},
        )
        conn.execute("ANALYZE annotate_annotation")
        print(f"seeded {items} items x 3 annotations in {time.perf_counter() - started:.1f} s")
        expected = c.scalar(
            conn,
            "SELECT count(*) FROM (SELECT item_id, max((value->>'preference')::int) - "
            "min((value->>'preference')::int) AS spread FROM annotate_annotation "
            "WHERE project_id = %s GROUP BY item_id) s WHERE spread > 1",
            [project_id],
        )
    project = Project.objects.get(pk=project_id)
    started = time.perf_counter()
    services.project_update(project=project, adaptive_extra=2)
    seconds = time.perf_counter() - started
    extended = Item.objects.filter(project=project, extra_overlap=2).count()
    status = "as SQL counts" if extended == expected else f"SQL counts {expected}: MISMATCH"
    print(
        f"settings pass: {items} items decided in {seconds:.2f} s "
        f"({items / seconds:,.0f} items/s); {extended} extended ({status})"
    )


ARGS: argparse.Namespace


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20000, help="items of the pass' project")
    parser.add_argument("--submits", type=int, default=1500, help="submits per project")
    parser.add_argument("--block", type=int, default=150, help="submits per alternating block")
    c.add_db_arguments(parser)
    ARGS = parser.parse_args()
    print(c.machine_line(at_start=True))
    busy = c.busy_cpu_seconds()
    with c.bench_database(ARGS):
        submit_path(items=ARGS.submits, submits=ARGS.submits, block=ARGS.block)
        settings_pass(items=ARGS.items)
    print(f"machine CPU seconds busy meanwhile: {c.busy_cpu_seconds() - busy:.1f}")
    print(c.machine_line())


if __name__ == "__main__":
    main()
