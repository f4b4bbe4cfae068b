"""A deterministic, realistic synthetic catalog for development, tests and benchmarks.

Same ``seed``, same catalog: every name, version, date, size and digest comes
from one ``random.Random(seed)``. Rows are written with ``bulk_create`` in
batches inside one transaction, so 100,000 releases take seconds.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, connections, transaction

from audit.context import audit_disabled
from catalog.models import (
    Classifier,
    License,
    Maintainer,
    Package,
    Release,
    ReleaseFile,
    SearchTerm,
    User,
)
from catalog.rendering import description_html_render
from catalog.services.listings import listings_refresh_all
from catalog.services.seed_vocabulary import (
    AUDIENCES,
    BASE_DATE,
    DESCRIPTION_MD,
    DESCRIPTION_RST,
    END_DATE,
    FEATURES,
    FIRST,
    FRAMEWORKS,
    LAST,
    LICENSE_WEIGHTS,
    LICENSES,
    OTHER,
    PYTHONS,
    STATUS,
    TOPICS,
    VERBS,
    WORDS_B,
    unique_name,
    version_history,
)
from catalog.versions import canonicalize_name


@dataclass
class SeedResult:
    users: int = 0
    licenses: int = 0
    classifiers: int = 0
    packages: int = 0
    releases: int = 0
    files: int = 0
    maintainers: int = 0
    # Kept listings built after the load (packages with many releases).
    listings: int = 0
    seconds: float = 0.0
    skipped: bool = False
    # Seconds per stage of the run, in order (the PyPI profile's bulk load fills it).
    stages: dict[str, float] = field(default_factory=dict)
    # Seconds of each index, key and foreign key built after the load.
    builds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


class CatalogNotEmpty(Exception):
    pass


def _release_count(rng: random.Random) -> int:
    # Long-tailed like PyPI: most packages have a few dozen releases, some hundreds.
    return max(1, min(450, int(rng.expovariate(1 / 100))))


def _sha(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def catalog_seed(
    *,
    packages: int,
    seed: int,
    batch_size: int = 2000,
    if_empty: bool = False,
    audit: bool = False,
) -> SeedResult:
    """Build a synthetic catalog of ``packages`` packages; refuse a non-empty catalog.

    Synthetic rows are not catalog changes anyone made, so they are not audited
    unless ``audit`` is set (an entry per row roughly doubles the run time).
    """
    with nullcontext() if audit else audit_disabled():
        return _catalog_seed(packages=packages, seed=seed, batch_size=batch_size, if_empty=if_empty)


def catalog_empty_check(*, if_empty: bool) -> SeedResult | None:
    """None when the catalog is empty; else a skipped result (``if_empty``) or CatalogNotEmpty."""
    if not Package.objects.exists():
        return None
    if if_empty:
        return SeedResult(skipped=True, packages=Package.objects.count())
    raise CatalogNotEmpty("The catalog already has packages; seed an empty database.")


def vocabulary_ensure() -> tuple[list[License], dict[str, Classifier]]:
    """The licenses and trove classifiers seeded packages draw from, created when missing."""
    licenses = [
        License.objects.get_or_create(name=name, defaults={"spdx_id": spdx})[0]
        for name, spdx, _ in LICENSES
    ]
    pool = sorted(
        set(STATUS + PYTHONS + TOPICS + FRAMEWORKS + AUDIENCES + OTHER)
        | {classifier for *_, classifier in LICENSES}
    )
    existing = set(Classifier.objects.filter(name__in=pool).values_list("name", flat=True))
    Classifier.objects.bulk_create([Classifier(name=n) for n in pool if n not in existing])
    return licenses, {c.name: c for c in Classifier.objects.filter(name__in=pool)}


def _catalog_seed(*, packages: int, seed: int, batch_size: int, if_empty: bool) -> SeedResult:
    started = time.perf_counter()
    skipped = catalog_empty_check(if_empty=if_empty)
    if skipped is not None:
        return skipped
    rng = random.Random(seed)
    result = SeedResult()
    with transaction.atomic():
        licenses, classifiers = vocabulary_ensure()
        result.licenses, result.classifiers = len(licenses), len(classifiers)

        users = _seed_users(rng, max(3, packages // 3), seed, batch_size)
        result.users = len(users)

        names: set[str] = set()
        for start in range(0, packages, 500):
            chunk = range(start, min(packages, start + 500))
            counts = _seed_package_chunk(
                rng, chunk, names, users, licenses, classifiers, batch_size
            )
            for key, value in counts.items():
                setattr(result, key, getattr(result, key) + value)
    planner_statistics_refresh()
    # bulk_create sends no signals: the listings are built here, once.
    result.listings = listings_refresh_all()
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def planner_statistics_refresh() -> None:
    """Refresh planner statistics after a bulk load (PostgreSQL plans blind without them).

    ANALYZE samples and sorts one table after another on one core. After the
    load has committed, the largest table (the files', half the time) is
    analyzed on a second connection while this one does the rest. Inside a
    transaction (a test's, a caller's) a second connection would wait for the
    load's locks: one connection does all.
    """
    if connection.vendor != "postgresql":
        return
    files = [ReleaseFile._meta.db_table]
    rest = [
        model._meta.db_table
        for model in (
            Package,
            Release,
            Maintainer,
            User,
            SearchTerm,
            Package.classifiers.through,
        )
    ]
    if connection.in_atomic_block or not connection.get_autocommit():
        _analyze(connection, files + rest)
        return
    failed: list[BaseException] = []

    def other() -> None:
        try:
            _analyze(connections[connection.alias], files)
        except BaseException as error:  # noqa: BLE001 - raised again by the caller's thread
            failed.append(error)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=other, name="analyze")
    thread.start()
    try:
        _analyze(connection, rest)
    finally:
        thread.join()
    if failed:
        raise failed[0]


def _analyze(conn, tables: list[str]) -> None:
    with conn.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(conn.ops.quote_name(t) for t in tables))


def _seed_users(rng: random.Random, count: int, seed: int, batch_size: int) -> list[User]:
    # One real hash shared by all seeded users: hashing per user would dominate the run.
    password = make_password(f"seed-{seed}")
    users = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        username = f"{first.lower()}{last.lower()}{i}"
        users.append(
            User(
                username=username,
                first_name=first,
                last_name=last,
                email=f"{first}.{last}{i}@Example.org" if i % 5 == 0 else f"{username}@example.org",
                homepage=f"https://{username}.example.org/" if rng.random() < 0.3 else "",
                password=password,
                date_joined=BASE_DATE + timedelta(days=rng.randint(0, 4000)),
            )
        )
    return User.objects.bulk_create(users, batch_size=batch_size)


def _seed_package_chunk(rng, chunk, names, users, licenses, classifiers, batch_size) -> dict:
    packages: list[Package] = []
    histories: list[list[str]] = []
    for index in chunk:
        display = unique_name(rng, names, index)
        name = canonicalize_name(display)
        module = name.replace("-", "_")
        article = rng.choice(["A", "The", "Yet another", "Minimal"])
        summary = f"{article} {name.replace('-', ' ')} library for Python"
        docs = f"https://{name}.readthedocs.io/"
        python = f"3.{rng.randint(6, 12)}"
        fmt = rng.random()
        fields = dict(
            display=display,
            name=name,
            module=module,
            summary=summary,
            docs=docs,
            verb=rng.choice(VERBS),
            feature1=rng.choice(FEATURES),
            feature2=rng.choice(FEATURES),
            python=python,
            underline="=" * len(display),
        )
        if fmt < 0.6:
            description, content_type = DESCRIPTION_MD.format(**fields), "text/markdown"
        elif fmt < 0.9:
            description, content_type = DESCRIPTION_RST.format(**fields), "text/x-rst"
        else:
            description, content_type = (
                f"{summary}.\n\nInstall with pip install {name}.",
                "text/plain",
            )
        license_index = rng.choices(range(len(licenses)), weights=LICENSE_WEIGHTS)[0]
        author = rng.choice(users)
        count = _release_count(rng)
        history = version_history(rng, count, legacy=index % 12 == 5)
        span_days = (END_DATE - BASE_DATE).days
        start = rng.randint(0, span_days - 30)
        created = BASE_DATE + timedelta(days=start, seconds=rng.randint(0, 86399))
        packages.append(
            Package(
                name=name,
                display_name=display,
                summary=summary,
                description=description,
                description_content_type=content_type,
                # bulk_create() skips save(), which renders it for every other write.
                description_html=description_html_render(description, content_type),
                keywords=",".join(sorted({rng.choice(WORDS_B) for _ in range(3)})),
                home_page=f"https://github.com/{author.username}/{name}",
                docs_url=docs if rng.random() < 0.5 else "",
                project_urls={
                    "Source": f"https://github.com/{author.username}/{name}",
                    "Issues": f"https://github.com/{author.username}/{name}/issues",
                    "Documentation": docs,
                },
                author=author.get_full_name(),
                author_email=author.email,
                license=licenses[license_index],
                license_text=licenses[license_index].name,
                created=created,
            )
        )
        histories.append(history)
    packages = Package.objects.bulk_create(packages, batch_size=batch_size)

    through = Package.classifiers.through
    links, maintainers, releases, release_files = [], [], [], []
    for package, history, index in zip(packages, histories, chunk, strict=True):
        lic_classifier = next(c for n, _, c in LICENSES if n == package.license.name)
        chosen = {rng.choice(STATUS), lic_classifier, "Programming Language :: Python :: 3"}
        chosen.update(rng.sample(PYTHONS, rng.randint(1, 4)))
        chosen.update(rng.sample(TOPICS, rng.randint(1, 3)))
        chosen.update(rng.sample(OTHER + AUDIENCES + FRAMEWORKS, rng.randint(0, 3)))
        links.extend(
            through(package_id=package.pk, classifier_id=classifiers[c].pk) for c in sorted(chosen)
        )
        people = rng.sample(users, min(len(users), rng.randint(1, 3)))
        for position, user in enumerate(people):
            role = Maintainer.Role.OWNER if position == 0 else Maintainer.Role.MAINTAINER
            maintainers.append(
                Maintainer(package=package, user=user, role=role, created=package.created)
            )
        remaining = (END_DATE - package.created).total_seconds()
        step = remaining / (len(history) + 1)
        moment = package.created
        for version in history:
            moment += timedelta(seconds=int(step * rng.uniform(0.3, 1.7) / 1.0))
            moment = min(moment, END_DATE)
            yanked = rng.random() < 0.02
            release = Release(
                package=package,
                version=version,
                yanked=yanked,
                yanked_reason="Broken build, use the next release"
                if yanked and rng.random() < 0.7
                else "",
                requires_python=f">=3.{rng.randint(6, 10)}" if rng.random() < 0.8 else "",
                summary=package.summary,
                created=moment,
            )
            releases.append(release)
            module = package.name.replace("-", "_")
            kinds = [("sdist", f"{module}-{version}.tar.gz", "source")]
            if rng.random() < 0.7:
                kinds.append(("bdist_wheel", f"{module}-{version}-py3-none-any.whl", "py3"))
            if rng.random() < 0.15:
                kinds.append(
                    (
                        "bdist_wheel",
                        f"{module}-{version}-cp312-cp312-manylinux_2_17_x86_64.whl",
                        "cp312",
                    )
                )
            for packagetype, filename, pyversion in kinds:
                digest = _sha(filename, index)
                release_files.append(
                    (
                        release,
                        ReleaseFile(
                            filename=filename,
                            url=f"https://files.example.org/packages/{digest[:2]}/{digest[2:4]}/{filename}",
                            size=rng.randint(4_000, 8_000_000),
                            packagetype=packagetype,
                            python_version=pyversion,
                            requires_python=release.requires_python,
                            sha256=digest,
                            md5=digest[:32],
                            upload_time=moment,
                        ),
                    )
                )
    through.objects.bulk_create(links, batch_size=batch_size)
    Maintainer.objects.bulk_create(maintainers, batch_size=batch_size)
    Release.objects.bulk_create(releases, batch_size=batch_size)
    files = []
    for release, release_file in release_files:
        release_file.release_id = release.pk
        files.append(release_file)
    ReleaseFile.objects.bulk_create(files, batch_size=batch_size)
    return {
        "packages": len(packages),
        "releases": len(releases),
        "files": len(files),
        "maintainers": len(maintainers),
    }
