"""folium map builders: districts shaded by a measure, pods, candidate hub sites, click handling.

Builders return folium objects and never touch streamlit. Every map loads Leaflet from the
app itself (`podgeo.assets.localize`), draws on a canvas, and stays readable without basemap
tiles: shading, outlines, tooltips and legends are all ours. User-supplied text reaches the
browser only HTML-escaped (popups, tooltips) and inside JSON, never spliced into JavaScript
source (district names, from official files, are set as DOM text); and it never becomes Jinja
template source: podgeo's elements, layer control and map render their output raw (`_RawMacro`),
and braces in user text are neutralised as well (`_js_json`, `_html`).
"""
from __future__ import annotations

import html
import itertools
import json
import math
import re
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import folium
import folium.plugins
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

from podgeo import assets, vocab
from podgeo.geo import DISPLAY_CRS, FILLER_SUFFIX

NO_DATA_LABEL = "No data"
#: a map narrower than this (a phone) folds its legends and layer list and hides the scale bar
NARROW_MEDIA = "(max-width: 640px)"
NO_DATA_COLOUR = "#bdbdbd"
SCHEMES = {"quantiles": "Quantiles", "natural_breaks": "Natural breaks (Jenks)"}

#: Okabe-Ito: distinguishable with the common colour-vision deficiencies.
OPERATOR_COLOURS: dict[str, str] = {
    "parent_led_pod": "#E69F00",
    "educator_led_pod": "#56B4E9",
    "community_org_hub": "#009E73",
    "district_hub": "#0072B2",
    "employer_pod": "#D55E00",
    "microschool_private": "#CC79A7",
    "faith_based": "#F0E442",
    "other": "#000000",
}

#: Candidate hub-site layers: legend label, outline colour, and the columns to read.
SITE_KINDS: dict[str, dict[str, Any]] = {
    "libraries": {"label": "Public library outlets", "colour": "#332288",
                  "id": ("site_id", "FSCSKEY"), "name": ("name", "LIBNAME"),
                  "address": ("address", "ADDRESS"), "city": ("city", "CITY")},
    "schools": {"label": "Public schools", "colour": "#882255",
                "id": ("site_id", "CDSCode"), "name": ("name", "School"),
                "address": ("address", "Street"), "city": ("city", "City")},
}


@dataclass(frozen=True)
class Classes:
    """A classification of values for a choropleth and its legend.

    `bins` are mapclassify's class upper bounds, `lower` the smallest value; `yb` gives each
    input value's class (-1 = no data) and `counts` the values per class.
    """

    scheme: str
    bins: tuple[float, ...]
    lower: float | None
    colours: tuple[str, ...]
    labels: tuple[str, ...]
    counts: tuple[int, ...]
    no_data: int
    yb: tuple[int, ...]
    decimals: int


def district_choropleth(districts: gpd.GeoDataFrame, measure: str, *, label: str, unit: str,
                        scheme: str = "quantiles", k: int = 5, palette: str | Sequence[str] = "YlGnBu",
                        leaid_col: str = "leaid", name_col: str = "name", tiles: str | None = "env",
                        counted: str = "districts", note: str = "", precision: int | None = None,
                        one_canvas: bool = False) -> folium.Map:
    """A map of `districts` shaded by `measure` in `k` classes, with a legend in `unit`.

    Districts whose value is missing (or not finite) are grey with a dashed outline and listed
    as "No data" — never as zero; `precision` sends rings as encoded polylines at that many
    decimals (`encode_rings`: a third of the bytes). The legend's counts say what they count (`counted`: "districts",
    "states"), after the `note` if any. Each feature carries `leaid` so a click resolves to a district
    (`district_at`). Pass display geometry (`podgeo.geo.display_geometry`): the GeoJSON is sent
    as is. `tiles`: "env" reads PODGEO_TILES, None draws no basemap, else a provider or URL.
    `one_canvas` (with `precision`) draws every district as one layer on its own canvas with its
    own hit-testing (`_CanvasChoropleth`), not one Leaflet layer each: for the ~12,800 of a
    national map, where making and drawing that many layers is most of the time to draw.
    """
    for col in (measure, leaid_col, name_col):
        if col not in districts.columns:
            raise ValueError(f"districts has no column {col!r} (columns: {list(districts.columns)})")
    if districts.empty:
        raise ValueError("districts is empty: nothing to map")
    gdf = _to_display_crs(districts, "districts")
    classes = classify(gdf[measure], scheme=scheme, k=k, palette=palette, unit=unit)
    values = _as_float(gdf[measure])
    props = gpd.GeoDataFrame({
        "leaid": gdf[leaid_col].astype(str).to_numpy(),
        "name": gdf[name_col].astype("string").fillna("").to_numpy(dtype=object),
        "value": [float(f"{v:.6g}") if math.isfinite(v) else None for v in values],
        "shown": [_format_value(v, unit, classes.decimals) if math.isfinite(v) else NO_DATA_LABEL for v in values],
        "c": list(classes.yb),
    }, geometry=gdf.geometry.values, crs=DISPLAY_CRS)

    m = base_map(gdf.total_bounds, tiles=tiles)
    if one_canvas:
        layer = _CanvasChoropleth(props, name=_html(label), colours=classes.colours, label=label,
                                  precision=5 if precision is None else precision)
    else:
        layer = _GeoJsonLayer(props, name=_html(label), overlay=True, control=True,
                              style_js=_district_style_js(classes.colours),
                              tooltip_js=_DISTRICT_TOOLTIP_JS % _js_json(label), highlight=True, precision=precision)
    layer.add_to(m)
    _Legend(_choropleth_legend_html(label, classes, counted, note), position="bottomright").add_to(m)
    return assets.localize(m)


def classify(values: Iterable[float], scheme: str = "quantiles", k: int = 5,
             palette: str | Sequence[str] = "YlGnBu", unit: str = "") -> Classes:
    """Class limits with mapclassify (Quantiles or NaturalBreaks), colours, and legend labels.

    Missing and non-finite values are left out of the classification (class -1). With fewer
    distinct values than `k`, there are as many classes as distinct values.
    NaturalBreaks (k-means) runs with a fixed seed so the same data always gets the same map.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(SCHEMES)}, not {scheme!r}")
    if not isinstance(k, (int, np.integer)) or not 2 <= k <= 9:
        raise ValueError(f"k must be a whole number from 2 to 9, not {k!r}")
    _palette(palette, int(k))  # validate before looking at the data
    y_all = _as_float(pd.Series(list(values) if not isinstance(values, pd.Series) else values))
    finite = np.isfinite(y_all)
    y = y_all[finite]
    if len(y) == 0:
        return Classes(SCHEMES[scheme], (), None, (), (), (), int((~finite).sum()), tuple([-1] * len(y_all)), 0)
    classifier = _run_mapclassify(y, scheme, min(int(k), len(np.unique(y))))
    bins = tuple(float(b) for b in classifier.bins)
    colours = _palette(palette, len(bins))
    yb = np.full(len(y_all), -1, dtype=int)
    yb[finite] = np.asarray(classifier.yb, dtype=int)
    lower = float(y.min())
    decimals = _decimals([lower, *bins])
    labels = tuple(_class_label(lower if i == 0 else bins[i - 1], b, unit, decimals) for i, b in enumerate(bins))
    counts = tuple(int((yb == i).sum()) for i in range(len(bins)))
    return Classes(SCHEMES[scheme], bins, lower, colours, labels, counts, int((~finite).sum()),
                   tuple(int(v) for v in yb), decimals)


def add_pods(m: folium.Map, pods: gpd.GeoDataFrame, *, name: str = "Pods and hubs",
             id_col: str = "pod_id", legend: str = "bottomleft", legend_folded: bool = False) -> folium.Map:
    """Add pods as clustered circles coloured by operator type, with popups and a legend.

    Every pod string is HTML-escaped before it goes into a popup or tooltip. Pods without a
    location cannot be drawn: the legend says how many. Clicks return the pod's `id`.
    """
    if "name" not in pods.columns:
        raise ValueError(f"pods has no column 'name' (columns: {list(pods.columns)})")
    gdf = _to_display_crs(pods, "pods")
    located = _located(gdf)
    gdf_on_map = gdf[located]
    types = gdf_on_map.get("operator_type", pd.Series("other", index=gdf_on_map.index))
    codes = [t if t in OPERATOR_COLOURS else "other" for t in types.astype("string").fillna("other")]
    props = gpd.GeoDataFrame({
        "id": _ids(gdf_on_map, id_col),
        "tip": [_escape(v) for v in gdf_on_map["name"]],
        "colour": [OPERATOR_COLOURS[c] for c in codes],
        "popup": [_pod_popup_html(row) for row in gdf_on_map.to_dict("records")],
    }, geometry=gdf_on_map.geometry.values, crs=DISPLAY_CRS)

    _ensure_map_setup(m)
    cluster = folium.plugins.MarkerCluster(name=_html(name), overlay=True, control=True, options={
        "showCoverageOnHover": False, "maxClusterRadius": 40, "disableClusteringAtZoom": 13})
    cluster.add_to(m)
    _GeoJsonLayer(props, name=None, control=False, point_js=_POD_MARKER_JS,
                  tooltip_key="tip", popup_key="popup").add_to(cluster)
    present = {c: codes.count(c) for c in OPERATOR_COLOURS if c in codes}
    _Legend(_pods_legend_html(name, present, int((~located).sum())), position=legend, folded=legend_folded).add_to(m)
    _ensure_layer_control(m)
    return assets.localize(m)


@dataclass(frozen=True)
class PreparedLayer:
    """A point layer's GeoJSON, built once: site layers do not change with filters, so the page
    caches this and skips rebuilding a thousand escaped popups on every rerun."""

    kind: str
    data_json: str
    count: int
    bounds: tuple[float, float, float, float] | None


def prepare_sites(sites: gpd.GeoDataFrame, kind: str) -> PreparedLayer:
    """The GeoJSON (escaped tooltips and popups) for a candidate-site layer; see `add_sites`."""
    if kind not in SITE_KINDS:
        raise ValueError(f"kind must be one of {sorted(SITE_KINDS)}, not {kind!r}")
    spec = SITE_KINDS[kind]
    gdf = _to_display_crs(sites, "sites")
    gdf = gdf[_located(gdf)]
    name_col = _first_column(gdf, spec["name"], "sites")
    addr_col = next((c for c in spec["address"] if c in gdf.columns), None)
    city_col = next((c for c in spec["city"] if c in gdf.columns), None)
    records = gdf.to_dict("records")
    # escaped name and place only; the popup is assembled in the browser (`_SITE_POPUP_JS`), which
    # keeps ten thousand school features under the 5 MB a view may send
    props = gpd.GeoDataFrame({
        "tip": [_escape(v) for v in gdf[name_col]],
        "at": [_escape(", ".join(x for x in (_text(r.get(addr_col) if addr_col else None),
                                             _text(r.get(city_col) if city_col else None)) if x)) for r in records],
    }, geometry=gdf.geometry.values, crs=DISPLAY_CRS)
    bounds = tuple(float(v) for v in props.total_bounds) if len(props) else None
    return PreparedLayer(kind, _feature_collection(props), len(props), bounds)


def add_sites(m: folium.Map, sites: gpd.GeoDataFrame | PreparedLayer, kind: str, *, show: bool = False) -> folium.Map:
    """Add candidate hub sites ("libraries" or "schools") as a layer the user can toggle.

    Sites are small hollow circles so they never read as pods; names and addresses are escaped.
    `sites` may be a frame or the `prepare_sites` output for the same kind.
    """
    layer = sites if isinstance(sites, PreparedLayer) else prepare_sites(sites, kind)
    if layer.kind != kind:
        raise ValueError(f"prepared layer is for {layer.kind!r}, not {kind!r}")
    spec = SITE_KINDS[kind]
    swatch = (f'<span style="display:inline-block;width:9px;height:9px;border:2px solid {spec["colour"]};'
              f'border-radius:50%;background:#fff;vertical-align:middle"></span>')
    _ensure_map_setup(m)
    group = folium.FeatureGroup(name=f"{swatch} {_html(spec['label'])} ({layer.count:,})", overlay=True,
                                control=True, show=show)
    group.add_to(m)
    _GeoJsonLayer(layer, name=None, control=False, point_js=_SITE_MARKER_JS % _js_json(spec["colour"]),
                  tooltip_key="tip", popup_js=_SITE_POPUP_JS % _js_json(_html(spec["label"]))).add_to(group)
    _ensure_layer_control(m)
    return assets.localize(m)


def add_outlines(m: folium.Map, shapes: gpd.GeoDataFrame, *, name: str = "State outlines", colour: str = "#252525",
                 weight: float = 1.2, precision: int | None = 3, show: bool = True) -> folium.Map:
    """Boundaries drawn as lines over a map (state outlines over a national map of districts), as a
    layer the user can toggle; they take no clicks, so a click still reaches the district below."""
    gdf = _to_display_crs(shapes, "shapes")
    props = gpd.GeoDataFrame(geometry=gdf.geometry.values, crs=DISPLAY_CRS)
    _ensure_map_setup(m)
    style = f"function () {{ return {_js_json({'color': colour, 'weight': weight, 'opacity': 1, 'fill': False})}; }}"
    _GeoJsonLayer(props, name=_html(name), overlay=True, control=True, show=show, style_js=style,
                  precision=precision, interactive=False).add_to(m)
    _ensure_layer_control(m)
    return assets.localize(m)


def frame_national(m: folium.Map) -> folium.Map:
    """Let a national map fit its frame closely: quarter-step zooms and a lower minimum zoom, so
    the lower 48 with the Alaska/Hawaii/Puerto Rico insets (`geo.inset_composite`) fill a desktop
    frame and still fit a phone's 390 px."""
    m.options.update(zoom_snap=0.25, zoom_delta=0.5, min_zoom=2)
    return m


def base_map(bounds: Sequence[float], *, tiles: str | None = "env") -> folium.Map:
    """An empty podgeo map fitted to `bounds` (minx, miny, maxx, maxy in WGS84), for pods or sites alone.

    Canvas renderer, podgeo's legend/popup styles, local Leaflet, and tiles only if asked
    ("env" reads PODGEO_TILES; None = none).
    """
    basemap = assets.tiles_from_env() if tiles == "env" else assets.tiles_from_env({"PODGEO_TILES": tiles or ""})
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    m = _Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=7, tiles=None,
                   prefer_canvas=True, control_scale=True)
    # folium passes min/max zoom only to its tile layer; with no tiles, markercluster needs the map's
    m.options.update(min_zoom=3, max_zoom=18)
    if basemap is not None:
        folium.TileLayer(basemap.tiles, attr=basemap.attr, name="Basemap", overlay=False, control=False).add_to(m)
    _Css(_MAP_CSS).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return assets.localize(m)


def district_at(click: Mapping[str, Any] | None, districts: gpd.GeoDataFrame, *, leaid_col: str = "leaid") -> str | None:
    """The LEAID of the district a user clicked, from what `st_folium` returned (or None).

    Prefers the clicked feature's own properties (`last_active_drawing`), when they name a
    district of `districts` — the layer on show, so a stale click on another layer is ignored;
    else finds the district under `last_object_clicked`, then `last_clicked` ({lat, lng}). On a
    boundary, the district whose interior holds the point wins, then the lowest LEAID.
    """
    if not click:
        return None
    if leaid_col not in districts.columns:
        raise ValueError(f"districts has no column {leaid_col!r} (columns: {list(districts.columns)})")
    leaids = districts[leaid_col].astype(str)
    drawing = click.get("last_active_drawing")
    props = drawing.get("properties") if isinstance(drawing, Mapping) else None
    if isinstance(props, Mapping) and props.get("leaid") is not None:
        leaid = str(props["leaid"])
        if leaid in set(leaids) and not leaid.endswith(FILLER_SUFFIX):
            return leaid
    for point in (click.get("last_object_clicked"), click.get("last_clicked"), click):
        lat_lng = _lat_lng(point)
        if lat_lng is not None:
            return _district_containing(*lat_lng, districts, leaids)
    return None


# ---------------------------------------------------------------- private helpers

_SEQUENTIAL: dict[str, dict[int, tuple[str, ...]]] = {
    "YlGnBu": {
        3: ("#edf8b1", "#7fcdbb", "#2c7fb8"),
        4: ("#ffffcc", "#a1dab4", "#41b6c4", "#225ea8"),
        5: ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"),
        6: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494"),
        7: ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"),
        8: ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#0c2c84"),
        9: ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494", "#081d58"),
    },
    "Blues": {
        3: ("#deebf7", "#9ecae1", "#3182bd"),
        4: ("#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"),
        5: ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"),
        6: ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"),
        7: ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"),
        8: ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594"),
        9: ("#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b"),
    },
    "Purples": {
        3: ("#efedf5", "#bcbddc", "#756bb1"),
        4: ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#6a51a3"),
        5: ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"),
        6: ("#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f"),
        7: ("#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"),
        8: ("#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#4a1486"),
        9: ("#fcfbfd", "#efedf5", "#dadaeb", "#bcbddc", "#9e9ac8", "#807dba", "#6a51a3", "#54278f", "#3f007d"),
    },
    "OrRd": {
        3: ("#fee8c8", "#fdbb84", "#e34a33"),
        4: ("#fef0d9", "#fdcc8a", "#fc8d59", "#d7301f"),
        5: ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"),
        6: ("#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"),
        7: ("#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"),
        8: ("#fff7ec", "#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"),
        9: ("#fff7ec", "#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#b30000", "#7f0000"),
    },
}
#: viridis sampled at 9 even steps; other class counts interpolate between these stops.
_VIRIDIS_9 = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725")

_MAPCLASSIFY_LOCK = threading.Lock()

_BASE_STYLE = {"color": "#4d4d4d", "weight": 0.7, "opacity": 0.9, "fillOpacity": 0.8}
_NO_DATA_STYLE = {"fillColor": NO_DATA_COLOUR, "color": "#737373", "weight": 0.9, "opacity": 0.9,
                  "fillOpacity": 0.8, "dashArray": "3 3"}
_MAP_CSS = """<style>
.leaflet-container { background: #fafafa; }
.podgeo-legend { background: #fff; padding: 6px 9px; border: 1px solid #999; border-radius: 4px;
  font: 12px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; max-width: 280px; }
.podgeo-legend { max-height: 45vh; overflow-y: auto; }
.podgeo-legend .t { font-weight: 600; margin-bottom: 3px; }
.podgeo-legend summary { cursor: pointer; }
.podgeo-legend:not([open]) summary { margin-bottom: 0; }
.podgeo-legend .r { display: flex; align-items: center; gap: 6px; white-space: nowrap; }
.podgeo-legend .n { color: #666; }
.podgeo-legend .f { color: #666; margin-top: 3px; font-size: 11px; }
.podgeo-popup { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.podgeo-popup th { text-align: left; padding-right: 8px; color: #555; font-weight: 500; vertical-align: top; }
@media (max-width: 640px) {
  .podgeo-legend { font-size: 11px; line-height: 1.35; max-width: 180px; padding: 4px 6px; max-height: 40vh; }
  .leaflet-control-scale { display: none; }
  .leaflet-control-layers-expanded { max-height: 45vh; overflow-y: auto; font-size: 11px; }
}
</style>"""

_DISTRICT_TOOLTIP_JS = """function (layer) {
    var p = layer.feature.properties, div = document.createElement("div"), b = document.createElement("strong");
    b.textContent = p.name; div.appendChild(b); div.appendChild(document.createElement("br"));
    div.appendChild(document.createTextNode(%s + ": " + p.shown));
    return div;
}"""
_POD_MARKER_JS = """function (feature, latlng) {
    return L.circleMarker(latlng, {radius: 7, color: "#ffffff", weight: 1.5, opacity: 1,
                                   fillColor: feature.properties.colour, fillOpacity: 0.95});
}"""
_SITE_MARKER_JS = """function (feature, latlng) {
    return L.circleMarker(latlng, {radius: 4, color: %s, weight: 2, opacity: 0.9,
                                   fillColor: "#ffffff", fillOpacity: 0.9});
}"""


#: properties are HTML-escaped in Python (`prepare_sites`), so joining them here is safe
_SITE_POPUP_JS = """'<div class="podgeo-popup"><strong>' + feature.properties.tip + '</strong><br><span>' + %s
    + '</span>' + (feature.properties.at ? '<br>' + feature.properties.at : '') + '</div>'"""


class _RawMacro(MacroElement):
    """A MacroElement whose rendered header/html/script go onto the page as they are.

    branca's `MacroElement.render` wraps each macro's output in `Element(output)`, which parses it
    as a Jinja template again: text inside (a cohort name, a category value) holding `{{ ... }}` or
    `{% ... %}` would be evaluated on the server. Here the output is kept as plain text, so data
    is never template source. (It also skips lexing a megabyte of GeoJSON on every rerun.)
    """

    def render(self, **kwargs):
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise ValueError(f"{type(self).__name__} can only be rendered inside a folium map")
        module = self._template.module.__dict__
        for part in ("header", "html", "script"):
            macro = module.get(part)
            if macro is not None:
                getattr(figure, part).add_child(_RawScript(str(macro(self, kwargs))), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class _GeoJsonLayer(Layer, _RawMacro):
    """A GeoJSON layer whose data, styles and tooltips are JSON and fixed JS functions.

    folium's GeoJson/Tooltip/Popup splice text into JS template literals (a `${...}` or a
    backtick in a pod name would run) and need jQuery; this layer needs only Leaflet.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ "null" if this.encoded else this.data_js }}, {
            {%- if this.style_js %}
            style: {{ this.style_js }},
            {%- endif %}
            {%- if this.point_js %}
            pointToLayer: {{ this.point_js }},
            {%- endif %}
            {%- if not this.interactive %}
            interactive: false,
            {%- endif %}
            onEachFeature: function (feature, layer) {
                {%- if this.tooltip_key %}
                var tip = feature.properties[{{ this.tooltip_key|tojson }}];
                if (tip) { layer.bindTooltip(tip); }
                {%- endif %}
                {%- if this.popup_js %}
                layer.bindPopup({{ this.popup_js }}, {maxWidth: 320});
                {%- endif %}
                {%- if this.popup_key %}
                var popup = feature.properties[{{ this.popup_key|tojson }}];
                if (popup) { layer.bindPopup(popup, {maxWidth: 320}); }
                {%- endif %}
            }
        });
        {%- if this.encoded %}
        {{ this.decode_js }}({{ this.get_name() }}, {{ this.data_js }}, {{ this.precision }});
        {%- endif %}
        {%- if this.tooltip_js %}
        // one tooltip and one pair of handlers for the whole layer (events bubble up from each
        // feature): binding them per feature cost a third of the time to draw 12,000 districts
        {{ this.get_name() }}.bindTooltip({{ this.tooltip_js }}, {sticky: true});
        {%- endif %}
        {%- if this.highlight %}
        {{ this.get_name() }}.on({
            mouseover: function (e) { e.layer.setStyle({weight: 2.5, color: "#000000", dashArray: null}); },
            mouseout: function (e) { {{ this.get_name() }}.resetStyle(e.layer); }
        });
        {%- endif %}
        {% endmacro %}
    """)

    def __init__(self, gdf: "gpd.GeoDataFrame | PreparedLayer", *, name: str | None, overlay: bool = True, control: bool = True,
                 show: bool = True, style_js: str = "", point_js: str = "", tooltip_js: str = "",
                 tooltip_key: str = "", popup_key: str = "", popup_js: str = "", highlight: bool = False,
                 precision: int | None = None, interactive: bool = True):
        super().__init__(name=name, overlay=overlay, control=control, show=show)
        self._name = "GeoJsonLayer"
        if isinstance(gdf, PreparedLayer):
            self.data_js, self.bounds = f"JSON.parse({_safe_json_text(json.dumps(gdf.data_json))})", gdf.bounds
        else:
            # a big literal parses faster as JSON.parse("...") than as JS source (V8)
            self.data_js = f"JSON.parse({_safe_json_text(json.dumps(_feature_collection(gdf, precision)))})"
            self.bounds = gdf.total_bounds if len(gdf) else None
        self.encoded, self.precision = precision is not None, int(precision or 0)
        self.decode_js = _DECODE_JS
        self.style_js, self.point_js, self.tooltip_js = style_js, point_js, tooltip_js
        self.tooltip_key, self.popup_key, self.highlight = tooltip_key, popup_key, highlight
        self.popup_js, self.interactive = popup_js, interactive

    def _get_self_bounds(self):
        if self.bounds is None or not np.all(np.isfinite(self.bounds)):
            return [[None, None], [None, None]]
        minx, miny, maxx, maxy = (float(v) for v in self.bounds)
        return [[miny, minx], [maxy, maxx]]



class _CanvasChoropleth(Layer, _RawMacro):
    """Every district of a choropleth as one Leaflet layer drawing on its own canvas (an
    `L.Canvas` renderer that paints the districts itself): one path per class, filled and stroked
    once, vertices projected from Web Mercator kept as numbers and deduplicated at the pixel, and
    its own hit-testing (bounding box, then even-odd rings) for the tooltip, the hover outline and
    clicks. A click fires `click` on this layer with `layer.toGeoJSON()` giving the district's
    properties, as st_folium reads `last_active_drawing`; the map's own click (`last_clicked`)
    fires too. Data go as columns (one JSON array per property) with encoded rings, not as
    GeoJSON features. Names reach the page as DOM text only."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = ({{ this.class_js }})({{ this.data_js }}, {{ this.options_js }});
        {% endmacro %}
    """)

    def __init__(self, gdf: gpd.GeoDataFrame, *, name: str, colours: Sequence[str], label: str, precision: int,
                 show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "CanvasChoropleth"
        _, polygons = _encoded_polygons(gdf.geometry.values, precision)
        columns = {c: pd.Series(gdf[c]).astype(object).where(gdf[c].notna(), None).tolist()
                   for c in ("leaid", "name", "value", "shown", "c")}
        text = json.dumps(columns, separators=(",", ":"), ensure_ascii=False, default=_plain_json)
        text = text[:-1] + ',"g":[' + ",".join("[" + p + "]" for p in polygons) + "]}"
        self.data_js = f"JSON.parse({_safe_json_text(json.dumps(text))})"
        self.options_js = _js_json({"precision": int(precision), "colours": list(colours), "label": label,
                                    "base": _BASE_STYLE, "noData": _NO_DATA_STYLE})
        self.class_js = _CANVAS_CHOROPLETH_JS
        self.bounds = gdf.total_bounds if len(gdf) else None

    def _get_self_bounds(self):
        if self.bounds is None or not np.all(np.isfinite(self.bounds)):
            return [[None, None], [None, None]]
        minx, miny, maxx, maxy = (float(v) for v in self.bounds)
        return [[miny, minx], [maxy, maxx]]


#: Google's encoded-polyline decoding (what `encode_rings` writes), shared by both browser-side
#: decoders below: calls emit(lat, lng) for each vertex, scaled by k = 10**-precision
_POLYLINE_JS = """function polyline(s, k, emit) {
        var lat = 0, lng = 0, i = 0, len = s.length;
        while (i < len) {
            var b, shift = 0, r = 0;
            do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << shift; shift += 5; } while (b >= 32);
            lat += (r & 1) ? ~(r >> 1) : (r >> 1);
            shift = 0; r = 0;
            do { b = s.charCodeAt(i++) - 63; r |= (b & 31) << shift; shift += 5; } while (b >= 32);
            lng += (r & 1) ? ~(r >> 1) : (r >> 1);
            emit(lat * k, lng * k);
        }
    }"""


#: the browser's half of `_CanvasChoropleth`: decode rings to Web Mercator in [0, 1] (Leaflet's
#: EPSG:3857 pixel space before its zoom scale), paint per class on this layer's own canvas, and
#: find the district under the pointer from the map's mousemove/click events (the map's shared
#: canvas for pods and outlines sits above this one and passes on what it does not hit)
_CANVAS_CHOROPLETH_JS = """function (data, o) {
    var k = Math.pow(10, -o.precision), n = data.leaid.length, rad = Math.PI / 180;
    var rings = new Array(n), box = new Float64Array(4 * n);
    POLYLINE_JS
    function decode(s) {
        var out = [];
        polyline(s, k, function (lat, lng) {
            var la = Math.max(Math.min(lat, 85.0511287798), -85.0511287798);
            out.push((lng + 180) / 360, 0.5 - Math.log(Math.tan(Math.PI / 4 + la * rad / 2)) / (2 * Math.PI));
        });
        return new Float64Array(out);
    }
    for (var f = 0; f < n; f++) {
        var list = [], x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
        (data.g[f] || []).forEach(function (poly) { poly.forEach(function (s) {
            var r = decode(s);
            for (var j = 0; j < r.length; j += 2) {
                if (r[j] < x0) x0 = r[j]; if (r[j] > x1) x1 = r[j];
                if (r[j + 1] < y0) y0 = r[j + 1]; if (r[j + 1] > y1) y1 = r[j + 1];
            }
            list.push(r);
        }); });
        rings[f] = list; box[4 * f] = x0; box[4 * f + 1] = y0; box[4 * f + 2] = x1; box[4 * f + 3] = y1;
    }
    data.g = null;
    function unit(latlng) {
        var la = Math.max(Math.min(latlng.lat, 85.0511287798), -85.0511287798);
        return [(latlng.lng + 180) / 360, 0.5 - Math.log(Math.tan(Math.PI / 4 + la * rad / 2)) / (2 * Math.PI)];
    }
    function inside(f, u, v) {
        if (u < box[4 * f] || u > box[4 * f + 2] || v < box[4 * f + 1] || v > box[4 * f + 3]) return false;
        var odd = false;
        rings[f].forEach(function (r) {
            for (var i = 0, j = r.length - 2; i < r.length; j = i, i += 2) {
                if ((r[i + 1] > v) !== (r[j + 1] > v) &&
                    u < (r[j] - r[i]) * (v - r[i + 1]) / (r[j + 1] - r[i + 1]) + r[i]) odd = !odd;
            }
        });
        return odd;
    }
    function at(latlng) {
        var p = unit(latlng);
        for (var f = n - 1; f >= 0; f--) { if (inside(f, p[0], p[1])) return f; }
        return -1;
    }
    function tracePath(path, f, s, ox, oy) {
        rings[f].forEach(function (r) {
            var px = NaN, py = NaN;
            for (var i = 0; i < r.length; i += 2) {
                var x = Math.round((s * r[i] - ox) * 2) / 2, y = Math.round((s * r[i + 1] - oy) * 2) / 2;
                if (i === 0) { path.moveTo(x, y); } else if (x !== px || y !== py) { path.lineTo(x, y); }
                px = x; py = y;
            }
            // no closePath: rings end on their first vertex already, and Skia's closePath walks the
            // whole Path2D back to its last moveTo (a second nationally, in a profile)
        });
    }
    var Layer = L.Canvas.extend({
        _initContainer: function () {  // no DOM listeners: the map's events reach us (see getEvents)
            this._container = document.createElement("canvas");
            this._ctx = this._container.getContext("2d");
        },
        _destroyContainer: function () {
            L.Util.cancelAnimFrame(this._paintRequest);
            L.DomUtil.remove(this._container);
            delete this._ctx; delete this._container;
        },
        getEvents: function () {
            var events = L.Canvas.prototype.getEvents.call(this);
            events.mousemove = this._onMapMove; events.mouseout = this._onMapOut; events.click = this._onMapClick;
            return events;
        },
        onRemove: function () {
            this._onMapOut();
            L.Canvas.prototype.onRemove.call(this);
        },
        _updatePaths: function () { this._paint(); },
        _draw: function () { this._paint(); },
        _redraw: function () { this._paint(); },
        _requestPaint: function () {  // the hover outline: the districts as painted last, the outline on top
            var self = this;
            if (!this._paintRequest) {
                this._paintRequest = L.Util.requestAnimFrame(function () {
                    self._paintRequest = null;
                    var ctx = self._ctx, painted = self._painted;
                    if (!ctx) return;
                    if (!painted) {  // first hover since the view changed: keep a copy of the districts alone
                        self._paintDistricts();
                        painted = self._painted = document.createElement("canvas");
                        painted.width = self._container.width; painted.height = self._container.height;
                        painted.getContext("2d").drawImage(self._container, 0, 0);
                    } else {
                        ctx.save(); ctx.setTransform(1, 0, 0, 1, 0, 0);
                        ctx.clearRect(0, 0, painted.width, painted.height); ctx.drawImage(painted, 0, 0);
                        ctx.restore();
                    }
                    self._outline();
                });
            }
        },
        _outline: function () {
            var map = this._map, ctx = this._ctx;
            if (this._hover < 0 || !map || !ctx) return;
            var s = map.options.crs.scale(map.getZoom()), org = map.getPixelOrigin(), hp = new Path2D();
            tracePath(hp, this._hover, s, org.x, org.y);
            ctx.globalAlpha = 1; ctx.strokeStyle = "#000000"; ctx.lineWidth = 2.5; ctx.setLineDash([]);
            ctx.stroke(hp);
        },
        _paint: function () {
            this._painted = null;
            this._paintDistricts();
            this._outline();
        },
        _paintDistricts: function () {
            var map = this._map, ctx = this._ctx, b = this._bounds;
            if (!map || !ctx || !b) return;
            var s = map.options.crs.scale(map.getZoom()), org = map.getPixelOrigin(), ox = org.x, oy = org.y;
            var u0 = (b.min.x + ox) / s, u1 = (b.max.x + ox) / s, v0 = (b.min.y + oy) / s, v1 = (b.max.y + oy) / s;
            var paths = {}, c;
            for (var f = 0; f < n; f++) {
                if (box[4 * f] > u1 || box[4 * f + 2] < u0 || box[4 * f + 1] > v1 || box[4 * f + 3] < v0) continue;
                c = data.c[f] < 0 ? -1 : data.c[f];
                tracePath(paths[c] || (paths[c] = new Path2D()), f, s, ox, oy);
            }
            ctx.clearRect(b.min.x, b.min.y, b.max.x - b.min.x, b.max.y - b.min.y);
            ctx.lineJoin = "round"; ctx.lineCap = "round";
            for (c in paths) {
                var style = c < 0 ? o.noData : o.base;
                ctx.globalAlpha = style.fillOpacity;
                ctx.fillStyle = c < 0 ? o.noData.fillColor : o.colours[c];
                ctx.fill(paths[c], "evenodd");
            }
            for (c in paths) {
                var st = c < 0 ? o.noData : o.base;
                ctx.globalAlpha = st.opacity; ctx.strokeStyle = st.color; ctx.lineWidth = st.weight;
                ctx.setLineDash(c < 0 ? st.dashArray.split(" ").map(Number) : []);
                ctx.stroke(paths[c]);
            }
            ctx.globalAlpha = 1;
        },
        _hover: -1,
        _coveredByAnother: function (e) {  // a pod (or other clickable shape) drawn above takes the event
            var other = this._map._renderer, point = e.layerPoint;
            if (!other || other === this || !other._drawFirst || !point) return false;
            for (var order = other._drawFirst; order; order = order.next) {
                var layer = order.layer;
                if (layer.options.interactive && layer._containsPoint(point)) return true;
            }
            return false;
        },
        _onMapMove: function (e) {
            if (!e.latlng || this._map.dragging.moving() || this._map._animatingZoom) return;
            var f = this._coveredByAnother(e) ? -1 : at(e.latlng);
            if (f !== this._hover) {
                this._hover = f;
                this._map.getContainer().style.cursor = f >= 0 ? "pointer" : "";
                this._requestPaint();
            }
            if (f < 0) { if (this._tip) { this._tip.close(); } return; }
            var div = document.createElement("div"), strong = document.createElement("strong");
            strong.textContent = data.name[f] || "";
            div.appendChild(strong); div.appendChild(document.createElement("br"));
            div.appendChild(document.createTextNode(o.label + ": " + data.shown[f]));
            this._tip = this._tip || L.tooltip({sticky: true, direction: "auto"});
            this._tip.setContent(div).setLatLng(e.latlng);
            if (!this._map.hasLayer(this._tip)) { this._tip.openOn(this._map); }
        },
        _onMapOut: function () {
            if (this._tip) { this._tip.close(); }
            if (this._hover >= 0) { this._hover = -1; this._requestPaint(); }
            if (this._map) { this._map.getContainer().style.cursor = ""; }
        },
        _onMapClick: function (e) {
            if (!e.latlng || this._coveredByAnother(e)) return;
            var f = at(e.latlng);
            if (f < 0) return;
            var props = {leaid: data.leaid[f], name: data.name[f], value: data.value[f], shown: data.shown[f],
                         c: data.c[f]};
            var feature = {type: "Feature", properties: props, geometry: null};
            this.fire("click", {latlng: e.latlng, layerPoint: e.layerPoint, containerPoint: e.containerPoint,
                                originalEvent: e.originalEvent,
                                layer: {feature: feature, toGeoJSON: function () { return feature; }}});
        },
        districtAt: function (latlng) { var f = at(latlng); return f < 0 ? null : data.leaid[f]; },
        districtCount: function () { return n; }
    });
    return new Layer({padding: 0.1});
}"""
_CANVAS_CHOROPLETH_JS = _CANVAS_CHOROPLETH_JS.replace("POLYLINE_JS", _POLYLINE_JS, 1)


class _RawScript(Element):
    """Already-rendered text, added to the page as is (never parsed as a template)."""

    def __init__(self, text: str):
        super().__init__("")
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


def _feature_collection(gdf: gpd.GeoDataFrame, precision: int | None = None) -> str:
    """GeoJSON text for a frame, with geometry written by GEOS in one vectorised call: several
    times faster than GeoDataFrame.to_json, which matters on every rerun of a map page.

    With `precision`, (multi)polygon rings are sent as encoded polylines (`encode_rings`) that
    the browser decodes straight into Leaflet polygons (`_DECODE_JS`): a third of the bytes or less."""
    geometry = (encode_rings(gdf.geometry.values, precision) if precision is not None
                else shapely.to_geojson(gdf.geometry.values))
    props = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    props = props.where(props.notna(), None).to_dict("records")
    features = ",".join(
        '{"type":"Feature","properties":%s,"geometry":%s}'
        % (json.dumps(p, separators=(",", ":"), ensure_ascii=False, default=_plain_json), g or "null")
        for p, g in zip(props, geometry))
    return '{"type":"FeatureCollection","features":[' + features + "]}"


def _encoded_polygons(geoms: np.ndarray, precision: int) -> tuple[np.ndarray, list[str]]:
    """`encode_rings`' work: each geometry's type id and its polygons as JSON text, each polygon
    a list of encoded rings ('[r1,r2],[r1]'; empty for a missing geometry)."""
    if not 0 <= int(precision) <= 6:
        raise ValueError(f"precision must be 0-6 decimals, not {precision!r}")
    geoms = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(geoms)
    if not np.isin(types, (-1, 3, 6)).all():
        raise ValueError("encode_rings takes polygons and multipolygons only")
    polygons, poly_geom = shapely.get_parts(geoms, return_index=True)
    rings, ring_poly = shapely.get_rings(polygons, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    q = np.round(coords[:, ::-1] * 10 ** int(precision)).astype(np.int64)  # (lat, lng) as polylines have it
    first = np.r_[True, coord_ring[1:] != coord_ring[:-1]] if len(q) else np.zeros(0, dtype=bool)
    delta = q - np.where(first[:, None], 0, np.roll(q, 1, axis=0))
    values = ((delta << 1) ^ (delta >> 63)).ravel()  # zigzag: small magnitudes, few chunks (>= 0)
    width = max(1, -(-int(values.max() if len(values) else 0).bit_length() // 5))  # 5-bit chunks needed
    chunks = np.stack([(values >> (5 * k)) & 31 for k in range(width)], axis=1)
    more = np.stack([(values >> (5 * (k + 1))) > 0 for k in range(width)], axis=1)
    used = np.c_[np.ones(len(values), dtype=bool), more[:, :-1]]
    chars = (chunks + np.where(more, 32 + 63, 63)).astype(np.uint8)
    text = chars[used].tobytes().decode("ascii")
    per_value = used.sum(axis=1)
    per_coord = per_value[0::2] + per_value[1::2] if len(per_value) else per_value
    ends = np.cumsum(np.bincount(coord_ring, weights=per_coord, minlength=len(rings)).astype(np.int64)).tolist()
    ring_text = [text[a:b] for a, b in zip([0, *ends[:-1]], ends)]
    # JSON text by joining, not lists of lists: (the polyline alphabet's only JSON-special char is "\\")
    poly_text = [""] * len(polygons)
    for p, group in itertools.groupby(zip(ring_poly.tolist(), ring_text), key=lambda pr: pr[0]):
        poly_text[p] = "[" + ",".join('"' + t.replace("\\", "\\\\") + '"' for _, t in group) + "]"
    geom_parts = [""] * len(geoms)
    for g, group in itertools.groupby(zip(poly_geom.tolist(), poly_text), key=lambda gp: gp[0]):
        geom_parts[g] = ",".join(t for _, t in group)
    return types, geom_parts


def encode_rings(geoms: np.ndarray, precision: int) -> list[str | None]:
    """Each (multi)polygon as GeoJSON whose rings are Google encoded polylines at `precision`
    decimals (lat, lng; each vertex a zigzag delta from the previous in 5-bit chunks): ~2-6 bytes a
    vertex instead of ~20. Quantising is per vertex, so neighbours' shared edges stay shared.
    Vectorised: one numpy pass over every coordinate, then one slice per ring."""
    types, geom_parts = _encoded_polygons(geoms, precision)
    out: list[str | None] = []
    for t, parts in zip(types.tolist(), geom_parts):
        if t == -1 or not parts:
            out.append(None)
        elif t == 3:
            out.append('{"type":"Polygon","coordinates":%s}' % parts)
        else:
            out.append('{"type":"MultiPolygon","coordinates":[%s]}' % parts)
    return out


#: the browser's half of `encode_rings`: decodes each feature's rings straight into Leaflet LatLngs
#: and adds it to the (empty) L.geoJson `group` as L.GeoJSON.addData would: same options, style,
#: onEachFeature and `layer.feature`, so tooltips, resetStyle and st_folium's clicks work as before,
#: without building GeoJSON coordinate arrays first (half the garbage for 12,000 districts)
_DECODE_JS = """(function (group, fc, precision) {
    var k = Math.pow(10, -precision), opts = group.options;
    POLYLINE_JS
    function ring(s) {
        var out = [];
        polyline(s, k, function (lat, lng) { out.push(new L.LatLng(lat, lng)); });
        return out;
    }
    fc.features.forEach(function (f) {
        var g = f.geometry;
        if (!g) { return; }
        var latlngs = g.type === "Polygon" ? g.coordinates.map(ring)
            : g.coordinates.map(function (p) { return p.map(ring); });
        var layer = new L.Polygon(latlngs, opts);
        f.geometry = null;  // the layer holds the shape; toGeoJSON() rebuilds it
        layer.feature = f;
        layer.defaultOptions = layer.options;
        group.resetStyle(layer);
        if (opts.onEachFeature) { opts.onEachFeature(f, layer); }
        group.addLayer(layer);
    });
})"""
_DECODE_JS = _DECODE_JS.replace("POLYLINE_JS", _POLYLINE_JS, 1)


def _plain_json(value):
    """numpy scalars -> Python numbers for json.dumps."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class _Legend(_RawMacro):
    """A Leaflet control holding plain HTML (no branca colormap, so no d3 from a CDN).

    HTML that opens with a `<summary>` title becomes a `<details>` element: it can be folded (by
    mouse, touch or keyboard), and starts folded on a narrow map so it does not cover a phone's map
    (or always, with `folded`).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var html = {{ this.html_js }}, titled = html.indexOf("<summary") === 0;
            var div = L.DomUtil.create(titled ? "details" : "div", "podgeo-legend");
            div.innerHTML = html;
            // a legend with a title folds to its title on a narrow map (a phone), open elsewhere
            if (titled) { div.open = !{{ this.folded|tojson }} && !window.matchMedia({{ this.narrow|tojson }}).matches; }
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, legend_html: str, position: str = "bottomright", folded: bool = False):
        super().__init__()
        self._name = "Legend"
        self.legend_html = legend_html
        self.html_js = _js_json(legend_html)
        self.position = position
        self.narrow, self.folded = NARROW_MEDIA, bool(folded)


class _Css(_RawMacro):
    """Map styles in the page header (st_folium keeps inline header styles)."""

    _template = Template("""{% macro header(this, kwargs) %}{{ this.css }}{% endmacro %}""")

    def __init__(self, css: str):
        super().__init__()
        self._name = "PodgeoCss"
        self.css = css


class _LayerControl(folium.LayerControl, _RawMacro):
    """folium's layer control, rendered without the second Jinja pass: layer names are user text
    (cohort names, attribute labels), HTML-escaped by the builders because Leaflet shows them as HTML.
    On a narrow map (a phone) it starts collapsed to its icon."""

    _template = Template("""
        {% macro script(this,kwargs) %}
            let {{ this.get_name() }} = L.control.layers(
                { {%- for key, val in this.base_layers.items() %}{{ key|tojson }}: {{ val }},{% endfor %} },
                { {%- for key, val in this.overlays.items() %}{{ key|tojson }}: {{ val }},{% endfor %} },
                Object.assign({{ this.options|tojavascript }},
                              window.matchMedia({{ this.narrow|tojson }}).matches ? {collapsed: true} : {})
            ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.narrow = NARROW_MEDIA


class _Map(folium.Map, _RawMacro):
    """folium's Map, rendered without the second Jinja pass, and without folium's
    `maximum-scale=1.0, user-scalable=no` viewport, which blocks pinch-zoom (WCAG 1.4.4)."""

    def render(self, **kwargs):
        super().render(**kwargs)
        header = self.get_root().header._children.get(self.get_name())
        if isinstance(header, _RawScript):
            header._text = _VIEWPORT_RE.sub(_VIEWPORT, header._text)


_VIEWPORT_RE = re.compile(r"<meta\s+name=\"viewport\"[^>]*>", re.I)
_VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1.0" />'


def _ensure_map_setup(m: folium.Map) -> None:
    """Let add_pods/add_sites work on any folium.Map: podgeo styles, and the maxZoom markercluster needs."""
    if not any(isinstance(child, _Css) for child in m._children.values()):
        _Css(_MAP_CSS).add_to(m)
    m.options.setdefault("max_zoom", 18)


def _ensure_layer_control(m: folium.Map) -> None:
    """One LayerControl, always the map's last child so every layer it lists is already defined."""
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            del m._children[key]
    _LayerControl(collapsed=False, position="topright").add_to(m)


def _run_mapclassify(y: np.ndarray, scheme: str, k: int):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Not enough unique values")
        warnings.filterwarnings("ignore", message="Warning: Not enough unique values")
        if scheme == "quantiles":
            return mapclassify.Quantiles(y, k=k)
        with _MAPCLASSIFY_LOCK:  # NaturalBreaks draws k-means starts from numpy's global RNG
            state = np.random.get_state()
            np.random.seed(0)
            try:
                return mapclassify.NaturalBreaks(y, k=k)
            finally:
                np.random.set_state(state)


def _palette(palette: str | Sequence[str], k: int) -> tuple[str, ...]:
    if isinstance(palette, str):
        if palette == "viridis":
            return _interpolate(_VIRIDIS_9, k)
        if palette not in _SEQUENTIAL:
            raise ValueError(f"palette must be one of {sorted([*_SEQUENTIAL, 'viridis'])} or a list of colours, "
                             f"not {palette!r}")
        if k >= 3:
            return _SEQUENTIAL[palette][k]
        three = _SEQUENTIAL[palette][3]
        return (three[1],) if k == 1 else (three[0], three[2])
    colours = tuple(palette)
    if len(colours) < k:
        raise ValueError(f"palette has {len(colours)} colours, fewer than the {k} classes asked for")
    return colours[:k]


def _interpolate(stops: Sequence[str], k: int) -> tuple[str, ...]:
    rgb = np.array([[int(s[i:i + 2], 16) for i in (1, 3, 5)] for s in stops], dtype=float)
    pos = np.linspace(0, len(stops) - 1, k)
    out = []
    for p in pos:
        lo = int(math.floor(p)); hi = min(lo + 1, len(stops) - 1); t = p - lo
        c = rgb[lo] * (1 - t) + rgb[hi] * t
        out.append("#" + "".join(f"{int(round(v)):02x}" for v in c))
    return tuple(out)


def _as_float(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def _decimals(limits: Sequence[float]) -> int:
    """Fewest decimals (0-4) that keep every class limit distinct on screen."""
    span = max(abs(v) for v in limits) if limits else 0
    start = 0 if span >= 100 else 1 if span >= 1 else 2
    for d in range(start, 5):
        shown = [f"{v:,.{d}f}" for v in limits]
        if len(set(shown)) == len(set(limits)):
            return d
    return 4


def _format_value(v: float, unit: str, decimals: int) -> str:
    number = f"{v:,.{decimals}f}"
    if unit in ("$", "US$"):
        return f"{unit}{number}"
    if not unit:
        return number
    return f"{number}{unit}" if unit == "%" else f"{number} {unit}"


def _class_label(lo: float, hi: float, unit: str, decimals: int) -> str:
    if f"{lo:,.{decimals}f}" == f"{hi:,.{decimals}f}":
        return _format_value(hi, unit, decimals)
    lo_text = _format_value(lo, "$" if unit in ("$", "US$") else "", decimals)
    return f"{lo_text} – {_format_value(hi, unit, decimals)}"


def _district_style_js(colours: Sequence[str]) -> str:
    return ("function (feature) { var c = feature.properties.c; "
            f"return c < 0 ? {_js_json(_NO_DATA_STYLE)} : "
            f"Object.assign({{fillColor: {_js_json(list(colours))}[c]}}, {_js_json(_BASE_STYLE)}); }}")


def _choropleth_legend_html(label: str, classes: Classes, counted: str = "districts", note: str = "") -> str:
    rows = [_legend_row(f"background:{c};border:1px solid #4d4d4d", text, n)
            for c, text, n in zip(classes.colours, classes.labels, classes.counts)]
    if classes.no_data:
        rows.append(_legend_row(f"background:{NO_DATA_COLOUR};border:1px dashed #737373", NO_DATA_LABEL, classes.no_data))
    foot = f"{classes.scheme}, {len(classes.bins)} classes; (n) = {counted}" if classes.bins else f"(n) = {counted}"
    foot = f"{note} {foot}" if note else foot
    return f'<summary class="t">{_html(label)}</summary>{"".join(rows)}<div class="f">{_html(foot)}</div>'


def _pods_legend_html(title: str, present: Mapping[str, int], unlocated: int) -> str:
    names = vocab.labels(vocab.OPERATOR_TYPES)
    rows = [_legend_row(f"background:{OPERATOR_COLOURS[c]};border:1.5px solid #fff;outline:1px solid #999;"
                        "border-radius:50%;width:11px;height:11px", names.get(c, c), n) for c, n in present.items()]
    if not rows:
        rows.append('<div class="r n">No pods to show</div>')
    foot = f'<div class="f">{unlocated:,} without a location, not on the map</div>' if unlocated else ""
    return f'<summary class="t">{_html(title)}</summary>{"".join(rows)}{foot}'


def _legend_row(swatch_style: str, text: str, count: int | None = None) -> str:
    n = f' <span class="n">({count:,})</span>' if count is not None else ""
    return (f'<div class="r"><span style="display:inline-block;width:16px;height:11px;{swatch_style}"></span>'
            f"<span>{_html(text)}{n}</span></div>")


def _pod_popup_html(row: Mapping[str, Any]) -> str:
    """The pod's details as HTML; every value from the sheet goes through html.escape."""
    e = _escape
    operator = vocab.labels(vocab.OPERATOR_TYPES).get(_text(row.get("operator_type")) or "other",
                                                       _text(row.get("operator_type")) or "")
    who = " · ".join(x for x in (e(operator), e(_text(row.get("operator_name")))) if x)
    place = ", ".join(x for x in (_text(row.get("address")), _text(row.get("city")),
                                  " ".join(x for x in (_text(row.get("state")), _text(row.get("zip"))) if x)) if x)
    grades = "–".join(dict.fromkeys(g for g in (_grade(row.get("grade_low")), _grade(row.get("grade_high"))) if g))
    cost = vocab.labels(vocab.COSTS).get(_text(row.get("cost")), _text(row.get("cost")))
    fee = _number(row.get("fee_usd"))
    if fee:
        cost = f"{cost} (${fee:,.0f}/month)" if cost else f"${fee:,.0f}/month"
    capacity = _number(row.get("capacity"))
    details = [
        ("Address", place),
        ("Mode", vocab.labels(vocab.MODES).get(_text(row.get("mode")), _text(row.get("mode")))),
        ("Grades", grades),
        ("Seats", f"{capacity:,.0f}" if capacity is not None else ""),
        ("Cost", cost),
        ("Serves first", ", ".join(_labelled(row.get("priority_groups"), vocab.PRIORITY_GROUPS))),
        ("Supports", ", ".join(_labelled(row.get("supports"), vocab.SUPPORTS))),
        ("Languages", ", ".join(_as_list(row.get("languages")))),
        ("Status", vocab.labels(vocab.STATUSES).get(_text(row.get("status")), _text(row.get("status")))),
        ("Notes", _text(row.get("notes"))),
    ]
    table = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in details if v)
    return (f'<div class="podgeo-popup"><strong>{e(_text(row.get("name")))}</strong>'
            f'{"<br><span>" + who + "</span>" if who else ""}<table>{table}</table></div>')


def _escape(value: Any) -> str:
    return _html(_text(value))


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    return str(value).strip()


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _grade(value: Any) -> str:
    v = _number(value)
    return vocab.grade_label(int(v)) if v is not None else _text(value)


def _as_list(value: Any) -> list[str]:
    """A list column as stored (JSON text), as a Python list, or ';'-separated text."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_text(v) for v in value if _text(v)]
    text = _text(value)
    if not text:
        return []
    if text.startswith("["):
        try:
            return [_text(v) for v in json.loads(text) if _text(v)]
        except (ValueError, TypeError):
            pass
    return [t.strip() for t in text.split(";") if t.strip()]


def _labelled(value: Any, terms) -> list[str]:
    names = vocab.labels(terms)
    return [names.get(v, v) for v in _as_list(value)]


def _ids(gdf: pd.DataFrame, id_col: str | None) -> list[str | None]:
    """Row ids as JSON-ready strings (the index when there is no id column)."""
    values = gdf[id_col] if id_col and id_col in gdf.columns else gdf.index.to_series()
    return [_text(v) or None for v in values]


def _first_column(gdf: pd.DataFrame, candidates: Sequence[str], what: str) -> str:
    for col in candidates:
        if col in gdf.columns:
            return col
    raise ValueError(f"{what} has none of the columns {list(candidates)} (columns: {list(gdf.columns)})")


def _to_display_crs(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise ValueError(f"{what} must be a GeoDataFrame, not {type(gdf).__name__}")
    if gdf.crs is None:
        raise ValueError(f"{what} has no CRS; set it (e.g. EPSG:4326) first")
    gdf = gdf.to_crs(DISPLAY_CRS) if not gdf.crs.equals(DISPLAY_CRS) else gdf
    return _unwrap_antimeridian(gdf)


def _unwrap_antimeridian(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A frame spanning more than 180 degrees of longitude is one region cut by the antimeridian
    (Alaska's Aleutians reach 179.8 E): its eastern-hemisphere vertices move 360 degrees west, so
    Leaflet frames and draws it as one place instead of zooming out to the whole world. Clicks are
    unaffected: `district_at` folds longitudes back into [-180, 180) before looking them up."""
    geoms = gdf.geometry
    if not len(geoms) or geoms.isna().all():
        return gdf
    minx, _, maxx, _ = geoms.total_bounds
    if not (maxx - minx > 180):
        return gdf
    shifted = shapely.transform(geoms.values, lambda xy: np.where(xy[:, :1] > 0, xy - [360.0, 0.0], xy))
    return gdf.set_geometry(gpd.GeoSeries(shifted, index=gdf.index, crs=gdf.crs))


def _located(gdf: gpd.GeoDataFrame) -> np.ndarray:
    geoms = gdf.geometry.values
    return np.asarray(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms), dtype=bool)


def _lat_lng(point: Any) -> tuple[float, float] | None:
    if not isinstance(point, Mapping):
        return None
    lat, lng = _number(point.get("lat")), _number(point.get("lng", point.get("lon")))
    if lat is None or lng is None:
        return None
    return lat, ((lng + 180.0) % 360.0) - 180.0


def _district_containing(lat: float, lng: float, districts: gpd.GeoDataFrame, leaids: pd.Series) -> str | None:
    point = shapely.Point(lng, lat)
    if districts.crs is not None and not districts.crs.equals(DISPLAY_CRS):
        point = gpd.GeoSeries([point], crs=DISPLAY_CRS).to_crs(districts.crs).iloc[0]
    hits = districts.sindex.query(point, predicate="intersects")
    candidates = [(not shapely.contains_properly(districts.geometry.iloc[i], point), leaids.iloc[i]) for i in hits
                  if not leaids.iloc[i].endswith(FILLER_SUFFIX)]
    return min(candidates)[1] if candidates else None


def _js_json(value: Any) -> str:
    """JSON that is also safe inside an HTML <script> (no `<`, `>`, `&`, `'` left raw) and holds
    no Jinja delimiter (`{{`, `{%`, `{#`), so it stays inert even if something renders it again."""
    return _safe_json_text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def _safe_json_text(text: str) -> str:
    """Escape JSON text for a <script>. Outside strings, compact JSON never has `{` before `{`, `%`
    or `#` (an object opens with `"` or `}`), so each such `{` is inside a string: `\\u007b` there."""
    text = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return _JINJA_OPEN.sub("\\\\u007b", text)


_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def _html(value: Any) -> str:
    """User text as HTML text: escaped, with braces as character references so no Jinja
    delimiter survives (layer-control names and legends are HTML the browser decodes)."""
    return html.escape(str(value), quote=True).replace("{", "&#123;").replace("}", "&#125;")


# ---------------------------------------------------------------- coverage page: access layers
# (a separate block for the Coverage page; it reuses the builders above and changes none of them)

HUB_COLOUR = "#D55E00"


def add_access_points(m: folium.Map, points: gpd.GeoDataFrame, value_col: str, *, label: str, unit: str,
                      name: str = "Demand points", name_col: str = "name", show: bool = False,
                      palette: str = "OrRd") -> folium.Map:
    """Demand points (schools, tracts) coloured by their access value, as a layer the user can toggle.

    Quantile classes like the district shading, with their own legend; points with no value are
    grey. Names are HTML-escaped before they reach a tooltip.
    """
    for col in (value_col, name_col):
        if col not in points.columns:
            raise ValueError(f"points has no column {col!r} (columns: {list(points.columns)})")
    gdf = _to_display_crs(points, "points")
    gdf = gdf[_located(gdf)]
    values = _as_float(gdf[value_col])
    classes = classify(values, k=5, palette=palette, unit=unit)
    colours = [classes.colours[c] if c >= 0 else NO_DATA_COLOUR for c in classes.yb]
    shown = [_format_value(v, unit, classes.decimals) if math.isfinite(v) else NO_DATA_LABEL for v in values]
    props = gpd.GeoDataFrame({
        "tip": [f"{_escape(n)}<br>{_html(label)}: {_html(s)}" for n, s in zip(gdf[name_col], shown)],
        "colour": colours,
    }, geometry=gdf.geometry.values, crs=DISPLAY_CRS)
    _ensure_map_setup(m)
    group = folium.FeatureGroup(name=f"{_html(name)} ({len(props):,})", overlay=True, control=True, show=show)
    group.add_to(m)
    _GeoJsonLayer(props, name=None, control=False, point_js=_ACCESS_POINT_JS, tooltip_key="tip").add_to(group)
    _ensure_layer_control(m)
    return assets.localize(m)


def add_hypothetical_hub(m: folium.Map, lon: float, lat: float, seats: float) -> folium.Map:
    """The what-if hub as a large orange ring, with its seats in the tooltip and a legend line."""
    if _number(lon) is None or _number(lat) is None:
        raise ValueError(f"hub position ({lon!r}, {lat!r}) is not a pair of numbers")
    props = gpd.GeoDataFrame({"tip": [_html(f"Hypothetical hub: {float(seats):,.0f} seats")]},
                             geometry=[shapely.Point(float(lon), float(lat))], crs=DISPLAY_CRS)
    _ensure_map_setup(m)
    _GeoJsonLayer(props, name="Hypothetical hub", overlay=True, control=True, point_js=_HUB_MARKER_JS,
                  tooltip_key="tip").add_to(m)
    swatch = f"background:#fff;border:3px solid {HUB_COLOUR};border-radius:50%;width:10px;height:10px"
    _Legend(_legend_row(swatch, f"Hypothetical hub ({float(seats):,.0f} seats)"), position="topleft").add_to(m)
    _ensure_layer_control(m)
    return assets.localize(m)


def clicked_point(click: Mapping[str, Any] | None) -> tuple[float, float] | None:
    """(lon, lat) of a plain map click from what `st_folium` returned (`last_clicked`), else None.

    Longitudes from a map panned round the world are wrapped into -180..180.
    """
    if not isinstance(click, Mapping):
        return None
    lat_lng = _lat_lng(click.get("last_clicked"))
    if lat_lng is None or not -90 <= lat_lng[0] <= 90:
        return None
    return lat_lng[1], lat_lng[0]


_ACCESS_POINT_JS = """function (feature, latlng) {
    return L.circleMarker(latlng, {radius: 4, color: "#444444", weight: 0.6, opacity: 0.9,
                                   fillColor: feature.properties.colour, fillOpacity: 0.9});
}"""
_HUB_MARKER_JS = """function (feature, latlng) {
    return L.circleMarker(latlng, {radius: 10, color: "#D55E00", weight: 4, opacity: 1,
                                   fillColor: "#ffffff", fillOpacity: 0.6});
}"""


# ---------------------------------------------------------------- profiles, cohorts, attribute layers
# (a separate block: outline maps of chosen districts and category shading; changes none of the above)

#: Okabe-Ito then Tol's muted: distinguishable categories (more categories cycle)
CATEGORY_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#332288",
                    "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499")
_CHOSEN_STYLE = {"color": "#08306b", "weight": 3, "opacity": 1, "fillColor": "#6baed6", "fillOpacity": 0.35}
_CONTEXT_STYLE = {"color": "#737373", "weight": 0.8, "opacity": 0.8, "fillColor": "#f0f0f0", "fillOpacity": 0.15}


def district_outlines(districts: gpd.GeoDataFrame, *, chosen: Iterable[str] | None = None, label: str = "Districts",
                      leaid_col: str = "leaid", name_col: str = "name", tiles: str | None = "env") -> folium.Map:
    """A map fitted to the `chosen` districts (all when None), drawn bold over the others in
    `districts` (thin grey context), with a name tooltip on each. For profiles and cohorts."""
    for col in (leaid_col, name_col):
        if col not in districts.columns:
            raise ValueError(f"districts has no column {col!r} (columns: {list(districts.columns)})")
    gdf = _to_display_crs(districts, "districts")
    picked = set(gdf[leaid_col].astype(str)) if chosen is None else {str(v) for v in chosen}
    is_chosen = gdf[leaid_col].astype(str).isin(picked).to_numpy()
    if not is_chosen.any():
        raise ValueError("none of the chosen districts is in `districts`: nothing to map")
    layer_text = gdf["layer"].astype(str) + ", " if "layer" in gdf.columns else ""
    props = gpd.GeoDataFrame({
        "leaid": gdf[leaid_col].astype(str).to_numpy(),
        "name": gdf[name_col].astype("string").fillna("").to_numpy(dtype=object),
        "shown": (layer_text + "LEAID " + gdf[leaid_col].astype(str)).to_numpy(dtype=object),
        "c": np.where(is_chosen, 0, 1),
    }, geometry=gdf.geometry.values, crs=DISPLAY_CRS)
    props = pd.concat([props[props["c"] == 1], props[props["c"] == 0]])  # chosen drawn last, on top
    m = base_map(gdf[is_chosen].total_bounds, tiles=tiles)
    style = f"function (feature) {{ return {_js_json([_CHOSEN_STYLE, _CONTEXT_STYLE])}[feature.properties.c]; }}"
    _GeoJsonLayer(props, name=_html(label), overlay=True, control=True, style_js=style,
                  tooltip_js=_DISTRICT_TOOLTIP_JS % _js_json("District")).add_to(m)
    swatch = "background:#6baed6;opacity:.8;border:2px solid #08306b"
    _Legend(f'<summary class="t">{_html(label)}</summary>'
            + _legend_row(swatch, f"{int(is_chosen.sum()):,} district(s)"), position="bottomright").add_to(m)
    return assets.localize(m)


def category_choropleth(districts: gpd.GeoDataFrame, column: str, *, label: str, leaid_col: str = "leaid",
                        name_col: str = "name", tiles: str | None = "env", precision: int | None = None) -> folium.Map:
    """Districts coloured by a category (an attribute layer's text or yes/no column), legend with
    counts; districts without a value are grey "No data". Values reach the page as JSON and are
    shown as DOM text (tooltip) or HTML-escaped (legend), never as markup."""
    for col in (column, leaid_col, name_col):
        if col not in districts.columns:
            raise ValueError(f"districts has no column {col!r} (columns: {list(districts.columns)})")
    if districts.empty:
        raise ValueError("districts is empty: nothing to map")
    gdf = _to_display_crs(districts, "districts")
    values = [_text(v) for v in gdf[column]]
    categories = sorted({v for v in values if v})
    colours = tuple(CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(categories)))
    code = {c: i for i, c in enumerate(categories)}
    props = gpd.GeoDataFrame({
        "leaid": gdf[leaid_col].astype(str).to_numpy(),
        "name": gdf[name_col].astype("string").fillna("").to_numpy(dtype=object),
        "shown": [v or NO_DATA_LABEL for v in values],
        "c": [code.get(v, -1) for v in values],
    }, geometry=gdf.geometry.values, crs=DISPLAY_CRS)
    m = base_map(gdf.total_bounds, tiles=tiles)
    _GeoJsonLayer(props, name=_html(label), overlay=True, control=True, style_js=_district_style_js(colours),
                  tooltip_js=_DISTRICT_TOOLTIP_JS % _js_json(label), highlight=True, precision=precision).add_to(m)
    rows = [_legend_row(f"background:{colour};border:1px solid #4d4d4d", c, values.count(c))
            for c, colour in zip(categories, colours)]
    missing = sum(1 for v in values if not v)
    if missing:
        rows.append(_legend_row(f"background:{NO_DATA_COLOUR};border:1px dashed #737373", NO_DATA_LABEL, missing))
    _Legend(f'<summary class="t">{_html(label)}</summary>{"".join(rows)}<div class="f">(n) = districts</div>',
            position="bottomright").add_to(m)
    return assets.localize(m)
