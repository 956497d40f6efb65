"""``manage.py import_predictions PROJECT_ID FILE --model NAME``: the command-line twin of
``POST /api/v1/projects/{id}/predictions/``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate.management.files import input_stream, refused
from annotate.models import Project
from core.errors import InvalidInput
from core.records import FORMATS, detect_format
from models_runtime.predictions_import import UNKNOWN_CHOICES, predictions_import


class Command(BaseCommand):
    help = (
        "Import a model's predictions into a project as a finished run, from a JSON Lines, JSON "
        "array or CSV file (or - for stdin); --adapter reads a paper's own layout (derailment: "
        "ltm). All or nothing: every bad line is listed. --unknown skip leaves out rows whose "
        "external_id is not an item of the project, and counts them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("file", help="path of the file to import, or - for standard input")
        parser.add_argument("--model", required=True, help="the model's name")
        parser.add_argument("--format", choices=FORMATS, dest="fmt")
        parser.add_argument("--adapter", help="prediction adapter of the task type, e.g. ltm")
        parser.add_argument("--unknown", choices=UNKNOWN_CHOICES, default="error")

    def handle(self, *args: Any, project_id: int, file: str, **options: Any) -> None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"no project with id {project_id}")
        fmt = options["fmt"] or (detect_format(filename=file) if file != "-" else None)
        try:
            with input_stream(file) as stream:
                result = predictions_import(
                    project=project,
                    model_name=options["model"],
                    stream=stream,
                    fmt=fmt,
                    adapter=options["adapter"],
                    unknown=options["unknown"],
                )
        except InvalidInput as exc:
            raise refused(exc, self.stderr) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.n_predictions} predictions into project {project.pk} as run "
                f"{result.run.pk} ({result.run.model_name}); {result.n_skipped_unknown} rows "
                "skipped (no such item)."
            )
        )
