"""The build, end to end: exact results on the SF Bay fixture, California and the national files."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from podgeo import rollup, sources
from podgeo.build import StrictBuildError, build
from podgeo.sources import SourceError
from podgeo.store import SqliteStore


REPO = Path(__file__).resolve().parents[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the SF Bay fixture: exact counts and values -------------------------------------------------

def test_fixture_build_counts(fixture_store):
    store = SqliteStore(fixture_store)
    counts = store.counts()
    assert {k: counts[k] for k in ("districts", "district_measures", "sites", "site_districts", "pods")} == {
        "districts": 24, "district_measures": 24, "sites": 64 + 346, "site_districts": 430, "pods": 40}
    layers = store.districts(geometry=None)["layer"].value_counts().to_dict()
    assert layers == {"unified": 11, "elementary": 10, "secondary": 3}
    assert store.meta()["states"] == ["CA"]


def test_fixture_build_values_for_san_francisco_and_oakland(fixture_store, fixtures_dir):
    d = SqliteStore(fixture_store).districts(geometry=None).set_index("leaid")
    sf, oak = d.loc["0634410"], d.loc["0628050"]
    assert sf["name"] == "San Francisco Unified School District" and sf["layer"] == "unified"
    assert sf["vintage"] == 2021 and sf["state"] == "CA"
    hh = sources.read_household_conditions_csv(fixtures_dir / "household_conditions.csv")
    expected = hh.set_index("leaid").loc["0634410"]
    assert sf["children_5_17"] == expected["children_5_17"]
    assert sf["pct_poverty"] == pytest.approx(expected["pct_poverty"])
    assert sf["children_poverty"] == round(expected["children_5_17"] * expected["pct_poverty"] / 100)
    assert sf["pct_of_color"] == pytest.approx(100 - sf["pct_white_nh"])
    assert oak["enrollment"] > 30000


def test_fixture_provenance_records_every_file_with_checksums(fixture_store, shared_data):
    prov = SqliteStore(fixture_store).provenance().set_index("source_key")
    assert sorted(prov.index) == ["acs_ed_race", "cde_enrollment", "cde_schools", "districts_2021_06_combined",
                                  "elsi_2020_21", "household_conditions_csv", "imls_outlets", "mtc_tracts", "states",
                                  "udp_tracts"]
    imls = prov.loc["imls_outlets"]
    assert (imls["rows_read"], imls["rows_loaded"]) == (68, 64)
    assert imls["unjoined_reasons"] == {"bookmobile or books-by-mail outlet (no fixed site)": 4}
    fixture_file = shared_data / "fixtures_sf_bay" / "imls_library_outlets.csv"
    assert imls["sha256"] == _sha(fixture_file)
    assert prov.loc["acs_ed_race", "rows_loaded"] == 23


def test_fixture_demand_points_schools_and_tracts(fixture_store):
    store = SqliteStore(fixture_store)
    assert store.counts()["demand_points"] == 318 + 421
    schools, tracts = store.demand_points("schools"), store.demand_points("tracts")
    assert len(schools) == 318 and len(tracts) == 421  # every CUPC row has a directory point; every tract a polygon
    assert schools["leaid"].notna().all() and int(tracts["leaid"].isna().sum()) == 1
    oakland_charter = schools.set_index("demand_id").loc["01100170112607"]
    assert (oakland_charter["leaid"], oakland_charter["leaid_source"]) == ("0628050", "0691051")  # charter LEA kept
    assert (oakland_charter["total"], oakland_charter["low_income"], oakland_charter["english_learners"]) == (
        412, 295, 70)
    assert np.isnan(oakland_charter["poverty"]) and set(schools["label"]) == {"CA public schools, 2019-20 enrollment"}
    assert tracts["white_nh"].add(tracts["of_color"]).equals(tracts["total"])
    assert len(store.demand_points("tracts", state_fips=["36"])) == 0
    prov = store.provenance().set_index("source_key")
    assert (prov.loc["cde_enrollment", "rows_read"], prov.loc["cde_enrollment", "rows_loaded"]) == (318, 318)
    assert prov.loc["mtc_tracts", "unjoined_reasons"] == {
        "point outside every loaded unified/elementary district (kept, no district)": 1}
    with pytest.raises(ValueError, match="demand kind 'districts' is not one of"):
        store.demand_points("districts")


def test_sample_pods_are_all_placed_and_marked_illustrative(fixture_store):
    pods = SqliteStore(fixture_store).pods()
    assert len(pods) == 40 and pods["illustrative"].eq(1).all()
    assert pods["notes"].str.contains("ILLUSTRATIVE").all()


# -- California, full files -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def ca_store(tmp_path_factory, shared_data):
    path = tmp_path_factory.mktemp("ca") / "ca.db"
    build(path, sources_root=shared_data, states=["CA"])
    return SqliteStore(path)


def test_california_979_polygons_978_with_demographics(ca_store):
    d = ca_store.districts(geometry=None, include_filler=True, unbounded=False)
    assert len(d) == 979 and d["has_boundary"].eq(1).all()
    assert d.loc[d["is_filler"] == 1, "leaid"].tolist() == ["0699997"]
    real = d[d["is_filler"] == 0]
    assert len(real) == 978 and real["children_5_17"].notna().sum() == 978
    assert set(d["vintage"]) == {2021}


def test_los_angeles_unified(ca_store):
    la = ca_store.districts(geometry=None, leaids=["0622710"]).iloc[0]
    assert la["children_5_17"] == 724446
    assert round(la["pct_poverty"], 1) == 22.4
    assert la["name"] == "Los Angeles Unified School District"


def test_every_california_library_outlet_lands_in_a_district(ca_store):
    libs = ca_store.sites(kinds=["library"])
    assert len(libs) == 1173  # 1,225 CA outlets less 52 bookmobiles / by-mail
    assert libs["leaids"].notna().all()


def test_california_demand_points_every_row_accounted_for(ca_store):
    schools, tracts = ca_store.demand_points("schools"), ca_store.demand_points("tracts")
    assert (len(schools), len(tracts)) == (9815, 1567)
    prov = ca_store.provenance().set_index("source_key")
    enrollment = prov.loc["cde_enrollment"]
    assert enrollment["rows_read"] == 10584 == 9815 + 444 + 219 + 104 + 2
    assert enrollment["unjoined_reasons"]["nonpublic, nonsectarian school placements: no location by design"] == 444
    assert int(schools["leaid"].isna().sum()) == 1 and tracts["leaid"].notna().all()
    assert (prov.loc["mtc_tracts", "rows_read"], prov.loc["udp_tracts", "rows_read"]) == (1588, 2109)


def test_secondary_layer_overlays_elementary_so_a_school_can_sit_in_two(ca_store):
    links = ca_store.place_districts("sites")
    per_site = links.groupby("site_id")["layer"].apply(frozenset)
    assert per_site.map(len).max() == 2
    assert not per_site.map(lambda s: {"unified", "elementary"} <= s).any()


# -- the national store ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def us_store(tmp_path_factory, shared_data):
    report = build(tmp_path_factory.mktemp("us") / "us.db", sources_root=shared_data, pods_file=None)
    return SqliteStore(report.path)


def _elsi_by_hand(shared_data) -> pd.DataFrame:
    """The ELSI export read the way SOURCES.md says (6 preamble, 6 footer lines): a naive reference."""
    raw = pd.read_csv(shared_data / sources.SOURCES["elsi_2020_21"].path, skiprows=6, skipfooter=6, engine="python",
                      dtype=str, encoding="utf-8-sig")
    out = pd.DataFrame({"leaid": raw[sources.ELSI_ID].str.zfill(7),
                        "type": raw["Agency Type [District] 2020-21"].str[0],
                        "enrollment": pd.to_numeric(raw["Total Students All Grades (Excludes AE) [District] 2020-21"],
                                                    errors="coerce")})
    return out


def test_national_build_counts_per_layer(us_store):
    d = us_store.districts(geometry=None, include_filler=True, unbounded=False)
    assert d["state_fips"].nunique() == 51 and len(us_store.meta()["states"]) == 51
    assert d.groupby("layer").size().to_dict() == {"elementary": 1964, "secondary": 484, "unified": 10890}
    assert int(d["is_filler"].sum()) == 19
    assert d.groupby("vintage").size().to_dict() == {2016: 12359, 2021: 979}
    assert d["children_5_17"].notna().sum() == 13283


def test_every_elsi_agency_of_the_loaded_states_is_a_district(us_store, shared_data):
    elsi = _elsi_by_hand(shared_data)
    every = us_store.districts(geometry=None, include_filler=True)
    bounded = set(every.loc[every["has_boundary"] == 1, "leaid"])
    states = set(every["state_fips"])
    in_states = elsi[elsi["leaid"].str[:2].isin(states)]
    # every ELSI agency of the 50 states + DC is a row; those with no polygon have no boundary
    assert set(in_states["leaid"]) <= set(every["leaid"])
    unbounded = every[every["has_boundary"] == 0]
    assert set(unbounded["leaid"]) == set(in_states["leaid"]) - bounded
    assert len(every) == len(bounded) + len(unbounded) == 13338 + len(unbounded)
    # their type comes from ELSI: charters (type 7) are "charter", and so on
    types = unbounded.merge(elsi, on="leaid")
    assert (types["type"] == "7").sum() == (types["layer"] == "charter").sum() > 4000
    assert set(types.loc[types["type"].isin(["1", "2"]), "layer"]) == {"regular, no boundary"}
    assert us_store.meta()["agencies_without_boundary"] == unbounded["layer"].value_counts().to_dict()
    # with their enrollment: Mastery Schools' Gratz campus in Philadelphia, a charter LEA
    gratz = every.set_index("leaid").loc["4200851"]
    assert (gratz["name"], gratz["layer"], gratz["state"], gratz["has_boundary"]) == (
        "MASTERY CS-GRATZ CAMPUS", "charter", "PA", 0)
    assert gratz["enrollment"] == elsi.set_index("leaid").loc["4200851", "enrollment"]
    assert pd.isna(gratz["children_5_17"]) and pd.isna(gratz["lon"])  # no area: no children, no point
    per_state = us_store.state_list().set_index("state")
    assert per_state.loc["PA", "no_boundary"] == (unbounded["state"] == "PA").sum()


def test_maps_and_joins_never_meet_an_agency_without_a_boundary(us_store):
    for geometry in ("display", "full"):
        shapes = us_store.districts(geometry=geometry, state_fips=["42"])
        assert shapes["has_boundary"].eq(1).all() and shapes.geometry.notna().all()
        assert not shapes.geometry.is_empty.any()
    gratz = pd.DataFrame({"p": ["gratz"], "lon": [-75.1631], "lat": [40.0106]})  # the campus, North Philadelphia
    assert us_store.assign_points(gratz, id_col="p", state_fips=["42"])["leaid"].tolist() == ["4218990"]  # Phila.


def test_state_totals_say_which_agencies_they_include(us_store, shared_data):
    every = us_store.districts(geometry=None)
    pa = every[every["state_fips"] == "42"]
    enrolled = rollup.state_rollup(every, "enrollment").set_index("state_fips").loc["42"]
    elsi = _elsi_by_hand(shared_data)
    assert enrolled["value"] == elsi.loc[elsi["leaid"].str[:2] == "42", "enrollment"].sum()  # every PA agency once
    assert enrolled["includes"] == rollup.INCLUDES_ALL
    assert enrolled["without_boundary"] == (pa["enrollment"].notna() & (pa["has_boundary"] == 0)).sum() > 150
    children = rollup.state_rollup(every, "children_5_17").set_index("state_fips").loc["42"]
    base = pa[pa["layer"].isin(["unified", "elementary"])]
    assert children["value"] == base["children_5_17"].sum()  # the agencies without a boundary add none
    assert (children["includes"], children["without_boundary"]) == (rollup.INCLUDES_BASE, 0)


def test_data_sources_rows_group_the_national_boundary_files_and_name_every_state(us_store):
    states = us_store.states(geometry=False)
    prov = us_store.provenance()
    out = sources.provenance_groups(prov, dict(zip(states["state_fips"], states["state_name"])))
    assert len(prov) == 108 and len(out) == 11  # 96 zips of 2016 + CA's 2021 file(s) + 9 other sources
    us2016 = out.set_index("source").loc["School district boundaries, Census cartographic boundary 2016"]
    assert us2016["files"] == 96 and us2016["states"].count(", ") == 49  # 50 states and DC but California
    assert us2016["rows_loaded"] == (us_store.districts(geometry=None, include_filler=True, unbounded=False)
                                     ["vintage"] == 2016).sum()
    assert "Pennsylvania" in us2016["states"] and not out["source"].str.contains(r"state \d\d").any()
    assert set(out["status"]) == {"loaded"}


def test_a_cohort_of_charter_leas_counts_each_once(us_store, tmp_path):
    copy = tmp_path / "us.db"
    shutil.copy(us_store.path, copy)
    store = SqliteStore(copy)
    campuses = ["4200851", "4200062", "4200144", "3400772"]  # Mastery's campuses in PA and its Camden LEA in NJ
    cohort = store.create_cohort("Mastery Schools", campuses + ["4200851"])
    assert store.cohort_members(cohort) == sorted(campuses)
    members = store.districts(geometry=None, leaids=store.cohort_members(cohort))
    assert len(members) == 4 and members["enrollment"].notna().all()


# -- bad sources leave the store as it was --------------------------------------------------------

@pytest.mark.parametrize("damage, message", [
    ("truncate_zip", "not a valid zip"),
    ("drop_column", "missing column"),
    ("remove_file", "missing source file"),
])
def test_bad_source_leaves_existing_store_unchanged(tmp_path, fixture_sources, fixture_store, damage, message):
    db = tmp_path / "podgeo.db"
    shutil.copy(fixture_store, db)
    before = _sha(db)
    broken = tmp_path / "sources"
    shutil.copytree(fixture_sources, broken, symlinks=False)
    if damage == "truncate_zip":
        zips = broken / "school_districts" / "ca_2021"
        (zips / "ca_school_districts_2021.geojson").unlink()
        target = zips / "cb_2021_06_unsd_500k.zip"
        for code in ("unsd", "elsd", "scsd"):
            (zips / f"cb_2021_06_{code}_500k.zip").write_bytes(b"PK\x03\x04 truncated")
    elif damage == "drop_column":
        target = broken / sources.SOURCES["acs_ed_race"].path
        target.write_text(target.read_text().replace("CDP05.3_58est", "CDP05.3_58xx", 1))
    else:
        target = broken / sources.SOURCES["states"].path
        target.unlink()
    with pytest.raises(SourceError, match=message) as err:
        build(db, sources_root=broken)
    assert target.name in str(err.value)
    assert _sha(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["podgeo.db", "sources"]  # no temp file left


def test_unknown_state_is_rejected_before_anything_is_written(tmp_path, fixture_sources):
    with pytest.raises(ValueError, match="unknown state 'ZZ'"):
        build(tmp_path / "x.db", sources_root=fixture_sources, states=["ZZ"])
    assert not (tmp_path / "x.db").exists()


# -- optional sources: the build goes on without them and says so; --strict refuses ----------------

def _broken_sources(fixture_sources: Path, dest: Path) -> Path:
    shutil.copytree(fixture_sources, dest, symlinks=True)
    return dest


def test_missing_optional_sources_are_said_recorded_and_refused_when_strict(tmp_path, fixture_sources, fixture_store):
    root = _broken_sources(fixture_sources, tmp_path / "sources")
    for key in ("imls_outlets", "cde_enrollment", "mtc_tracts"):
        (root / sources.SOURCES[key].path).unlink()
    said = []
    report = build(tmp_path / "a.db", sources_root=root, progress=said.append)
    assert [(a["source_key"], a["status"]) for a in report.absent] == [
        ("imls_outlets", "absent"), ("cde_enrollment", "absent"), ("mtc_tracts", "absent")]
    assert any(line.startswith("WITHOUT library outlets") for line in said[-3:])  # said at the end of the build
    store = SqliteStore(report.path)
    prov = store.provenance().set_index("source_key")
    assert prov.loc["imls_outlets", ["status", "rows_loaded", "file"]].tolist() == [
        "absent", 0, str(root / sources.SOURCES["imls_outlets"].path)]
    assert "the store has no library outlets" in prov.loc["imls_outlets", "note"]
    assert prov.loc["elsi_2020_21", "status"] == "loaded" and pd.isna(prov.loc["elsi_2020_21", "note"])
    assert store.sites(kinds=["library"]).empty and len(store.sites(kinds=["school"])) == 346
    assert store.demand_points("schools").empty and store.demand_points("tracts").empty
    assert [a["source_key"] for a in store.meta()["absent"]] == ["imls_outlets", "cde_enrollment", "mtc_tracts"]
    # --strict: the same folder is an error naming each file, and the existing store is unchanged
    db = tmp_path / "podgeo.db"
    shutil.copy(fixture_store, db)
    before = _sha(db)
    with pytest.raises(StrictBuildError, match="imls_pls_fy2018_outlets.csv is not there.*"
                                               "cde_cupc_schools_2019_20.csv.*mtc_epc_acs2014_2018_tracts.csv"):
        build(db, sources_root=root, strict=True)
    assert _sha(db) == before


def test_an_elsi_file_with_only_a_header_leaves_enrollment_unknown_and_says_so(tmp_path, fixture_sources):
    root = _broken_sources(fixture_sources, tmp_path / "sources")
    elsi = root / sources.SOURCES["elsi_2020_21"].path
    header = next(line for line in elsi.read_text(encoding="utf-8-sig").splitlines() if line.startswith("Agency Name,"))
    elsi.unlink()
    elsi.write_text(header + "\n", encoding="utf-8")
    report = build(tmp_path / "a.db", sources_root=root, pods_file=None)
    assert [(a["source_key"], a["status"]) for a in report.absent] == [("elsi_2020_21", "empty")]
    store = SqliteStore(report.path)
    d = store.districts(geometry=None)
    assert len(d) == 24 and d["enrollment"].isna().all()  # unknown, never 0
    prov = store.provenance().set_index("source_key").loc["elsi_2020_21"]
    assert (prov["status"], prov["rows_read"]) == ("empty", 0) and "has a header and no rows" in prov["note"]
    with pytest.raises(StrictBuildError, match="has a header and no rows"):
        build(tmp_path / "b.db", sources_root=root, strict=True)
    assert not (tmp_path / "b.db").exists()


def test_a_truncated_zip_with_a_fallback_is_replaced_and_said(tmp_path, fixture_sources):
    root = _broken_sources(fixture_sources, tmp_path / "sources")
    for code in ("unsd", "elsd", "scsd"):  # the Census zips come first; the derived GeoJSON is the fallback
        (root / "school_districts" / "ca_2021" / f"cb_2021_06_{code}_500k.zip").write_bytes(b"PK\x03\x04 truncated")
    report = build(tmp_path / "a.db", sources_root=root, pods_file=None)
    assert [(a["source_key"], a["status"]) for a in report.absent] == [("districts_2021_06_unsd", "fallback")]
    assert "not a valid zip" in report.absent[0]["note"] and "ca_school_districts_2021.geojson instead" in \
        report.absent[0]["note"]
    store = SqliteStore(report.path)
    assert store.counts()["districts"] == 24
    prov = store.provenance().set_index("source_key")
    assert prov.loc["districts_2021_06_combined", "status"] == "loaded"
    assert prov.loc["districts_2021_06_unsd", "status"] == "fallback"
    with pytest.raises(StrictBuildError, match="not a valid zip"):
        build(tmp_path / "b.db", sources_root=root, strict=True)


def test_cli_build_says_what_it_built_without_and_strict_exits_2(tmp_path, fixture_sources):
    root = _broken_sources(fixture_sources, tmp_path / "sources")
    (root / sources.SOURCES["imls_outlets"].path).unlink()
    env = {**os.environ, "PODGEO_DB": str(tmp_path / "cli.db")}
    ok = subprocess.run([sys.executable, "-m", "podgeo", "build", "--sources", str(root), "--no-sample-pods"],
                        capture_output=True, text=True, env=env, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    tail = ok.stdout.strip().splitlines()[-2:]
    assert tail[0] == "built WITHOUT 1 source(s) (use --strict to make this an error):"
    assert tail[1].startswith("  imls_outlets (absent): ") and "the store has no library outlets" in tail[1]
    strict = subprocess.run([sys.executable, "-m", "podgeo", "build", "--sources", str(root), "--strict",
                             "--db", str(tmp_path / "strict.db")], capture_output=True, text=True, env=env, cwd=REPO)
    assert strict.returncode == 2 and "error: --strict: the build stopped before writing" in strict.stderr
    assert not (tmp_path / "strict.db").exists()


# -- the national display geometry (issue 14: a national map of every district) ----------------------

def _wiggly_squares():
    """Four 1-degree squares in two states (two each), every shared edge a zig-zag of tiny steps,
    the two states overlapping by a hairline along their line as real state files do."""
    import geopandas as gpd
    from shapely.geometry import Polygon

    def edge(x, wiggle=0.0005):
        ys = np.linspace(36.0, 37.0, 401)
        return [(x + (wiggle if i % 2 else 0.0), y) for i, y in enumerate(ys)]

    rows = []
    for fips, x0, shift in (("06", -122.0, 0.0), ("32", -120.0, -0.00002)):
        left, mid, right = x0 + shift, x0 + 1.0, x0 + 2.0 + shift
        west = Polygon([(left, 36.0), *edge(mid), (left, 37.0)])
        east = Polygon([*edge(mid), (right, 37.0), (right, 36.0)])
        rows += [(f"{fips}00001", fips, "unified", west), (f"{fips}00002", fips, "elementary", east)]
    frame = gpd.GeoDataFrame({"leaid": [r[0] for r in rows], "state_fips": [r[1] for r in rows],
                              "layer": [r[2] for r in rows]}, geometry=[r[3] for r in rows], crs="EPSG:4326")
    frame["display"] = frame.geometry.values
    return frame


def test_national_geometry_of_the_build_keeps_neighbours_edges_shared():
    import shapely

    from podgeo.build import _national

    src = _wiggly_squares()
    nat = _national(src)
    assert len(nat) == 4 and not shapely.is_empty(nat).any() and shapely.is_valid(nat).all()
    assert shapely.get_num_coordinates(nat).sum() < shapely.get_num_coordinates(src.geometry.values).sum() / 20
    for state in ("06", "32"):
        west, east = nat[(src["state_fips"] == state).to_numpy()]
        shared = west.intersection(east)
        assert shared.area == 0 and shared.length > 0.99  # one common edge, ~1 degree long, no overlap
        assert shapely.coverage_is_valid(np.array([west, east]))  # no gap between them either
        assert (west.area + east.area) == pytest.approx(2.0, rel=1e-3)  # each square keeps its area


def test_the_national_store_holds_national_geometry_for_every_base_district(national_store):
    import shapely

    from podgeo import geo

    store = SqliteStore(national_store)
    nat = store.national_districts()
    bounded = store.districts(geometry=None, layers=["unified", "elementary"], unbounded=False)
    assert len(nat) == len(bounded) == 12835 and set(nat["leaid"]) == set(bounded["leaid"])
    assert not nat.geometry.is_empty.any() and nat.geometry.is_valid.all()
    assert nat["state_fips"].nunique() == 51
    coords = shapely.get_coordinates(nat.geometry.values)
    # on the 3-decimal grid, but for the nodes make_valid adds where rounding made a ring cross itself
    off_grid = np.abs(coords - np.round(coords, geo.NATIONAL_DECIMALS)).max(axis=1) > 1e-9
    assert off_grid.sum() < 0.002 * len(coords)
    display = store.districts(layers=["unified", "elementary"])
    before = int(shapely.get_num_coordinates(display.geometry.values).sum())
    assert int(shapely.get_num_coordinates(nat.geometry.values).sum()) < 0.6 * before
    # California's tiling stays a tiling: its districts' areas add up to the area of their union
    ca = nat[nat["state_fips"] == "06"].to_crs(3310).geometry
    assert abs(ca.area.sum() - ca.union_all().area) / ca.union_all().area < 0.002
