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


# ------------------------------------------------------------ every district on one canvas (issue 14)

_CANVAS_JS = """(points) => {
    const map = Object.values(window).find((v) => v instanceof L.Map);
    const layer = Object.values(map._layers).find((l) => l.districtAt);
    window.__clicks = [];
    layer.on("click", (e) => window.__clicks.push(e.layer.toGeoJSON().properties.leaid));
    map.on("click", () => window.__clicks.push("map"));
    const c = layer._container, px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let inked = 0;
    for (let i = 3; i < px.length; i += 16) if (px[i] > 0) inked++;
    const polygons = Object.values(map._layers).filter((l) => l instanceof L.Polygon && l.feature.properties.leaid);
    return {inked, polygons: polygons.length,
            found: points.map(([lat, lng]) => layer.districtAt(L.latLng(lat, lng))),
            xy: points.map(([lat, lng]) => map.latLngToContainerPoint([lat, lng]))};
}"""


def test_every_district_on_one_canvas_finds_hovers_and_clicks_the_right_district(browser, fixtures_dir, shared_data,
                                                                                tmp_path):
    """The national map of every district draws them on one canvas: its own hit-testing finds each
    district at a point inside it (as shapely does), the tooltip names it as text, a click gives
    its LEAID to st_folium's reader (`layer.toGeoJSON()`) and the map's click still fires."""
    real = gpd.read_file(fixtures_dir / "districts_2021.geojson").rename(
        columns={"GEOID": "leaid", "NAME": "name", "STATEFP": "state_fips", "SDTYPE": "layer"})
    real = real.assign(children_5_17=1000.0, children_poverty=100.0, pct_poverty=np.linspace(1, 30, len(real)))
    hostile = "<img src=x onerror=alert(1)> {{ 7*7 }}"
    real.loc[real.index[real["layer"].isin(["unified", "elementary"])][0], "name"] = hostile
    states = gpd.read_file(shared_data / "states" / "cb_2018_us_state_20m.shp").rename(
        columns={"STATEFP": "state_fips", "STUSPS": "state", "NAME": "state_name"})
    pods = gpd.GeoDataFrame({"pod_id": ["p"], "name": ["Pod"], "state": ["CA"], "capacity": [5], "lat": [36.0]},
                            geometry=[Point(-119.0, 36.0)], crs=4326)
    links = pd.DataFrame({"pod_id": ["p"], "leaid": [real["leaid"].iloc[0]], "layer": "unified"})
    view = explore.national_district_view(geo.national_geometry(real), states, pods, links, measure="pct_poverty")
    shapes = view.shapes.reset_index(drop=True)
    inside = shapes.geometry.representative_point()
    points = [[p.y, p.x] for p in inside]
    assets.install_static(tmp_path / "static")
    path = tmp_path / "districts.html"
    path.write_text(assets.standalone_html(view.map, tmp_path / "static"), encoding="utf-8")

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".podgeo-legend")
        page.wait_for_function("() => !Object.values(window).find((v) => v instanceof L.Map)._animatingZoom")
        page.evaluate("() => Object.values(window).find((v) => v instanceof L.Map).setView([37.8, -122.2], 10, "
                      "{animate: false})")
        seen = page.evaluate(_CANVAS_JS, points)
        assert seen["inked"] > 1000 and seen["polygons"] == 0  # drawn, and not as one Leaflet layer each
        assert seen["found"] == list(shapes["leaid"])
        first = seen["xy"][0]
        page.mouse.move(first["x"], first["y"])
        page.mouse.move(first["x"] + 1, first["y"] + 1)
        tip = page.locator(".leaflet-tooltip").text_content(timeout=5_000)
        page.mouse.click(first["x"] + 1, first["y"] + 1)
        clicks = page.evaluate("() => window.__clicks")
        images = page.evaluate("() => document.querySelectorAll(\"img[src='x']\").length")
    finally:
        page.close()
    assert shapes["name"].iloc[0] == hostile
    assert tip.startswith(hostile + "% of children 5-17 in poverty: ") and tip.endswith("%")  # as text
    assert clicks == [shapes["leaid"].iloc[0], "map"] and images == 0 and dialogs == []
