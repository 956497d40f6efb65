"""``manage.py compute_agreement PROJECT_ID``: compute, store and print a project's figures."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from analysis import selectors, snapshots, tables
from analysis.figures import Figures
from annotate.models import Project


class Command(BaseCommand):
    help = "Compute a project's agreement, annotator, divergence and model-vs-human figures."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print the figures as JSON"
        )

    def handle(self, *args: Any, project_id: int, as_json: bool = False, **options: Any) -> None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"no project {project_id}")
        snapshot = snapshots.analysis_refresh(project_id=project.pk)
        assert snapshot is not None
        figures = Figures.from_dict(snapshot.data)
        divergence = selectors.divergence_report(project=project, figures=figures)
        if as_json:
            self.stdout.write(_dumps({**figures.to_dict(), "divergence": divergence.to_dict()}))
            return
        self.stdout.write(
            f"Project {project.pk}: {project.name} ({project.task_type}); "
            f"{figures.n_annotations} annotations by {figures.n_annotators} "
            f"annotators on {figures.n_items_annotated} items; computed in "
            f"{snapshot.seconds:.2f} s"
        )
        sections = [(name, table(figures)) for name, table in tables.AGREEMENT_TABLES.items()]
        if figures.divergence:
            sections += [
                (f"divergence {name}", table(divergence))
                for name, table in tables.DIVERGENCE_TABLES.items()
                if name != "items"
            ]
        for name, table in sections:
            self.stdout.write(f"\n== {name}")
            self.stdout.write(tables.to_text(table) if table[1] else "(none)")


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
