"""Run a batch job over a MongoDB collection, in _id ranges, with checkpoints."""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from audit.context import AuditedCommand
from catalog.services.offline.jobs import job_list
from catalog.services.offline.runner import JobResult, job_run
from catalog.services.offline.walk import JobError, where_parse


class Command(AuditedCommand):
    help = "Run an offline batch job over a MongoDB collection (see --list)."

    def add_arguments(self, parser):
        parser.add_argument("job", nargs="?", help="the job to run")
        parser.add_argument("--list", action="store_true", help="list the jobs and exit")
        parser.add_argument("--collection", help="the collection (default: the job's first)")
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument("--limit", type=int, help="process at most this many documents")
        parser.add_argument(
            "--where",
            action="append",
            metavar="FIELD=VALUE",
            help="only documents whose FIELD equals VALUE (repeat to combine)",
        )
        parser.add_argument(
            "--resume", action="store_true", help="start after the last checkpointed batch"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        if options["list"]:
            for job in job_list():
                self.stdout.write(
                    f"{job.name:<14} {job.description} [{', '.join(job.collections)}]"
                )
            return
        if not options["job"]:
            raise CommandError("name a job (process_offline --list shows them)")
        try:
            result = job_run(
                job=options["job"],
                collection=options["collection"],
                batch_size=options["batch_size"],
                limit=options["limit"],
                where=where_parse(options["where"]),
                resume=options["resume"],
                progress=not options["no_progress"],
            )
        except JobError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2, default=str))
        else:
            self._print_report(result)
        if not result.ok:
            raise CommandError(f"{result.failed} document(s) failed")

    def _print_report(self, result: JobResult) -> None:
        start = f", resumed after {result.resumed_from!r}" if result.resumed_from else ""
        self.stdout.write(f"{result.job} on {result.collection}{start}")
        self.stdout.write(
            f"batches {result.batches}, processed {result.processed}, updated {result.updated}, "
            f"unchanged {result.unchanged}, failed {result.failed}"
        )
        for name, value in result.counts.items():
            self.stdout.write(f"{name} {value}")
        for error in result.errors:
            self.stderr.write(f"error: {error}")
        if result.complete:
            self.stdout.write(f"complete ({result.total_processed} documents in all runs)")
        else:
            self.stdout.write(f"stopped after {result.last_id!r}: run again with --resume")
