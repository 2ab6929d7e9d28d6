"""profile.district_profile on hand-built districts, pods and sites, where every figure is easy to check."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from podgeo import profile

#: two neighbouring unified districts in Kansas (EPSG:4326); 1 degree of longitude at 38 N is ~87.9 km
DISTRICTS = gpd.GeoDataFrame({
    "leaid": ["2000001", "2000002"], "name": ["Prairie Unified", "Creek Unified"], "state": ["KS", "KS"],
    "state_fips": ["20", "20"], "layer": ["unified", "unified"], "vintage": [2016, 2016],
    "children_5_17": [2000.0, 500.0], "children_poverty": [400.0, 50.0], "pct_poverty": [20.0, 10.0],
    "enrollment": [1800, 450]}, geometry=[box(-98.0, 38.0, -97.9, 38.1), box(-98.2, 38.0, -98.0, 38.1)],
    crs="EPSG:4326")
PODS = gpd.GeoDataFrame({"pod_id": ["a", "b", "c"], "name": ["Pod <A>", "Pod B", "Pod C"], "capacity": [10, None, 5],
                         "operator_type": ["other"] * 3, "mode": ["in_person"] * 3, "grade_low": [0, 0, 0],
                         "grade_high": [5, 5, 5], "status": ["active"] * 3, "city": ["X"] * 3,
                         "lat": [38.05, 38.06, 38.05], "lon": [-97.95, -97.96, -98.1]},
                        geometry=[Point(-97.95, 38.05), Point(-97.96, 38.06), Point(-98.1, 38.05)], crs="EPSG:4326")
LINKS = pd.DataFrame({"pod_id": ["a", "b", "c"], "leaid": ["2000001", "2000001", "2000002"], "layer": ["unified"] * 3})
MILE_IN_DEGREES = 1609.344 / 87_700
SITES = gpd.GeoDataFrame({
    "site_id": ["in", "near", "far"], "kind": ["library", "school", "school"], "name": ["Inside", "Near", "Far"],
    "address": ["1 Main", "2 Elm", "3 Oak"], "city": ["A", "B", "C"]},
    geometry=[Point(-97.95, 38.05), Point(-97.9 + 0.5 * MILE_IN_DEGREES, 38.05),
              Point(-97.9 + 3 * MILE_IN_DEGREES, 38.05)], crs="EPSG:4326")


def test_figures_sites_and_pods():
    view = profile.district_profile("2000001", DISTRICTS, PODS, LINKS, SITES, pd.DataFrame(), tiles=None)
    figures = dict(zip(view.figures["figure"], view.figures["value"]))
    # pod b has no capacity, so the ratio counts pods (2 per 2,000 children), as coverage does
    assert figures["Container ratio: pods (some have no capacity) per 1,000 children"] == "1.00"
    assert figures["Container ratio: pods (some have no capacity) per 1,000 children in poverty"] == "5.00"
    assert figures["Seats (known capacities)"] == "10 (1 without a known capacity)"
    assert figures["Public library outlets in the district"] == "1" and figures["Public schools in the district"] == "0"
    assert figures["Candidate sites within 1 mi outside the boundary"] == "1"
    assert view.sites["site"].tolist() == ["Inside", "Near"]
    assert view.sites["miles outside"].tolist()[0] == 0 and view.sites["miles outside"].tolist()[1] == pytest.approx(
        0.5, abs=0.02)
    assert view.pods["pod"].tolist() == ["Pod <A>", "Pod B"] and np.isnan(view.pods["seats"].iloc[1])
    row = view.measures.set_index("measure").loc["% of children 5-17 in poverty"]
    assert (row["value"], row["state_median"], row["vs_state"]) == ("20.0 %", "15.0 %", "above the state median")
    assert view.heading == "Prairie Unified · KS · LEAID 2000001 · unified · boundaries 2016"


def test_unknown_district_is_refused():
    with pytest.raises(ValueError, match="district '2999999' is not among the 2 districts given"):
        profile.district_profile("2999999", DISTRICTS, PODS, LINKS, SITES, pd.DataFrame(), tiles=None)


def test_a_site_layer_that_does_not_cover_the_state_is_not_shown_as_zero():
    """Issue 11 item 5: Chicago's profile said "Public schools in the district 0" (the school layer is CA only)."""
    libraries_only = SITES[SITES["kind"] == "library"]
    view = profile.district_profile("2000001", DISTRICTS, PODS, LINKS, libraries_only, pd.DataFrame(), tiles=None)
    figures = dict(zip(view.figures["figure"], view.figures["value"]))
    assert figures["Public schools in the district"] == "not known: the school layer does not cover KS"
    assert figures["Public library outlets in the district"] == "1"
    none = profile.district_profile("2000001", DISTRICTS, PODS, LINKS, SITES.iloc[0:0], pd.DataFrame(), tiles=None)
    values = dict(zip(none.figures["figure"], none.figures["value"]))
    assert values["Candidate sites within 1 mi outside the boundary"] == (
        "not known: the candidate-site layers do not cover KS")


def test_an_agency_without_a_boundary_has_a_profile_without_a_map():
    """Issue 14: a charter LEA kept from ELSI with no polygon: figures and measures, "no boundary", no map."""
    charter = gpd.GeoDataFrame({
        "leaid": ["2000099"], "name": ["Prairie Charter Academy"], "state": ["KS"], "state_fips": ["20"],
        "layer": ["charter"], "vintage": [None], "children_5_17": [np.nan], "children_poverty": [np.nan],
        "pct_poverty": [np.nan], "enrollment": [320]}, geometry=[None], crs="EPSG:4326")
    districts = pd.concat([DISTRICTS, charter], ignore_index=True)
    view = profile.district_profile("2000099", districts, PODS, LINKS, SITES, pd.DataFrame(), tiles=None)
    assert view.map is None and view.heading == "Prairie Charter Academy · KS · LEAID 2000099 · charter · no boundary"
    figures = dict(zip(view.figures["figure"], view.figures["value"]))
    assert figures["Students enrolled 2020-21"] == "320 students"
    assert figures["Children 5-17 (SAIPE)"] == "no data"
    assert figures["Public schools in the district"] == "not known: no boundary to place pods or sites in"
    assert view.sites.empty and view.pods.empty
    # the bounded neighbours still map as before
    assert profile.district_profile("2000001", districts, PODS, LINKS, SITES, pd.DataFrame(), tiles=None).map


def test_the_heading_names_the_boundary_vintage_as_a_year_when_unbounded_agencies_share_the_table():
    """Seen on the national store: "boundaries 2021.0" once a district without a boundary (no vintage)
    made the vintage column float."""
    unbounded = DISTRICTS.iloc[[0]].assign(leaid="2099999", vintage=np.nan, geometry=None)
    mixed = gpd.GeoDataFrame(pd.concat([DISTRICTS, unbounded], ignore_index=True), crs=DISTRICTS.crs)
    assert mixed["vintage"].dtype.kind == "f"
    view = profile.district_profile("2000001", mixed, PODS, LINKS, SITES, pd.DataFrame(), tiles=None)
    assert view.heading.endswith("· boundaries 2016")
