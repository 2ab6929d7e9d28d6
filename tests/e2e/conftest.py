"""Browser test harness: headless Debian Chromium driven by Playwright, and live Streamlit servers.

Everything stays on 127.0.0.1: the app serves Leaflet itself, and `offline_page` blocks and records
any request to another host so a test can assert that none was made.

Streamlit's static folder (`server.enableStaticServing`) is `static/` beside the *main script*
(streamlit.file_util.get_app_static_dir), not beside the working directory; the harness runs
`streamlit run` with cwd = the script's folder, so both are the same folder.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PODGEO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
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
    the app's folder, and the whole group is stopped when the test ends.
    """
    started: list[subprocess.Popen] = []

    def start(app_path: Path, env: dict[str, str] | None = None, timeout: float = 90) -> str:
        app_path = Path(app_path).resolve()
        port = _free_port()
        log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
        full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
        cmd = [sys.executable, "-m", "streamlit", "run", str(app_path),
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--server.enableStaticServing", "true",
               "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, cwd=app_path.parent, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        started.append(proc)
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, proc, log_path, timeout)
        return base

    yield start
    for proc in started:
        _stop_group(proc)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(base: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with opener.open(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.25)
    _stop_group(proc)
    pytest.fail(f"streamlit not healthy after {timeout}s:\n{log_path.read_text(errors='replace')[-3000:]}")


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome-error"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS or f"[{parts.hostname}]" in LOCAL_HOSTS
