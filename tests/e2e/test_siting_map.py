"""The siting page's picks layer in Chromium: numbered markers drawn offline, hostile names shown as text."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from podgeo import assets, maps, siting_map

pytestmark = pytest.mark.e2e
STATIC = Path(__file__).resolve().parents[2] / "static"


def test_numbered_picks_draw_and_keep_hostile_names_as_text(offline_page):
    hostile = "<img src=x onerror=alert(1)>{{ 7*7 }}"
    picks = gpd.GeoDataFrame({"pick": [1, 2], "site": [hostile, "Library B"], "district": ["D", None],
                              "newly_covered": [12.0, 3.0], "lat": [37.8, 37.7], "lon": [-122.27, -122.2]},
                             geometry=[Point(-122.27, 37.8), Point(-122.2, 37.7)], crs=4326)
    m = maps.base_map((-122.5, 37.6, -122.0, 38.0), tiles=None)
    siting_map.add_picks(m, picks, clicked=[(hostile, -122.3, 37.7)])
    assets.install_static(STATIC)
    errors, dialogs = [], []
    offline_page.on("pageerror", lambda e: errors.append(str(e)))
    offline_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    offline_page.set_content(assets.standalone_html(m, STATIC))  # scripts inlined: nothing fetched
    offline_page.wait_for_selector(".podgeo-pick")
    assert offline_page.eval_on_selector_all(".podgeo-pick", "els => els.map(e => e.textContent)") == ["1", "2"]
    offline_page.hover(".podgeo-pick >> nth=0")
    offline_page.wait_for_selector(".leaflet-tooltip")
    assert offline_page.inner_text(".leaflet-tooltip") == f"#1 {hostile} (D): +12"
    assert offline_page.eval_on_selector_all("img[src=x]", "els => els.length") == 0
    assert errors == [] and dialogs == [] and offline_page.outside == []


@pytest.fixture
def app_url(fixture_store, tmp_path, streamlit_server):
    import shutil

    db = tmp_path / "podgeo.db"
    shutil.copy(fixture_store, db)
    return streamlit_server(Path(__file__).resolve().parents[2] / "app.py", env={"PODGEO_DB": str(db), "PODGEO_TILES": ""})


def test_siting_page_draws_picks_and_a_click_adds_a_candidate(app_url, offline_page):
    from browser_helpers import click_latlng, map_frame, wait_idle

    page = offline_page
    page.goto(f"{app_url}/siting?state=CA&candidates=libraries,clicked&radius=2&new=2", wait_until="domcontentloaded")
    page.get_by_text("Where to add hubs — CA").wait_for(timeout=60_000)
    frame = map_frame(page)
    frame.wait_for_selector(".podgeo-pick", timeout=60_000)
    assert frame.eval_on_selector_all(".podgeo-pick", "els => els.map(e => e.textContent)") == ["1", "2"]
    for attempt in range(3):  # a user clicks again when a click lands while the map is being redrawn
        click_latlng(page, frame, 37.80, -122.27)
        try:
            page.wait_for_function("() => location.search.includes('pts=')", timeout=20_000)
            break
        except Exception:  # noqa: BLE001 - retried; the last attempt raises
            if attempt == 2:
                raise
            frame = map_frame(page)
    wait_idle(page)
    pts = page.evaluate("() => new URLSearchParams(location.search).get('pts')")
    lon, lat = map(float, pts.split(","))  # one clicked candidate, near where the mouse went down
    assert abs(lon + 122.27) < 0.1 and abs(lat - 37.80) < 0.1
    assert page.outside == []
