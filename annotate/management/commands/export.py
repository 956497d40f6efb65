"""``manage.py export PROJECT_ID``: the command-line twin of the export API, streamed to a file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotate import exporting
from annotate.models import Project
from annotate.tasktypes import task_types
from annotate.tasktypes.base import ShapeOption
from core.errors import InvalidInput


def _declared_options() -> dict[str, tuple[ShapeOption, list[str]]]:
    """Every option the task types declare on their shapes: name -> (option, shape names)."""
    options: dict[str, tuple[ShapeOption, list[str]]] = {}
    for plugin in task_types():
        for spec in plugin.export_shapes():
            for option in spec.options:
                options.setdefault(option.name, (option, []))[1].append(spec.name)
    return options


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class Command(BaseCommand):
    help = (
        "Export a project's rows (annotations, items, or one of its task type's own shapes, "
        "with their options) as JSON Lines, CSV or Parquet, streamed at constant memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_id", type=int)
        parser.add_argument(
            "--shape",
            default="annotations",
            help="annotations (default), items, or one of the task type's own shapes",
        )
        parser.add_argument(
            "--format", choices=list(exporting.FORMATS), default="jsonl", dest="fmt"
        )
        parser.add_argument(
            "--output",
            "-o",
            help="file to write, or - for standard output; default project-<id>-<shape>.<ext>",
        )
        parser.add_argument(
            "--identities",
            action="store_true",
            help="real usernames instead of pseudonymous annotator ids",
        )
        # One flag per option the task types declare on their shapes (e.g. --diverging).
        for name, (option, shapes) in _declared_options().items():
            parser.add_argument(
                _flag(name),
                dest=f"shape_option_{name}",
                choices=list(option.values()),
                help=f"{', '.join(shapes)}: {option.help or option.label}",
            )
        parser.add_argument(
            "--include-flagged",
            action="store_true",
            help="keep the annotations of flagged (paused) annotators, left out by default",
        )

    def handle(
        self,
        *args: Any,
        project_id: int,
        shape: str,
        fmt: str,
        output: str | None,
        identities: bool,
        include_flagged: bool = False,
        **options: Any,
    ) -> None:
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"no project with id {project_id}")
        options_for_shape = {
            name: options[f"shape_option_{name}"]
            for name in _declared_options()
            if options.get(f"shape_option_{name}") is not None
        }
        declared = {
            option.name
            for spec in exporting.export_shape_specs(project)
            if spec.name == shape
            for option in spec.options
        }
        for name in options_for_shape:
            if name not in declared and shape in exporting.export_shapes(project):
                raise CommandError(f"{_flag(name)} does not apply to the {shape} shape")
        try:
            rows = exporting.export_rows(
                project,
                shape=shape,
                identities=identities,
                options=options_for_shape,
                include_flagged=include_flagged,
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from None

        extension = exporting.FORMATS[fmt][1]
        output = output or f"project-{project.pk}-{shape}.{extension}"
        bar = tqdm(
            desc=f"exporting {shape}",
            unit=" rows",
            file=getattr(self.stderr, "_out", sys.stderr),
            disable=options["verbosity"] == 0,
        )
        written = 0  # counted here: a disabled bar (-v0) counts nothing

        def progress(n: int) -> None:
            nonlocal written
            written += n
            bar.update(n)

        with bar:
            chunks = exporting.export_bytes(rows, fmt=fmt, progress=progress)
            if output == "-":
                self._to_stdout(chunks, fmt)
            else:
                self._to_file(chunks, Path(output))
        where = "standard output" if output == "-" else output
        # The summary goes to stderr when the data goes to stdout, so that stdout stays clean.
        report = self.stderr if output == "-" else self.stdout
        report.write(self.style.SUCCESS(f"Exported {written} {shape} rows ({fmt}) to {where}."))

    def _to_file(self, chunks: Iterable[bytes], path: Path) -> None:
        # Written next to the target and renamed at the end, so that a failed export never
        # leaves a truncated file under the name asked for.
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"cannot write {path}: {exc.strerror}") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def _to_stdout(self, chunks: Iterable[bytes], fmt: str) -> None:
        stream: IO[Any] = getattr(self.stdout, "_out", sys.stdout)
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            stream.flush()
            for chunk in chunks:
                binary.write(chunk)
            binary.flush()
        elif fmt == "parquet":
            raise CommandError("Parquet is binary; write it to a file with --output")
        else:  # a text stream without a binary buffer (e.g. captured output)
            for chunk in chunks:
                stream.write(chunk.decode())
