"""The explore view, assembled: which districts or states, the values they are shaded by, the pods
and sites on top. Pure functions, so the page stays thin and the bench times what users get.
"""
from __future__ import annotations

from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd

from podgeo import maps, measures, rollup

LAYERS = {"base": ("unified", "elementary"), "secondary": ("secondary",)}
LAYER_LABELS = {"base": "Unified + elementary (they tile the state)", "secondary": "Secondary (overlays elementary)"}
SITE_KINDS = {"libraries": ("library", "Public library outlets"), "schools": ("school", "Public schools")}


@dataclass
class View:
    """What the page draws: the map, the frame behind its shading, and counts for the caption."""

    map: folium.Map
    shaded: pd.DataFrame
    pods_shown: int
    seats_shown: float
    pods_without_location: int


def state_view(districts: gpd.GeoDataFrame, pods: gpd.GeoDataFrame, links: pd.DataFrame,
               sites: dict[str, "gpd.GeoDataFrame | maps.PreparedLayer"], *, measure: str,
               scheme: str = "quantiles") -> View:
    """Districts of one state and layer shaded by `measure` (pod rates counted from `pods`, which
    are already filtered), with the pods and the chosen candidate-site layers."""
    meta = measures.get(measure)
    shaded = rollup.with_pod_counts(districts, pods, links)
    m = maps.district_choropleth(shaded, measure, label=meta.label, unit=meta.unit, scheme=scheme)
    for kind, frame in sites.items():
        maps.add_sites(m, frame, kind, show=True)
    maps.add_pods(m, pods)
    return View(m, shaded, len(pods), float(pd.to_numeric(pods["capacity"], errors="coerce").sum()),
                int(pods["lat"].isna().sum()))


def national_view(states: gpd.GeoDataFrame, district_table: pd.DataFrame, pods: gpd.GeoDataFrame,
                  links: pd.DataFrame, *, measure: str, scheme: str = "quantiles") -> View:
    """States shaded by `measure` rolled up from their districts (children-weighted percents,
    counts over the tiling layers only), with the pods on top. Clicking a state opens it."""
    meta = measures.get(measure)
    counted = rollup.with_pod_counts(district_table, pods, links)
    values = rollup.state_rollup(counted, measure)
    shaded = states.merge(values, on="state_fips", how="inner")
    shaded = shaded.rename(columns={"value": measure})
    m = maps.district_choropleth(shaded, measure, label=f"{meta.label} (state total)", unit=meta.unit,
                                 scheme=scheme, leaid_col="state", name_col="state_name")
    maps.add_pods(m, pods)
    return View(m, pd.DataFrame(shaded.drop(columns="geometry")), len(pods),
                float(pd.to_numeric(pods["capacity"], errors="coerce").sum()), int(pods["lat"].isna().sum()))


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
        m = maps.district_choropleth(shaded, column, label=label, unit="", scheme=scheme)
    else:
        m = maps.category_choropleth(shaded, column, label=label)
    for site_kind, frame in sites.items():
        maps.add_sites(m, frame, site_kind, show=True)
    maps.add_pods(m, pods)
    return View(m, shaded, len(pods), float(pd.to_numeric(pods["capacity"], errors="coerce").sum()),
                int(pods["lat"].isna().sum()))
