"""The README's run command sets up the embedded defaults (SQLite) on its own."""

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_run_setup_path_on_sqlite(tmp_path):
    database = tmp_path / "site.sqlite3"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "MONGODB_URI", "DEBUG", "SECRET_KEY"}
    }
    env.update({"DATABASE_URL": f"sqlite:///{database}", "SEED_PACKAGES": "12"})
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

    # Run again: migrations and seeding are no-ops, the data is kept.
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
