"""A visitor searches, opens a package, uses its tabs, copies the pip line, meets a maintainer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_visitor_journey(page, catalog, artifacts):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Find, install")
    page.locator("#hero-search-q").fill("demo")
    page.locator("#hero-search-q").press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=demo$"))
    results = page.locator(".package-snippet__name")
    expect(results).to_have_text(["demo", "Demo_Pkg", "Other"])

    page.get_by_role("link", name=re.compile("^Demo_Pkg")).click()
    expect(page).to_have_url(re.compile(r"/project/demo-pkg/$"))
    expect(page.locator("#package-title")).to_have_text("Demo_Pkg 1.10")

    # Tabs: the description shows first; a click and the arrow keys switch panels.
    description = page.locator("#description")
    history = page.locator("#history")
    files = page.locator("#files")
    expect(description).to_be_visible()
    expect(history).to_be_hidden()
    page.get_by_role("tab", name="Release history").click()
    expect(history).to_be_visible()
    expect(description).to_be_hidden()
    expect(history.locator(".release__version")).to_have_text(
        ["2.0b1", "1.11", "1.10", "1.9", "1.0"]
    )
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Download files")).to_be_focused()
    expect(files).to_be_visible()
    expect(files).to_contain_text("demo_pkg-1.10-py3-none-any.whl")
    # The description was sanitized: no script ran, no handler survived.
    assert (
        page.evaluate("() => document.querySelectorAll('.project-description script').length") == 0
    )

    page.get_by_role("button", name="Copy the install command to the clipboard").click()
    expect(page.locator(".install__status")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == "pip install Demo_Pkg"

    page.get_by_role("tab", name="Project description").click()
    page.screenshot(path=str(artifacts / "package-page.png"), full_page=True)

    page.get_by_role("link", name="alice", exact=True).click()
    expect(page).to_have_url(re.compile(r"/user/alice/$"))
    expect(page.locator("h1")).to_have_text("Alice Liddell")
    expect(page.locator(".package-snippet__name")).to_have_text(["demo", "Demo_Pkg"])


def test_package_page_works_without_javascript(browser, live_server, catalog):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/project/demo-pkg/")
        # The first Tab reaches the skip link.
        page.keyboard.press("Tab")
        expect(page.locator(".skip-link")).to_be_focused()
        # Every section is on the page; the section links jump to them.
        for section in ("#description", "#history", "#files"):
            expect(page.locator(section)).to_be_visible()
        page.get_by_role("link", name="Release history").click()
        expect(page).to_have_url(re.compile(r"#history$"))
    finally:
        context.close()


def test_phone_layout(browser, live_server, catalog, artifacts):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto("/project/demo-pkg/")
        # Nothing is wider than the screen.
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, width
        page.screenshot(path=str(artifacts / "package-page-phone.png"), full_page=True)
    finally:
        context.close()
