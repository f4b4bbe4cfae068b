import json

from django.core.management.base import CommandError

from audit.context import AuditedCommand
from catalog.services.seed import CatalogNotEmpty, catalog_seed
from catalog.services.seed_pypi import catalog_seed_pypi


class Command(AuditedCommand):
    help = "Build a deterministic synthetic catalog (same --seed, same catalog)."

    def add_arguments(self, parser):
        parser.add_argument("--packages", type=int, default=300, help="number of packages")
        parser.add_argument("--seed", type=int, default=1, help="random seed")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the catalog has packages"
        )
        parser.add_argument(
            "--profile",
            choices=["classic", "pypi"],
            default="classic",
            help="classic: about 100 releases per package, written through the ORM; pypi: "
            "PyPI's shape (about 11 releases per project, long-tailed), written with COPY",
        )
        parser.add_argument("--json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--audit", action="store_true", help="record an audit entry for every row written"
        )

    def handle(self, *args, **options):
        if options["packages"] < 1:
            raise CommandError("--packages must be at least 1.")
        if options["profile"] == "pypi" and options["audit"]:
            raise CommandError("--audit needs --profile classic (the pypi profile bulk-loads).")
        try:
            if options["profile"] == "pypi":
                result = catalog_seed_pypi(
                    projects=options["packages"], seed=options["seed"], if_empty=options["if_empty"]
                )
            else:
                result = catalog_seed(
                    packages=options["packages"],
                    seed=options["seed"],
                    batch_size=options["batch_size"],
                    if_empty=options["if_empty"],
                    audit=options["audit"],
                )
        except CatalogNotEmpty as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        elif result.skipped:
            self.stdout.write(f"Catalog already has {result.packages} packages; not seeding.")
        else:
            self.stdout.write(
                f"Seeded {result.packages} packages, {result.releases} releases, "
                f"{result.files} files, {result.users} users, {result.maintainers} maintainer "
                f"roles in {result.seconds:.1f}s; built {result.listings} release listings."
            )
            if result.stages:
                rate = result.releases / result.seconds if result.seconds else 0.0
                stages = ", ".join(f"{name} {sec:.1f} s" for name, sec in result.stages.items())
                self.stdout.write(f"{rate:,.0f} releases/s. Stages: {stages}.")
            if result.builds and options["verbosity"] >= 2:
                slowest = sorted(result.builds.items(), key=lambda item: -item[1])
                builds = ", ".join(f"{name} {sec:.1f} s" for name, sec in slowest)
                self.stdout.write(f"Built after the load: {builds}.")
