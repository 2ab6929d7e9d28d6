"""podgeo.demand: every source becomes the same demand-point columns, and every dropped row is explained."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from podgeo import demand as dm


# --- district interior points, hand-built ------------------------------------------------------

@pytest.fixture
def split_state():
    return gpd.GeoDataFrame({
        "leaid": ["0600001", "0600002", "0600003", "0699997", "0600005"],
        "name": ["Unified A", "Elementary B", "Secondary C", "School District Not Defined", "No estimate E"],
        "layer": ["unified", "elementary", "secondary", "unified", "elementary"],
        "children": [1000.0, 200.0, 150.0, np.nan, np.nan],
        "pct_poverty": [20.0, 50.0, 10.0, np.nan, np.nan],
        "pct_disability": [5.0, np.nan, 4.0, np.nan, np.nan],
        "pct_ling_isolated": [10.0, 0.0, 1.0, np.nan, np.nan],
        "pct_of_color": [60.0, 25.0, 30.0, np.nan, np.nan],
    }, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(1, 0, 2, 1), box(2, 0, 3, 1), box(3, 0, 4, 1)], crs=4326)


def test_district_points_by_hand(split_state):
    result = dm.district_points(split_state)
    points = result.points.set_index("demand_id")
    assert list(points.index) == ["0600001", "0600002"]  # secondary overlays elementary: left out by default
    a = points.loc["0600001"]
    assert (a["total"], a["poverty"], a["disability"], a["english_learners"], a["of_color"], a["white_nh"]) == (
        1000, 200, 50, 100, 600, 400)
    assert np.isnan(a["low_income"]) and np.isnan(points.loc["0600002", "disability"])
    assert points.loc["0600002", "poverty"] == 100
    assert split_state.set_index("leaid").loc[["0600001", "0600002"]].geometry.contains(
        result.points.set_index("demand_id").geometry).all()
    assert result.unmatched[["demand_id", "reason"]].values.tolist() == [
        ["0699997", "Census filler polygon (GEOID ends 99997), not a district"],
        ["0600005", "no SAIPE children 5-17 estimate for this LEAID"],
    ]
    assert (result.points["demand_kind"] == "district").all()
    assert result.points["unit_label"].iloc[0].endswith("(unified + elementary)")


def test_district_points_secondary_on_request(split_state):
    points = dm.district_points(split_state, layers=["secondary"]).points
    assert points["demand_id"].tolist() == ["0600003"]


def test_district_points_repairs_self_intersecting_shapes(split_state):
    from shapely.geometry import Polygon

    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])  # like the 72 invalid shapes in the simplified US file
    points = dm.district_points(split_state.iloc[:1].set_geometry([bowtie], crs=4326)).points
    assert gpd.GeoSeries([bowtie]).make_valid().contains(points.geometry.iloc[0]).all()


@pytest.mark.parametrize("change, message", [
    ({"pct_poverty": [250.0, 50.0, 10.0, np.nan, np.nan]}, "column 'pct_poverty' row 0 is 250.0, expected a percent"),
    ({"layers": ["unifed"]}, r"layers \['unifed'\] not among"),
])
def test_district_points_rejects_bad_input(split_state, change, message):
    layers = change.pop("layers", ("unified", "elementary"))
    with pytest.raises(ValueError, match=message):
        dm.district_points(split_state.assign(**change), layers=layers)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['pct_of_color'\]"):
        dm.district_points(split_state.drop(columns="pct_of_color"))


def test_district_points_on_fixture_districts(fixtures_dir):
    districts = gpd.read_file(fixtures_dir / "districts_2021.geojson")
    hh = pd.read_csv(fixtures_dir / "household_conditions.csv", dtype={"leaid": str})
    frame = districts.rename(columns={"GEOID": "leaid", "NAME": "name", "SDTYPE": "layer"}).merge(
        hh[["leaid", "children", "pct_pov", "pct_CD", "pct_CLI"]], on="leaid", how="left").rename(
        columns={"pct_pov": "pct_poverty", "pct_CD": "pct_disability", "pct_CLI": "pct_ling_isolated"})
    result = dm.district_points(frame.assign(pct_of_color=np.nan))
    assert len(result.points) + len(result.unmatched) == 21  # 11 unified + 10 elementary
    sf = result.points.set_index("leaid").loc["0634410"]
    assert sf["name"] == "San Francisco Unified School District" and sf["total"] > 50_000
    shapes = frame.set_index("leaid").geometry.reindex(result.points["leaid"])
    assert shapes.contains(result.points.geometry, align=False).all()


# --- California schools -----------------------------------------------------------------------

def test_ca_school_points_on_fixture(fixtures_dir):
    result = dm.ca_school_points(fixtures_dir / "cde_cupc_schools_2019_20.csv", fixtures_dir / "cde_active_schools.csv")
    points = result.points
    assert len(points) == 318 and result.unmatched.empty
    assert points["demand_id"].str.fullmatch(r"\d{14}").all()
    assert points["leaid"].dropna().str.fullmatch(r"\d{7}").all()
    assert (points["low_income"] <= points["total"]).all() and (points["english_learners"] <= points["total"]).all()
    assert points[["poverty", "disability", "of_color", "white_nh"]].isna().all().all()
    assert points.crs == "EPSG:4326" and points.geometry.y.between(37.69, 37.91).all()


def test_ca_school_points_reports_every_unplaced_row(shared_data):
    enrollment = shared_data / "school_enrollment" / "cde_cupc_schools_2019_20.csv"
    result = dm.ca_school_points(enrollment, shared_data / "hub_sites" / "cde_public_schools_ca_2018.csv")
    reasons = result.unmatched["reason"].value_counts()
    assert reasons["nonpublic, nonsectarian school placements: no location by design"] == 444
    assert reasons[[r for r in reasons.index if r.startswith("CDSCode not in the school directory")][0]] == 219
    assert reasons["district office row: students not enrolled at a school site"] == 104
    assert reasons["directory row has no coordinates"] == 2
    assert len(result.points) == 10_584 - 444 - 219 - 104 - 2
    # every student is either at a point or in the unmatched report
    assert result.points["total"].sum() + result.unmatched["total"].sum() == 6_148_978
    assert result.points["low_income"].sum() <= 3_644_013


def test_ca_school_points_reads_ids_as_text(tmp_path):
    enrollment = tmp_path / "cupc.csv"
    directory = tmp_path / "dir.csv"
    enrollment.write_text("CDSCode,School Code,School Name,Total Enrollment,Unduplicated FRPM Eligible Count,"
                          "English Learner (EL)\n01100170112607,0112607,Envision,\"1,412\",295,70\n")
    directory.write_text("CDSCode,NCESDist,Latitude,Longitude\n01100170112607,0691051,37.8,-122.27\n")
    points = dm.ca_school_points(enrollment, directory).points
    assert points[["demand_id", "leaid"]].values.tolist() == [["01100170112607", "0691051"]]
    assert points["total"].tolist() == [1412.0]


# --- Bay Area tracts ----------------------------------------------------------------------------

def test_bay_area_tract_points_full(shared_data):
    folder = shared_data / "tracts_bay_area"
    result = dm.bay_area_tract_points(folder / "udp_bay_area_tracts_2018.gpkg",
                                      folder / "mtc_epc_acs2014_2018_tracts.csv")
    points = result.points
    assert len(points) == 1567 and len(result.unmatched) == 21
    assert points["total"].sum() == 7_624_254  # the 9-county population with a polygon (SOURCES.md)
    assert points["demand_id"].str.fullmatch(r"06\d{9}").all()
    assert (points["white_nh"] == points["total"] - points["of_color"]).all()
    assert points[["poverty", "leaid"]].isna().all().all()
    assert result.unmatched["reason"].str.startswith("no tract polygon").all()


def test_bay_area_tract_points_on_fixture(fixtures_dir):
    result = dm.bay_area_tract_points(fixtures_dir / "udp_tracts_2018.gpkg",
                                      fixtures_dir / "mtc_epc_acs2014_2018_tracts.csv")
    polygons = gpd.read_file(fixtures_dir / "udp_tracts_2018.gpkg")
    polygons["GEOID"] = polygons["GEOID"].astype("int64").astype(str).str.zfill(11)
    assert len(result.points) == 421 and result.unmatched.empty
    shapes = polygons.set_index("GEOID").geometry.reindex(result.points["demand_id"])
    assert shapes.contains(result.points.geometry, align=False).all()  # representative points lie inside


def test_tract_geoids_are_rebuilt_from_float_and_short_text(tmp_path):
    gpkg = tmp_path / "t.gpkg"
    gpd.GeoDataFrame({"GEOID": [6075010100.0]}, geometry=[box(-122.5, 37.7, -122.4, 37.8)], crs=4326).to_file(gpkg)
    csv = tmp_path / "c.csv"
    csv.write_text("geoid,tot_pop,pop_poc,pop_below2,pop_lep,pop_disabi\n6075010100,100,40,30,20,10\n"
                   "6075999999,5,1,1,1,1\n")
    result = dm.bay_area_tract_points(gpkg, csv)
    assert result.points["demand_id"].tolist() == ["06075010100"]
    assert result.points["name"].tolist() == ["Tract 0101.00, San Francisco"]
    assert result.unmatched["demand_id"].tolist() == ["06075999999"]


# --- one shape for every kind of demand -----------------------------------------------------------

def test_every_demand_frame_has_the_same_columns(fixtures_dir, split_state):
    frames = [
        dm.ca_school_points(fixtures_dir / "cde_cupc_schools_2019_20.csv", fixtures_dir / "cde_active_schools.csv"),
        dm.bay_area_tract_points(fixtures_dir / "udp_tracts_2018.gpkg",
                                 fixtures_dir / "mtc_epc_acs2014_2018_tracts.csv"),
        dm.district_points(split_state),
    ]
    for result in frames:
        assert list(result.points.columns) == dm.DEMAND_COLUMNS
        assert list(result.unmatched.columns) == dm.UNMATCHED_COLUMNS
        assert result.points["unit_label"].nunique() == 1 and result.points.crs == "EPSG:4326"
        assert (result.points.geom_type == "Point").all()
    combined = pd.concat([r.points for r in frames], ignore_index=True)
    assert set(combined["demand_kind"]) == {"ca_school", "bay_area_tract", "district"}
