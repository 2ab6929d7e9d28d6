"""Issue 10 in a real browser: the standalone "Map (HTML)" export of maps whose every text field holds a
payload shows each payload as typed (legends, layer control, tooltips, popups) and runs none of it."""
from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from podgeo import assets, maps

pytestmark = pytest.mark.e2e

PAYLOADS = ["A{{ 7*7 }}Z", "B{% for x in range(3) %}A{% endfor %}Z", "C{# c #}D", "K{{ \\ }}\\x",
            "<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>", "$x^2$ **b** :material/home:"]

_TEXTS_JS = """(names) => {
    const asText = (c, layer) => {
        if (typeof c === "function") c = c(layer);
        if (c instanceof Element) return c.textContent;
        const d = document.createElement("div"); d.innerHTML = c; return d.textContent;  // as Leaflet does
    };
    const out = {tooltips: [], popups: []};
    for (const name of names) {
        window[name].eachLayer((layer) => {
            if (layer.getTooltip()) out.tooltips.push(asText(layer.getTooltip()._content, layer));
            if (layer.getPopup()) out.popups.push(asText(layer.getPopup()._content, layer));
        });
    }
    out.legends = [...document.querySelectorAll(".podgeo-legend")].map((e) => e.textContent);
    out.control = document.querySelector(".leaflet-control-layers-overlays").textContent;
    out.images = document.querySelectorAll("img[src='x']").length;
    return out;
}"""


def _map():
    n = len(PAYLOADS)
    districts = gpd.GeoDataFrame({"leaid": [f"06{i:05d}" for i in range(n)], "name": PAYLOADS, "mode": PAYLOADS},
                                 geometry=[box(i, 0, i + 1, 1) for i in range(n)], crs=4326)
    pods = gpd.GeoDataFrame({"pod_id": [f"p{i}" for i in range(n)], "name": PAYLOADS, "notes": PAYLOADS,
                             "operator_name": PAYLOADS, "capacity": [5] * n},
                            geometry=[Point(i + 0.5, 0.5) for i in range(n)], crs=4326)
    m = maps.category_choropleth(districts, "mode", label=PAYLOADS[0], tiles=None)
    return maps.add_pods(m, pods, name=PAYLOADS[1])


def test_standalone_map_shows_payloads_as_text_and_runs_nothing(browser, tmp_path):
    static = tmp_path / "static"
    assets.install_static(static)
    m = _map()
    page_html = assets.standalone_html(m, static)
    path = tmp_path / "map.html"
    path.write_text(page_html, encoding="utf-8")
    layers = [e.get_name() for e in assets._walk(m) if type(e).__name__ == "_GeoJsonLayer"]

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri())
        page.wait_for_selector(".podgeo-legend")
        seen = page.evaluate(_TEXTS_JS, layers)
        page.wait_for_timeout(300)  # an <img onerror> would fire by now
    finally:
        context.close()
    assert dialogs == [] and errors == [] and seen["images"] == 0
    (category,) = [t for t in seen["legends"] if t.endswith("(n) = districts")]
    (pods,) = [t for t in seen["legends"] if t != category]
    assert category.startswith(PAYLOADS[0]) and pods.startswith(PAYLOADS[1])
    for p in PAYLOADS:
        assert f"{p} (1)" in category  # category values, one district each
        assert any(t.startswith(p) for t in seen["tooltips"]), p  # district names
        assert p in seen["tooltips"], p  # pod names
        assert any(p in t for t in seen["popups"]), p  # pod fields
    assert PAYLOADS[1] in seen["control"] and PAYLOADS[0] in seen["control"]
    assert "49" not in json.dumps(seen)
