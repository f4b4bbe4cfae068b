"""Restore and restore-deleted in the admin, driven in a real headless Chromium."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import override_settings

from catalog.models import Package, User
from tests.audit.conftest import sql_entries

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(browser, live_server):
    with override_settings(SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False):
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
    # The ORM calls made while Playwright ran opened their own connection.
    connections.close_all()


def login(page, live_server) -> None:
    User.objects.create_superuser(username="staff", email="", password="staff-password-123")
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("staff-password-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/admin/")


def test_restore_a_version_and_a_deleted_package_from_the_admin(page, live_server):
    package = Package.objects.create(display_name="Demo_Pkg", summary="Original summary")
    login(page, live_server)

    # Edit through the admin form, then open the History page from the change form.
    page.goto(f"{live_server.url}/admin/catalog/package/{package.pk}/change/")
    page.get_by_label("Summary").fill("Vandalised summary")
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_role("link", name="History").click()
    # The history page loaded (count() does not wait; under load it read the page too early).
    page.wait_for_url(f"{live_server.url}/admin/catalog/package/{package.pk}/history/")
    assert page.locator(".audit-old").filter(has_text="Original summary").count() == 1
    assert page.locator(".audit-new").filter(has_text="Vandalised summary").count() == 1

    [created] = sql_entries(model="catalog.package", operation="create")
    page.get_by_role("button", name=f"Restore the state after entry {created.pk}").click()
    assert page.get_by_text(f"to its state after entry #{created.pk}").is_visible()
    package.refresh_from_db()
    assert package.summary == "Original summary"
    assert page.get_by_text(f"restore of entry #{created.pk}").count() >= 1

    # Delete it through the admin, then bring it back from "Deleted packages".
    page.goto(f"{live_server.url}/admin/catalog/package/{package.pk}/delete/")
    page.get_by_role("button", name="Yes, I’m sure").click()
    page.wait_for_url(f"{live_server.url}/admin/catalog/package/")
    assert not Package.objects.filter(pk=package.pk).exists()
    page.get_by_role("link", name="Deleted packages").click()
    page.get_by_role("button", name="Restore demo-pkg").click()

    page.wait_for_url(f"{live_server.url}/admin/catalog/package/{package.pk}/change/")
    assert page.get_by_text("Restored deleted package").is_visible()
    restored = Package.objects.get(pk=package.pk)
    assert restored.summary == "Original summary"
    [entry] = sql_entries(model="catalog.package", note__startswith="restore of deleted")
    assert (entry.operation, entry.actor) == ("create", "staff")
    assert entry.remote_addr == "127.0.0.1"
