"""pip itself uses our Simple API, up to the point where it fetches the file."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from catalog.models import ReleaseFile
from tests.web.conftest import fill_mongo

# Nothing listens on port 9 (discard): pip must get as far as trying it.
FILE_HOST = "http://127.0.0.1:9/files/"


@pytest.mark.slow
@pytest.mark.parametrize("read_backend", ["sql", "mongo"])
def test_pip_download_reaches_the_file(
    transactional_db, catalog, live_server, settings, tmp_path, read_backend
):
    for release_file in ReleaseFile.objects.all():
        release_file.url = FILE_HOST + release_file.filename
        release_file.save()
    settings.CATALOG_READ_BACKEND = read_backend
    if read_backend == "mongo":
        fill_mongo()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PIP_CONFIG_FILE"] = os.devnull
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--retries",
            "0",
            "--timeout",
            "5",
            "--dest",
            str(tmp_path),
            "--index-url",
            f"{live_server.url}/simple/",
            "Demo.Pkg",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    output = result.stdout + result.stderr
    # pip found the project, picked the default release (1.11 is yanked, 2.0b1 a
    # pre-release), preferred the wheel and tried to fetch it from its URL.
    assert result.returncode != 0, output
    assert "/files/demo_pkg-1.10-py3-none-any.whl" in output, output
    assert "No matching distribution" not in output
