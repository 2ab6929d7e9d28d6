"""Issue 11 items 2 and 9 in Chromium: the national map shows the lower 48 with the Alaska, Hawaii and
Puerto Rico insets on a desktop and on a phone, and on a phone no legend or control covers the zoom
buttons or most of the map. Issue 14: the app's map of every district frames the same way, and a
click on a district (in the Alaska inset too) or on an inset state opens it."""
from __future__ import annotations

import app_browser
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from browser_helpers import INKED_PIXELS, click_latlng, map_frame
from shapely.geometry import Point

from podgeo import assets, explore, geo

pytestmark = pytest.mark.e2e

_VIEW_JS = """() => {
    const map = Object.values(window).find((v) => v instanceof L.Map);
    const b = map.getBounds(), box = (e) => { const r = e.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, w: r.width, h: r.height}; };
    const scale = document.querySelector(".leaflet-control-scale");
    return {west: b.getWest(), east: b.getEast(), south: b.getSouth(), north: b.getNorth(), zoom: map.getZoom(),
            zoomButtons: box(document.querySelector(".leaflet-control-zoom")),
            controls: [...document.querySelectorAll(".podgeo-legend, .leaflet-control-layers")].map(box),
            folded: [...document.querySelectorAll("details.podgeo-legend")].map((d) => !d.open),
            layersCollapsed: !document.querySelector(".leaflet-control-layers-expanded"),
            scaleShown: !!scale && getComputedStyle(scale).display !== "none",
            map: box(map.getContainer())};
}"""


@pytest.fixture(scope="module")
def national_page(shared_data, tmp_path_factory):
    states = gpd.read_file(shared_data / "states" / "cb_2018_us_state_20m.shp").rename(
        columns={"STATEFP": "state_fips", "STUSPS": "state", "NAME": "state_name"})
    table = pd.DataFrame({"leaid": states["state_fips"] + "00001", "state_fips": states["state_fips"],
                          "layer": "unified", "children_5_17": 1000.0, "children_poverty": 100.0,
                          "pct_poverty": np.arange(len(states), dtype=float)})
    pods = gpd.GeoDataFrame({"pod_id": ["ca"], "name": ["Fresno pod"], "state": ["CA"], "capacity": [5], "lat": [36.7]},
                            geometry=[Point(-119.8, 36.7)], crs=4326)
    links = pd.DataFrame({"pod_id": ["ca"], "leaid": ["0600001"], "layer": "unified"})
    view = explore.national_view(states, table, pods, links, measure="pct_poverty")
    folder = tmp_path_factory.mktemp("national")
    assets.install_static(folder / "static")
    path = folder / "national.html"
    path.write_text(assets.standalone_html(view.map, folder / "static"), encoding="utf-8")
    return path, view.shapes.set_index("state")


def _overlap(a, b) -> float:
    w = min(a["right"], b["right"]) - max(a["left"], b["left"])
    h = min(a["bottom"], b["bottom"]) - max(a["top"], b["top"])
    return max(w, 0) * max(h, 0)


@pytest.mark.parametrize("width,height", [(1400, 900), (390, 844)])
def test_national_map_frames_the_lower_48_and_insets(browser, national_page, width, height):
    path, shapes = national_page
    context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=width < 500,
                                  has_touch=width < 500)
    page = context.new_page()
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".podgeo-legend")
        seen = page.evaluate(_VIEW_JS)
    finally:
        context.close()
    assert seen["west"] <= -124.7 and seen["east"] >= -66.95 and seen["south"] <= 24.4 and seen["north"] >= 49.38
    for st in ("AK", "HI", "PR"):
        minx, miny, maxx, maxy = shapes.loc[[st]].total_bounds
        assert seen["west"] <= minx and maxx <= seen["east"] and seen["south"] <= miny and maxy <= seen["north"], st
    # the lower 48 fill the frame's width (not a small US in a corner of the world)
    assert (-66.95 + 124.7) / (seen["east"] - seen["west"]) > 0.75
    for box in seen["controls"]:
        assert _overlap(box, seen["zoomButtons"]) == 0
    if width < 500:
        assert all(seen["folded"]) and seen["layersCollapsed"] and not seen["scaleShown"]
        covered = sum(b["w"] * b["h"] for b in seen["controls"]) + seen["zoomButtons"]["w"] * seen["zoomButtons"]["h"]
        assert covered < 0.1 * seen["map"]["w"] * seen["map"]["h"]
    else:
        assert seen["folded"] == [True, False]  # pods legend folded (it would cover the insets), the key open


def _drawn(lng: float, lat: float, fips: str) -> tuple[float, float]:
    """(lat, lng) where the national map draws a real point of Alaska (02) or Hawaii (15): in its inset."""
    x, y = geo.inset_points([lng], [lat], [fips])
    return float(y[0]), float(x[0])


def _open_map(page, url: str):
    page.goto(url, wait_until="domcontentloaded")
    app_browser.wait_drawn(page)
    frame = map_frame(page)
    frame.wait_for_function(f"({INKED_PIXELS})() > 1000", timeout=60_000)
    assert app_browser.error_texts(page) == []
    return frame


def _click(page, frame, lat: float, lng: float, expect: str) -> None:
    page.locator('iframe[title*="streamlit_folium"]').scroll_into_view_if_needed()
    click_latlng(page, frame, lat, lng)
    page.get_by_text(expect).first.wait_for(timeout=60_000)
    app_browser.wait_drawn(page)
    assert app_browser.error_texts(page) == []


#: (where clicked, what then shows, what the URL then holds): on the map of every district, then of states
DISTRICT_CLICKS = [((36.17, -115.14), "Clark County School District · LEAID 3200060",
                    ("state=NV", "district=3200060")),
                   (_drawn(-153.0, 69.5, "02"), "North Slope Borough School District · LEAID 0200610",
                    ("state=AK", "district=0200610"))]
STATE_CLICKS = [(_drawn(-155.5, 19.6, "15"), "— HI school districts", ("state=HI",)),
                (_drawn(-150.0, 64.0, "02"), "— AK school districts", ("state=AK",))]


@pytest.mark.parametrize("size", sorted(app_browser.VIEWPORTS))
def test_every_district_map_frames_the_us_and_clicks_open_districts_and_inset_states(national_app, browser,
                                                                                      national_page, size):
    """On the national store: Las Vegas opens Clark County (Nevada); a click in the Alaska inset opens the
    North Slope Borough district; on the states map, the Hawaii and Alaska insets open their states."""
    _, shapes = national_page
    page = app_browser.new_page(browser, size)
    try:
        frame = _open_map(page, f"{national_app}/explore?national=districts")
        page.get_by_text("— United States school districts").first.wait_for()
        seen = frame.evaluate(_VIEW_JS)
        assert seen["west"] <= -124.7 and seen["east"] >= -66.95 and seen["south"] <= 24.4 and seen["north"] >= 49.38
        for st in ("AK", "HI", "PR"):
            minx, miny, maxx, maxy = shapes.loc[[st]].total_bounds
            assert seen["west"] <= minx and maxx <= seen["east"] and seen["south"] <= miny and maxy <= seen["north"], st
        assert (-66.95 + 124.7) / (seen["east"] - seen["west"]) > 0.75
        for (lat, lng), expect, in_url in DISTRICT_CLICKS:
            frame = _open_map(page, f"{national_app}/explore?national=districts")
            _click(page, frame, lat, lng, expect)
            assert all(part in page.url for part in in_url), page.url
        for (lat, lng), expect, in_url in STATE_CLICKS:
            frame = _open_map(page, f"{national_app}/explore?national=states")
            _click(page, frame, lat, lng, expect)
            assert all(part in page.url for part in in_url), page.url
        assert page.outside == []
    finally:
        page.context.close()
