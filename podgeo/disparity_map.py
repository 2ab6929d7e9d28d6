"""Map of districts by disparity finding: significant shortfall, significant surplus, and the rest apart.

`maps.category_choropleth` colours categories in sorted order, which would paint "not significant"
in a loud colour; here the finding fixes the colour: orange shortfall, blue surplus (the Okabe-Ito
pair the charts use), light grey not significant, hatched-grey outline for not testable, and the
"No data" style for districts with no estimate. District names reach the page escaped.
"""
from __future__ import annotations

import html
import json

import folium
import geopandas as gpd
from branca.element import MacroElement
from jinja2 import Template

from podgeo import assets, charts, maps

STYLES = {  # finding -> (fill colour, outline, legend text)
    "shortfall": (charts.LOW_ACCESS_COLOUR, "#4d4d4d", "Significant shortfall"),
    "surplus": (charts.OTHER_COLOUR, "#4d4d4d", "Significant surplus"),
    "not significant": ("#e0e0e0", "#737373", "Not significant"),
    "not assessed (no margin of error)": ("#ffffff", "#737373", "Not testable (no margin of error)"),
    "no data": (maps.NO_DATA_COLOUR, "#737373", maps.NO_DATA_LABEL),
}


def finding_map(districts: gpd.GeoDataFrame, *, title: str, tiles: str | None = "env") -> folium.Map:
    """`districts` with leaid, name, finding and display geometry, shaded by finding, with a legend of counts."""
    for col in ("leaid", "name", "finding"):
        if col not in districts.columns:
            raise ValueError(f"districts has no column {col!r} (columns: {list(districts.columns)})")
    if districts.empty:
        raise ValueError("districts is empty: nothing to map")
    gdf = districts.to_crs(4326)
    finding = gdf["finding"].where(gdf["finding"].isin(list(STYLES)), "no data")
    props = gpd.GeoDataFrame({"name": [html.escape(str(n)) for n in gdf["name"].fillna("")],
                              "leaid": gdf["leaid"].astype(str).to_numpy(),
                              "finding": [STYLES[f][2] for f in finding], "key": finding.to_numpy()},
                             geometry=gdf.geometry.values, crs=4326)
    m = maps.base_map(gdf.total_bounds, tiles=tiles)
    folium.GeoJson(
        props.to_json(), name=html.escape(title),
        style_function=lambda f: {"fillColor": STYLES[f["properties"]["key"]][0], "fillOpacity": 0.75,
                                  "color": STYLES[f["properties"]["key"]][1], "weight": 0.6,
                                  "dashArray": "4 3" if f["properties"]["key"] in ("no data",) else None},
        tooltip=folium.GeoJsonTooltip(fields=["name", "leaid", "finding"], aliases=["District", "LEAID", title]),
    ).add_to(m)
    counts = finding.value_counts()
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:14px;margin-right:6px;vertical-align:middle;'
        f'background:{fill};border:1px solid {line}"></span>{html.escape(text)} ({int(counts[key]):,})</div>'
        for key, (fill, line, text) in STYLES.items() if key in counts.index)
    _Legend(f'<div class="t">{html.escape(title)}</div>{rows}<div class="f">(n) = districts</div>').add_to(m)
    return assets.localize(m)


class _Legend(MacroElement):
    """A bottom-right Leaflet control; its HTML goes in as a JSON string, never as template source."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "podgeo-legend");
            div.innerHTML = {{ this.html_js }};
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}""")

    def __init__(self, legend_html: str):
        super().__init__()
        self._name = "DisparityLegend"
        self.html_js = json.dumps(legend_html).replace("</", "<\\/")
