"""podgeo.maps: classes, no-data styling, legends, escaping, offline HTML, click-to-district."""
from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from podgeo import maps
from podgeo.assets import remote_links

EVIL = "<img src=x onerror=alert(1)>"


def _districts(values, names=None):
    n = len(values)
    return gpd.GeoDataFrame({"leaid": [f"060000{i}" for i in range(1, n + 1)],
                             "name": names or [f"District {i}" for i in range(1, n + 1)],
                             "share": values},
                            geometry=[box(i, 0, i + 1, 1) for i in range(n)], crs=4326)


def _html(m: folium.Map) -> str:
    return m.get_root().render()


def _layers(html: str) -> list[dict]:
    """The GeoJSON each podgeo layer sends to the browser (`JSON.parse("...")`), decoded."""
    decoder = json.JSONDecoder()
    return [json.loads(decoder.raw_decode(html, match.end())[0])
            for match in re.finditer(r"L\.geoJson\(JSON\.parse\(", html)]


def _legends(html: str) -> list[str]:
    return [json.loads(s) for s in re.findall(r'var html = ("(?:[^"\\]|\\.)*"), titled', html)]


def _pods():
    return gpd.GeoDataFrame({
        "pod_id": ["p1", "p2", None, "p4"],
        "name": [EVIL, "${alert(2)}` pod", "Plain pod", "Nowhere pod"],
        "operator_type": ["parent_led_pod", "community_org_hub", "not_a_type", "employer_pod"],
        "operator_name": ["<script>alert(3)</script>", None, "Org & Co", "x"],
        "address": ["1 Main St <b>", "2 Oak", None, None], "city": ["Oakland", "Oakland", None, None],
        "languages": ['["Spanish", "<i>Tagalog</i>"]', "English; Cantonese", None, None],
        "supports": ['["meals", "tutoring"]', None, None, None],
        "notes": ['"><svg onload=alert(4)>', None, None, None],
        "capacity": [12, None, 8, 3], "grade_low": [0, -1, 3, None], "grade_high": [5, -1, 8, None],
    }, geometry=[Point(0.5, 0.5), Point(1.5, 0.5), Point(2.5, 0.5), None], crs=4326)


# ------------------------------------------------------------ classes and legend

def test_quantile_classes_equal_mapclassify():
    values = [3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0, 6.0, 5.5, 3.5]
    classes = maps.classify(values, scheme="quantiles", k=5, unit="%")
    expected = mapclassify.Quantiles(np.array(values), k=5)
    assert classes.bins == tuple(expected.bins)
    assert classes.yb == tuple(expected.yb)
    assert classes.lower == 1.0
    assert classes.counts == tuple(np.bincount(expected.yb, minlength=5))
    assert classes.colours == ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
    assert classes.labels[0] == f"1.0 – {expected.bins[0]:.1f}%"
    assert classes.labels[-1] == f"{expected.bins[3]:.1f} – 9.0%"


def test_natural_breaks_equal_mapclassify_and_are_stable():
    values = [1, 2, 3, 20, 21, 22, 50, 51, 52, 100, 101, 102, 200, 201]
    a = maps.classify(values, scheme="natural_breaks", k=5)
    b = maps.classify(values, scheme="natural_breaks", k=5)
    assert a.bins == tuple(mapclassify.NaturalBreaks(np.array(values, dtype=float), k=5).bins) == (3, 22, 52, 102, 201)
    assert a == b
    assert a.labels == ("1 – 3", "3 – 22", "22 – 52", "52 – 102", "102 – 201")


def test_missing_and_infinite_values_are_no_data_not_zero():
    classes = maps.classify([0.0, np.nan, 10.0, None, np.inf, 20.0], k=3)
    assert classes.yb == (0, -1, 1, -1, -1, 2)
    assert classes.no_data == 3 and sum(classes.counts) == 3


def test_fewer_distinct_values_than_k_gives_fewer_classes():
    classes = maps.classify([1.0, 1.0, 2.0, 2.0], k=5)
    assert len(classes.bins) == len(classes.colours) == len(classes.labels) == 2
    assert classes.bins == tuple(mapclassify.Quantiles(np.array([1.0, 1.0, 2.0, 2.0]), k=2).bins)
    assert classes.counts == (2, 2)
    all_missing = maps.classify([np.nan, np.nan], k=5)
    assert all_missing.bins == () and all_missing.no_data == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"scheme": "equal"}, "scheme"), ({"k": 12}, "k must"), ({"palette": "Rainbow"}, "palette"),
    ({"palette": ["#000000", "#ffffff"]}, "palette has 2")])
def test_classify_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        maps.classify([1.0, 2.0, 3.0], **kwargs)


def test_choropleth_no_data_district_is_grey_and_in_legend():
    m = maps.district_choropleth(_districts([10.0, np.nan, 30.0, 40.0]), "share", label="Children in poverty",
                                 unit="%", k=3, tiles=None)
    html = _html(m)
    (data,) = _layers(html)
    props = [f["properties"] for f in data["features"]]
    assert [p["leaid"] for p in props] == ["0600001", "0600002", "0600003", "0600004"]
    assert props[1] == {"leaid": "0600002", "name": "District 2", "value": None, "shown": "No data", "c": -1}
    assert [p["c"] for p in props] == [0, -1, 1, 2]
    assert props[0]["shown"] == "10.0%"
    assert f'return c < 0 ? {{"fillColor":"{maps.NO_DATA_COLOUR}"' in html

    (legend,) = _legends(html)
    classes = maps.classify([10.0, np.nan, 30.0, 40.0], k=3, unit="%")
    for colour, label in zip(classes.colours, classes.labels):
        assert colour in legend and label in legend
    assert "No data" in legend and maps.NO_DATA_COLOUR in legend
    assert "Children in poverty" in legend


def test_choropleth_legend_limits_match_mapclassify():
    values = list(np.linspace(0, 90, 10))
    m = maps.district_choropleth(_districts(values), "share", label="Share", unit="per 1,000 children",
                                 scheme="quantiles", k=4, tiles=None)
    (legend,) = _legends(_html(m))
    bins = mapclassify.Quantiles(np.array(values), k=4).bins
    lows = [0.0, *bins[:-1]]
    for lo, hi in zip(lows, bins):
        assert f"{lo:,.1f} – {hi:,.1f} per 1,000 children" in legend
    assert "No data" not in legend


def test_choropleth_uses_canvas_and_fits_the_districts():
    html = _html(maps.district_choropleth(_districts([1.0, 2.0, 3.0]), "share", label="x", unit="", tiles=None))
    assert '"preferCanvas": true' in html
    assert '"maxZoom": 18' in html  # without tiles, markercluster needs the map's own maxZoom
    assert "fitBounds(" in html and "[[0.0, 0.0], [1.0, 3.0]]" in html
    assert "L.tileLayer" not in html


def test_choropleth_reprojects_and_names_bad_columns():
    projected = _districts([1.0, 2.0]).to_crs(5070)
    (data,) = _layers(_html(maps.district_choropleth(projected, "share", label="x", unit="", tiles=None)))
    assert data["features"][0]["geometry"]["coordinates"][0][0] == pytest.approx([1.0, 0.0], abs=1e-6)
    with pytest.raises(ValueError, match="'nope'"):
        maps.district_choropleth(_districts([1.0]), "nope", label="x", unit="")


def test_district_names_are_never_html():
    m = maps.district_choropleth(_districts([1.0, 2.0], names=[EVIL, "B"]), "share", label="<b>x</b>", unit="", tiles=None)
    html = _html(m)
    assert "<img" not in html and "\\u003cimg" in html  # only inside JSON, shown with textContent
    assert "textContent = p.name" in html and "innerHTML = p" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in _legends(html)[0]


# ------------------------------------------------------------ pods and sites

def test_pod_popups_and_tooltips_escape_every_user_string():
    m = maps.district_choropleth(_districts([1.0, 2.0, 3.0]), "share", label="x", unit="", tiles=None)
    maps.add_pods(m, _pods())
    html = _html(m)
    _, pods = _layers(html)
    feature = pods["features"][0]["properties"]

    assert feature["tip"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert "<strong>&lt;img src=x onerror=alert(1)&gt;</strong>" in feature["popup"]
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in feature["popup"]
    assert "Spanish, &lt;i&gt;Tagalog&lt;/i&gt;" in feature["popup"]
    assert "&quot;&gt;&lt;svg onload=alert(4)&gt;" in feature["popup"]
    assert "1 Main St &lt;b&gt;, Oakland" in feature["popup"]
    assert "Meals, Tutoring" in feature["popup"] and "K–5" in feature["popup"]
    decoded = json.dumps(pods)
    for raw in ("<img", "<script", "<svg", "<i>"):
        assert raw not in decoded
    for raw in ("<img", "\\u003cimg", "<script>alert", "\\u003cscript\\u003ealert", "\\u003csvg"):
        assert raw not in html
    # nothing is spliced into a JS template literal (folium's Tooltip/Popup do that, and use jQuery)
    assert "bindTooltip(`" not in html and "$(`" not in html
    # braces arrive as character references (no Jinja delimiter survives); the browser shows them as typed
    assert "$&#123;alert(2)&#125;` pod" in pods["features"][1]["properties"]["tip"]


def test_pods_are_clustered_coloured_by_operator_and_in_a_legend():
    m = maps.district_choropleth(_districts([1.0, 2.0, 3.0]), "share", label="x", unit="", tiles=None)
    maps.add_pods(m, _pods())
    html = _html(m)
    _, pods = _layers(html)
    assert [f["properties"]["id"] for f in pods["features"]] == ["p1", "p2", None]  # p4 has no location
    assert [f["properties"]["colour"] for f in pods["features"]] == [
        maps.OPERATOR_COLOURS["parent_led_pod"], maps.OPERATOR_COLOURS["community_org_hub"], maps.OPERATOR_COLOURS["other"]]
    assert "L.markerClusterGroup(" in html
    legend = _legends(html)[1]
    assert "Parent-led pod" in legend and "Community organization hub" in legend and "Other" in legend
    assert "Employer-sponsored pod" not in legend
    assert "1 without a location" in legend
    assert "L.control.layers(" in html


def test_sites_are_toggleable_layers_from_real_outlets(fixtures_dir):
    libs = pd.read_csv(fixtures_dir / "imls_library_outlets.csv", dtype=str)
    sites = gpd.GeoDataFrame(libs, geometry=gpd.points_from_xy(libs.LONGITUD.astype(float), libs.LATITUDE.astype(float)),
                             crs=4326)
    m = maps.district_choropleth(_districts([1.0]), "share", label="x", unit="", tiles=None)
    maps.add_sites(m, sites, "libraries")
    maps.add_pods(m, _pods())
    html = _html(m)
    _, lib_layer, _ = _layers(html)
    assert len(lib_layer["features"]) == len(libs)
    assert lib_layer["features"][0]["properties"]["tip"] == "ALBANY LIBRARY"
    assert html.count("L.control.layers(") == 1
    assert "Public library outlets (68)" in html
    layer_control_at = html.index("L.control.layers(")
    assert all(html.index(f"var {name}") < layer_control_at
               for name in re.findall(r"var (feature_group_\w+|marker_cluster_\w+) =", html))
    with pytest.raises(ValueError, match="kind"):
        maps.add_sites(m, sites, "parks")


def test_every_map_we_build_loads_nothing_from_the_internet(fixtures_dir):
    schools = gpd.GeoDataFrame({"School": ["A <school>"], "Street": ["1 St"], "City": ["Oakland"]},
                               geometry=[Point(0.5, 0.5)], crs=4326)
    maps_built = [
        maps.district_choropleth(_districts([1.0, np.nan, 3.0]), "share", label="x", unit="%", tiles=None),
        maps.add_pods(maps.district_choropleth(_districts([1.0, 2.0]), "share", label="x", unit="", tiles=None), _pods()),
        maps.add_sites(maps.add_pods(maps.district_choropleth(_districts([1.0, 2.0]), "share", label="x", unit="",
                                                              scheme="natural_breaks", tiles=None), _pods()),
                       schools, "schools"),
    ]
    for m in maps_built:
        html = _html(m)
        assert remote_links(html) == []
        assert re.findall(r"https?://", html) == []
        srcs = re.findall(r'<script[^>]*src="([^"]+)"', html) + re.findall(r'<link[^>]*href="([^"]+)"', html)
        assert srcs and all(s.startswith("/app/static/vendor/") for s in srcs)
        for banned in ("jquery", "bootstrap", "awesome", "font-awesome", "fontawesome", "d3"):
            assert banned not in " ".join(srcs).lower()


def test_tiles_are_optional_and_configurable(monkeypatch):
    d = _districts([1.0, 2.0])
    monkeypatch.delenv("PODGEO_TILES", raising=False)
    assert "L.tileLayer" not in _html(maps.district_choropleth(d, "share", label="x", unit=""))
    monkeypatch.setenv("PODGEO_TILES", "https://tiles.example.org/{z}/{x}/{y}.png")
    monkeypatch.setenv("PODGEO_TILES_ATTR", "Example tiles")
    html = _html(maps.district_choropleth(d, "share", label="x", unit=""))
    assert "L.tileLayer(" in html and '"https://tiles.example.org/{z}/{x}/{y}.png"' in html
    assert remote_links(html) == []  # the tile URL is data for Leaflet, not a script or stylesheet
    assert "L.tileLayer" not in _html(maps.district_choropleth(d, "share", label="x", unit="", tiles=None))
    html = _html(maps.district_choropleth(d, "share", label="x", unit="", tiles="https://t.example/{z}/{x}/{y}.png"))
    assert '"https://t.example/{z}/{x}/{y}.png"' in html and "Basemap tiles" in html


# ------------------------------------------------------------ click -> district

def _click_districts():
    return gpd.GeoDataFrame({"leaid": ["0600001", "0600002", "0699997"]},
                            geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 5, 1, 6)], crs=4326)


def test_district_at_prefers_the_clicked_features_properties():
    click = {"last_object_clicked": {"lat": 0.5, "lng": 1.5},
             "last_active_drawing": {"type": "Feature", "properties": {"leaid": "0600001", "c": 0},
                                     "geometry": {"type": "Polygon", "coordinates": []}}}
    assert maps.district_at(click, _click_districts()) == "0600001"


def test_district_at_falls_back_to_the_point_when_properties_are_not_a_shown_district():
    stale = {"last_object_clicked": {"lat": 0.5, "lng": 1.5},
             "last_active_drawing": {"properties": {"leaid": "0699999"}}}  # from another layer
    assert maps.district_at(stale, _click_districts()) == "0600002"
    pod = {"last_object_clicked": {"lat": 0.5, "lng": 0.25}, "last_active_drawing": {"properties": {"id": "p1"}}}
    assert maps.district_at(pod, _click_districts()) == "0600001"


@pytest.mark.parametrize("click, expected", [
    (None, None), ({}, None),
    ({"last_object_clicked": None, "last_clicked": {"lat": 0.5, "lng": 0.5}}, "0600001"),
    ({"last_object_clicked": {"lat": 0.5, "lng": 1.0}}, "0600001"),  # on the shared edge: lowest LEAID
    ({"last_object_clicked": {"lat": 0.5, "lng": 361.5}}, "0600002"),  # wrapped longitude
    ({"last_object_clicked": {"lat": 9.0, "lng": 9.0}}, None),  # outside every district
    ({"last_object_clicked": {"lat": 5.5, "lng": 0.5}}, None),  # filler area, not a district
    ({"lat": 0.5, "lng": 1.5}, "0600002"),  # a bare {lat, lng}
])
def test_district_at_from_lat_lng(click, expected):
    assert maps.district_at(click, _click_districts()) == expected


def test_district_at_works_on_projected_districts():
    click = {"last_object_clicked": {"lat": 0.5, "lng": 1.5}}
    assert maps.district_at(click, _click_districts().to_crs(5070)) == "0600002"


def test_real_fixture_click_on_oakland(fixtures_dir):
    districts = gpd.read_file(fixtures_dir / "districts_2021.geojson").rename(columns={"GEOID": "leaid"})
    unified = districts[districts.SDTYPE == "unified"]
    assert maps.district_at({"last_object_clicked": {"lat": 37.8044, "lng": -122.2712}}, unified) == "0628050"


def test_pods_and_sites_on_a_base_map_or_any_folium_map():
    for m in (maps.base_map((0, 0, 3, 1), tiles=None), folium.Map(tiles=None)):
        maps.add_pods(m, _pods())
        html = _html(m)
        assert remote_links(html) == [] and re.findall(r"https?://", html) == []
        assert '"maxZoom": 18' in html and ".podgeo-legend" in html


# ------------------------------------------------------------ coverage page: access layers

def test_access_points_are_classed_escaped_and_grey_without_a_value():
    points = gpd.GeoDataFrame({"name": [EVIL, "B", "C", "D"], "access": [0.0, 1.0, 2.0, np.nan]},
                              geometry=[Point(0.2, 0.5), Point(1.2, 0.5), Point(2.2, 0.5), Point(3.2, 0.5)], crs=4326)
    m = maps.district_choropleth(_districts([1.0, 2.0, 3.0, 4.0]), "share", label="Access", unit="")
    maps.add_access_points(m, points, "access", label="Access <i>x</i>", unit="", name="Schools <b>")
    html = _html(m)
    layer = _layers(html)[-1]["features"]
    assert [f["properties"]["colour"] for f in layer][-1] == maps.NO_DATA_COLOUR
    assert len({f["properties"]["colour"] for f in layer[:3]}) == 3
    tips = [f["properties"]["tip"] for f in layer]
    assert tips[0].startswith("&lt;img src=x onerror=alert(1)&gt;<br>Access &lt;i&gt;x&lt;/i&gt;: ")
    assert tips[3].endswith(": No data")
    assert "Schools \\u0026lt;b\\u0026gt; (4)" in html and "Schools <b>" not in html  # layer-control label
    assert EVIL not in html and remote_links(html) == []
    with pytest.raises(ValueError, match="points has no column 'seats'"):
        maps.add_access_points(m, points, "seats", label="x", unit="")


def test_hypothetical_hub_is_drawn_with_its_seats():
    m = maps.district_choropleth(_districts([1.0, 2.0]), "share", label="Access", unit="")
    maps.add_hypothetical_hub(m, 0.5, 0.5, 40)
    html = _html(m)
    hub = _layers(html)[-1]["features"][0]
    assert hub["geometry"]["coordinates"] == [0.5, 0.5]
    assert hub["properties"]["tip"] == "Hypothetical hub: 40 seats"
    assert any("Hypothetical hub (40 seats)" in legend for legend in _legends(html))
    with pytest.raises(ValueError, match="hub position"):
        maps.add_hypothetical_hub(m, None, 0.5, 40)


def test_clicked_point_reads_last_clicked_only():
    assert maps.clicked_point({"last_clicked": {"lat": 37.8, "lng": -122.27}}) == (-122.27, 37.8)
    assert maps.clicked_point({"last_clicked": {"lat": 37.8, "lng": 237.73}}) == pytest.approx((-122.27, 37.8))
    assert maps.clicked_point({"last_object_clicked": {"lat": 1, "lng": 2}}) is None
    assert maps.clicked_point({"last_clicked": {"lat": 137.8, "lng": 2}}) is None
    assert maps.clicked_point(None) is None


# ------------------------------------------------------------ national frame, phones, wording (issue 11)

def _national(shared_data, measure="pct_poverty"):
    from podgeo import explore

    states = gpd.read_file(shared_data / "states" / "cb_2018_us_state_20m.shp").rename(
        columns={"STATEFP": "state_fips", "STUSPS": "state", "NAME": "state_name"})
    table = pd.DataFrame({"leaid": states["state_fips"] + "00001", "state_fips": states["state_fips"],
                          "layer": "unified", "children_5_17": 1000.0, "children_poverty": 100.0,
                          "pct_poverty": np.arange(len(states), dtype=float)})
    pods = gpd.GeoDataFrame({"pod_id": ["ak", "ca"], "name": ["Anchorage pod", "Fresno pod"], "state": ["AK", "CA"],
                             "capacity": [5, 6], "lat": [61.2, 36.7]},
                            geometry=[Point(-149.9, 61.2), Point(-119.8, 36.7)], crs=4326)
    links = pd.DataFrame({"pod_id": ["ak", "ca"], "leaid": ["0200001", "0600001"], "layer": "unified"})
    return explore.national_view(states, table, pods, links, measure=measure)


def test_national_map_is_framed_on_the_lower_48_with_insets(shared_data):
    view = _national(shared_data)
    fit = next(c for c in view.map._children.values() if isinstance(c, folium.map.FitBounds))
    (south, west), (north, east) = fit.bounds
    assert west <= -124.7 and east >= -66.95 and south <= 24.4 and north >= 49.38  # the lower 48
    assert west > -126 and east < -65 and north < 50 and south > 19  # and not much more (no Europe, no Pacific)
    shapes = view.shapes.set_index("state")
    for st in ("AK", "HI", "PR"):
        minx, miny, maxx, maxy = shapes.loc[[st]].total_bounds
        assert west <= minx and maxx <= east and south <= miny and maxy <= north, st
    assert view.map.options["zoom_snap"] == 0.25 and view.map.options["min_zoom"] == 2
    assert "\"zoomSnap\": 0.25" in view.map.get_root().render()
    html = view.map.get_root().render()
    pods = _layers(html)[1]["features"]
    anchorage = next(f for f in pods if f["properties"]["id"] == "ak")["geometry"]["coordinates"]
    assert shapes.loc[["AK"]].geometry.iloc[0].contains(Point(anchorage))  # the pod moved with its state


def test_national_legend_says_what_n_counts_and_what_the_value_is(shared_data):
    legend = _legends(_national(shared_data).map.get_root().render())[0]
    assert "% of children 5-17 in poverty (whole state)" in legend and "total" not in legend
    assert "(n) = states" in legend and "(n) = districts" not in legend
    assert "Districts weighted by children 5-17." in legend
    count = _legends(_national(shared_data, "children_5_17").map.get_root().render())[0]
    assert "Children 5-17 (state total)" in count and "Sum over the state&#x27;s unified + elementary" in count


def test_no_map_blocks_pinch_zoom():
    import streamlit_folium

    m = maps.district_choropleth(_districts([1.0, 2.0]), "share", label="x", unit="", tiles=None)
    maps.add_pods(m, _pods())
    for page in (_html(m), streamlit_folium._get_header(m)):
        assert "user-scalable" not in page and "maximum-scale" not in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1.0" />' in _html(m)


def test_on_a_narrow_map_legends_fold_the_layer_list_collapses_and_the_scale_hides():
    m = maps.district_choropleth(_districts([1.0, 2.0]), "share", label="Share", unit="", tiles=None)
    maps.add_pods(m, _pods())
    html = _html(m)
    assert "@media (max-width: 640px)" in html and ".leaflet-control-scale { display: none; }" in html
    assert 'window.matchMedia("(max-width: 640px)").matches ? {collapsed: true} : {}' in html
    assert html.count('div.open = !false && !window.matchMedia("(max-width: 640px)").matches') == 2
    assert all(legend.startswith('<summary class="t">') for legend in _legends(html))  # foldable, titled


# ------------------------------------------------------------ encoded rings, national map of districts (issue 14)

def _decode_polyline(text: str, precision: int) -> list[tuple[float, float]]:
    """Google's published decoding algorithm, written out naively (the reference for encode_rings)."""
    out, lat, lng, i = [], 0, 0, 0
    while i < len(text):
        pair = []
        for _ in range(2):
            result = shift = 0
            while True:
                b = ord(text[i]) - 63
                i += 1
                result |= (b & 0x1F) << shift
                shift += 5
                if b < 0x20:
                    break
            pair.append(~(result >> 1) if result & 1 else result >> 1)
        lat, lng = lat + pair[0], lng + pair[1]
        out.append((lng / 10 ** precision, lat / 10 ** precision))
    return out


def test_encoded_rings_decode_to_the_rounded_coordinates():
    from shapely.geometry import MultiPolygon, Polygon

    holed = Polygon([(2, 2), (3, 2), (3, 3), (2, 2)], [[(2.6, 2.2), (2.9, 2.2), (2.9, 2.5), (2.6, 2.2)]])
    geoms = np.array([box(-120.123449, 37.5, -119.5, 38.25), MultiPolygon([box(0, 0, 1, 1), holed]), None,
                      Polygon([(-179.99, -89.5), (179.99, -89.5), (0, 89.9)])], dtype=object)
    encoded = maps.encode_rings(geoms, 4)
    assert encoded[2] is None
    first = json.loads(encoded[0])
    assert first["type"] == "Polygon"
    assert _decode_polyline(first["coordinates"][0], 4) == [(-119.5, 37.5), (-119.5, 38.25), (-120.1234, 38.25),
                                                            (-120.1234, 37.5), (-119.5, 37.5)]
    multi = json.loads(encoded[1])
    assert multi["type"] == "MultiPolygon" and [len(p) for p in multi["coordinates"]] == [1, 2]
    assert _decode_polyline(multi["coordinates"][1][1], 4) == [(2.6, 2.2), (2.9, 2.2), (2.9, 2.5), (2.6, 2.2)]
    far = _decode_polyline(json.loads(encoded[3])["coordinates"][0], 4)
    assert far == [(-179.99, -89.5), (179.99, -89.5), (0.0, 89.9), (-179.99, -89.5)]
    with pytest.raises(ValueError, match="polygons and multipolygons"):
        maps.encode_rings(np.array([Point(0, 0)]), 3)


def test_encoded_map_is_smaller_and_decodes_in_the_page_to_the_same_shapes(fixtures_dir):
    real = gpd.read_file(fixtures_dir / "districts_2021.geojson").rename(columns={"GEOID": "leaid", "NAME": "name"})
    real = real.assign(share=np.arange(len(real), dtype=float))
    plain = maps.district_choropleth(real, "share", label="x", unit="", tiles=None)
    packed = maps.district_choropleth(real, "share", label="x", unit="", tiles=None, precision=5)
    plain_html, packed_html = _html(plain), _html(packed)
    assert len(packed_html) < 0.5 * len(plain_html)
    assert "function (group, fc, precision)" in packed_html and "L.geoJson(null," in packed_html
    # every ring decodes (naive reference) to the 5-decimal coordinates of the GeoJSON version
    decoder = json.JSONDecoder()
    start = packed_html.index("JSON.parse(", packed_html.index("function (group, fc, precision)")) + 11
    data = json.loads(decoder.raw_decode(packed_html, start)[0])
    (shapes,) = [layer for layer in _layers(plain_html)]
    for enc, ref in zip(data["features"], shapes["features"]):
        assert enc["properties"] == ref["properties"]
        rings = enc["geometry"]["coordinates"]
        ref_rings = ref["geometry"]["coordinates"]
        if enc["geometry"]["type"] == "Polygon":
            rings, ref_rings = [rings], [ref_rings]
        for poly, ref_poly in zip(rings, ref_rings):
            for ring, ref_ring in zip(poly, ref_poly):
                got = np.array(_decode_polyline(ring, 5))
                assert got.shape == np.shape(ref_ring)
                assert np.abs(got - np.array(ref_ring)).max() <= 1.01e-5  # one grid step at a rounding tie


def test_national_district_view_shades_every_district_with_state_outlines(fixtures_dir, shared_data):
    from podgeo import explore, geo

    real = gpd.read_file(fixtures_dir / "districts_2021.geojson").rename(
        columns={"GEOID": "leaid", "NAME": "name", "STATEFP": "state_fips", "SDTYPE": "layer"})
    real = real.assign(children_5_17=1000.0, children_poverty=100.0, pct_poverty=np.linspace(1, 30, len(real)))
    nat = geo.national_geometry(real)
    states = gpd.read_file(shared_data / "states" / "cb_2018_us_state_20m.shp").rename(
        columns={"STATEFP": "state_fips", "STUSPS": "state", "NAME": "state_name"})
    pods = gpd.GeoDataFrame({"pod_id": ["p"], "name": ["Oakland pod"], "state": ["CA"], "capacity": [5], "lat": [37.8]},
                            geometry=[Point(-122.27, 37.8)], crs=4326)
    links = pd.DataFrame({"pod_id": ["p"], "leaid": [real["leaid"].iloc[0]], "layer": real["layer"].iloc[0]})
    view = explore.national_district_view(nat, states, pods, links, measure="pct_poverty")
    html = _html(view.map)
    base = real[real["layer"].isin(["unified", "elementary"])]
    assert sorted(view.shaded["leaid"]) == sorted(base["leaid"])  # every tiling district, no secondary
    assert "(n) = districts" in _legends(html)[0] and "interactive: false" in html
    assert '"State outlines": geo_json_layer_' in html
    click = {"last_active_drawing": {"properties": {"leaid": base["leaid"].iloc[3]}}}
    assert maps.district_at(click, view.shapes) == base["leaid"].iloc[3]
    assert explore.national_district_click(view, click) == ("CA", base["leaid"].iloc[3])
    inside = view.shapes.geometry.iloc[5].representative_point()
    assert explore.national_district_click(view, {"last_clicked": {"lat": inside.y, "lng": inside.x}}) == (
        "CA", view.shapes["leaid"].iloc[5])
    assert explore.national_district_click(view, {"last_clicked": {"lat": 0.0, "lng": 0.0}}) is None
    assert explore.national_district_click(view, None) is None


def _canvas_data(html: str) -> dict:
    """The columns a `_CanvasChoropleth` sends (`})(JSON.parse("..."), {options})`), decoded."""
    decoder = json.JSONDecoder()
    (match,) = re.finditer(r"\}\)\(JSON\.parse\(", html)
    return json.loads(decoder.raw_decode(html, match.end())[0])


def test_one_canvas_choropleth_sends_every_district_as_columns_that_decode_to_the_rings(fixtures_dir):
    real = gpd.read_file(fixtures_dir / "districts_2021.geojson").rename(columns={"GEOID": "leaid", "NAME": "name"})
    real = real.assign(share=np.where(np.arange(len(real)) == 2, np.nan, np.arange(len(real), dtype=float)))
    layers = maps.district_choropleth(real, "share", label="x", unit="", tiles=None, precision=3)
    canvas = maps.district_choropleth(real, "share", label="x", unit="", tiles=None, precision=3, one_canvas=True)
    layers_html, canvas_html = _html(layers), _html(canvas)
    assert "L.Canvas.extend" in canvas_html
    assert "new L.Polygon" not in canvas_html.split("L.Canvas.extend")[1]  # no Leaflet layer per district
    data = _canvas_data(canvas_html)
    # the same districts as one Leaflet layer each, encoded the same way
    start = layers_html.index("JSON.parse(", layers_html.index("function (group, fc, precision)")) + 11
    ref = json.loads(json.JSONDecoder().raw_decode(layers_html, start)[0])
    assert len(json.dumps(data)) < 0.8 * len(json.dumps(ref))  # columns: no keys and types per feature
    assert data["leaid"] == [f["properties"]["leaid"] for f in ref["features"]] == list(real["leaid"])
    for key in ("name", "value", "shown", "c"):
        assert data[key] == [f["properties"][key] for f in ref["features"]], key
    assert data["c"][2] == -1 and data["shown"][2] == maps.NO_DATA_LABEL  # unknown stays "No data"
    for polys, feature in zip(data["g"], ref["features"]):
        g = feature["geometry"]
        assert polys == ([g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"])
    assert _legends(canvas_html) == _legends(layers_html)  # the same legend


def test_a_state_cut_by_the_antimeridian_is_framed_as_one_place():
    """Alaska's districts span -179.2 to 179.8: the map once zoomed out to the whole world, blank. The
    eastern parts are drawn 360 degrees west, and a click there still finds its district."""
    import geopandas as gpd
    from shapely.geometry import box

    districts = gpd.GeoDataFrame({"leaid": ["0200001", "0200002"], "name": ["Mainland", "Near Islands"],
                                  "pct_poverty": [10.0, 20.0]},
                                 geometry=[box(-160, 58, -150, 62), box(172, 52, 179.8, 53)], crs="EPSG:4326")
    shown = maps._to_display_crs(districts, "districts")
    minx, _, maxx, _ = shown.total_bounds
    assert (minx, maxx) == (-188.0, -150.0)
    assert shown.geometry.iloc[0].equals(districts.geometry.iloc[0])  # the western part is unchanged
    m = maps.district_choropleth(districts, "pct_poverty", label="% poverty", unit="%", tiles=None)
    html = m.get_root().render()
    assert "179.8" not in html and "-180.2" in html  # drawn on the western side (179.8 - 360)
    assert maps.district_at({"last_clicked": {"lat": 52.5, "lng": -184.0}}, districts) == "0200002"
    # a frame that does not cross the antimeridian is left as it was
    lower48 = districts.iloc[[0]]
    assert maps._to_display_crs(lower48, "districts").geometry.iloc[0].equals(lower48.geometry.iloc[0])
