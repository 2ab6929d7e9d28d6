"""Chart builders (altair): return chart objects, never call streamlit.

Every axis says what it counts and in which unit; suppressed figures (too few children) are
left out of a chart and said so in its subtitle, never drawn as zero.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

LOW_ACCESS_COLOUR = "#D55E00"
OTHER_COLOUR = "#0072B2"


def access_by_group(summary: pd.DataFrame, unit: str) -> alt.Chart:
    """Horizontal bars: group-weighted mean access per group (from `equity_summary`, with `label`)."""
    _require(summary, ["group", "label", "children", "mean_access", "share_zero_access", "suppressed"], "summary")
    shown = summary[~summary["suppressed"].astype(bool)].copy()
    hidden = int(summary["suppressed"].astype(bool).sum())
    shown["zero_pct"] = 100.0 * shown["share_zero_access"]
    subtitle = f"{hidden} group(s) under the minimum count left out" if hidden else ""
    return alt.Chart(shown, title=alt.Title("Access by group", subtitle=subtitle)).mark_bar(color=OTHER_COLOUR).encode(
        x=alt.X("mean_access:Q", title=f"Mean access ({unit})"),
        y=alt.Y("label:N", title="Group", sort=list(shown["label"])),
        tooltip=[alt.Tooltip("label:N", title="Group"), alt.Tooltip("children:Q", title="Count", format=",.0f"),
                 alt.Tooltip("mean_access:Q", title=f"Mean access ({unit})", format=".3g"),
                 alt.Tooltip("zero_pct:Q", title="% with zero access", format=".1f")],
    )


def access_by_poverty_quartile(quartiles: pd.DataFrame, unit: str) -> alt.Chart:
    """Bars: demand-weighted mean access in districts grouped by quartile of child poverty."""
    _require(quartiles, ["quartile", "poverty_range", "districts", "demand", "mean_access"], "quartiles")
    frame = quartiles.assign(band=quartiles["quartile"] + ": " + quartiles["poverty_range"])
    return alt.Chart(frame, title=alt.Title("Access by district poverty quartile",
                                            subtitle="SAIPE children 5-17 in poverty")).mark_bar(color=OTHER_COLOUR).encode(
        x=alt.X("band:N", title="District quartile (% of children 5-17 in poverty)", sort=list(frame["band"]),
                axis=alt.Axis(labelAngle=0, labelLimit=160)),
        y=alt.Y("mean_access:Q", title=f"Mean access ({unit})"),
        tooltip=[alt.Tooltip("band:N", title="Quartile"), alt.Tooltip("districts:Q", title="Districts"),
                 alt.Tooltip("demand:Q", title="Demand (count)", format=",.0f"),
                 alt.Tooltip("mean_access:Q", title=f"Mean access ({unit})", format=".3g")],
    )


def need_vs_access(table: pd.DataFrame, unit: str, need_label: str) -> alt.Chart:
    """Scatter, one dot per district: children in need (symlog axis) against access; ranked
    shortfall districts (high need, low access) in orange."""
    _require(table, ["leaid", "name", "rank", "children_in_need", "access"], "table")
    frame = pd.DataFrame(table[["leaid", "name", "rank", "children_in_need", "access"]])
    frame = frame[np.isfinite(pd.to_numeric(frame["access"], errors="coerce").astype(float))]
    frame["status"] = np.where(frame["rank"].notna(), "Low access (ranked)", "Other districts")
    frame["rank"] = frame["rank"].astype("float")
    return alt.Chart(frame, title=alt.Title("Need against access", subtitle="one dot per district")).mark_circle(
        size=70, opacity=0.85).encode(
        x=alt.X("children_in_need:Q", title=f"{need_label} (count)", scale=alt.Scale(type="symlog")),
        y=alt.Y("access:Q", title=f"Access ({unit})"),
        color=alt.Color("status:N", title=None, scale=alt.Scale(domain=["Low access (ranked)", "Other districts"],
                                                                range=[LOW_ACCESS_COLOUR, OTHER_COLOUR])),
        tooltip=[alt.Tooltip("name:N", title="District"), alt.Tooltip("leaid:N", title="LEAID"),
                 alt.Tooltip("rank:Q", title="Shortfall rank"),
                 alt.Tooltip("children_in_need:Q", title=need_label, format=",.0f"),
                 alt.Tooltip("access:Q", title=f"Access ({unit})", format=".3g")],
    )


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; found {list(frame.columns)}")
