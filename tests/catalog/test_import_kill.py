"""A process killed with SIGKILL in the middle of import_pypi leaves no partial package."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from catalog.models import Package, Release, ReleaseFile
from tests.catalog.factories import pypi_document

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS, RELEASES = 40, 250

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a PostgreSQL server")
def test_sigkill_mid_import_leaves_only_whole_packages(tmp_path):
    versions = tuple(f"1.{i}" for i in range(RELEASES))
    for n in range(DOCUMENTS):
        (tmp_path / f"pkg{n:02}.json").write_text(
            json.dumps(pypi_document(name=f"pkg{n:02}", versions=versions))
        )
    env = {**os.environ, "DATABASE_URL": database_url()}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "import_pypi", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while Package.objects.count() < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL

    imported = Package.objects.count()
    assert 3 <= imported < DOCUMENTS, "the kill must land in the middle of the run"
    for package in Package.objects.all():
        assert Release.objects.filter(package=package).count() == RELEASES, package.name
        assert ReleaseFile.objects.filter(release__package=package).count() == 2 * RELEASES
    assert Release.objects.count() == imported * RELEASES
