"""Shared fixtures: a clean document store per test, users and a small catalog."""

from __future__ import annotations

import pytest
from django.test.utils import override_settings
from mongoengine.connection import get_db


@pytest.fixture(autouse=True, scope="session")
def fast_password_hasher():
    """PBKDF2's deliberate slowness is for production; tests hash many passwords."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


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
