"""Shared fixtures: a clean document store per test, users and a small catalog."""

from __future__ import annotations

import pytest
from mongoengine.connection import get_db


@pytest.fixture(autouse=True)
def clean_mongo():
    """Empty every MongoDB collection after each test (indexes are kept)."""
    yield
    db = get_db()
    for name in db.list_collection_names():
        db[name].delete_many({})


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="staff", email="staff@example.org", password="staff-password-123"
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
