"""Start a model run from the command line and follow its progress until it finishes."""

from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotate.models import Project
from core.errors import ServiceError
from models_runtime import runs, selectors
from models_runtime.models import ModelRun


class Command(BaseCommand):
    help = (
        "Run a predictor over a project's items in the Celery workers (all items, or --status / "
        "--external-id / --limit), and show progress until it finishes (--no-wait to return at "
        "once). --resume RUN takes up a failed or stalled run where it stopped; --cancel RUN "
        "cancels one."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", type=int, help="project id")
        parser.add_argument("--predictor", help="predictor name or id")
        parser.add_argument("--status", choices=["open", "in_progress", "done"])
        parser.add_argument("--external-id", action="append", dest="external_ids")
        parser.add_argument("--limit", type=int)
        parser.add_argument("--no-wait", action="store_true", help="return once the run is queued")
        parser.add_argument("--timeout", type=float, default=0, help="stop waiting after seconds")
        parser.add_argument("--resume", type=int, metavar="RUN")
        parser.add_argument("--cancel", type=int, metavar="RUN")

    def handle(self, *args, **options) -> None:
        try:
            run = self._act(options)
        except ServiceError as exc:
            detail = f" {json.dumps(exc.as_dict()['errors'])}" if exc.detail else ""
            raise CommandError(f"{exc.message}{detail}") from None
        self.stdout.write(
            f"run {run.pk}: {run.model_name} on project {run.project_id}, "
            f"{run.n_items} items, {run.status}"
        )
        if options["no_wait"] or options["cancel"]:
            return
        run = self._follow(run, timeout=options["timeout"])
        self.stdout.write(
            f"run {run.pk} {run.status}: {run.n_done} of {run.n_items} items "
            f"predicted on {run.device or '?'}"
        )
        if run.status == ModelRun.Status.FAILED:
            raise CommandError(run.error or "the run failed")

    def _act(self, options) -> ModelRun:
        if options["cancel"]:
            return runs.model_run_cancel(run=self._run(options["cancel"]))
        if options["resume"]:
            return runs.model_run_resume(run=self._run(options["resume"]))
        if not options["project"] or not options["predictor"]:
            raise CommandError("give --project and --predictor (or --resume / --cancel RUN)")
        project = Project.objects.filter(pk=options["project"]).first()
        if project is None:
            raise CommandError(f"no project {options['project']}")
        predictor = selectors.predictor_find(options["predictor"])
        if predictor is None:
            raise CommandError(f"no predictor {options['predictor']!r}")
        filters = {
            key: options[key]
            for key in ("status", "external_ids", "limit")
            if options[key] is not None
        }
        return runs.model_run_start(project=project, predictor=predictor, filters=filters)

    @staticmethod
    def _run(run_id: int) -> ModelRun:
        run = ModelRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"no model run {run_id}")
        return run

    def _follow(self, run: ModelRun, *, timeout: float) -> ModelRun:
        """A progress bar from the run's counts, until it finishes (the work is in the workers)."""
        started = time.monotonic()
        with tqdm(total=run.n_items, unit="item", file=self.stderr._out) as bar:
            while True:
                run.refresh_from_db()
                bar.total = run.n_items
                bar.update(run.n_done - bar.n)
                if run.is_finished:
                    return run
                if timeout and time.monotonic() - started > timeout:
                    raise CommandError(f"run {run.pk} still {run.status} after {timeout:g} s")
                time.sleep(0.5)
