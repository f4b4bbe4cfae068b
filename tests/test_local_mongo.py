"""scripts/mongo: this checkout's local server starts, stops, reports, and keeps its data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def local_env(tmp_path):
    """A home and port of the test's own: never the checkout's var/ or server."""
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URI"}
    env.update(
        PYINDEX_MONGO_HOME=str(tmp_path / "var"),
        PYINDEX_MONGO_PORT=str(_free_port()),
        PYINDEX_ENV_FILE="",
        SECRET_KEY="local-mongo-test-secret",
    )
    yield env
    subprocess.run([str(ROOT / "scripts" / "mongo"), "stop"], env=env, capture_output=True)


def mongo(env: dict[str, str], action: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / "mongo"), action],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_start_stop_status_and_the_data_survives_a_restart(local_env, tmp_path):
    uri = f"mongodb://127.0.0.1:{local_env['PYINDEX_MONGO_PORT']}/pyindex"
    assert mongo(local_env, "status").returncode == 3

    started = mongo(local_env, "start")
    assert started.returncode == 0, started.stderr
    assert uri in started.stdout
    status = mongo(local_env, "status")
    assert status.returncode == 0 and "running" in status.stdout
    assert (tmp_path / "var" / "mongo.pid").exists()
    assert mongo(local_env, "start").stdout.startswith("MongoDB server already running")
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        client.pyindex.kept.insert_one({"_id": "survivor"})

    assert mongo(local_env, "stop").returncode == 0
    assert mongo(local_env, "status").returncode == 3
    assert mongo(local_env, "start").returncode == 0
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000) as client:
        assert client.pyindex.kept.find_one() == {"_id": "survivor"}
    assert (tmp_path / "var" / "mongo").is_dir()


def test_a_port_held_by_another_process_is_refused(local_env):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(local_env["PYINDEX_MONGO_PORT"])))
        squatter.listen()
        result = mongo(local_env, "start")
    assert result.returncode == 1
    assert "held by another process" in result.stderr


def test_a_command_without_its_server_names_the_command_that_starts_it(local_env):
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "process_offline", "package_stats"],
        cwd=ROOT,
        env=local_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert "no MongoDB server answers at mongodb://127.0.0.1:" in result.stderr
    assert "scripts/mongo start" in result.stderr
    assert "Traceback" not in result.stderr
    # Python and Django's start-up plus a 0.1 s server selection, not pymongo's 30 s
    # (generous: the machine running the suite may be loaded).
    assert elapsed < 15
