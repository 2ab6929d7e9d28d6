"""The explore view, assembled: which districts or states, the values they are shaded by, the pods
and sites on top. Pure functions, so the page stays thin and the bench times what users get.
"""
from __future__ import annotations

from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd

from podgeo import geo, maps, measures, rollup

LAYERS = {"base": ("unified", "elementary"), "secondary": ("secondary",)}
LAYER_LABELS = {"base": "Unified + elementary (they tile the state)", "secondary": "Secondary (overlays elementary)"}
SITE_KINDS = {"libraries": ("library", "Public library outlets"), "schools": ("school", "Public schools")}
#: state maps send their (5-decimal, ~1 m) display geometry as encoded rings: lossless, a third of the bytes
STATE_PRECISION = 5


@dataclass
class View:
    """What the page draws: the map, the frame behind its shading, and counts for the caption."""

    map: folium.Map
    shaded: pd.DataFrame
    pods_shown: int
    seats_shown: float
    pods_without_location: int
    #: the shapes as drawn, for resolving a click (national maps draw Alaska, Hawaii, Puerto Rico as insets)
    shapes: gpd.GeoDataFrame | None = None


def state_view(districts: gpd.GeoDataFrame, pods: gpd.GeoDataFrame, links: pd.DataFrame,
               sites: dict[str, "gpd.GeoDataFrame | maps.PreparedLayer"], *, measure: str,
               scheme: str = "quantiles", one_canvas: bool = True) -> View:
    """Districts of one state and layer shaded by `measure` (pod rates counted from `pods`, which
    are already filtered), with the pods and the chosen candidate-site layers. The districts are
    drawn as one layer on its own canvas (`one_canvas`, `maps.district_choropleth`; its own tooltip,
    hover outline and clicks): California is painted after a choice in 0.42 s instead of 0.48 s as
    one Leaflet layer each (bench/map.py, which compares both)."""
    meta = measures.get(measure)
    shaded = rollup.with_pod_counts(districts, pods, links)
    m = maps.district_choropleth(shaded, measure, label=meta.label, unit=meta.unit, scheme=scheme,
                                 precision=STATE_PRECISION, one_canvas=one_canvas)
    for kind, frame in sites.items():
        maps.add_sites(m, frame, kind, show=True)
    maps.add_pods(m, pods)
    return View(m, shaded, len(pods), float(pd.to_numeric(pods["capacity"], errors="coerce").sum()),
                int(pods["lat"].isna().sum()))


def national_view(states: gpd.GeoDataFrame, district_table: pd.DataFrame, pods: gpd.GeoDataFrame,
                  links: pd.DataFrame, *, measure: str, scheme: str = "quantiles") -> View:
    """States shaded by `measure` rolled up from their districts (children-weighted percents,
    counts over the tiling layers only), with the pods on top. Clicking a state opens it.
    Alaska, Hawaii and Puerto Rico are drawn as insets near the lower 48 (`geo.inset_composite`)."""
    meta = measures.get(measure)
    counted = rollup.with_pod_counts(district_table, pods, links)
    values = rollup.state_rollup(counted, measure)
    shaded = geo.inset_composite(states.merge(values, on="state_fips", how="inner"))
    shaded = shaded.rename(columns={"value": measure})
    m = maps.district_choropleth(shaded, measure, label=state_label(meta), unit=meta.unit, scheme=scheme,
                                 leaid_col="state", name_col="state_name", counted="states", note=state_note(meta))
    maps.frame_national(m)
    # folded to its title: open, it would cover the Alaska and Hawaii insets at the bottom left
    maps.add_pods(m, national_points(pods, states), legend_folded=True)
    return View(m, pd.DataFrame(shaded.drop(columns="geometry")), len(pods),
                float(pd.to_numeric(pods["capacity"], errors="coerce").sum()), int(pods["lat"].isna().sum()),
                shaded)


def national_district_view(districts: gpd.GeoDataFrame, states: gpd.GeoDataFrame, pods: gpd.GeoDataFrame,
                           links: pd.DataFrame, *, measure: str, scheme: str = "quantiles",
                           one_canvas: bool = True) -> View:
    """Every unified + elementary district of the nation shaded by `measure`, state outlines on top
    (a layer that can be turned off), pods on top; the same legend as a state view. `districts`
    carry national display geometry (`store.national_districts()`, made by the build);
    Alaska, Hawaii and Puerto Rico are insets. The districts are one layer on one canvas
    (`one_canvas`; False draws one Leaflet layer each, as bench/map.py compares). A click gives a
    LEAID (`maps.district_at(click, view.shapes)`), and the district's state is in `view.shaded`."""
    meta = measures.get(measure)
    base = districts[districts["layer"].isin(LAYERS["base"])]
    if "state" not in base.columns:  # the store gives it; a frame read from a boundary file may not
        base = base.assign(state=base["state_fips"].map(dict(zip(states["state_fips"], states["state"]))))
    shaded = geo.inset_composite(rollup.with_pod_counts(base, pods, links))
    m = maps.district_choropleth(shaded, measure, label=meta.label, unit=meta.unit, scheme=scheme,
                                 precision=geo.NATIONAL_DECIMALS, one_canvas=one_canvas)
    maps.add_outlines(m, geo.inset_composite(states), name="State outlines")
    maps.frame_national(m)
    maps.add_pods(m, national_points(pods, states), legend_folded=True)
    return View(m, pd.DataFrame(shaded.drop(columns="geometry")), len(pods),
                float(pd.to_numeric(pods["capacity"], errors="coerce").sum()), int(pods["lat"].isna().sum()),
                shaded)


#: what the national view shades (`?national=`): states rolled up, or every district
NATIONAL_SHADES = {"states": "States (rolled up from their districts)",
                   "districts": "Every district (unified + elementary)"}


def national_district_click(view: View, click) -> tuple[str, str] | None:
    """(state postal code, LEAID) of the district clicked on `national_district_view`'s map (what
    st_folium returned), so the page can open that state with the district chosen; None if no
    district was clicked. Alaska, Hawaii and Puerto Rico are found where their insets are drawn."""
    leaid = maps.district_at(click, view.shapes)
    if leaid is None:
        return None
    return str(view.shaded.set_index("leaid").at[leaid, "state"]), leaid


def state_label(meta: measures.Measure) -> str:
    """What a state's value on the national map is (the legend's title): a count is the state's
    total, a percent or rate is the whole state's (never "total" for a percentage)."""
    return f"{meta.label} ({'state total' if meta.kind == 'count' else 'whole state'})"


def state_note(meta: measures.Measure) -> str:
    """How the state figure is made from its districts, for the legend's foot."""
    if meta.kind == "count":
        return "Sum over the state's unified + elementary districts."
    if meta.kind == "rate":
        return "Over the state's unified + elementary districts."
    return f"Districts weighted by {_weight_words(meta)}."


def national_points(points: gpd.GeoDataFrame, states: pd.DataFrame, state_col: str = "state") -> gpd.GeoDataFrame:
    """Points (pods) placed where a national map draws their state: Alaska, Hawaii and Puerto Rico
    pods move with their state's inset (`geo.inset_composite`). Needs a postal `state` column."""
    if state_col not in points.columns or points.empty:
        return points
    fips = points[state_col].map(dict(zip(states["state"], states["state_fips"])))
    if not fips.isin(list(geo.INSETS)).any():
        return points
    gdf = points.to_crs(geo.DISPLAY_CRS)
    located = ~gdf.geometry.isna() & ~gdf.geometry.is_empty
    lon, lat = geo.inset_points(gdf.geometry.x.where(located), gdf.geometry.y.where(located), fips.fillna(""))
    moved = gpd.points_from_xy(lon, lat, crs=geo.DISPLAY_CRS)
    return gdf.set_geometry(gpd.GeoSeries(moved, index=gdf.index).where(located, None))


def _weight_words(meta: measures.Measure) -> str:
    return {"children_5_17": "children 5-17", "acs_children": "public-school children"}.get(meta.weight or "",
                                                                                         "their counts")


def pods_in_view(pods: gpd.GeoDataFrame, links: pd.DataFrame, leaids: pd.Series | None) -> gpd.GeoDataFrame:
    """Pods inside the districts on show (all pods for the national view)."""
    if leaids is None:
        return pods
    inside = set(links.loc[links["leaid"].isin(set(leaids)), "pod_id"])
    return pods[pods["pod_id"].isin(inside)]


def attribute_state_view(districts: gpd.GeoDataFrame, pods: gpd.GeoDataFrame, links: pd.DataFrame,
                         sites: dict[str, "gpd.GeoDataFrame | maps.PreparedLayer"], *, column: str, label: str,
                         kind: str, scheme: str = "quantiles") -> View:
    """`state_view` shaded by a district attribute-layer column instead of a measure: numbers in
    classes, categories (and yes/no) one colour each. `districts` already carry the column."""
    shaded = rollup.with_pod_counts(districts, pods, links)
    if kind in ("number", "whole"):
        m = maps.district_choropleth(shaded, column, label=label, unit="", scheme=scheme, precision=STATE_PRECISION)
    else:
        m = maps.category_choropleth(shaded, column, label=label, precision=STATE_PRECISION)
    for site_kind, frame in sites.items():
        maps.add_sites(m, frame, site_kind, show=True)
    maps.add_pods(m, pods)
    return View(m, shaded, len(pods), float(pd.to_numeric(pods["capacity"], errors="coerce").sum()),
                int(pods["lat"].isna().sum()))
