"""Browser test harness: headless Debian Chromium driven by Playwright, and live Streamlit servers.

Everything stays on 127.0.0.1: the app serves Leaflet itself, and `offline_page` blocks and records
any request to another host so a test can assert that none was made.

Streamlit's static folder (`server.enableStaticServing`) is `static/` beside the *main script*
(streamlit.file_util.get_app_static_dir), not beside the working directory; the harness runs
`streamlit run` with cwd = the script's folder, so both are the same folder.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import app_browser  # noqa: E402 - scripts/ is not a package

REPO = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMIUM_ARGS = app_browser.CHROMIUM, app_browser.CHROMIUM_ARGS
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: browser test (headless Chromium against a live streamlit server)")


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (Debian's /usr/bin/chromium; no browser download)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a missing browser must not pass as a skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def offline_page(browser):
    """A page whose requests to any host but this machine are blocked and listed in `page.outside`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    page.outside = []
    page.requests = []

    def route(r):
        url = r.request.url
        page.requests.append(url)
        if _is_local(url):
            r.continue_()
        else:
            page.outside.append(url)
            r.abort()

    context.route("**/*", route)
    page.on("websocket", lambda ws: None if _is_local(ws.url) else page.outside.append(ws.url))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def streamlit_server(tmp_path_factory):
    """Factory: start `streamlit run app_path` with `env` added; returns the base URL.

    The server listens on 127.0.0.1 on a free port, runs in its own process group with cwd =
    the app's folder, and the whole group is stopped when the test ends (scripts/app_browser.py).
    """
    with contextlib.ExitStack() as stack:
        def start(app_path: Path, env: dict[str, str] | None = None, timeout: float = 90) -> str:
            server = app_browser.app_server(None, app=app_path, env=env, timeout=timeout,
                                            log_dir=tmp_path_factory.mktemp("streamlit"))
            try:
                return stack.enter_context(server)
            except RuntimeError as exc:
                pytest.fail(str(exc))

        yield start


@pytest.fixture(scope="session")
def national_app(national_store, tmp_path_factory):
    """One app server on a copy of the national store for the whole run (the journeys and every-page checks)."""
    db = tmp_path_factory.mktemp("national_app") / "podgeo.db"
    shutil.copy(national_store, db)
    try:
        with app_browser.app_server(db, log_dir=tmp_path_factory.mktemp("streamlit")) as base:
            yield base
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS or f"[{parts.hostname}]" in LOCAL_HOSTS
