"""The Coverage page in a real browser, offline: change the radius with the keyboard, see the table change
to exactly what `access_report.coverage_table` gives for the new radius."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from browser_helpers import COUNT_DISTRICTS, INKED_PIXELS, map_frame

from podgeo import access_report as ar
from podgeo.store import SqliteStore

pytestmark = pytest.mark.e2e
APP = Path(__file__).resolve().parents[2] / "app.py"
VISIBLE_ROWS = """() => {
    const table = document.querySelector('[data-testid="stDataFrame"] table');
    if (!table) return [];
    return Array.from(table.querySelectorAll('tbody tr')).map(
        tr => Array.from(tr.querySelectorAll('td')).map(td => td.textContent));
}"""


@pytest.fixture
def app_url(fixture_store, tmp_path, streamlit_server):
    db = tmp_path / "podgeo.db"
    shutil.copy(fixture_store, db)
    return streamlit_server(APP, env={"PODGEO_DB": str(db), "PODGEO_TILES": ""}), db


def _rows(page) -> list[tuple[str, str]]:
    """(rank, leaid) of the table rows the grid has drawn (its accessible table holds the visible cells)."""
    return [(r[0], r[1]) for r in page.evaluate(VISIBLE_ROWS) if len(r) > 1]


def _expected(db: Path, radius: float, n: int) -> list[tuple[str, str]]:
    store = SqliteStore(db)
    try:
        frames = ar.load_frames(store, "CA")
    finally:
        store.close()
    table = ar.coverage_table(frames, sites=["libraries"], demand="schools", method="2sfca", radius_miles=radius,
                              state="CA").table
    return [("" if pd.isna(rank) else str(rank), leaid) for rank, leaid in zip(table["rank"], table["leaid"])][:n]


def test_changing_the_radius_changes_the_table(app_url, offline_page, tmp_path):
    base, db = app_url
    page = offline_page
    started = time.perf_counter()
    page.goto(f"{base}/coverage?supply=libraries&method=2sfca&radius=2", wait_until="domcontentloaded")
    page.get_by_text("Coverage — CA").wait_for(timeout=60_000)
    frame = map_frame(page)
    frame.wait_for_function(f"({COUNT_DISTRICTS})() === 21", timeout=60_000)
    frame.wait_for_function(f"({INKED_PIXELS})() > 1000", timeout=30_000)
    page.wait_for_function(f"({VISIBLE_ROWS})().length >= 5", timeout=60_000)
    print(f"\ncoverage page drawn (map + table) {time.perf_counter() - started:.2f} s after navigation")
    before = _rows(page)
    assert before == _expected(db, 2.0, len(before))

    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Radius (miles)").get_by_role("slider")
    slider.focus()
    for _ in range(6):  # 0.5-mile steps: 2 -> 5 miles
        slider.press("ArrowRight")
    changed = time.perf_counter()
    expected = _expected(db, 5.0, len(before))
    assert expected != before
    # each key press reruns the page; wait for the run at 5 miles to be drawn, not an intermediate one
    page.wait_for_function(f"JSON.stringify(({VISIBLE_ROWS})().slice(0, {len(before)}).map(r => [r[0], r[1]])) === "
                           f"{_js_rows(expected)}", timeout=60_000)
    print(f"table redrawn for a 5-mile radius {time.perf_counter() - changed:.2f} s after the key presses")
    assert _url_radius(page) == "5"
    assert _rows(page)[:len(before)] == expected

    page.screenshot(path=str(tmp_path / "coverage.png"), full_page=True)
    vendor = [u for u in page.requests if "/app/static/vendor/" in u]
    assert any(u.endswith("/leaflet.js") for u in vendor)
    assert page.outside == [], f"requests left this machine: {page.outside}"


def _url_radius(page) -> str:
    return page.evaluate("() => new URLSearchParams(location.search).get('radius')")


def _js_rows(rows: list[tuple[str, str]]) -> str:
    import json

    return json.dumps(json.dumps([list(r) for r in rows], separators=(",", ":")))


def test_a_click_on_the_map_places_the_hypothetical_hub(app_url, offline_page):
    base, db = app_url
    page = offline_page
    page.goto(f"{base}/coverage?supply=libraries&method=2sfca&radius=3", wait_until="domcontentloaded")
    frame = map_frame(page)
    frame.wait_for_function(f"({COUNT_DISTRICTS})() === 21", timeout=60_000)
    page.wait_for_function(f"({VISIBLE_ROWS})().length >= 5", timeout=60_000)
    before = _mean_access(page)

    page.set_viewport_size({"width": 1280, "height": 1600})  # the whole map on screen: clicks land where aimed
    iframe = page.locator('iframe[title*="streamlit_folium"]').first  # the access map (the disparity map is below)
    iframe.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = iframe.bounding_box()
    xy = frame.evaluate("() => window.map.latLngToContainerPoint([37.847, -122.154])")  # Del Rey Elementary
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    page.wait_for_function("() => (new URLSearchParams(location.search).get('hub') || '').endsWith(',50')",
                           timeout=30_000)
    lon, lat, seats = (float(v) for v in page.evaluate(
        "() => new URLSearchParams(location.search).get('hub')").split(","))
    assert abs(lon + 122.154) < 0.01 and abs(lat - 37.847) < 0.01 and seats == 50
    page.get_by_text("includes a hypothetical hub at", exact=False).wait_for(state="attached", timeout=30_000)
    page.wait_for_function(f"() => ({MEAN_ACCESS})() !== {before!r}", timeout=60_000)
    assert float(_mean_access(page)) > float(before)  # a new hub never lowers access; here it raises it
    assert page.outside == []


MEAN_ACCESS = """() => { for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    if (m.innerText.startsWith('Mean access')) return m.querySelector('[data-testid="stMetricValue"]').innerText; }
    return null; }"""


def _mean_access(page) -> str:
    page.wait_for_function(f"() => ({MEAN_ACCESS})() !== null", timeout=60_000)
    return page.evaluate(f"({MEAN_ACCESS})()")


def test_the_page_accepts_a_travel_time_table(app_url, offline_page, tmp_path):
    """Upload minutes = 2 x straight-line miles; at 20 minutes the table is the straight-line one at 10 miles."""
    import numpy as np
    from scipy.spatial import cKDTree

    from podgeo import coverage

    base, db = app_url
    store = SqliteStore(db)
    try:
        frames = ar.load_frames(store, "CA")
    finally:
        store.close()
    straight = ar.coverage_table(frames, sites=["libraries"], demand="schools", method="2sfca", radius_miles=10.0,
                                 state="CA")
    d_xy, s_xy = coverage._projected_xy(straight.points, "demand", straight.sites, "sites")
    pairs = cKDTree(d_xy).sparse_distance_matrix(cKDTree(s_xy), 30 * coverage.METRES_PER_MILE, output_type="ndarray")
    path = tmp_path / "walk_times.csv"
    pd.DataFrame({"origin_id": straight.points["demand_id"].to_numpy()[pairs["i"]],
                  "destination_id": straight.sites["site_id"].to_numpy()[pairs["j"]],
                  "minutes": 2.0 * pairs["v"] / coverage.METRES_PER_MILE}).to_csv(path, index=False)
    page = offline_page
    page.goto(f"{base}/coverage?supply=libraries&method=2sfca&radius=20", wait_until="domcontentloaded")
    page.wait_for_function(f"({VISIBLE_ROWS})().length >= 5", timeout=60_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_text("Travel time (minutes)").wait_for(timeout=60_000)
    page.get_by_text("travel time in minutes from the table walk_times.csv", exact=False).wait_for(
        state="attached", timeout=60_000)
    n = 10
    expected = [("" if pd.isna(r) else str(r), leaid) for r, leaid in zip(straight.table["rank"],
                                                                          straight.table["leaid"])][:n]
    assert expected != _expected(db, 20.0, n)  # what the page showed before the upload (20 straight-line miles)
    page.wait_for_function(f"JSON.stringify(({VISIBLE_ROWS})().slice(0, {n}).map(r => [r[0], r[1]])) === "
                           f"{_js_rows(expected)}", timeout=60_000)
    assert np.isfinite(straight.table["access"]).any() and page.outside == []


def test_hubs_in_the_link_are_drawn_numbered_and_garbage_is_a_notice(app_url, offline_page):
    """`?hubs=` (the siting page's "Open these picks in Coverage"): each valid hub is a numbered marker on
    the access map, the bad part is named in a notice, and the page raises nothing."""
    base, _ = app_url
    page = offline_page
    page.goto(f"{base}/coverage?supply=pods&method=distance&radius=2"
              "&hubs=-122.154,37.847,40;-122.27,37.8,50;%3Cb%3Ebad%3C/b%3E", wait_until="domcontentloaded")
    page.get_by_text("Coverage — CA").wait_for(timeout=60_000)
    frame = map_frame(page)
    frame.wait_for_selector(".podgeo-pick", timeout=60_000)
    assert frame.eval_on_selector_all(".podgeo-pick", "els => els.map(e => e.textContent)") == ["1", "2"]
    notice = page.get_by_text("Some hypothetical hubs in the link were not used")
    notice.wait_for(timeout=30_000)
    assert "hub 3 (<b>bad</b>) is not longitude,latitude,seats" in notice.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0 and page.outside == []
