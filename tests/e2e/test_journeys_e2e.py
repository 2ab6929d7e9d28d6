"""The three users' journeys on the national store, in a real browser, at desktop (1400x900) and phone (390x844).

- policymaker: national view -> click a state -> click a district -> its full profile -> the copied
  link reopens the same profile in a fresh browser;
- researcher: Coverage on library outlets -> change method and radius -> download the table -> the
  CLI command the page shows writes a byte-identical CSV;
- staff: sign in -> upload a messy sheet -> map a column -> accept the fixes -> commit -> history
  -> undo (confirmed).
Every step checks that no exception or error box is on the page and nothing left 127.0.0.1.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import app_browser
import pytest
from browser_helpers import map_frame

from podgeo import auth

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
SIZES = sorted(app_browser.VIEWPORTS)

#: a point well inside Nevada, and one inside Clark County School District (Las Vegas)
NEVADA = (39.3, -116.9)
LAS_VEGAS = (36.17, -115.14)
CLARK_COUNTY = "3200060"


def _clean(page) -> None:
    app_browser.wait_drawn(page)
    assert app_browser.error_texts(page) == []
    assert page.outside == [], f"requests left this machine: {page.outside}"


def _wait_query(page, pattern: str) -> None:
    """Streamlit mirrors state into the URL with history.replaceState (no navigation event): poll it."""
    page.wait_for_function("p => new RegExp(p).test(location.href)", arg=pattern, timeout=60_000)


def _nav(page, name: str) -> None:
    """Open a page from the sidebar menu (opening the collapsed sidebar first on a phone)."""
    link = page.get_by_role("link", name=name)
    expand = page.locator('[data-testid="stExpandSidebarButton"]')
    phone = expand.count() and expand.first.is_visible()
    if phone:
        expand.first.click()
    link.click()
    if phone:  # the menu stays open over the page on a phone: close it, as a user does
        page.locator('[data-testid="stSidebarCollapseButton"] button, [data-testid="stSidebarCollapseButton"]').first.click()


def _click_map(page, lat: float, lng: float) -> None:
    """Click the map at (lat, lng) once st_folium listens, as a user would."""
    frame = map_frame(page)
    frame.wait_for_function("() => !!(window.map && window.map._events && window.map._events.click)", timeout=60_000)
    frame_box = page.locator('iframe[title*="streamlit_folium"]').first
    frame_box.scroll_into_view_if_needed()
    box = frame_box.bounding_box()
    xy = frame.evaluate(f"() => window.map.latLngToContainerPoint([{lat}, {lng}])")
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])


def _click_until(page, lat: float, lng: float, pattern: str, tries: int = 3) -> None:
    """Click the map until the URL shows `pattern`, as a user clicks again when nothing happened (on a
    loaded machine the map can be redrawn between being ready and the click landing)."""
    for attempt in range(tries):
        app_browser.wait_drawn(page)
        _click_map(page, lat, lng)
        try:
            page.wait_for_function("p => new RegExp(p).test(location.href)", arg=pattern, timeout=20_000)
            return
        except Exception:  # noqa: BLE001 - retried, then reported below
            if attempt == tries - 1:
                raise


@pytest.mark.parametrize("size", SIZES)
def test_policymaker_state_district_profile_and_shared_link(national_app, browser, size):
    page = app_browser.new_page(browser, size)
    page.goto(national_app, wait_until="domcontentloaded")
    page.get_by_role("heading", name=re.compile("United States")).wait_for(timeout=60_000)
    _clean(page)

    _click_until(page, *NEVADA, "state=NV")
    page.get_by_role("heading", name=re.compile(r"NV|Nevada")).wait_for(timeout=60_000)
    _clean(page)

    _click_until(page, *LAS_VEGAS, f"district={CLARK_COUNTY}")
    _clean(page)
    link = page.locator(f'a[href*="district?district={CLARK_COUNTY}"], a[href*="district={CLARK_COUNTY}"]').first
    link.wait_for(timeout=30_000)
    href = link.get_attribute("href")
    link.click()
    _wait_query(page, f"/district\\?.*district={CLARK_COUNTY}")
    page.get_by_text("Clark County School District").first.wait_for(timeout=60_000)
    _clean(page)
    shared = page.url
    page.context.close()

    other = app_browser.new_page(browser, size)  # "elsewhere": a fresh browser context, no session
    other.goto(shared, wait_until="domcontentloaded")
    other.get_by_text("Clark County School District").first.wait_for(timeout=60_000)
    _clean(other)
    assert CLARK_COUNTY in href
    other.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_researcher_coverage_download_matches_the_cli(national_app, national_store, browser, size, tmp_path):
    page = app_browser.new_page(browser, size)
    page.goto(f"{national_app}/coverage?state=CA", wait_until="domcontentloaded")
    page.get_by_role("heading", name=re.compile("Coverage")).wait_for(timeout=60_000)
    _clean(page)
    assert "supply=libraries" in page.url  # opens on real candidate sites, not the illustrative pods

    url = page.url
    page.goto(re.sub(r"[?&](method|radius)=[^&]*", "", url) + "&method=e2sfca&radius=7", wait_until="domcontentloaded")
    _clean(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the table (CSV)").click()
    downloaded = tmp_path / "page.csv"
    info.value.save_as(downloaded)

    page.get_by_text("Method, parameters and data vintages").click()
    command = page.locator("code").filter(has_text="python -m podgeo coverage").first.text_content()
    args = shlex.split(command.replace("python -m podgeo", "", 1))
    out = tmp_path / "cli.csv"
    for flag, path in (("--out", out), ("--summary-out", tmp_path / "disparity.csv")):
        if flag in args:
            args[args.index(flag) + 1] = str(path)
    assert "--method" in args and args[args.index("--method") + 1] == "e2sfca"
    assert args[args.index("--radius-miles") + 1] == "7" and args[args.index("--sites") + 1] == "libraries"
    subprocess.run([sys.executable, "-m", "podgeo", *args, "--db", str(national_store)], cwd=tmp_path, check=True,
                   capture_output=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.read_bytes() == downloaded.read_bytes()
    page.context.close()


@pytest.mark.parametrize("size", SIZES)
def test_staff_upload_fix_commit_history_undo(national_store, streamlit_server, browser, size, tmp_path):
    db = tmp_path / "podgeo.db"
    shutil.copy(national_store, db)
    base = streamlit_server(REPO / "app.py", env={"PODGEO_DB": str(db), auth.HASH_ENV: auth.hash_password(PASSWORD, n=2**12)})
    page = app_browser.new_page(browser, size)
    page.goto(f"{base}/upload", wait_until="domcontentloaded")
    page.get_by_label(re.compile("Your name")).fill("Ana")
    page.get_by_label("Staff password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text(re.compile("Signed in as staff: Ana")).wait_for(timeout=60_000)

    # messy: a header that needs mapping by hand, swapped coordinates, a blank capacity
    sheet = ("Program,Seats,State,Latitude,Longitude,Kind of program\n"
             "Journey Hub Reno,15,NV,-119.81,39.53,Community organization hub\n"
             "Journey Pod Las Vegas,8,NV,36.17,-115.14,Parent-led pod\n").encode()
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "messy.csv", "mimeType": "text/csv", "buffer": sheet}])
    page.get_by_role("heading", name=re.compile("Check the column mapping")).wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"1 row\(s\) can be fixed automatically")).wait_for(timeout=60_000)
    _clean(page)
    page.get_by_text("Accept these fixes").click()
    commit = page.get_by_role("button", name=re.compile(r"Commit 2 "))
    commit.wait_for(timeout=60_000)
    commit.click()
    page.get_by_text(re.compile(r"Committed batch \d+")).wait_for(timeout=60_000)
    with sqlite3.connect(db) as conn:
        batch = conn.execute("select max(batch_id) from upload_batches").fetchone()[0]
        rows = conn.execute("select name, operator_type, capacity, round(lat, 2), round(lon, 2) from pods"
                            " where batch_id = ? order by name", (batch,)).fetchall()
    # "Kind of program" mapped by its header, "Seats" to capacity, Reno's swapped coordinates fixed
    assert [r[0] for r in rows] == ["Journey Hub Reno", "Journey Pod Las Vegas"]
    assert [r[2:] for r in rows] == [(15, 39.53, -119.81), (8, 36.17, -115.14)]
    assert rows[0][1] != rows[1][1] and None not in (rows[0][1], rows[1][1])

    _nav(page, "Upload history")  # through the menu, as a user does: a new URL would start a new session
    page.locator('[role="gridcell"]', has_text="messy.csv").first.wait_for(state="attached", timeout=60_000)
    _clean(page)
    page.get_by_role("button", name=re.compile(f"Undo batch {batch}")).click()
    confirm = page.get_by_role("button", name=f"Yes, undo batch {batch}")
    confirm.wait_for(timeout=60_000)
    with sqlite3.connect(db) as conn:  # asking is not doing: nothing undone before the confirmation
        assert conn.execute("select count(*) from pods where name like 'Journey %'").fetchone()[0] == 2
    confirm.click()
    page.get_by_text(re.compile(f"Batch {batch} undone")).wait_for(timeout=60_000)
    _clean(page)
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from pods where name like 'Journey %'").fetchone()[0] == 0
    page.context.close()
