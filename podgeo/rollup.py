"""District figures rolled up to states, and pod counts per district, done the way the data allow.

Percent measures are re-weighted by the count they are a share of (never a mean of
percentages); counts of children who live somewhere are summed over unified + elementary
districts only, which tile a state (secondary districts overlay elementary ones, so adding them
would count children twice, and agencies without a boundary cover no area of their own). Counts
an agency reports of itself (students enrolled in it, from ELSI) are summed over every agency
once, with or without a boundary, since each student is enrolled in one agency. Every roll-up
row says which agencies its total includes.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from podgeo import coverage, measures

BASE_LAYERS = ("unified", "elementary")
BOUNDARY_LAYERS = (*BASE_LAYERS, "secondary")
#: Sources whose counts are what each agency reports of itself (enrollment): summed over every agency.
PER_AGENCY_SOURCES = ("elsi_2020_21",)
INCLUDES_BASE = "unified + elementary districts"
INCLUDES_ALL = "every agency, with or without a boundary (each once)"


def state_rollup(districts: pd.DataFrame, measure: str) -> pd.DataFrame:
    """One row per state: the measure for the whole state, how many districts carried it, how many of
    those have no boundary (`without_boundary`), and which agencies the total `includes`.

    `districts` has state_fips, layer, the measure and (for percents) its weight column; rates
    (pods or seats per 1,000 children) need the `pods`/`seats` and `children_5_17` columns.
    """
    meta = measures.get(measure)
    base = districts[districts["layer"].isin(BASE_LAYERS)]
    per_agency = meta.kind == "count" and meta.source in PER_AGENCY_SOURCES
    if per_agency:
        rows = districts[districts[measure].notna()]
        grouped = rows.groupby("state_fips")[measure]
        unbounded = ~_has_boundary(rows)
        out = pd.DataFrame({"value": grouped.sum(min_count=1), "districts_with_data": grouped.count(),
                            "without_boundary": unbounded.groupby(rows["state_fips"]).sum()})
    elif meta.kind == "count":
        grouped = base.groupby("state_fips")[measure]
        out = pd.DataFrame({"value": grouped.sum(min_count=1), "districts_with_data": grouped.count()})
    elif meta.kind == "percent":
        weight = meta.weight
        ok = base[measure].notna() & base[weight].notna() & (base[weight] > 0)
        part = base[ok].assign(_num=base.loc[ok, measure] * base.loc[ok, weight])
        grouped = part.groupby("state_fips")
        out = pd.DataFrame({"value": grouped["_num"].sum() / grouped[weight].sum(),
                            "districts_with_data": grouped.size()})
    else:  # rate per 1,000 children
        numerator = {"pods_per_1000": "pods", "seats_per_1000": "seats"}[measure]
        ok = base["children_5_17"].notna()
        grouped = base[ok].groupby("state_fips")
        children = grouped["children_5_17"].sum()
        out = pd.DataFrame({"value": np.where(children > 0, grouped[numerator].sum() / children * 1000, np.nan),
                            "districts_with_data": grouped.size()}, index=children.index)
    states = pd.Index(sorted(districts["state_fips"].unique()), name="state_fips")
    out = out.reindex(states)
    out["districts_with_data"] = out["districts_with_data"].fillna(0).astype(int)
    out["without_boundary"] = out["without_boundary"].fillna(0).astype(int) if per_agency else 0
    out["includes"] = INCLUDES_ALL if per_agency else INCLUDES_BASE
    return out.reset_index()


def _has_boundary(districts: pd.DataFrame) -> pd.Series:
    """Which rows have a boundary polygon: the store's `has_boundary`, else their layer says."""
    if "has_boundary" in districts.columns:
        return districts["has_boundary"].fillna(0).astype(bool)
    return districts["layer"].isin(BOUNDARY_LAYERS)


def with_pod_counts(districts: pd.DataFrame, pods: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Add pods, seats (known capacities), pods_unknown_capacity and the per-1,000-children rates.

    `links` says which district(s) each pod lies in (pod_id, leaid, layer); only pods present in
    `pods` (already filtered) are counted. Uses the coverage container ratio, so the map and the
    coverage page count the same way.
    """
    placed = links.merge(pods[["pod_id", "capacity"]], on="pod_id", how="inner")
    sites = placed.rename(columns={"pod_id": "site_id"})[["site_id", "leaid", "capacity"]]
    frame = pd.DataFrame(districts.drop(columns="geometry", errors="ignore"))
    ratio = coverage.container_ratio(
        frame[["leaid", "layer", "children_5_17", "children_poverty"]], sites,
        children_col="children_5_17", poverty_col="children_poverty")
    counts = ratio.set_index("leaid")[["sites", "seats_known", "sites_unknown_capacity"]]
    out = districts.copy()
    out["pods"] = out["leaid"].map(counts["sites"]).fillna(0).astype(int)
    out["seats"] = out["leaid"].map(counts["seats_known"]).fillna(0.0)
    out["pods_unknown_capacity"] = out["leaid"].map(counts["sites_unknown_capacity"]).fillna(0).astype(int)
    children = pd.to_numeric(out["children_5_17"], errors="coerce")
    out["pods_per_1000"] = np.where(children > 0, out["pods"] / children * 1000, np.nan)
    out["seats_per_1000"] = np.where(children > 0, out["seats"] / children * 1000, np.nan)
    return out
