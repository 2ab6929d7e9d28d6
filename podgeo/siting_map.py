"""The siting page's own map layer: new hubs numbered in the order of what each adds, and clicked points.

One fixed Jinja template; the picks reach it only as JSON data (`tojson`), names percent-encoded
(folium renders a map's script through Jinja a second time, so a name must not carry `{{`, `{%`
or `{#`), and the browser decodes them into tooltips as DOM text: no site name (an upload's, a
URL's) is ever template source or markup. Everything else on the map comes from `podgeo.maps`.
"""
from __future__ import annotations

from urllib.parse import quote

import folium
import geopandas as gpd
from folium.template import Template
from branca.element import MacroElement

from podgeo import assets

PICK_COLOUR = "#CC3311"
CLICKED_COLOUR = "#0077BB"


def picks_map(districts: gpd.GeoDataFrame, area, pods: gpd.GeoDataFrame, picks: gpd.GeoDataFrame,
              clicked=()) -> folium.Map:
    """The page's map: the `area` districts (None = all) bold over the rest, the pods kept open, the
    numbered picks and the clicked candidate points."""
    from podgeo import maps

    m = maps.district_outlines(districts, chosen=area, label="Area")
    maps.add_pods(m, pods)
    return add_picks(m, picks, clicked=clicked)


def add_picks(m: folium.Map, picks: gpd.GeoDataFrame, clicked=()) -> folium.Map:
    """Numbered markers for `picks` (columns pick, site, district, newly_covered, lat, lon), plus
    hollow markers for clicked candidate points ((name, lon, lat), ...)."""
    data = [{"n": int(r.pick), "lat": float(r.lat), "lon": float(r.lon),
             "tip": quote(f"#{int(r.pick)} {r.site} ({r.district if isinstance(r.district, str) else 'no district'}): "
                          f"+{float(r.newly_covered):,.0f}", safe="")} for r in picks.itertuples()]
    points = [{"lat": float(lat), "lon": float(lon), "tip": quote(str(name), safe="")} for name, lon, lat in clicked]
    _Picks(data, points).add_to(m)
    return assets.localize(m)


def add_hubs(m: folium.Map, hubs) -> folium.Map:
    """Hypothetical hubs (`access_report.Hub`s, e.g. picks opened in Coverage) numbered in the order given,
    drawn like the picks: one layer, whatever their number."""
    data = [{"n": n, "lat": float(h.lat), "lon": float(h.lon),
             "tip": quote(f"Hypothetical hub {n}: {float(h.seats):,.0f} seats", safe="")}
            for n, h in enumerate(hubs, start=1)]
    _Picks(data, []).add_to(m)
    return assets.localize(m)


class _Picks(MacroElement):
    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var group = L.featureGroup();
            function tip(text) {
                var el = document.createElement("span"); el.textContent = decodeURIComponent(text); return el;
            }
            {{ this.clicked|tojson }}.forEach(function (p) {
                L.circleMarker([p.lat, p.lon], {radius: 7, color: {{ this.clicked_colour|tojson }}, weight: 3,
                                                fillColor: "#ffffff", fillOpacity: 0.8})
                 .bindTooltip(tip(p.tip)).addTo(group);
            });
            {{ this.picks|tojson }}.forEach(function (p) {
                var label = document.createElement("div");
                label.textContent = String(p.n);
                label.style.cssText = "background:" + {{ this.colour|tojson }} + ";color:#fff;border-radius:50%;"
                    + "width:22px;height:22px;line-height:22px;text-align:center;font:bold 12px sans-serif;"
                    + "border:2px solid #fff;box-shadow:0 0 3px #000";
                var icon = L.divIcon({html: label, className: "podgeo-pick", iconSize: [22, 22], iconAnchor: [11, 11]});
                L.marker([p.lat, p.lon], {icon: icon, zIndexOffset: 1000}).bindTooltip(tip(p.tip)).addTo(group);
            });
            group.addTo(map);
        })();
        {% endmacro %}
    """)

    def __init__(self, picks: list[dict], clicked: list[dict]):
        super().__init__()
        self._name = "SitingPicks"
        self.picks, self.clicked = picks, clicked
        self.colour, self.clicked_colour = PICK_COLOUR, CLICKED_COLOUR
