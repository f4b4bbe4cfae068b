"""Helpers for the merge tests: sources written as files and collections."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from mongoengine.connection import get_db

T1 = datetime(2024, 1, 1, tzinfo=UTC)
T2 = datetime(2024, 6, 1, tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.isoformat()


@pytest.fixture
def db():
    return get_db()


@pytest.fixture
def jsonl(tmp_path):
    """Write documents (dicts, or raw strings for broken lines) to a JSON Lines file."""

    def write(name: str, *lines) -> str:
        path = tmp_path / name
        path.write_text(
            "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
        )
        return str(path)

    return write


@pytest.fixture
def merge(capsys):
    """Run merge_sources; returns (exit code, stdout, stderr) as a shell would see them."""

    def run(*args: str) -> tuple[int, str, str]:
        code, message = 0, ""
        try:
            call_command("merge_sources", *args)
        except CommandError as exc:
            # What manage.py does with a CommandError: message on stderr, exit 1.
            code, message = 1, f"CommandError: {exc}\n"
        out, err = capsys.readouterr()
        return code, out, err + message

    return run
