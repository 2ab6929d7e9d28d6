"""podgeo.charts: what each chart encodes, its axis titles and units, and what it leaves out."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

from podgeo import charts

UNIT = "seats per 1,000 students in reach"


def _spec(chart: alt.Chart) -> dict:
    return chart.to_dict()


def _values(spec: dict) -> list[dict]:
    return next(iter(spec["datasets"].values()))


def test_access_by_group_leaves_suppressed_groups_out_and_says_so():
    summary = pd.DataFrame({
        "group": ["total", "low_income", "disability"], "label": ["Everyone", "Low-income", "Disability"],
        "children": [500.0, 200.0, 12.0], "mean_access": [2.0, 1.5, np.nan], "share_zero_access": [0.1, 0.2, np.nan],
        "suppressed": [False, False, True]})
    spec = _spec(charts.access_by_group(summary, UNIT))
    assert spec["mark"]["type"] == "bar"
    assert " ".join(spec["encoding"]["x"]["title"]) == f"Mean access ({UNIT})"  # wrapped, so never cut
    assert all(len(line) <= 38 for line in spec["encoding"]["x"]["title"])
    assert spec["encoding"]["y"]["sort"] == ["Everyone", "Low-income"]
    assert spec["encoding"]["y"]["axis"]["labelLimit"] == charts.LABEL_LIMIT
    assert [r["label"] for r in _values(spec)] == ["Everyone", "Low-income"]
    assert [r["zero_pct"] for r in _values(spec)] == pytest.approx([10.0, 20.0])
    assert spec["title"]["subtitle"] == "1 group(s) under the minimum count left out"


def test_access_by_poverty_quartile_axes():
    quartiles = pd.DataFrame({"quartile": ["Q1", "Q2"], "poverty_range": ["1-2% in poverty", "3-9% in poverty"],
                              "districts": [2, 2], "demand": [100.0, 50.0], "mean_access": [3.0, 1.0]})
    spec = _spec(charts.access_by_poverty_quartile(quartiles, UNIT))
    assert spec["encoding"]["x"]["title"] == "District quartile (% of children 5-17 in poverty)"
    assert spec["encoding"]["x"]["sort"] == ["Q1: 1-2% in poverty", "Q2: 3-9% in poverty"]
    assert " ".join(spec["encoding"]["y"]["title"]) == f"Mean access ({UNIT})"


def test_need_vs_access_marks_ranked_districts_and_drops_infinite_access():
    table = pd.DataFrame({"leaid": ["1", "2", "3"], "name": ["A", "B", "C"],
                          "rank": pd.array([1, pd.NA, pd.NA], dtype="Int64"),
                          "children_in_need": [900.0, 50.0, 0.0], "access": [0.0, 2.5, np.inf]})
    spec = _spec(charts.need_vs_access(table, UNIT, "Low-income students"))
    assert spec["encoding"]["x"]["title"] == "Low-income students (count)"
    assert spec["encoding"]["x"]["scale"] == {"type": "symlog"}
    assert " ".join(spec["encoding"]["y"]["title"]) == f"Access ({UNIT})"
    rows = _values(spec)
    assert [(r["leaid"], r["status"]) for r in rows] == [("1", "Low access (ranked)"), ("2", "Other districts")]
    assert spec["encoding"]["color"]["scale"]["range"] == [charts.LOW_ACCESS_COLOUR, charts.OTHER_COLOUR]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"summary: missing column\(s\) \['label'\]"):
        charts.access_by_group(pd.DataFrame(columns=["group", "children", "mean_access", "share_zero_access",
                                                     "suppressed"]), UNIT)


def test_disparity_chart_draws_intervals_and_greys_what_is_not_significant():
    demo = pd.DataFrame({"label": ["Poverty", "Of colour", "Disability"], "score": [0.8, -6.9, 0.1],
                         "lower": [np.nan, -7.1, -0.2], "upper": [np.nan, -6.7, 0.4], "level": 90,
                         "finding": ["not assessed (no margin of error)", "under-served", "not significant"]})
    spec = _spec(charts.disparity_by_group(demo))
    bars, dots, zero = spec["layer"]
    assert bars["mark"]["type"] == "rule" and bars["encoding"]["x2"]["field"] == "upper"
    colour = dots["encoding"]["color"]["scale"]
    shade = dict(zip(colour["domain"], colour["range"]))
    assert shade["under-served"] == charts.LOW_ACCESS_COLOUR and shade["not significant"] == charts.NOT_SIGNIFICANT_COLOUR
    assert "90 % intervals" in " ".join(bars["title"]["subtitle"])


def test_sensitivity_charts_have_radius_axes():
    groups = pd.DataFrame({"radius": [1.0, 5.0], "label": ["Everyone"] * 2, "mean_access": [0.1, 0.4],
                           "access_unit": ["u"] * 2, "disparity_score": [np.nan, np.nan],
                           "disparity_lower": [np.nan] * 2, "disparity_upper": [np.nan] * 2})
    spec = _spec(charts.sensitivity_access(groups, "mi"))
    assert spec["encoding"]["x"]["title"] == "Radius (mi)" and len(_values(spec)) == 2
    gap = _spec(charts.sensitivity_gap(groups, "min"))
    assert gap["layer"][0]["encoding"]["x"]["title"] == "Radius (min)"
