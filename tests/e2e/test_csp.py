"""In Chromium: the Content-Security-Policy breaks no page, and no package link runs script.

Every page a visitor or a staff member opens is loaded with a listener for
``securitypolicyviolation`` events and the console; a single violation (an
inline script or style, a blocked file) fails the test. Then each link built
from hostile package data is clicked: no dialog may open.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from catalog.models import User
from tests.hostile.conftest import SCRIPT_NAME, hostile_links  # noqa: F401
from tests.web.conftest import fill_mongo

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(
    e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


@pytest.fixture
def watched(page):
    messages: list[str] = []
    dialogs: list[str] = []
    page.add_init_script(WATCH)
    page.on(
        "console",
        lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None,
    )

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    def violations() -> list[str]:
        return messages + page.evaluate("() => window.__violations || []")

    page.violations = violations
    page.dialogs = dialogs
    return page


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 500, url
    assert "Content-Security-Policy" in {k.title(): v for k, v in response.headers.items()}, url
    page.wait_for_load_state("load")
    assert page.violations() == [], url


@pytest.mark.parametrize("backend", ["sql", "mongo"])
def test_public_pages_work_under_the_policy(watched, catalog, backend):
    with override_settings(CATALOG_READ_BACKEND=backend):
        if backend == "mongo":
            fill_mongo()
        for url in [
            "/",
            "/search/?q=demo",
            "/project/demo-pkg/",
            "/project/demo-pkg/1.11/",
            "/project/other/",
            "/user/alice/",
            "/project/nope/",
            "/simple/",
            "/simple/demo-pkg/",
        ]:
            visit(watched, url)
        # The script still works: tabs and the copy button.
        watched.goto("/project/demo-pkg/")
        watched.get_by_role("tab", name="Release history").click()
        expect(watched.locator("#history")).to_be_visible()
        watched.get_by_role("button", name="Copy the install command to the clipboard").click()
        expect(watched.locator(".install__status")).to_have_text("Copied")
        assert watched.violations() == []


@override_settings(SESSION_COOKIE_SECURE=False, CSRF_COOKIE_SECURE=False)
def test_admin_pages_work_under_the_policy(watched, catalog, staff_user):
    fill_mongo()
    visit(watched, "/admin/login/")
    watched.get_by_label("Username").fill("staff")
    watched.get_by_label("Password").fill("staff-password-123")
    watched.get_by_role("button", name="Log in").click()
    expect(watched.locator("#site-name")).to_be_visible()
    package = catalog["demo_pkg"]
    for url in [
        "/admin/",
        "/admin/catalog/package/",
        f"/admin/catalog/package/{package.pk}/change/",
        f"/admin/catalog/package/{package.pk}/history/",
        "/admin/catalog/release/",
        "/admin/catalog/user/",
        "/admin/mongo/",
        "/admin/mongo/catalog/packagedocument/",
        "/admin/mongo/catalog/packagedocument/demo-pkg/change/",
        "/admin/mongo/catalog/releasedocument/?package=demo-pkg",
        "/admin/mongo/catalog/userdocument/",
    ]:
        visit(watched, url)


def test_no_link_from_package_data_runs_script(watched, hostile_links, artifacts):  # noqa: F811
    User.objects.create_user(
        username="mallory", password="x-password-9", homepage="javascript:alert(origin)"
    )
    pages = {
        "/project/evil-links/": ".package-sidebar a:visible, .files a:visible",
        "/simple/evil-links/": "a",
        "/simple/": "a",
        "/user/mallory/": "main a:visible",
        "/project/" + quote(hostile_links["named"].name, safe="") + "/": "main a:visible",
    }
    clicked = 0
    for url, selector in pages.items():
        visit(watched, url)
        count = watched.locator(selector).count()
        for index in range(count):
            watched.goto(url)
            link = watched.locator(selector).nth(index)
            href = link.get_attribute("href") or ""
            if href.startswith(("http://", "https://")) and "127.0.0.1" not in href:
                continue  # an outside site: nothing to run here
            link.click(modifiers=[])
            watched.wait_for_load_state("load")
            clicked += 1
        assert watched.dialogs == [], url
    assert clicked > 5
    # The project named like a javascript: URL is listed on /simple/ and its link
    # leads to its own page.
    watched.goto("/simple/")
    watched.get_by_role("link", name=SCRIPT_NAME.lower(), exact=True).click()
    expect(watched.locator("h1")).to_have_text(f"Links for {SCRIPT_NAME.lower()}")
    assert watched.dialogs == []
