"""Production mode: gunicorn with DEBUG=0 serves pages styled (WhiteNoise, hashed files)."""

from __future__ import annotations

import gzip
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        return f"sqlite:///{s['NAME']}"
    pytest.skip("gunicorn needs a database another process can open")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, **headers: str):
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30)  # noqa: S310


@pytest.fixture
def production_server(db, tmp_path):
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "production-mode-test-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": _database_url(),
        "STATIC_ROOT": str(tmp_path / "static"),
        "PYINDEX_ENV_FILE": "",
    }
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collect.returncode == 0, collect.stderr
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "project.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            assert server.poll() is None, server.stderr.read()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


def test_pages_arrive_with_their_stylesheet(production_server):
    page = _get(production_server + "/").read().decode()
    [href] = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    # A hashed name, so it can be cached for ever.
    assert re.fullmatch(r"/static/catalog/site\.[0-9a-f]{12}\.css", href), href

    response = _get(production_server + href, **{"Accept-Encoding": "gzip"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    css = gzip.decompress(response.read()).decode()
    assert css == (ROOT / "catalog" / "static" / "catalog" / "site.css").read_text()


def test_the_wsgi_module_keeps_large_buffers_on_the_heap():
    """On glibc the server's processes keep megabyte buffers on the heap (project/wsgi.py);
    with another C library nothing is changed."""
    import platform

    from project.wsgi import large_buffers_on_the_heap

    assert large_buffers_on_the_heap() is (platform.libc_ver()[0] == "glibc")
