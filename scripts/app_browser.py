"""Drive the real app in headless Debian Chromium: start a server on a store, open pages, wait until drawn.

Shared by `scripts/screenshots.py` and `bench/pages.py` (the browser tests have their own harness in
tests/e2e/conftest.py, which reuses `page_paths`, `wait_drawn` and `error_texts` from here). Nothing
leaves 127.0.0.1: the app serves Leaflet itself and tiles are switched off.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("PODGEO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}

#: what Streamlit draws for an uncaught exception, and podgeo's own error notice for viewers
ERROR_SELECTORS = ('[data-testid="stException"]', '[data-testid="stAlertContentError"]',
                   '[role="dialog"]:has-text("Page not found")')

#: the map is drawn once Leaflet has put a district, state or marker on the canvas or in the DOM
MAP_DRAWN = """() => { if (!window.map) return false; let n = 0;
    window.map.eachLayer(l => { if (l.feature || l.getLatLng) n++; });
    return n > 0; }"""


def page_paths(app: Path = REPO / "app.py") -> list[str]:
    """Every visible page's path, in the order app.py registers them ("" for the default page, which
    Streamlit serves at "/" whatever its url_path). Read from app.py, so it stays in sync."""
    paths = []
    for line in app.read_text(encoding="utf-8").splitlines():
        found = re.search(r'st\.Page\(.*url_path="([^"]*)"', line)
        if found and 'visibility="hidden"' not in line:
            paths.append("" if "default=True" in line else found.group(1))
    return paths


@contextlib.contextmanager
def app_server(db: Path | str | None, *, app: Path = REPO / "app.py", env: dict[str, str] | None = None,
               timeout: float = 120, log_dir: Path | None = None):
    """`streamlit run app` (on store `db` unless None) at a free 127.0.0.1 port; yields the base URL.

    cwd is the app's folder: Streamlit serves `static/` beside the main script. The server runs in
    its own process group, which is stopped when the block ends.
    """
    app = Path(app).resolve()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                "PODGEO_TILES": "", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
                **({"PODGEO_DB": str(db)} if db is not None else {}), **(env or {})}
    log_path = Path(log_dir or tempfile.gettempdir()) / f"podgeo-streamlit-{port}.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.enableStaticServing", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=app.parent, env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, timeout, log_path)
        yield base
    finally:
        _stop_group(proc)
        log.close()


def _wait_healthy(base: str, proc: subprocess.Popen, timeout: float, log_path: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{_tail(log_path)}")
        with contextlib.suppress(OSError):
            with opener.open(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        time.sleep(0.25)
    _stop_group(proc)
    raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{_tail(log_path)}")


def _tail(log_path: Path) -> str:
    return log_path.read_text(errors="replace")[-3000:]


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


def launch(playwright):
    """Debian's chromium, headless, with no background traffic."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def new_page(browser, viewport: str = "desktop"):
    """A page at one of VIEWPORTS whose requests to other hosts are blocked and listed in `page.outside`."""
    context = browser.new_context(viewport=VIEWPORTS[viewport], service_workers="block",
                                  is_mobile=viewport == "phone", has_touch=viewport == "phone")
    page = context.new_page()
    page.outside = []

    def route(r):
        host = urllib.parse.urlsplit(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            page.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return page


#: the script is idle: no "Running…"/"Stop" status, no element greyed out as stale, no skeleton
IDLE = """() => { const s = document.querySelector('[data-testid="stStatusWidget"]');
    if (s && /Running|Stop/.test(s.innerText)) return false;
    return !document.querySelector('[data-stale="true"], [data-testid="stSkeleton"]'); }"""


def wait_drawn(page, timeout_ms: int = 60_000) -> None:
    """Wait until the script has finished running and every map on the page has drawn its layers."""
    page.wait_for_selector('[data-testid="stMain"] :is(h1, [data-testid="stAlert"], [data-testid="stException"])',
                           timeout=timeout_ms)
    page.wait_for_function(IDLE, timeout=timeout_ms)
    page.wait_for_timeout(300)  # a rerun that starts right after the first one finished (query params, state)
    page.wait_for_function(IDLE, timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    for frame_el in page.query_selector_all('iframe[title*="streamlit_folium"]'):
        frame = frame_el.content_frame()
        while frame is not None and time.monotonic() < deadline:
            try:
                frame.wait_for_function(MAP_DRAWN, timeout=max(1, int((deadline - time.monotonic()) * 1000)))
                break
            except Exception:  # noqa: BLE001 - the frame may be replaced while the map loads
                frame = frame_el.content_frame()


def whole_page_screenshot(page, path: Path | str) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its own container, so `full_page` alone
    shows one screen. The viewport grows to the content's height for the shot and is put back."""
    size = page.viewport_size
    height = page.evaluate("""() => Math.max(...Array.from(document.querySelectorAll(
        '[data-testid="stMain"], [data-testid="stMainBlockContainer"], [data-testid="stAppViewContainer"]'),
        e => e.scrollHeight), document.body.scrollHeight)""")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 12_000)})
    page.wait_for_timeout(400)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


def error_texts(page) -> list[str]:
    """The text of every exception or error box on the page (empty when the page is clean)."""
    return [el.inner_text()[:500] for sel in ERROR_SELECTORS for el in page.query_selector_all(sel)]

