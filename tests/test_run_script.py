"""The README's run command sets a fresh checkout up on its own (SQLite, MongoDB, .env)."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from mongoengine.connection import get_db

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

# What a user's shell would not have: the suite's own settings.
SUITE_ONLY = {
    "DATABASE_URL",
    "DEBUG",
    "SECRET_KEY",
    "SECURE_SSL_REDIRECT",
    "DJANGO_SETTINGS_MODULE",
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SUITE_ONLY}
    # The session's MongoDB (never this checkout's local server), and a .env of
    # the test's own (never the checkout's).
    env.update(PYINDEX_ENV_FILE=str(tmp_path / ".env"), **extra)
    return env


def test_run_setup_path_on_sqlite(tmp_path):
    database = tmp_path / "site.sqlite3"
    env = _env(tmp_path, DATABASE_URL=f"sqlite:///{database}", SEED_PACKAGES="12")
    result = subprocess.run(
        [str(ROOT / "scripts" / "run"), "--setup-only"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Seeded 12 packages" in result.stdout
    with sqlite3.connect(database) as db:
        assert db.execute("select count(*) from catalog_package").fetchone() == (12,)
        assert db.execute(
            "select is_superuser from catalog_user where username='admin'"
        ).fetchone() == (1,)
    # Set-up copied the catalog into MongoDB (the web server no longer does).
    assert get_db()["packages"].count_documents({}) == 12
    # A generated secret and DEBUG=1 in the .env the settings read.
    lines = (tmp_path / ".env").read_text().splitlines()
    assert "DEBUG=1" in lines
    [secret] = [line for line in lines if line.startswith("SECRET_KEY=")]
    assert len(secret) > len("SECRET_KEY=") + 40

    # Run again: migrations and seeding are no-ops, the data is kept, the
    # secret too, and MongoDB is already up to date.
    again = subprocess.run(
        [str(ROOT / "scripts" / "run"), "--setup-only"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    assert "not seeding" in again.stdout
    assert "already up to date" in again.stdout
    assert secret in (tmp_path / ".env").read_text().splitlines()

    # Any manage.py command now runs with nothing exported: the .env holds the secret.
    check = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": f"sqlite:///{database}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr


def test_production_refuses_to_start_without_a_secret(tmp_path):
    """No .env and DEBUG off: no generated or default secret is ever used."""
    env = _env(tmp_path)  # tmp_path/.env does not exist
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "SECRET_KEY must be set" in result.stderr
