"""Issue 11 items 2 and 9 in Chromium: the national map shows the lower 48 with the Alaska, Hawaii and
Puerto Rico insets on a desktop and on a phone, and on a phone no legend or control covers the zoom
buttons or most of the map."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from podgeo import assets, explore

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
