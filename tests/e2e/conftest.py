"""A real headless Chromium (Debian's, never a downloaded one) against a live server."""

from __future__ import annotations

from pathlib import Path

import pytest

# The same small catalog as tests/web, and a cold page cache for every test.
from tests.web.conftest import catalog, clear_page_cache  # noqa: F401

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
