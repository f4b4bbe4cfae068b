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


def _py2_file(version: str) -> dict:
    filename = f"twoonly-{version}.tar.gz"
    return {
        "filename": filename,
        "digests": {"sha256": f"{len(version):02d}" + "cd" * 31},
        "packagetype": "sdist",
        "python_version": "source",
        # Old uploads carry no Requires-Python of their own.
        "requires_python": None,
        "size": 1000,
        "upload_time": "2019-01-01T00:00:00",
        "url": FILE_HOST + filename,
    }


@pytest.mark.slow
@pytest.mark.parametrize("read_backend", ["sql", "mongo"])
def test_pip_skips_releases_whose_requires_python_excludes_it(
    transactional_db, live_server, settings, tmp_path, read_backend
):
    """The newest releases are Python 2 only: their Requires-Python comes from each
    release's own document (info.requires_python), since their files carry none."""
    import json

    from django.core.management import call_command

    project = {
        "info": {"name": "twoonly", "version": "2.0", "requires_python": "<3"},
        "last_serial": 7,
        "releases": {v: [_py2_file(v)] for v in ("1.0", "1.5", "2.0")},
    }
    one_five = {
        "info": {"name": "twoonly", "version": "1.5", "requires_python": "==2.7.*"},
        "last_serial": 7,
        "urls": [_py2_file("1.5")],
    }
    (tmp_path / "twoonly.json").write_text(json.dumps(project))
    (tmp_path / "twoonly-1.5.json").write_text(json.dumps(one_five))
    call_command("import_pypi", str(tmp_path / "twoonly.json"), str(tmp_path / "twoonly-1.5.json"))
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
            "--python-version",
            "3.11",
            "--retries",
            "0",
            "--timeout",
            "5",
            "--dest",
            str(tmp_path / "out"),
            "--index-url",
            f"{live_server.url}/simple/",
            "twoonly",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    output = result.stdout + result.stderr
    # 2.0 (<3) and 1.5 (==2.7.*) exclude Python 3.11: pip goes for 1.0.
    assert "/files/twoonly-1.0.tar.gz" in output, output
    assert "twoonly-2.0" not in output and "twoonly-1.5" not in output, output
