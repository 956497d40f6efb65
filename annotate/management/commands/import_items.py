"""``manage.py import_items PROJECT_ID FILE``: the command-line twin of the import API."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotate import services
from annotate.management.files import input_stream, refused
from annotate.models import Project
from core.errors import InvalidInput
from core.records import FORMATS, detect_format


class Command(BaseCommand):
    help = (
        "Import items into a project from a JSON Lines, JSON array or CSV file (or - for stdin). "
        "All or nothing: if any record is invalid, nothing is imported and every bad line is "
        "listed. Items whose external_id is already in the project are updated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument("file", help="path of the file to import, or - for standard input")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            dest="fmt",
            help="file format; by default taken from the file name, else sniffed from the content",
        )
        parser.add_argument("--adapter", help="import adapter of the task type, e.g. multipref")

    def handle(
        self,
        *args: Any,
        project_id: int,
        file: str,
        fmt: str | None,
        adapter: str | None,
        **options: Any,
    ) -> None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"no project with id {project_id}")
        fmt = fmt or (detect_format(filename=file) if file != "-" else None)
        # tqdm rewrites its line with "\r"; Django's OutputWrapper would append a newline to every
        # write, so the bar goes to the stream underneath it.
        bar = tqdm(
            desc="importing",
            unit=" items",
            file=getattr(self.stderr, "_out", sys.stderr),
            disable=options["verbosity"] == 0,
        )
        try:
            with input_stream(file) as stream:
                result = self._import(project, stream, fmt, adapter, bar)
        finally:
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.total} records into project {project.pk} ({project.name}): "
                f"{result.created} created, {result.updated} updated."
            )
        )
        if result.labels is not None:
            self.stdout.write(self.style.SUCCESS(f"Labels that came with them: {result.labels}"))

    def _import(
        self, project: Project, stream: Any, fmt: str | None, adapter: str | None, bar: tqdm
    ) -> services.ImportResult:
        try:
            return services.items_import(
                project=project, stream=stream, fmt=fmt, adapter=adapter, progress=bar.update
            )
        except InvalidInput as exc:
            bar.close()
            raise refused(exc, self.stderr) from None
