"""Every page on the national store, at desktop and phone size: drawn, no error box, WCAG 2.1 AA clean (axe-core)."""
from __future__ import annotations

import app_browser
import pytest
from browser_helpers import axe_violations

pytestmark = pytest.mark.e2e

#: every registered page plus the deep links a shared URL opens
URLS = app_browser.page_paths() + ["explore", "explore?state=CA", "explore?state=TX", "district?district=0634410",
                                   "district?district=1709930", "coverage?state=NV"]


@pytest.fixture(scope="module", params=sorted(app_browser.VIEWPORTS))
def sized_page(request, browser):
    page = app_browser.new_page(browser, request.param)
    yield page
    page.context.close()


@pytest.mark.parametrize("url", URLS)
def test_page_draws_without_errors_and_passes_axe(national_app, sized_page, url):
    page = sized_page
    page.goto(f"{national_app}/{url}", wait_until="domcontentloaded")
    app_browser.wait_drawn(page)
    assert app_browser.error_texts(page) == []
    assert page.outside == [], f"requests left this machine: {page.outside}"
    assert axe_violations(page) == []
