"""Shared fixtures: a MongoDB server per session, a clean document store per test, users.

MongoDB is a real server, reached through a URI as production reaches it:

- By default the session starts its own SecantusDB server (``secantusd-py``,
  run as a subprocess, never imported) on a free port with throwaway
  ``:memory:`` storage, so two checkouts can run their suites at once.
- When ``MONGODB_URI`` is set (a real MongoDB 7, say), the suite uses that
  server but a database of its own with a unique name, and drops only that
  database at the end: it never empties a database it did not create.

Either way the chosen URI is exported as ``MONGODB_URI``, so subprocesses the
tests start (commands, gunicorn, ``--workers`` processes) reach the same
database.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import uuid

import pytest
from django.conf import settings
from django.test.utils import override_settings
from mongoengine import connection
from mongoengine.connection import get_db
from pymongo import monitoring

from project import local_mongo

_server: subprocess.Popen | None = None
_database: str | None = None
_URI = re.compile(r"^(?P<base>mongodb(?:\+srv)?://[^/?]+)(?:/[^?]*)?(?P<query>\?.*)?$")


def _with_database(uri: str, name: str) -> str:
    match = _URI.match(uri)
    if match is None:
        raise pytest.UsageError(f"MONGODB_URI is not a mongodb:// URI: {uri!r}")
    return f"{match['base']}/{name}{match['query'] or ''}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((local_mongo.HOST, 0))
        return probe.getsockname()[1]


def _die_with_parent() -> None:
    """In the server's process: SIGTERM when the test run dies (Linux), so a killed run
    leaves no server behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _start_private_server() -> str:
    global _server
    log = tempfile.NamedTemporaryFile(prefix="pyindex-test-mongo-", suffix=".log", delete=False)  # noqa: SIM115
    for _attempt in range(3):  # another process may take the free port first
        port = _free_port()
        _server = subprocess.Popen(
            local_mongo.daemon_command(port, ":memory:"),
            cwd=tempfile.gettempdir(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only a prctl call
        )
        try:
            local_mongo.wait_until_listening(_server, port, timeout=60)
        except RuntimeError:
            _server.kill()
            _server.wait()
            continue
        return f"mongodb://{local_mongo.HOST}:{port}/"
    raise pytest.UsageError(f"could not start secantusd-py for the tests; see {log.name}")


class _CommandLog(monitoring.CommandListener):
    """The commands this process sends to MongoDB while a test listens (``mongo_commands``)."""

    # Connection upkeep, not work done for the code under test.
    IGNORED = frozenset({"hello", "ismaster", "isMaster", "ping", "endSessions", "buildInfo"})

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] | None = None

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.calls is None or event.command_name in self.IGNORED:
            return
        target = event.command.get(event.command_name)
        if event.command_name == "getMore":
            target = event.command.get("collection")
        self.calls.append((target if isinstance(target, str) else "", event.command_name))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_command_log = _CommandLog()


def pytest_configure(config):
    """Point Django, MongoEngine and subprocesses at the session's database.

    Under pytest-xdist (``-n``) the controller runs no tests: each worker starts its
    own server, so the workers' MongoDB work runs in parallel too."""
    global _database
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        return
    monitoring.register(_command_log)  # before the first client is created
    external = os.environ.get("MONGODB_URI")
    base = external or _start_private_server()
    _database = f"pyindex_test_{uuid.uuid4().hex[:12]}"
    uri = _with_database(base, _database)
    os.environ["MONGODB_URI"] = uri
    # Settings were read before this conftest (pytest-django loads them first).
    options = {**settings.MONGODB_DATABASES["default"], "host": uri}
    options.pop("serverSelectionTimeoutMS", None)
    options.pop("connectTimeoutMS", None)
    settings.MONGODB_URI = uri
    settings.MONGODB_LOCAL = False
    settings.MONGODB_DATABASES = {"default": options}
    connection.disconnect("default")
    connection.register_connection("default", **options)


def pytest_unconfigure(config):
    if _database is not None:
        try:
            connection.get_connection().drop_database(_database)
        except Exception as exc:  # noqa: BLE001 - report, but still stop the server
            print(f"could not drop the test database {_database}: {exc}")
        connection.disconnect("default")
    if _server is not None:
        _server.terminate()
        try:
            _server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _server.kill()


@pytest.fixture(autouse=True, scope="session")
def fast_password_hasher():
    """PBKDF2's deliberate slowness is for production; tests hash many passwords."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def static_files_uncollected(tmp_path_factory):
    """Pages name static files without collectstatic's manifest (the production-mode test
    in tests/web/test_production.py runs collectstatic and serves them hashed)."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    root = tmp_path_factory.mktemp("static")
    with override_settings(STORAGES=storages, STATIC_ROOT=root):
        yield


@pytest.fixture
def mongo_commands():
    """``(collection, command)`` of every MongoDB command sent during the test, in order.

    What the server was asked, round trips included (``find``, ``getMore``,
    ``aggregate``, ``count``, writes); connection upkeep is left out.
    """
    _command_log.calls = []
    yield _command_log.calls
    _command_log.calls = None


def _kept_collections() -> set[str]:
    """Collections whose indexes are created once per process: emptied, never dropped."""
    from mongoengine.base.common import _document_registry

    from audit.recorder import MONGO_CHAIN, MONGO_ENTRIES

    names = {MONGO_ENTRIES, MONGO_CHAIN}
    for document in _document_registry.values():
        if not document._meta.get("abstract") and document._meta.get("collection"):
            names.add(document._get_collection_name())
    return names


@pytest.fixture(autouse=True)
def clean_mongo():
    """After each test: the documents' and audit collections emptied (their indexes
    kept), every other collection (merge targets, checkpoints) dropped, so a test can
    tell whether something created a collection."""
    yield
    db = get_db()
    kept = _kept_collections()
    for name in db.list_collection_names():
        if name in kept:
            db[name].delete_many({})
        else:
            db.drop_collection(name)


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="staff", email="staff@example.org", password="staff-password-123"
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's) per test process, for every browser test.

    Playwright's sync API runs an event loop in this thread for as long as it
    is open, so a second ``sync_playwright()`` in the same process would fail:
    every browser test shares this one."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium")
    # The sync API's loop runs in this thread; the ORM calls of test bodies stay sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, left with no session of ours when they are dropped.

    At the end of a full run, a connection this very process had opened during
    a late test, then left idle after its ROLLBACK without a reference Django
    would close, kept the test database busy, and DROP DATABASE failed ("being
    accessed by other users"). Unreachable connections are collected (which
    closes them), and any session still on the database is ended.
    """
    yield
    import gc

    from django.db import connection as db
    from django.db import connections

    connections.close_all()
    gc.collect()
    with django_db_blocker.unblock():
        if db.vendor != "postgresql":
            return
        with db.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        db.close()
