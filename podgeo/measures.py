"""The catalogue of district measures: label, unit, margin-of-error column, source and vintage.

Pages, maps, exports and the store all describe a measure from this one table, so a legend,
a profile and a CSV header never disagree about what a number is.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Measure:
    key: str  # column in the district measures table
    label: str
    unit: str  # "%", "children", "students", "$", "per 1,000 children"
    source: str  # key in podgeo.sources.SOURCES ("pods" for counts computed from the pods table)
    moe: str | None = None  # column holding the 90 % margin of error, if the source publishes one
    kind: str = "percent"  # percent | count | rate: percents are averaged weighted by `weight`
    weight: str | None = None  # the count a percent is a share of (for correct aggregation)
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


_HH = "household_conditions"
_RACE = "acs_ed_race"

MEASURES: tuple[Measure, ...] = (
    Measure("children_5_17", "Children 5-17", "children", _HH, kind="count",
            note="SAIPE estimate of children aged 5-17 living in the district"),
    Measure("children_poverty", "Children 5-17 in poverty", "children", _HH, kind="count",
            note="children 5-17 x SAIPE poverty share"),
    Measure("pct_poverty", "% of children 5-17 in poverty", "%", _HH, weight="children_5_17",
            note="SAIPE; the source publishes no margin of error for it"),
    Measure("pct_no_computer", "% of households with no computer or internet", "%", _HH, "pct_no_computer_moe",
            weight="children_5_17"),
    Measure("pct_disability", "% of children with a disability", "%", _HH, "pct_disability_moe",
            weight="children_5_17"),
    Measure("pct_ling_isolated", "% of children linguistically isolated", "%", _HH, "pct_ling_isolated_moe",
            weight="children_5_17", note="proxy for English learners"),
    Measure("pct_single_parent", "% single-parent families", "%", _HH, "pct_single_parent_moe",
            weight="children_5_17"),
    Measure("pct_vulnerable_job", "% of households with a vulnerable job", "%", _HH, "pct_vulnerable_job_moe",
            weight="children_5_17"),
    Measure("pct_crowded", "% of households in crowded conditions", "%", _HH, "pct_crowded_moe",
            weight="children_5_17"),
    Measure("pct_hispanic", "% Hispanic or Latino (public-school children)", "%", _RACE, "pct_hispanic_moe",
            weight="acs_children"),
    Measure("pct_black_nh", "% Black (public-school children)", "%", _RACE, "pct_black_nh_moe", weight="acs_children"),
    Measure("pct_asian_nh", "% Asian (public-school children)", "%", _RACE, "pct_asian_nh_moe", weight="acs_children"),
    Measure("pct_white_nh", "% white, not Hispanic (public-school children)", "%", _RACE, "pct_white_nh_moe",
            weight="acs_children"),
    Measure("pct_two_plus_nh", "% two or more races (public-school children)", "%", _RACE, "pct_two_plus_nh_moe",
            weight="acs_children"),
    Measure("pct_of_color", "% children of color (public-school children)", "%", _RACE, "pct_of_color_moe",
            weight="acs_children", note="all children except white non-Hispanic"),
    Measure("acs_children", "Public-school children 5-17 (ACS-ED)", "children", _RACE, "acs_children_moe",
            kind="count"),
    Measure("enrollment", "Students enrolled 2020-21", "students", "elsi_2020_21", kind="count"),
    Measure("pods", "Pods and hubs", "pods", "pods", kind="count"),
    Measure("seats", "Pod seats", "seats", "pods", kind="count"),
    Measure("pods_per_1000", "Pods per 1,000 children", "per 1,000 children", "pods", kind="rate"),
    Measure("seats_per_1000", "Seats per 1,000 children", "per 1,000 children", "pods", kind="rate"),
)

BY_KEY: dict[str, Measure] = {m.key: m for m in MEASURES}

#: Measures a map can shade by, in menu order.
SHADING = tuple(m.key for m in MEASURES if m.key not in {"acs_children"})


def get(key: str) -> Measure:
    """The measure named `key`; ValueError naming it when unknown."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown measure {key!r}; known: {', '.join(BY_KEY)}") from None
