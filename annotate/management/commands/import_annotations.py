"""``manage.py import_annotations PROJECT_ID FILE``: the command-line twin of ``POST
/api/v1/projects/{id}/annotations/`` (existing labels in, as external annotators)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotate import services
from annotate.management.files import input_stream, refused
from annotate.models import Project
from core.errors import InvalidInput
from core.records import FORMATS, detect_format


class Command(BaseCommand):
    help = (
        "Import existing labels into a project from a JSON Lines, JSON array or CSV file (or - "
        "for stdin): rows {external_id, annotator, value, created_at?, time_spent_ms?, "
        "metadata?, cohort?}. Each annotator becomes an external annotator of the project. All "
        "or nothing: if any row is invalid, nothing is imported and every bad line is listed. "
        "A label already imported for the same item and annotator is updated (its earlier "
        "version kept in history)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", type=int, help="the project's id")
        parser.add_argument("file", help="path of the file to import, or - for standard input")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            dest="fmt",
            help="file format; by default taken from the file name, else sniffed from the content",
        )

    def handle(self, *args: Any, project: int, file: str, fmt: str | None, **options: Any) -> None:
        target = Project.objects.filter(pk=project).first()
        if target is None:
            raise CommandError(f"no project with id {project}")
        fmt = fmt or (detect_format(filename=file) if file != "-" else None)
        with input_stream(file) as stream:
            result = self._import(target, stream, fmt)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.total} labels into project {target.pk} ({target.name}): "
                f"{result.created} created, {result.updated} updated, {result.unchanged} "
                f"unchanged; {result.annotators_created} new external annotators."
            )
        )

    def _import(
        self, project: Project, stream: Any, fmt: str | None
    ) -> services.LabelsImportResult:
        try:
            return services.labels_import(project=project, stream=stream, fmt=fmt)
        except InvalidInput as exc:
            raise refused(exc, self.stderr) from None
