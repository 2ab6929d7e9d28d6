"""An app that installs Leaflet locally draws a real district map in Chromium with no outside request."""
from __future__ import annotations

import time
from textwrap import dedent

import pytest
from browser_helpers import COUNT_DISTRICTS, INKED_PIXELS, OPEN_POD_POPUPS, map_frame

pytestmark = pytest.mark.e2e

EVIL = "<img src=x onerror=alert(1)>"

APP = dedent('''
    import os
    from pathlib import Path

    import geopandas as gpd
    import numpy as np
    import streamlit as st
    from shapely.geometry import Point
    from streamlit_folium import st_folium

    from podgeo import assets, geo, maps

    assets.install_static(assets.app_static_dir(Path(__file__)))
    districts = gpd.read_file(os.environ["PODGEO_TEST_DISTRICTS"]).rename(
        columns={"GEOID": "leaid", "NAME": "name", "SDTYPE": "layer"})
    districts = geo.display_geometry(districts[districts.layer != "secondary"])
    districts["share"] = np.linspace(5, 60, len(districts))
    districts.loc[districts.leaid == "0630330", "share"] = np.nan  # Piedmont: no data
    m = maps.district_choropleth(districts, "share", label="Test share", unit="%", k=5)
    pods = gpd.GeoDataFrame(
        {"pod_id": ["evil", "tick"], "name": [__EVIL__, "${alert(2)}` pod"],
         "operator_type": ["parent_led_pod", "district_hub"], "notes": ["<script>alert(3)</script>", None]},
        geometry=[Point(-122.27, 37.80), Point(-122.42, 37.77)], crs=4326)
    maps.add_pods(m, pods)
    out = st_folium(m, key="map", height=520, use_container_width=True,
                    returned_objects=["last_object_clicked", "last_active_drawing"])
    st.markdown(f"clicked district: `{maps.district_at(out, districts)}`")
''').replace("__EVIL__", repr(EVIL))

def test_district_map_draws_offline_and_escapes_pods(tmp_path, fixtures_dir, streamlit_server, offline_page):
    app = tmp_path / "app.py"
    app.write_text(APP)
    base = streamlit_server(app, env={"PODGEO_TEST_DISTRICTS": str(fixtures_dir / "districts_2021.geojson"),
                                      "PODGEO_TILES": ""})
    page = offline_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    started = time.perf_counter()
    page.goto(base, wait_until="domcontentloaded")
    frame = map_frame(page)
    frame.wait_for_function(f"({COUNT_DISTRICTS})() === 21", timeout=60_000)
    frame.wait_for_function(f"({INKED_PIXELS})() > 1000", timeout=30_000)
    draw_s = time.perf_counter() - started
    print(f"\n21 SF Bay districts drawn in Chromium {draw_s:.2f} s after navigation")

    # Leaflet and markercluster came from the app, nothing from anywhere else
    vendor = [u for u in page.requests if "/app/static/vendor/" in u]
    assert any(u.endswith("/leaflet-1.9.4/leaflet.js") for u in vendor)
    assert any(u.endswith("/leaflet.markercluster.js") for u in vendor)
    assert frame.evaluate("() => L.version") == "1.9.4"
    assert frame.locator(".leaflet-overlay-pane canvas").count() >= 1
    assert frame.locator(".leaflet-tile").count() == 0  # no basemap configured
    legends = frame.locator(".podgeo-legend").all_inner_texts()
    assert any("Test share" in t and "No data (1)" in t for t in legends)
    assert any("Parent-led pod (1)" in t for t in legends)

    # user text shows as text, never as markup, in popups and tooltips
    shown = frame.evaluate(f"({OPEN_POD_POPUPS})()")
    assert {s["text"] for s in shown} == {EVIL, "${alert(2)}` pod"}
    assert all(s["imgs"] == 0 for s in shown)

    # a click on San Francisco Unified goes through st_folium and district_at
    box = page.locator('iframe[title*="streamlit_folium"]').bounding_box()
    xy = frame.evaluate("() => window.map.latLngToContainerPoint([37.745, -122.445])")
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    page.get_by_text("clicked district: 0634410").wait_for(timeout=30_000)

    page.screenshot(path=str(tmp_path / "offline_map.png"))
    assert dialogs == []
    assert page.outside == [], f"requests left this machine: {page.outside}"
