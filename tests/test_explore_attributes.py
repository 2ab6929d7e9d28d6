"""The explore page with district attribute layers: shade by an attribute, filter "attribute = value", in the URL;
and the map builders behind it (category shading, district outlines) keep user text out of markup."""
from __future__ import annotations

import json
import shutil

import geopandas as gpd
import pytest
from shapely.geometry import box
from apptest_helpers import open_app
from streamlit.testing.v1 import AppTest

from podgeo import attributes, maps, sheets
from podgeo.store import SqliteStore

EVIL = "<img src=x onerror=alert(1)>"
#: Oakland (1 sample pod, 96 seats) and San Francisco (2 pods, 76 seats) remote; Alameda (98 seats) hybrid
SHEET = (b"LEAID,Learning mode,Minutes\n0628050,remote,1100\n0634410,remote,1200\n0601770,hybrid,900\n"
         b"0604740," + EVIL.encode() + b",950\n")


@pytest.fixture
def db(fixture_store, tmp_path, monkeypatch):
    path = tmp_path / "s.db"
    shutil.copy(fixture_store, path)
    store = SqliteStore(path)
    plan = attributes.plan_layer(sheets.read_sheet(SHEET, "fall.csv"), store.districts(geometry=None), name="Fall")
    store.save_attribute_layer(plan.record("ana"), plan.values)
    store.close()
    monkeypatch.setenv("PODGEO_DB", str(path))
    return path


def _open(**query) -> AppTest:
    return open_app(None, **query)


def _counts(at: AppTest) -> str:
    return next(m.value for m in at.markdown if " pods shown " in m.value)


def test_shade_by_a_category_then_by_a_number(db):
    at = _open()
    assert at.sidebar.selectbox(key="explore.attr").value == ""
    at.sidebar.selectbox(key="explore.attr").set_value("attr:1:learning_mode").run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Learning mode \\(Fall\\) — CA school districts"
    assert at.query_params["attr"] == "attr:1:learning_mode"
    at.sidebar.selectbox(key="explore.attr").set_value("attr:1:minutes").run()
    assert not at.exception and at.title[0].value.startswith("Minutes \\(Fall\\)")
    assert _counts(at).startswith("**6** of 40 pods shown")  # shading changes no count


def test_filter_districts_by_attribute_value_and_reopen_by_link(db):
    at = _open()
    at.sidebar.selectbox(key="explore.attr_filter").set_value("attr:1:learning_mode").run()
    value = at.sidebar.selectbox(key="explore.attr_value.attr:1:learning_mode")
    assert value.options == [EVIL, "hybrid", "remote"]
    value.set_value("remote").run()
    assert not at.exception and not at.error
    assert _counts(at).startswith("**3** of 40 pods shown (all pods), **172** seats.")
    assert (at.query_params["attr_filter"], at.query_params["attr_value"]) == ("attr:1:learning_mode", "remote")
    again = _open(attr_filter="attr:1:learning_mode", attr_value="hybrid", attr="attr:1:minutes")
    assert not again.exception
    assert _counts(again).startswith("**1** of 40 pods shown (all pods), **98** seats.")
    assert again.title[0].value.startswith("Minutes \\(Fall\\)")


def test_unknown_attribute_values_in_the_url_fall_back(db):
    at = _open(attr="attr:9:nothing", attr_filter="<script>", attr_value="x")
    assert not at.exception and not at.error
    assert at.sidebar.selectbox(key="explore.attr").value == "" and "attr" not in at.query_params
    assert _counts(at).startswith("**6** of 40 pods shown")


def _squares() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"leaid": ["0000001", "0000002", "0000003"], "name": ["A", "B", EVIL],
                             "layer": ["unified"] * 3, "mode": ["remote", EVIL, None]},
                            geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs="EPSG:4326")


def test_category_choropleth_escapes_values_and_counts_missing():
    html = maps.category_choropleth(_squares(), "mode", label="Mode <i>", tiles=None).get_root().render()
    assert "<img" not in html and "<i>" not in html  # user text never arrives as markup
    # legend: HTML-escaped, then JSON-escaped for the script; properties: JSON only, shown as DOM text
    assert '\\u0026lt;img src=x onerror=alert(1)\\u0026gt; \\u003cspan class=\\"n\\"\\u003e(1)' in html
    start = html.index("L.geoJson(JSON.parse(") + len("L.geoJson(JSON.parse(")
    data = json.loads(json.JSONDecoder().raw_decode(html, start)[0])  # the layer's data: a JSON string
    assert [(f["properties"]["shown"], f["properties"]["c"]) for f in data["features"]] == [
        ("remote", 1), (EVIL, 0), ("No data", -1)]
    assert "Mode \\u0026lt;i\\u0026gt;" in html


def test_district_outlines_fit_the_chosen_districts():
    m = maps.district_outlines(_squares(), chosen=["0000002"], label="Cohort", tiles=None)
    html = m.get_root().render()
    assert "<img src=x" not in html
    bounds = [c for c in m._children.values() if c.__class__.__name__ == "FitBounds"]
    assert bounds and bounds[0].bounds == [[0.0, 1.0], [1.0, 2.0]]
    with pytest.raises(ValueError, match="none of the chosen districts"):
        maps.district_outlines(_squares(), chosen=["9"])
