"""Issue 10: user text never becomes Jinja template source, and stays text, on every map podgeo builds.

branca's MacroElement.render parses each element's output as a template again, so a cohort name like
`{{ lipsum.__globals__.os.popen('id').read() }}` used to run on the server. Every payload below goes
into every user-text field that reaches a map (pod fields, cohort names as titles and layer names,
attribute labels, column labels, category values, district and site names), through every builder,
the st_folium rendering path and the standalone "Map (HTML)" export; the text must come out as typed
(escaped where it is HTML) and nothing may be evaluated.
"""
from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from podgeo import assets, explore, maps

#: tags podgeo's own legend/popup/tooltip markup uses; anything else in decoded HTML came from a user
OUR_TAGS = {"div", "span", "strong", "br", "table", "tr", "th", "td", "summary"}


@pytest.fixture(scope="module")
def pwned(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("injection") / "pwned_maps"


@pytest.fixture(scope="module")
def payloads(pwned) -> list[str]:
    return [
        "A{{ 7*7 }}Z",
        "S{{ lipsum.__globals__.os.popen('touch %s').read() }}E" % pwned,
        "B{% for x in range(3) %}A{% endfor %}Z",
        "C{# comment #}D",
        "K{{ \\ }} C:\\temp\\{{x",  # `{{` then a backslash: a TemplateSyntaxError before the fix
        "<img src=x onerror=alert(1)>",
        "</script><script>alert(2)</script>",
        "$x^2$ **b** :material/home: `c` [l](http://x)",
        "{{{ }}} {%% {##",
    ]


# ------------------------------------------------------------------------ inputs carrying payloads

def _districts(names: list[str], category: list[str]) -> gpd.GeoDataFrame:
    n = len(names)
    return gpd.GeoDataFrame({
        "leaid": [f"06{i:05d}" for i in range(1, n + 1)], "name": names, "layer": ["unified"] * n,
        "state_fips": ["06"] * n, "state": ["CA"] * n, "state_name": names,
        "children_5_17": [1000.0 + 10 * i for i in range(n)], "children_poverty": [100.0 + i for i in range(n)],
        "pct_poverty": [10.0 + i for i in range(n)], "mode": category, "minutes": [900.0 + i for i in range(n)],
    }, geometry=[box(i, 0, i + 1, 1) for i in range(n)], crs=4326)


def _pods(p: list[str]) -> gpd.GeoDataFrame:
    n = len(p)
    return gpd.GeoDataFrame({
        "pod_id": [f"pod{i}" for i in range(n)], "name": p, "operator_type": ["parent_led_pod"] * n,
        "operator_name": p, "address": p, "city": p, "state": ["CA"] * n, "zip": p,
        "languages": [json.dumps([v]) for v in p], "notes": p, "mode": p, "status": p, "cost": p,
        "capacity": [10] * n, "lat": [0.5] * n, "lon": [i + 0.5 for i in range(n)],
    }, geometry=[Point(i + 0.5, 0.5) for i in range(n)], crs=4326)


def _links(districts: gpd.GeoDataFrame, pods: gpd.GeoDataFrame) -> pd.DataFrame:
    return pd.DataFrame({"pod_id": pods["pod_id"], "leaid": districts["leaid"].to_numpy(), "layer": "unified"})


def _sites(p: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": [f"s{i}" for i in range(len(p))], "name": p, "address": p, "city": p},
                            geometry=[Point(i + 0.4, 0.4) for i in range(len(p))], crs=4326)


def _every_map(p: list[str]) -> dict[str, folium.Map]:
    """Every builder podgeo has, each given the payloads in every text field it takes."""
    d, pods = _districts(p, p), _pods(p)
    links = _links(d, pods)
    out: dict[str, folium.Map] = {}
    for i, label in enumerate(p):
        out[f"choropleth/{i}"] = maps.district_choropleth(d, "pct_poverty", label=label, unit=label, tiles=None)
        out[f"category/{i}"] = maps.category_choropleth(d, "mode", label=label, tiles=None)
        out[f"outlines/{i}"] = maps.district_outlines(d, chosen=d["leaid"][:2], label=label, tiles=None)  # cohort
        m = maps.base_map(d.total_bounds, tiles=None)
        maps.add_pods(m, pods, name=label)
        maps.add_access_points(m, pods, "capacity", label=label, unit=label, name=label)
        out[f"points/{i}"] = maps.add_hypothetical_hub(m, 0.5, 0.5, 12)
        out[f"attribute_category/{i}"] = explore.attribute_state_view(
            d, pods, links, {"libraries": _sites(p)}, column="mode", label=label, kind="text").map
        out[f"attribute_number/{i}"] = explore.attribute_state_view(
            d, pods, links, {}, column="minutes", label=label, kind="number").map
    out["sites"] = maps.add_sites(maps.base_map(d.total_bounds, tiles=None), _sites(p), "libraries")
    out["prepared_sites"] = maps.add_sites(maps.base_map(d.total_bounds, tiles=None),
                                           maps.prepare_sites(_sites(p), "schools"), "schools")
    out["state_view"] = explore.state_view(d, pods, links, {"libraries": _sites(p)}, measure="pct_poverty").map
    states = gpd.GeoDataFrame({"state_fips": ["06"], "state": ["CA"], "state_name": [" ".join(p)]},
                              geometry=[box(0, 0, len(p), 1)], crs=4326)
    out["national_view"] = explore.national_view(states, pd.DataFrame(d.drop(columns="geometry")), pods, links,
                                                 measure="pct_poverty").map
    out["national_district_view"] = explore.national_district_view(d, states, pods, links, measure="pct_poverty").map
    return out


# ------------------------------------------------------------------------ how a map reaches a browser

def _st_folium_parts(m: folium.Map) -> str:
    """What `st_folium` sends to the browser (header, html and the script it assembles)."""
    import streamlit_folium

    m.get_root().render()
    m.render()
    return "\n".join([streamlit_folium._get_html(m), streamlit_folium._get_header(m),
                      streamlit_folium._get_map_string(m)])


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("static")
    assets.install_static(folder)
    return folder


@pytest.fixture(scope="module")
def rendered(payloads, static_dir) -> dict[str, str]:
    """Each map rendered three ways: folium's page, the st_folium parts, the standalone export."""
    out = {}
    for name, m in _every_map(payloads).items():
        out[f"{name}/page"] = m.get_root().render()
        out[f"{name}/st_folium"] = _st_folium_parts(m)
        out[f"{name}/standalone"] = assets.standalone_html(m, static_dir)
    return out


# ------------------------------------------------------------------------ a naive decoder for the checks

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.tags = [], set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)

    def handle_data(self, data):
        self.text.append(data)


def _as_html(fragment: str) -> tuple[str, set[str]]:
    parser = _Text()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.text), parser.tags


def _without_vendor_scripts(page: str) -> str:
    return re.sub(r"<script>(.*?)</script>", lambda m: "" if _is_vendor(m.group(1)) else m.group(0), page, flags=re.S)


def _is_vendor(script: str) -> bool:
    return "Leaflet" in script[:300] or "MarkerClusterGroup" in script[:2000]


def _strings(page: str) -> list[str]:
    """Every double-quoted JS string in podgeo's scripts (not the inlined Leaflet), JSON-decoded."""
    out = []
    for token in _TOKEN.findall(_without_vendor_scripts(page)):
        if token.startswith('"'):
            try:
                out.append(json.loads(token))
            except ValueError:
                pass
    return [t for s in out for t in _with_json_inside(s)]


def _with_json_inside(text: str) -> list[str]:
    """A string, or every string inside it when it is JSON text (layer data goes as JSON.parse("..."):
    GeoJSON, or a canvas choropleth's columns)."""
    if not text.startswith(('{"type":"FeatureCollection"', '{"leaid":[')):
        return [text]
    found = []

    def walk(value):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            [walk(v) for v in value.values()]
        elif isinstance(value, list):
            [walk(v) for v in value]
    walk(json.loads(text))
    return found


def _shown_texts(page: str) -> tuple[list[str], set[str]]:
    """What a browser would show: plain strings as they are, markup strings as their text; and the
    tags found inside strings that hold markup."""
    texts, tags = [], set()
    for s in _strings(page):
        texts.append(s)
        if s.startswith(("<div", "<span", "<strong", "<summary")) or re.search(r"&(?:lt|gt|amp|quot|#\d+);", s):
            text, found = _as_html(s)
            texts.append(text)
            tags |= found
    return texts, tags


# ------------------------------------------------------------------------ the regression tests

def test_every_builder_renders_every_payload_without_evaluating_it(rendered, pwned):
    assert len(rendered) > 150  # every builder x every payload x three ways of rendering
    for name, page in rendered.items():
        assert "A49Z" not in page and "49Z" not in page, name
        assert "BAAAZ" not in page and "CD" not in page.replace("CDS", ""), name  # loop ran / comment eaten
    assert not pwned.exists(), "a payload ran a shell command on the server"


def test_no_jinja_delimiter_from_user_text_survives_into_the_page(rendered, payloads):
    """Belt and braces: even a second template pass could not evaluate what reaches the page."""
    for name, page in rendered.items():
        ours = _without_vendor_scripts(page)
        for opener in ("{{", "{%", "{#"):
            assert opener not in ours, (name, opener)


def test_every_payload_comes_out_as_typed(rendered, payloads):
    for name, page in rendered.items():
        if name.startswith(("sites", "prepared_sites", "points", "state_view", "national_view")):
            continue  # their layer labels are podgeo's own; the payloads are in names and popups below
        texts, _ = _shown_texts(page)
        for p in payloads:
            if p.startswith("</script>") and name.startswith("attribute_number"):
                continue
            assert any(p in t for t in texts), (name, p)


def test_pod_site_and_point_text_comes_out_as_typed(rendered, payloads):
    for name in ("points/0/page", "sites/page", "prepared_sites/st_folium", "state_view/standalone",
                 "national_view/page"):
        texts, _ = _shown_texts(rendered[name])
        for p in payloads:
            assert any(p in t for t in texts), (name, p)


def test_html_payloads_stay_text(rendered):
    for name, page in rendered.items():
        assert "<img src=x" not in page, name
        assert "</script><script>alert" not in page, name
        _, tags = _shown_texts(page)
        assert tags <= OUR_TAGS, (name, tags - OUR_TAGS)


def test_a_category_value_with_braces_and_a_backslash_no_longer_crashes(payloads):
    value = payloads[4]
    d = _districts(["A", "B"], [value, "plain"])
    m = maps.add_pods(maps.category_choropleth(d, "mode", label=value, tiles=None), _pods(["p"]))
    page = m.get_root().render()
    legend = [json.loads(s) for s in re.findall(r'var html = ("(?:[^"\\]|\\.)*"), titled', page)]
    assert _as_html(legend[0])[0] == f"{value}{value} (1)plain (1)(n) = districts"
    assert len(legend) == 2  # and the pods legend
    layers = re.findall(r'"([^"]*)": geo_json_layer_', page)
    assert [html.unescape(json.loads(f'"{n}"')) for n in layers] == [value]


def test_layer_control_names_are_escaped_html_with_no_template_delimiters():
    m = maps.district_outlines(_districts(["A"], ["x"]), label="{{ 7*7 }} <b>co</b>hort", tiles=None)
    maps.add_pods(m, _pods(["p"]))
    page = m.get_root().render()
    (name,) = re.findall(r'"([^"]*)": geo_json_layer_', page)
    decoded = json.loads(f'"{name}"')
    assert decoded == "&#123;&#123; 7*7 &#125;&#125; &lt;b&gt;co&lt;/b&gt;hort"
    assert html.unescape(decoded) == "{{ 7*7 }} <b>co</b>hort"


def test_real_districts_with_hostile_names_and_categories(fixtures_dir, payloads, pwned, static_dir):
    """The SF Bay fixture's real boundaries, names and values replaced by payloads, through the export."""
    real = gpd.read_file(fixtures_dir / "districts_2021.geojson").rename(columns={"GEOID": "leaid", "NAME": "name"})
    real = real.head(len(payloads)).assign(name=payloads, mode=payloads)
    page = assets.standalone_html(maps.category_choropleth(real, "mode", label=payloads[1]), static_dir)
    assert not pwned.exists() and "A49Z" not in page
    texts, tags = _shown_texts(page)
    assert tags <= OUR_TAGS
    assert all(any(p in t for t in texts) for p in payloads)
