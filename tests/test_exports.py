"""Exports: CSV plain (pandas reads it as it is) and defused against formula injection, the note beside it
(zip README, xlsx sheet), GeoJSON valid, GeoPackage read back equal in EPSG:4326 with its note as the layer
description; `python -m podgeo export` writes the same files."""
from __future__ import annotations

import csv
import io
import json
import sqlite3
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from podgeo import exports
from podgeo.__main__ import main
from podgeo.store import SqliteStore

NOTE = "podgeo export: test; filters: all pods; data: none; made now"
HOSTILE = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTab", "Plain pod"]


def _pods() -> gpd.GeoDataFrame:
    n = len(HOSTILE)
    return gpd.GeoDataFrame({
        "pod_id": [f"p{i}" for i in range(n)], "name": HOSTILE, "operator_type": ["other"] * n,
        "capacity": [10, None, 30, 40, 50, 60],
        "priority_groups": [["low_income", "english_learners"]] + [[]] * (n - 1), "state": ["CA"] * n,
        "lat": [37.8, 37.7, 37.6, 37.5, 37.4, None], "lon": [-122.2, -122.3, -122.4, -122.5, -122.1, None],
        "illustrative": [0] * n,
    }, geometry=[Point(-122.2, 37.8), Point(-122.3, 37.7), Point(-122.4, 37.6), Point(-122.5, 37.5),
                 Point(-122.1, 37.4), None], crs="EPSG:4326")


def _read_gpkg(data: bytes, tmp_path, name="x.gpkg") -> tuple[gpd.GeoDataFrame, str]:
    path = tmp_path / name
    path.write_bytes(data)
    frame = gpd.read_file(path)
    with sqlite3.connect(path) as conn:
        description = conn.execute("select description from gpkg_contents").fetchone()[0]
    return frame, description


def test_csv_defuses_formulas_but_keeps_numbers():
    text = exports.pods_csv(_pods(), NOTE).decode("utf-8-sig")
    assert text.startswith("pod_id,name,")  # the header first: no note line
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows] == ["'" + HOSTILE[0], "'" + HOSTILE[1], "'-2+3",
                                         "'@SUM(A1)", "'\tTab", "Plain pod"]
    assert rows[0]["lon"] == "-122.2" and rows[0]["priority_groups"] == "low_income; english_learners"


def test_pandas_reads_the_csv_as_it_is_and_the_note_travels_in_the_zip_and_the_xlsx():
    note = "podgeo export: pods; search 'x,=HYPERLINK(\"http://evil\"),+1'; data: A (B, 2016, 49 states); made now"
    frame = pd.read_csv(io.BytesIO(exports.pods_csv(_pods(), note)))  # no comment=, no skiprows
    assert frame.shape == (6, 9) and list(frame.columns[:2]) == ["pod_id", "name"]
    assert frame["capacity"].tolist()[:1] == [10] and frame["lon"].iloc[0] == -122.2
    with zipfile.ZipFile(io.BytesIO(exports.pods_zip(_pods(), note))) as z:
        assert sorted(z.namelist()) == ["podgeo_pods.csv", "podgeo_pods_README.txt"]
        assert z.read("podgeo_pods.csv") == exports.pods_csv(_pods())
        readme = z.read("podgeo_pods_README.txt").decode("utf-8").splitlines()
    assert readme[:4] == ["podgeo export: pods", "search 'x,=HYPERLINK(\"http://evil\"),+1'",
                          "data: A (B, 2016, 49 states)", "made now"]
    assert readme[-1].startswith("columns: pod_id, name, operator_type")
    book = pd.read_excel(io.BytesIO(exports.pods_xlsx(_pods(), note)), sheet_name=None, engine="openpyxl")
    assert list(book) == ["data", "notes"] and book["data"].shape == (6, 9)
    assert book["data"]["name"].tolist()[0] == "'" + HOSTILE[0]  # defused in Excel too
    assert book["notes"]["about this file"].tolist()[0] == "podgeo export: pods"


def test_vintages_fold_per_state_files_into_one_entry():
    prov = pd.DataFrame({"title": ["School districts (unified), state 01, cartographic boundary 2016",
                                   "School districts (unified), state 02, cartographic boundary 2016",
                                   "School districts (unified), state 06, cartographic boundary 2021", "Libraries"],
                         "publisher": ["Census", "Census", "Census", "IMLS"], "vintage": ["2016", "2016", "2021", "FY18"]})
    assert exports.vintages(prov) == ("School districts (unified), cartographic boundary 2016 (Census, 2016, 2 states); "
                                      "School districts (unified), cartographic boundary 2021 (Census, 2021, 1 state); "
                                      "Libraries (IMLS, FY18)")


def test_geojson_is_a_valid_feature_collection_with_its_note():
    data = json.loads(exports.pods_geojson(_pods(), NOTE))
    assert data["type"] == "FeatureCollection" and data["description"] == NOTE
    assert len(data["features"]) == 5  # the pod without a location cannot be a feature
    shapes = [shapely.geometry.shape(f["geometry"]) for f in data["features"]]
    assert all(s.is_valid and s.geom_type == "Point" for s in shapes)
    assert (shapes[0].x, shapes[0].y) == (-122.2, 37.8)  # GeoJSON order: longitude, latitude
    assert data["features"][0]["properties"]["name"] == HOSTILE[0]


def test_geopackage_round_trip_in_epsg_4326(tmp_path):
    frame, description = _read_gpkg(exports.pods_gpkg(_pods(), NOTE), tmp_path)
    assert frame.crs.to_epsg() == 4326 and description == NOTE
    assert "podgeo_note" not in frame.columns  # the note is the layer's description, not a field per row
    expected = exports.pods_table(_pods().iloc[:5])
    assert frame["pod_id"].tolist() == expected["pod_id"].tolist()
    assert frame["name"].tolist() == HOSTILE[:5]  # text kept as typed: a GIS is no spreadsheet
    assert frame["priority_groups"].iloc[0] == "low_income; english_learners"
    assert frame["capacity"].isna().tolist() == [False, True, False, False, False]
    assert frame.geometry.geom_equals(_pods().geometry.iloc[:5].reset_index(drop=True)).all()


def test_polygons_round_trip_through_every_format(tmp_path):
    shapes = gpd.GeoDataFrame({"leaid": ["0000001", "0000002"], "name": ["A", "=B"], "value": [1.5, np.nan]},
                              geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326")
    frame, description = _read_gpkg(exports.geo_bytes(shapes, "gpkg", NOTE, layer="districts"), tmp_path)
    assert frame.crs.to_epsg() == 4326 and description == NOTE and frame["leaid"].tolist() == ["0000001", "0000002"]
    assert frame.geometry.geom_equals(shapes.geometry).all()
    geo = json.loads(exports.geo_bytes(shapes, "geojson", NOTE, layer="districts"))
    assert geo["features"][1]["properties"] == {"leaid": "0000002", "name": "=B", "value": None}
    table = exports.geo_bytes(shapes, "csv", NOTE, layer="districts").decode("utf-8-sig").splitlines()
    assert table == ["leaid,name,value", "0000001,A,1.5", "0000002,'=B,"]
    with pytest.raises(ValueError, match="format 'shp' is not one of"):
        exports.geo_bytes(shapes, "shp", NOTE, layer="x")


def test_store_exports_carry_vintages_and_filters(fixture_store, tmp_path):
    store = SqliteStore(fixture_store)
    try:
        from podgeo.filters import PodFilter

        pods = exports.export(store, "pods", "gpkg", pod_filter=PodFilter(statuses=("active",)))
        districts = exports.export(store, "districts", "gpkg", state="CA")
        coverage = exports.export(store, "coverage", "csv", state="CA")
        expected = store.districts(layers=("unified", "elementary"))
        with pytest.raises(ValueError, match="export 'schools' is not one of"):
            exports.export(store, "schools", "csv")
        with pytest.raises(ValueError, match="state 'TX' is not in the store"):
            exports.export(store, "pods", "csv", state="TX")
    finally:
        store.close()
    assert "filters: statuses: Active" in pods.description and "SAIPE / ACS 2014-2018" in pods.description
    frame, description = _read_gpkg(districts.data, tmp_path)
    assert description == districts.description and len(frame) == districts.rows == 21
    assert sorted(frame["leaid"]) == sorted(expected["leaid"])
    sf = frame.set_index("leaid").loc["0634410"]
    assert (sf["children_5_17"], sf["pods"], sf["seats"]) == (77155, 2, 76)
    assert frame.crs.to_epsg() == 4326
    assert coverage.description.startswith("podgeo export: coverage: container ratio per district")
    assert len(pd.read_csv(io.BytesIO(coverage.data))) == coverage.rows == 21


def test_cli_export_writes_files_and_reports_errors_in_one_line(fixture_store, tmp_path, capsys):
    out = tmp_path / "pods.geojson"
    assert main(["export", "pods", "--db", str(fixture_store), "--out", str(out),
                 "--pod-filter", "modes=in_person"]) == 0
    said = capsys.readouterr().out.splitlines()
    data = json.loads(out.read_bytes())
    assert said[0] == f"wrote {out}: {len(data['features'])} pods rows as geojson ({out.stat().st_size:,} bytes)"
    assert said[1] == data["description"] and "filters: modes: In person" in said[1]
    table = tmp_path / "pods.csv"
    assert main(["export", "pods", "--db", str(fixture_store), "--out", str(table)]) == 0
    said = capsys.readouterr().out.splitlines()
    assert len(pd.read_csv(table)) == 40  # the 40 sample pods, read as they are
    readme = tmp_path / "pods_README.txt"
    assert said[1] == f"wrote {readme}: what the CSV holds, its filters and data vintages"
    assert readme.read_text(encoding="utf-8").splitlines()[:2] == ["podgeo export: pods (every state)",
                                                                   "filters: all pods"]
    gpkg = tmp_path / "d.gpkg"
    assert main(["export", "districts", "--format", "gpkg", "--db", str(fixture_store), "--out", str(gpkg),
                 "--layer", "secondary"]) == 0
    assert len(gpd.read_file(gpkg)) == 3
    capsys.readouterr()
    assert main(["export", "pods", "--db", str(fixture_store), "--out", str(tmp_path / "x.txt")]) == 2
    assert main(["export", "pods", "--db", str(fixture_store), "--out", str(tmp_path / "x.csv"),
                 "--pod-filter", "modes=teleport"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: cannot tell the format from 'x.txt': give --format csv, geojson or gpkg",
                   "error: pod filter modes='teleport' is not valid (kept: 'nothing')"]


def test_real_california_districts_export(ca_real_store, tmp_path):
    gpkg = tmp_path / "ca.gpkg"
    assert main(["export", "districts", "--db", str(ca_real_store), "--state", "ca", "--out", str(gpkg)]) == 0
    frame = gpd.read_file(gpkg)
    store = SqliteStore(ca_real_store)
    try:
        expected = store.districts(layers=("unified", "elementary"), geometry=None)
    finally:
        store.close()
    assert frame.crs.to_epsg() == 4326 and len(frame) == len(expected)
    la = frame.set_index("leaid").loc["0622710"]
    assert la["name"] == "Los Angeles Unified School District"
    assert la["children_5_17"] == pd.to_numeric(expected.set_index("leaid").loc["0622710", "children_5_17"])


def test_real_california_districts_csv_reads_as_it_is(ca_real_store, tmp_path):
    out = tmp_path / "ca.csv"
    assert main(["export", "districts", "--db", str(ca_real_store), "--state", "CA", "--out", str(out)]) == 0
    frame = pd.read_csv(out, dtype={"leaid": str})  # the 10,000-character note line once made this 3 x 1
    store = SqliteStore(ca_real_store)
    try:
        expected = store.districts(layers=("unified", "elementary"), geometry=None)
    finally:
        store.close()
    assert len(frame) == len(expected) and frame.columns[0] != "# podgeo export"
    assert frame.set_index("leaid").loc["0622710", "name"] == "Los Angeles Unified School District"
    notes = (tmp_path / "ca_README.txt").read_text(encoding="utf-8").splitlines()
    assert notes[0] == "podgeo export: districts (state CA; layers unified, elementary)" and any("cartographic boundary 2021" in n for n in notes)


def test_every_pod_download_button_format_makes_its_file(tmp_path):
    """The explore and directory pages' buttons (`ui.POD_DOWNLOADS`): each format's maker gives a file
    of that kind holding the pods and, where the format has room, the note."""
    from podgeo import ui

    pods = _pods()
    made = {fmt: (name, make(pods, "NOTE-42")) for fmt, (name, _mime, make) in ui.POD_DOWNLOADS.items()}
    assert set(made) == {"csv", "zip", "xlsx", "geojson", "gpkg"}
    csv_bytes = made["csv"][1].encode() if isinstance(made["csv"][1], str) else made["csv"][1]
    assert pd.read_csv(io.BytesIO(csv_bytes))["pod_id"].tolist() == pods["pod_id"].tolist()
    with zipfile.ZipFile(io.BytesIO(made["zip"][1])) as z:
        assert any("NOTE-42" in z.read(n).decode("utf-8", "replace") for n in z.namelist())
    assert len(pd.read_excel(io.BytesIO(made["xlsx"][1]), sheet_name=0, engine="calamine")) == len(pods)
    assert json.loads(made["geojson"][1])["type"] == "FeatureCollection"
    back, description = _read_gpkg(made["gpkg"][1], tmp_path)
    assert len(back) == int(pods.geometry.notna().sum()) and description == "NOTE-42"  # a GIS layer: located pods
    assert [name for name, _ in made.values()] == [f"podgeo_pods.{f}" for f in made]
