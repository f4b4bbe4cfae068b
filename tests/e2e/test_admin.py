"""A staff member edits a package summary in the admin and sees it on the public page."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


# The live server speaks plain HTTP: secure-only cookies would never come back.
@override_settings(SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False)
def test_staff_edits_a_summary_in_the_admin(page, catalog, staff_user, artifacts):
    page.goto("/admin/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("staff-password-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#site-name")).to_be_visible()

    page.goto("/admin/catalog/package/")
    page.get_by_role("link", name="Demo_Pkg", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/catalog/package/\d+/change/$"))
    page.get_by_label("Summary").fill("Edited in the admin by staff")
    page.screenshot(path=str(artifacts / "admin-package-change.png"), full_page=True)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    page.goto("/project/demo-pkg/")
    expect(page.locator(".package-header__summary")).to_have_text("Edited in the admin by staff")
