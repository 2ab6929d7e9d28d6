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
NOT_SIGNIFICANT_COLOUR = "#767676"
LABEL_LIMIT = 320  # pixels: group names such as "Not linguistically isolated children" stay whole


def access_by_group(summary: pd.DataFrame, unit: str) -> alt.Chart:
    """Horizontal bars: group-weighted mean access per group (from `equity_summary`, with `label`)."""
    _require(summary, ["group", "label", "children", "mean_access", "share_zero_access", "suppressed"], "summary")
    shown = summary[~summary["suppressed"].astype(bool)].copy()
    hidden = int(summary["suppressed"].astype(bool).sum())
    shown["zero_pct"] = 100.0 * shown["share_zero_access"]
    subtitle = f"{hidden} group(s) under the minimum count left out" if hidden else ""
    return alt.Chart(shown, title=alt.Title("Access by group", subtitle=subtitle)).mark_bar(color=OTHER_COLOUR).encode(
        x=alt.X("mean_access:Q", title=_wrap(f"Mean access ({unit})")),
        y=alt.Y("label:N", title=None, sort=list(shown["label"]), axis=alt.Axis(labelLimit=LABEL_LIMIT)),
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
        y=alt.Y("mean_access:Q", title=_wrap(f"Mean access ({unit})")),
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
        y=alt.Y("access:Q", title=_wrap(f"Access ({unit})")),
        color=alt.Color("status:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=LABEL_LIMIT), scale=alt.Scale(domain=["Low access (ranked)", "Other districts"],
                                                                range=[LOW_ACCESS_COLOUR, OTHER_COLOUR])),
        tooltip=[alt.Tooltip("name:N", title="District"), alt.Tooltip("leaid:N", title="LEAID"),
                 alt.Tooltip("rank:Q", title="Shortfall rank"),
                 alt.Tooltip("children_in_need:Q", title=need_label, format=",.0f"),
                 alt.Tooltip("access:Q", title=f"Access ({unit})", format=".3g")],
    )


def disparity_by_group(demo: pd.DataFrame) -> alt.LayerChart:
    """Each group's demographic disparity score (percentage points) with its interval; grey when not
    significant or not testable (no margin of error: a dot with no bar)."""
    _require(demo, ["label", "score", "lower", "upper", "finding", "level"], "demographic scores")
    frame = pd.DataFrame(demo[["label", "score", "lower", "upper", "finding"]]).dropna(subset=["score"])
    level = int(demo["level"].iloc[0]) if len(demo) else 90
    colours = {"under-served": LOW_ACCESS_COLOUR, "over-served": OTHER_COLOUR, "not significant": NOT_SIGNIFICANT_COLOUR,
               "not assessed (no margin of error)": NOT_SIGNIFICANT_COLOUR}
    base = alt.Chart(frame, title=alt.Title("Who gets the access: group gap", subtitle=_wrap(
        f"access-weighted share minus overall share, percentage points; bars: {level} % intervals", 80))).encode(
        y=alt.Y("label:N", title=None, sort=list(frame["label"]), axis=alt.Axis(labelLimit=LABEL_LIMIT)))
    colour = alt.Color("finding:N", title=None, legend=alt.Legend(orient="bottom", labelLimit=LABEL_LIMIT),
                       scale=alt.Scale(domain=list(colours), range=list(colours.values())))
    bars = base.mark_rule(strokeWidth=2).encode(x=alt.X("lower:Q", title="Gap (percentage points)"), x2="upper:Q",
                                               color=colour)
    dots = base.mark_point(filled=True, size=80).encode(
        x="score:Q", color=colour,
        tooltip=[alt.Tooltip("label:N", title="Group"), alt.Tooltip("score:Q", title="Gap (points)", format=".2f"),
                 alt.Tooltip("lower:Q", title="Lower", format=".2f"), alt.Tooltip("upper:Q", title="Upper", format=".2f"),
                 alt.Tooltip("finding:N", title="Finding")])
    zero = alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(color="#333333", strokeDash=[4, 3]).encode(x="x:Q")
    return alt.layer(bars, dots, zero)


def sensitivity_access(groups: pd.DataFrame, unit: str) -> alt.Chart:
    """Lines: each group's mean access at each radius (`sensitivity.sweep`); suppressed groups left out."""
    _require(groups, ["radius", "label", "mean_access"], "sweep")
    frame = groups.dropna(subset=["mean_access"])
    return alt.Chart(frame, title="Access by group across radii").mark_line(point=True).encode(
        x=alt.X("radius:Q", title=f"Radius ({unit})"),
        y=alt.Y("mean_access:Q", title="Mean access (units as in the table at each radius)"),
        color=alt.Color("label:N", title=None, legend=alt.Legend(orient="bottom", columns=2,
                                                                  labelLimit=LABEL_LIMIT)),
        tooltip=[alt.Tooltip("label:N", title="Group"), alt.Tooltip("radius:Q", title=f"Radius ({unit})"),
                 alt.Tooltip("mean_access:Q", title="Mean access", format=".3g"),
                 alt.Tooltip("access_unit:N", title="Unit")])


def sensitivity_gap(groups: pd.DataFrame, unit: str) -> alt.LayerChart:
    """Lines with interval bands: each group's disparity score (percentage points) at each radius."""
    _require(groups, ["radius", "label", "disparity_score", "disparity_lower", "disparity_upper"], "sweep")
    frame = groups.dropna(subset=["disparity_score"])
    base = alt.Chart(frame, title="Group gap across radii").encode(
        x=alt.X("radius:Q", title=f"Radius ({unit})"),
        color=alt.Color("label:N", title=None, legend=alt.Legend(orient="bottom", columns=2, labelLimit=LABEL_LIMIT)))
    band = base.mark_area(opacity=0.15).encode(y=alt.Y("disparity_lower:Q", title="Gap (percentage points)"),
                                               y2="disparity_upper:Q")
    line = base.mark_line(point=True).encode(
        y="disparity_score:Q",
        tooltip=[alt.Tooltip("label:N", title="Group"), alt.Tooltip("radius:Q", title=f"Radius ({unit})"),
                 alt.Tooltip("disparity_score:Q", title="Gap (points)", format=".2f")])
    return alt.layer(band, line)


def _wrap(text: str, width: int = 38) -> list[str]:
    """An axis title as lines of at most `width` characters, so it is never cut at the chart's edge."""
    import textwrap

    return textwrap.wrap(text, width) or [text]


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; found {list(frame.columns)}")
