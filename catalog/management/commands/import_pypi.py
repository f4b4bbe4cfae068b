import json

from django.core.management.base import CommandError

from audit.context import AuditedCommand
from catalog.services.importing.run import package_import


class Command(AuditedCommand):
    help = (
        "Import PyPI JSON API documents (/pypi/<name>/json) from files or directories. "
        "Each package is written atomically; bad documents are reported and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="JSON files, or directories of *.json files")
        parser.add_argument("--json", action="store_true", help="print a machine-readable report")

    def handle(self, *args, **options):
        report = package_import(paths=options["paths"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            for outcome in report.outcomes:
                if outcome.status == "failed":
                    self.stderr.write(f"FAILED {outcome.source}: {outcome.field}: {outcome.reason}")
                elif outcome.status == "skipped":
                    self.stdout.write(
                        f"skipped {outcome.source} ({outcome.name}): {outcome.reason}"
                    )
                elif options["verbosity"] > 1:
                    self.stdout.write(f"{outcome.status} {outcome.name} from {outcome.source}")
            self.stdout.write(
                f"{report.imported} imported, {report.updated} updated, "
                f"{report.unchanged} unchanged, {report.skipped} skipped, "
                f"{report.failed} failed in {report.seconds:.2f}s."
            )
        if not report.ok:
            raise CommandError(f"{report.failed} document(s) failed to import.")
