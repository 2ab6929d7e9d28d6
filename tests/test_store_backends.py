"""Every store behaviour on both backends (SQLite and PostGIS), through the store's public methods.

One parametrized fixture (`store_backend`, in conftest) hands each test a fresh copy of the SF Bay
fixture store on "sqlite" and on "postgis"; assertions are whole results in the sqlite-utils
manner. Below them, what only the PostGIS store has to show: the same frames as SQLite, the
database's point-in-district join equal to GeoPandas', an atomic schema swap, concurrent uploads
from two processes, an upload seen by a second app process, and clear connection errors.
"""
from __future__ import annotations

import csv
import hashlib
import inspect
import io
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pandas.testing import assert_frame_equal

from podgeo import geo, pods, sources
from podgeo.store import TEST_PAUSE_ENV, SqliteStore, StoreError, header_signature, open_store

REPO = Path(__file__).resolve().parents[1]
OAKLAND = ("37.803328", "-122.258736")  # interior point of Oakland Unified (0628050)
LAFAYETTE = ("37.894770", "-122.122933")  # Lafayette Elementary (0620310) inside Acalanes Union High (0601650)
SF = ("37.758080", "-122.446549")  # San Francisco Unified (0634410)
HEADER = ["pod_id", "Site Name", "Program Type", "Seats", "Street", "City", "State", "LEAID", "Latitude", "Longitude"]


def _csv(*rows, header=HEADER) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue().encode("utf-8")


FIRST = _csv(["t-oak", "Oak Hub", "Community organization hub", "12", "", "", "CA", "", *OAKLAND],
             ["t-laf", "Lafayette Pod", "parent-led", "6", "", "", "CA", "", *LAFAYETTE],
             ["t-bad", "", "parent-led", "6", "", "", "CA", "", *SF],
             ["t-far", "Faraway", "parent-led", "", "", "", "CA", "", "36.0", "-119.0"])


def _upload(store, data, name="pods.csv", user="ana") -> int:
    plan = pods.plan_upload(store, data, name)
    return pods.commit_upload(store, plan, user=user, use_geocoder=False)


def _pods(store, uploaded_only=True) -> list[dict]:
    frame = pd.DataFrame(store.pods().drop(columns="geometry"))
    if uploaded_only:
        frame = frame[frame["batch_id"].notna()]
    frame = frame.sort_values("pod_id").astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


def _links(store, prefix="t-") -> list[tuple]:
    links = store.place_districts("pods")
    links = links[links["pod_id"].str.startswith(prefix)]
    return sorted(links.itertuples(index=False, name=None))


# -- the build ------------------------------------------------------------------------------------------

def test_fixture_build_counts_and_meta(store_backend):
    store = store_backend.open()
    counts = store.counts()
    assert {k: counts[k] for k in ("districts", "district_measures", "sites", "site_districts", "pods",
                                   "demand_points", "upload_batches")} == {
        "districts": 24, "district_measures": 24, "sites": 64 + 346, "site_districts": 430, "pods": 40,
        "demand_points": 318 + 421, "upload_batches": 0}
    assert store.districts(geometry=None)["layer"].value_counts().to_dict() == {
        "unified": 11, "elementary": 10, "secondary": 3}
    meta = store.meta()
    assert (meta["states"], meta["revision"], store.revision()) == (["CA"], 1, 1)
    assert store.state_list()[["state", "districts"]].to_dict("records") == [{"state": "CA", "districts": 24}]
    assert list(store.districts(leaids=["0634410", "0628050"])["leaid"]) == ["0628050", "0634410"]
    assert store.districts(state_fips=[], geometry=None).empty and store.sites(kinds=[]).empty


def test_national_geometry_is_stored_for_every_bounded_base_district(store_backend):
    """The build stores the national display geometry (2 km, 3 decimals) beside the 300 m one;
    `national_districts` gives every unified + elementary district with a boundary, none empty."""
    store = store_backend.open()
    assert "national" in store._column_names("districts")
    nat = store.national_districts()
    bounded = store.districts(geometry=None, layers=["unified", "elementary"], unbounded=False)
    assert list(nat["leaid"]) == list(bounded["leaid"]) and len(nat) == 21
    assert not nat.geometry.is_empty.any() and nat.geometry.is_valid.all()
    coords = shapely.get_coordinates(nat.geometry.values)
    assert np.array_equal(coords, np.round(coords, geo.NATIONAL_DECIMALS))
    display = store.districts(layers=["unified", "elementary"])
    assert shapely.get_num_coordinates(nat.geometry.values).sum() < shapely.get_num_coordinates(
        display.geometry.values).sum()
    assert nat["pct_poverty"].tolist() == display["pct_poverty"].tolist()  # the measures come with it


def test_a_store_built_before_the_national_column_makes_it_at_run_time(fixture_store, tmp_path):
    path = tmp_path / "old.db"
    path.write_bytes(fixture_store.read_bytes())
    store = SqliteStore(path)
    store.db.execute("alter table districts drop column national")
    got = store.national_districts()
    want = geo.national_geometry(store.districts(layers=["unified", "elementary"]))
    assert_frame_equal(pd.DataFrame(got), pd.DataFrame(want))


# -- upload batches ------------------------------------------------------------------------------------

def test_commit_writes_pods_links_batch_and_rejects(store_backend):
    store = store_backend.open()
    before = store.counts()
    batch_id = _upload(store, FIRST)
    assert batch_id == 1
    assert [(p["pod_id"], p["name"], p["operator_type"], p["capacity"], p["lat"], p["lon"], p["geocode_status"],
             p["illustrative"], p["batch_id"], p["leaids"]) for p in _pods(store)] == [
        ("t-far", "Faraway", "parent_led_pod", None, 36.0, -119.0, "provided", 0, 1, None),
        ("t-laf", "Lafayette Pod", "parent_led_pod", 6, 37.89477, -122.122933, "provided", 0, 1, "0601650;0620310"),
        ("t-oak", "Oak Hub", "community_org_hub", 12, 37.803328, -122.258736, "provided", 0, 1, "0628050")]
    assert _links(store) == [("t-laf", "0601650", "secondary"), ("t-laf", "0620310", "elementary"),
                             ("t-oak", "0628050", "unified")]
    (batch,) = store.batches().to_dict("records")
    assert (batch["kind"], batch["filename"], batch["uploaded_by"], batch["undone_by"]) == ("upload", "pods.csv",
                                                                                          "ana", None)
    assert batch["sha256"] == hashlib.sha256(FIRST).hexdigest()
    assert (batch["counts"]["valid"], batch["counts"]["rejected"], batch["counts"]["placed"]) == (3, 1, 2)
    assert store.batch_file(batch_id) == ("pods.csv", FIRST)
    assert store.rejected_rows(batch_id) == [
        {"row": 4, "row_values": dict(zip(HEADER, ["t-bad", "", "parent-led", "6", "", "", "CA", "", *SF])),
         "errors": ["row 4, column 'Site Name': a name is required"]}]
    after = store.counts()
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {
        "pods": 3, "pod_districts": 3, "upload_batches": 1, "pod_history": 3, "rejected_rows": 1}
    assert store.revision() == 2
    assert {"t-oak", "t-laf", "t-far"} < store.pod_ids()
    with pytest.raises(StoreError, match="no stored file for batch 7"):
        store.batch_file(7)


def test_reupload_updates_by_stable_key_and_moves_links(store_backend):
    store = store_backend.open()
    first = _upload(store, FIRST)
    changed = _csv(["t-oak", "Oak Hub (moved)", "Community organization hub", "20", "", "", "CA", "", *SF],
                   ["t-new", "New Pod", "parent-led", "3", "", "", "CA", "", *OAKLAND])
    second = _upload(store, changed, "v2.csv", user="bo")
    assert [(p["pod_id"], p["name"], p["capacity"], p["lat"], p["batch_id"]) for p in _pods(store)] == [
        ("t-far", "Faraway", None, 36.0, first), ("t-laf", "Lafayette Pod", 6, 37.89477, first),
        ("t-new", "New Pod", 3, 37.803328, second), ("t-oak", "Oak Hub (moved)", 20, 37.75808, second)]
    assert _links(store) == [("t-laf", "0601650", "secondary"), ("t-laf", "0620310", "elementary"),
                             ("t-new", "0628050", "unified"), ("t-oak", "0634410", "unified")]
    assert store.revision() == 3


def test_undo_restores_the_previous_state_exactly(store_backend):
    store = store_backend.open()
    original = (_pods(store, False), _links(store, ""))
    first = _upload(store, FIRST)
    after_first = (_pods(store, False), _links(store, ""))
    changed = _csv(["t-oak", "Oak Hub (moved)", "Community organization hub", "20", "", "", "CA", "", *SF],
                   ["t-two", "Second", "parent-led", "3", "", "", "CA", "", *LAFAYETTE])
    second = _upload(store, changed, "v2.csv")
    assert (_pods(store, False), _links(store, "")) != after_first
    undo_second = store.undo_batch(second, user="cy")
    assert (_pods(store, False), _links(store, "")) == after_first
    undo_first = store.undo_batch(first, user="cy")
    assert (_pods(store, False), _links(store, "")) == original
    batches = store.batches().sort_values("batch_id")
    assert [(b["batch_id"], b["kind"], b["undoes"], b["undone_by"], b["uploaded_by"]) for b in
            batches.astype(object).where(batches.notna(), None).to_dict("records")] == [
        (first, "upload", None, undo_first, "ana"), (second, "upload", None, undo_second, "ana"),
        (undo_second, "undo", second, None, "cy"), (undo_first, "undo", first, None, "cy")]
    counts = batches.set_index("batch_id")["counts"]
    assert (counts[undo_second], counts[undo_first]) == ({"restored": 1, "removed": 1}, {"restored": 0, "removed": 3})


def test_undo_refusals_leave_the_store_unchanged(store_backend):
    store = store_backend.open()
    first = _upload(store, FIRST)
    second = _upload(store, _csv(["t-oak", "Oak Hub v2", "parent-led", "1", "", "", "CA", "", *OAKLAND]), "v2.csv")
    state = (_pods(store), _links(store), store.revision(), store.counts())
    with pytest.raises(StoreError, match=f"pod 't-oak' was changed again by batch {second}; undo batch {second} first"):
        store.undo_batch(first, user="cy")
    assert (_pods(store), _links(store), store.revision(), store.counts()) == state
    with pytest.raises(StoreError, match="no upload batch 99"):
        store.undo_batch(99, user="cy")
    undo = store.undo_batch(second, user="cy")
    with pytest.raises(StoreError, match=f"already undone by batch {undo}"):
        store.undo_batch(second, user="cy")
    with pytest.raises(StoreError, match="is an undo"):
        store.undo_batch(undo, user="cy")
    store.undo_batch(first, user="cy")  # allowed now that the later change is undone
    assert _pods(store) == []


def test_a_failed_commit_writes_nothing(store_backend):
    store = store_backend.open()
    state = (store.counts(), store.revision())
    links = pd.DataFrame({"pod_id": ["t-x", "t-x"], "leaid": ["0628050", "0628050"], "layer": ["unified"] * 2})
    with pytest.raises(Exception):  # the duplicate link breaks the primary key half-way through the write
        store.commit_upload({"filename": "x.csv", "uploaded_by": "ana", "counts": {}}, [
            {"pod_id": "t-x", "name": "X", "lat": 37.8, "lon": -122.26}], links, [])
    assert (store.counts(), store.revision()) == state
    assert _upload(store, FIRST) == 1


# -- cohorts and attribute layers -----------------------------------------------------------------------

def test_cohorts_round_trip_and_refusals(store_backend):
    store = store_backend.open()
    cohort = store.create_cohort("  Bay  core ", ["0634410", "0628050", "0634410"], created_by="ana", note="n")
    assert store.cohort_members(cohort) == ["0628050", "0634410"]
    row = store.cohorts().to_dict("records")[0]
    assert (row["cohort_id"], row["name"], row["created_by"], row["members"], row["note"]) == (
        cohort, "Bay core", "ana", 2, "n")
    with pytest.raises(StoreError, match="already a cohort named 'Bay core'"):
        store.create_cohort("Bay core", ["0628050"])
    with pytest.raises(StoreError, match="1 LEAID\\(s\\) are not districts in this store: 9999999"):
        store.create_cohort("Other", ["0628050", "9999999"])
    assert store.revision() == 2
    store.delete_cohort(cohort)
    assert store.cohorts().empty and store.revision() == 3
    with pytest.raises(StoreError, match=f"no cohort {cohort}"):
        store.cohort_members(cohort)
    assert store.create_cohort("Again", ["0628050"]) == cohort  # ids are max + 1, as SQLite gives them


def test_an_agency_without_a_boundary_is_listed_but_never_drawn_or_joined(store_backend):
    store = store_backend.open()
    empty = gpd.GeoSeries([None], crs="EPSG:4326").values
    store.write_frame("districts", gpd.GeoDataFrame({
        "leaid": ["0600099"], "name": ["Bay Charter LEA"], "state_fips": ["06"], "state": ["CA"], "layer": ["charter"],
        "aland": [None], "awater": [None], "vintage": [None], "is_filler": [0], "lon": [None], "lat": [None],
        "display": empty}, geometry=empty, crs="EPSG:4326"))
    every = store.districts(geometry=None).set_index("leaid")
    assert len(every) == 25 and every.loc["0600099", ["layer", "has_boundary"]].tolist() == ["charter", 0]
    assert every.drop(index="0600099")["has_boundary"].eq(1).all()
    for geometry in ("display", "full"):
        shapes = store.districts(geometry=geometry)
        assert "0600099" not in set(shapes["leaid"]) and shapes.geometry.notna().all() and len(shapes) == 24
    listed = store.districts(geometry="display", unbounded=True).set_index("leaid")
    assert listed.geometry.loc["0600099"] is None
    assert store.districts(geometry=None, unbounded=False)["has_boundary"].eq(1).all()
    row = store.state_list().iloc[0]
    assert (row["districts"], row["no_boundary"]) == (24, 1)  # districts with a polygon, agencies without
    oakland = pd.DataFrame({"p": ["a"], "lon": [float(OAKLAND[1])], "lat": [float(OAKLAND[0])]})
    assert store.assign_points(oakland, id_col="p")["leaid"].tolist() == ["0628050"]
    store.create_cohort("With a charter", ["0600099", "0628050"])  # a cohort may hold it


def test_saved_column_mappings_round_trip_find_by_headers_and_refusals(store_backend):
    store = store_backend.open()
    headers = ["What is the name of your program?", "Seats", "Latitude", "Longitude", "Notes"]
    mapping = {"What is the name of your program?": "name", "Seats": "capacity", "Latitude": "lat",
               "Longitude": "lon", "Notes": None}
    assert store.column_mappings() == [] and store.find_column_mapping(header_signature(headers)) is None
    saved = store.save_column_mapping("  Oakland  partners ", mapping, headers=headers, saved_by="ana")
    assert (saved["name"], saved["mapping"], saved["headers"], saved["saved_by"]) == (
        "Oakland partners", mapping, headers, "ana")
    assert store.revision() == 2
    # the same headers reordered, in other case and spacing, find it; other headers do not
    moved = ["longitude", "  LATITUDE", "Seats", "notes", "what is the name of  your program?"]
    assert header_signature(moved) == saved["signature"]
    assert store.find_column_mapping(header_signature(moved)) == saved
    assert store.find_column_mapping(header_signature(headers[:4])) is None
    assert store.column_mapping("Oakland partners") == saved
    # saving under the same name replaces it; the newest of two mappings for one signature wins
    store.save_column_mapping("Oakland partners", {**mapping, "Notes": "notes"}, headers=headers, saved_by="bo")
    assert store.column_mapping("Oakland partners")["mapping"]["Notes"] == "notes"
    assert [m["name"] for m in store.column_mappings()] == ["Oakland partners"]
    with pytest.raises(StoreError, match="no saved column mapping named 'Nope' \\(saved: 'Oakland partners'\\)"):
        store.column_mapping("Nope")
    with pytest.raises(StoreError, match="not in the headers: \\['Capacity'\\]"):
        store.save_column_mapping("x", {"Capacity": "capacity"}, headers=headers)
    with pytest.raises(StoreError, match="needs a name"):
        store.save_column_mapping(" ", mapping, headers=headers)
    with pytest.raises(StoreError, match="is empty"):
        store.save_column_mapping("x", {}, headers=headers)
    assert len(store.column_mappings()) == 1 and store.revision() == 3


def test_column_mappings_on_a_store_built_before_them(store_backend):
    """A store without the table (built by an older podgeo) reads as no mappings and gets it on save."""
    store = store_backend.open()
    if store_backend.name == "sqlite":
        store.db["column_mappings"].drop()
    else:
        with store._conn() as conn:
            conn.execute("drop table column_mappings")
    assert store.column_mappings() == []
    store.save_column_mapping("m", {"Name": "name"}, headers=["Name"])
    assert store.find_column_mapping(header_signature(["name"]))["mapping"] == {"Name": "name"}


def test_attribute_layers_round_trip_replace_and_delete(store_backend):
    store = store_backend.open()
    values = pd.DataFrame({"leaid": ["0628050", "0634410", "0628050"], "column": ["stage", "stage", "note"],
                           "value": ["2", "3", "hybrid"]})
    layer = {"name": "Recovery", "filename": "r.csv", "sha256": "abc", "file_bytes": b"leaid,stage\n",
             "uploaded_by": "ana", "key": "leaid", "columns": [{"key": "stage", "label": "Stage", "type": "int"}],
             "counts": {"rows": 2}, "rejected": []}
    layer_id = store.save_attribute_layer(layer, values)
    assert store.attribute_values().to_dict("records") == [
        {"layer_id": layer_id, "leaid": "0628050", "column": "note", "value": "hybrid"},
        {"layer_id": layer_id, "leaid": "0628050", "column": "stage", "value": "2"},
        {"layer_id": layer_id, "leaid": "0634410", "column": "stage", "value": "3"}]
    listed = store.attribute_layers().to_dict("records")[0]
    assert (listed["name"], listed["columns"], listed["counts"], listed["version"], listed["districts"]) == (
        "Recovery", layer["columns"], {"rows": 2}, 1, 2)
    assert store.attribute_file(layer_id) == ("r.csv", b"leaid,stage\n")
    with pytest.raises(StoreError, match="already an attribute layer named 'Recovery'"):
        store.save_attribute_layer(layer, values)
    assert store.save_attribute_layer(layer, values.iloc[:1], replaces=layer_id) == layer_id
    assert store.attribute_layers()["version"].tolist() == [2]
    assert len(store.attribute_values(layer_ids=[layer_id], leaids=["0628050"])) == 1
    store.delete_attribute_layer(layer_id)
    assert store.attribute_layers().empty and store.attribute_values().empty
    with pytest.raises(StoreError, match=f"no attribute layer {layer_id}"):
        store.delete_attribute_layer(layer_id)


# -- points in districts: the store's join equals GeoPandas' -------------------------------------------

def _boundary_points(districts: gpd.GeoDataFrame, step: int = 7) -> pd.DataFrame:
    """Interior points, and every `step`-th vertex of every district ring: points on shared boundaries,
    where the tie-break (interior first, then the lowest LEAID) decides."""
    coords = [shapely.get_coordinates(shapely.boundary(g))[::step] for g in districts.geometry.values]
    coords.append(shapely.get_coordinates(districts.geometry.representative_point().values))
    xy = np.concatenate(coords)
    return pd.DataFrame({"pid": [f"p{i}" for i in range(len(xy))], "lon": xy[:, 0], "lat": xy[:, 1]})


def _geopandas(points: pd.DataFrame, districts: gpd.GeoDataFrame, id_col: str) -> pd.DataFrame:
    gdf = gpd.GeoDataFrame(points[[id_col]], geometry=gpd.points_from_xy(points["lon"], points["lat"]), crs="EPSG:4326")
    return geo.assign_points_to_districts(gdf, districts, id_col=id_col)


def _same_links(got: pd.DataFrame, want: pd.DataFrame) -> None:
    norm = [f.astype(object).reset_index(drop=True) for f in (got, want)]
    assert_frame_equal(norm[0], norm[1])


def test_store_places_points_as_geopandas_does(store_backend):
    store = store_backend.open()
    districts = store.districts(geometry="full", include_filler=True)
    points = _boundary_points(districts)
    got = store.assign_points(points, id_col="pid")
    _same_links(got, _geopandas(points, districts, "pid"))
    assert got.groupby("point_id").size().max() == 2  # elementary + the secondary over it, never two of a tiling
    sites = store.sites()
    _same_links(store.assign_points(sites, id_col="site_id"), _geopandas(sites, districts, "site_id"))
    stored = store.place_districts("sites")
    placed = store.assign_points(sites, id_col="site_id").rename(columns={"point_id": "site_id"})
    assert sorted(placed.itertuples(index=False, name=None)) == sorted(stored.itertuples(index=False, name=None))
    assert store.assign_points(points, id_col="pid", state_fips=["36"]).empty
    assert store.assign_points(pd.DataFrame({"pid": ["a"], "lon": [None], "lat": [None]}), id_col="pid").empty


@pytest.mark.parametrize("few", [0, 10**9], ids=["points-in-temp-table", "points-one-by-one"])
def test_postgis_places_california_libraries_as_geopandas_does(postgis_url, shared_data, few, monkeypatch):
    """Every CA district polygon and library outlet: PostGIS's join and GeoPandas' agree row for row,
    whichever way the database walks the pairs."""
    import backends

    from podgeo import store_pg
    from podgeo.store_pg import PostgisStore

    monkeypatch.setattr(store_pg, "_FEW_POINTS", few)

    files = sources.district_files(shared_data, ["06"])
    districts = pd.concat([(sources.read_district_geojson if p.suffix == ".geojson" else sources.read_district_zip)(
        p, vintage) for _, p, vintage in files], ignore_index=True)
    districts = gpd.GeoDataFrame(districts[districts["state_fips"] == "06"], crs="EPSG:4326")
    libraries, _ = sources.read_imls_outlets(sources.locate("imls_outlets", shared_data))
    libraries = libraries[libraries["state"] == "CA"]
    url = backends.schema_url(postgis_url, f"ca_join_test_{few}")
    PostgisStore.build_atomically(url, lambda s: s.write_frame("districts", districts[[
        "leaid", "name", "state_fips", "layer", "vintage", "is_filler", "geometry"]]))
    store = PostgisStore(url, must_exist=False)
    want = _geopandas(libraries, districts, "site_id")
    got = store.assign_points(libraries, id_col="site_id")
    assert len(want) > 1100
    _same_links(got, want)
    points = _boundary_points(districts, step=53)
    _same_links(store.assign_points(points, id_col="pid"), _geopandas(points, districts, "pid"))
    backends.admin_db(postgis_url, None, f"drop schema ca_join_test_{few} cascade")


# -- PostGIS: the same frames, atomic builds, errors ---------------------------------------------------

READS = {
    "state_list": lambda s: s.state_list(), "states": lambda s: s.states(),
    "districts": lambda s: s.districts(), "districts_full": lambda s: s.districts(geometry="full", include_filler=True),
    "districts_table": lambda s: s.districts(geometry=None, state_fips=["06"], layers=["unified", "secondary"]),
    "national_districts": lambda s: s.national_districts(),
    "catalog": lambda s: s.measure_catalog(), "sites": lambda s: s.sites(),
    "libraries": lambda s: s.sites(kinds=["library"], states=["CA"]), "pods": lambda s: s.pods(),
    "pod_links": lambda s: s.place_districts("pods").sort_values(["pod_id", "leaid"], ignore_index=True),
    "site_links": lambda s: s.place_districts("sites").sort_values(["site_id", "leaid"], ignore_index=True),
    "schools": lambda s: s.demand_points("schools"), "tracts": lambda s: s.demand_points("tracts", "06"),
    "provenance": lambda s: s.provenance().drop(columns="loaded_at"), "batches": lambda s: s.batches(),
    "cohorts": lambda s: s.cohorts(), "attribute_layers": lambda s: s.attribute_layers(),
    "attribute_values": lambda s: s.attribute_values(),
}


def test_postgis_returns_the_same_frames_as_sqlite(fixture_store, postgis_fixture):
    """Same columns, dtypes, order and values (geometry too) from every read, on the same build."""
    sqlite, postgis = SqliteStore(fixture_store), open_store(postgis_fixture)
    for name, read in READS.items():
        want, got = read(sqlite), read(postgis)
        assert type(got) is type(want), name
        assert_frame_equal(got, want, obj=name)
    assert postgis.counts() == sqlite.counts()
    assert {k: v for k, v in postgis.meta().items() if k != "built_at"} == {
        k: v for k, v in sqlite.meta().items() if k != "built_at"}


def test_every_public_sqlite_method_has_a_postgis_twin():
    from podgeo.store_pg import PostgisStore

    public = {n: f for n, f in vars(SqliteStore).items() if not n.startswith("_") and callable(getattr(SqliteStore, n))}
    missing = sorted(n for n in public if not hasattr(PostgisStore, n))
    assert missing == []
    differ = [n for n in public if n not in ("__init__", "build_atomically")  # a path there, a URL here
              and inspect.signature(getattr(SqliteStore, n)) != inspect.signature(getattr(PostgisStore, n))]
    assert differ == []


def test_postgis_rebuild_swaps_whole_and_a_failed_build_changes_nothing(postgis_backend, fixture_sources):
    from podgeo.build import build
    from podgeo.store_pg import PostgisStore

    store = postgis_backend.open()
    _upload(store, FIRST)
    state = (store.counts(), store.revision())

    def broken(s):
        s.write_frame("states", pd.DataFrame({"state_fips": ["06"], "state": ["CA"]}))
        raise RuntimeError("source went away")

    with pytest.raises(RuntimeError, match="source went away"):
        PostgisStore.build_atomically(postgis_backend.location, broken)
    assert (store.counts(), store.revision()) == state
    build(postgis_backend.location, sources_root=fixture_sources)
    assert store.counts()["upload_batches"] == 0 and store.counts()["pods"] == 40
    assert store.revision() == state[1] + 1  # continues, so no replica's cache mistakes the new store for the old
    schemas = [r[0] for r in store._all("select nspname from pg_namespace where nspname like 'podgeo%%' order by 1")]
    assert schemas == ["podgeo"]  # no staging or old schema left behind


def test_postgis_refuses_to_build_over_a_schema_that_is_not_a_store(postgis_url):
    import backends

    from podgeo.store_pg import PostgisStore

    for schema in ("public", "not_a_store"):
        backends.admin_db(postgis_url, None, "create schema if not exists not_a_store",
                          "create table if not exists not_a_store.keep (x int)")
        with pytest.raises(StoreError, match=f"schema '{schema}' .* holds other data"):
            PostgisStore.build_atomically(backends.schema_url(postgis_url, schema), lambda s: None)
    backends.admin_db(postgis_url, None, "drop schema not_a_store cascade")


def test_postgis_connection_errors_say_what_to_do(postgis_url, tmp_path):
    import backends

    with pytest.raises(StoreError, match="not a valid PostgreSQL URL .*use postgresql://user:password@host:5432/dbname"):
        open_store("postgresql://u:pw@h:notaport/db")
    with pytest.raises(StoreError, match='not a valid PostgreSQL URL .invalid URI query parameter: "colour"'):
        open_store("postgresql://u@h/db?colour=red")
    with pytest.raises(StoreError, match=r"cannot connect to the PostGIS store postgresql://u:\*\*\*@127.0.0.1:1/x: "
                                         r".*start the server or fix the host and port"):
        open_store("postgresql://u:secret@127.0.0.1:1/x")
    with pytest.raises(StoreError, match="database .*podgeo_missing.* does not exist.*create the database"):
        open_store(backends.database_url(postgis_url, "podgeo_missing"))
    backends.admin(postgis_url, "drop database if exists podgeo_plain", "create database podgeo_plain")
    with pytest.raises(StoreError, match="database 'podgeo_plain' has no PostGIS.*CREATE EXTENSION postgis"):
        open_store(backends.database_url(postgis_url, "podgeo_plain"))
    with pytest.raises(StoreError, match="no podgeo store in schema 'nothing_here'.*python -m podgeo build --db"):
        open_store(backends.schema_url(postgis_url, "nothing_here"))
    with pytest.raises(StoreError, match="schema 'Bad-Name'"):
        open_store(backends.schema_url(postgis_url, "Bad-Name"))
    run = subprocess.run([sys.executable, "-m", "podgeo", "coverage", "--db", "postgresql://u:secret@127.0.0.1:1/x",
                          "--sites", "pods", "--demand", "schools", "--method", "ratio", "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 2 and run.stderr.startswith("error: cannot connect to the PostGIS store")
    assert "secret" not in run.stderr


def test_postgis_reads_survive_dropped_connections(postgis_backend, postgis_url):
    """A replica keeps serving after the server cut its pooled connections (a restart, a failover)."""
    import backends

    store = postgis_backend.open()
    assert len(store.pods()) == 40
    database = postgis_backend.location.rsplit("/", 1)[1]
    backends.admin(postgis_url, f"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{database}' "
                                "and application_name = 'podgeo'")
    assert len(store.pods()) == 40 and store.revision() == 1
    assert len(postgis_backend.open().districts(geometry=None)) == 24


# -- PostGIS: several processes on one database ---------------------------------------------------------

def _import(file: Path, backend, pause: str | None = None) -> subprocess.Popen:
    env = {**backend.env(), **({TEST_PAUSE_ENV: pause} if pause else {})}
    return subprocess.Popen([sys.executable, "-m", "podgeo", "import", str(file), "--no-geocode", "--user", "test"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)


READER = """
import os, sys
from podgeo.store import open_store
stop, allowed, seen = sys.argv[1], {int(v) for v in sys.argv[2].split(",")}, set()
store = open_store()
while not os.path.exists(stop):
    n = len(store.pods())
    assert n in allowed, f"saw {n} pods: a half-written batch"
    seen.add(n)
print(sorted(seen))
"""


def test_postgis_two_processes_upload_at_once_and_both_land(postgis_backend, tmp_path):
    files = []
    for k, n in ((1, 1500), (2, 1000)):
        rows = [[f"c{k}-{i}", f"Pod {k}-{i}", "parent-led", str(i % 30), "", "", "CA", "",
                 f"{37.70 + (i % 100) / 500:.4f}", f"{-122.45 + (i // 100) / 100:.4f}"] for i in range(n)]
        files.append(tmp_path / f"batch{k}.csv")
        files[-1].write_bytes(_csv(*rows))
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(stop), "40,1540,1040,2540"], cwd=REPO,
                              env=postgis_backend.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # each importer holds its transaction open for 1 s before COMMIT, so the two overlap
    writers = [_import(f, postgis_backend, pause="1") for f in files]
    results = [(w.wait(timeout=300), *w.communicate()) for w in writers]
    stop.touch()
    code, out, err = reader.wait(timeout=60), *reader.communicate()
    for rc, wout, werr in results:
        assert rc == 0 and "committed batch" in wout, werr
    assert code == 0, err
    store = postgis_backend.open()
    assert len(store.pods()) == 2540
    assert sorted(store.batches()["batch_id"]) == [1, 2] and store.revision() == 3
    assert sorted(w.split("committed batch ")[1].split(":")[0] for _, w, _ in results) == ["1", "2"]


def test_postgis_sigkill_mid_commit_leaves_nothing_and_frees_the_lock(postgis_backend, tmp_path):
    file = tmp_path / "p.csv"
    file.write_bytes(FIRST)
    proc = _import(file, postgis_backend, pause="60")
    try:
        for line in proc.stderr:
            if "test hook: holding the write transaction" in line:
                break
        proc.kill()
    finally:
        proc.kill()
        proc.wait(timeout=30)
    store = postgis_backend.open()
    deadline = time.monotonic() + 30  # the server notices the dead client and rolls back
    while store.counts()["pod_history"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (store.counts()["upload_batches"], store.revision()) == (0, 1)
    assert _upload(store, FIRST) == 1


REPLICA = """
import re, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
for _ in sys.stdin:
    at.run()
    errors = [e.value for e in at.exception] + [e.value for e in at.error]
    shown = [m.value for m in at.markdown if "pods shown" in m.value]
    print(errors or re.search(r"of ([\\d,]+) pods shown", shown[0]).group(1), flush=True)
"""


def test_postgis_upload_shows_in_another_app_replica(postgis_backend):
    """Two app processes (each with its own cache) on one database: an upload made through the store
    API shows on both replicas' next rerun, because their caches key on the store's revision."""
    replicas = [subprocess.Popen([sys.executable, "-c", REPLICA, str(REPO / "app.py")], cwd=REPO,
                                 env=postgis_backend.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]

    def rerun() -> list[str]:
        for r in replicas:
            r.stdin.write("\n")
            r.stdin.flush()
        return [r.stdout.readline().strip() for r in replicas]

    try:
        assert rerun() == ["40", "40"]
        assert rerun() == ["40", "40"]  # served from each replica's cache
        _upload(postgis_backend.open(), FIRST)
        assert rerun() == ["43", "43"]
    finally:
        for r in replicas:
            r.stdin.close()
            r.wait(timeout=60)
        assert [r.returncode for r in replicas] == [0, 0], [r.stderr.read()[-2000:] for r in replicas]


def test_two_uploads_planned_together_report_what_each_commit_did(store_backend):
    """Both plans see the same new pods; the second commit finds them there and says it updated them."""
    store = store_backend.open()
    data = _csv(["t-oak", "Oak Hub", "Community organization hub", "12", "", "", "CA", "", *OAKLAND],
                ["t-laf", "Lafayette Pod", "parent-led", "6", "", "", "CA", "", *LAFAYETTE])
    first, second = (pods.plan_upload(store, data, name) for name in ("a.csv", "b.csv"))
    assert (first.counts["inserts"], second.counts["inserts"]) == (2, 2)  # each plan's guess
    a = pods.commit_upload(store, first, user="ana", use_geocoder=False)
    b = pods.commit_upload(store, second, user="bo", use_geocoder=False)
    counts = store.batches().set_index("batch_id")["counts"]
    assert (counts[a]["inserts"], counts[a]["updates"], "planned" in counts[a]) == (2, 0, False)
    assert (counts[b]["inserts"], counts[b]["updates"]) == (0, 2)
    assert counts[b]["planned"] == {"inserts": 2, "updates": 0}
    assert pods.batch_summary(store, b).startswith(f"Committed batch {b}: 0 new and 2 updated pods")


def test_two_processes_importing_the_same_new_pods_at_once_do_not_both_count_them_new(store_backend, tmp_path):
    rows = [[f"same-{i}", f"Pod {i}", "parent-led", "5", "", "", "CA", "", f"{37.70 + (i % 50) / 500:.4f}",
             f"{-122.45 + (i // 50) / 100:.4f}"] for i in range(300)]
    file = tmp_path / "same.csv"
    file.write_bytes(_csv(*rows))
    writers = [_import(file, store_backend, pause="3") for _ in range(2)]  # both plan before either commits
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0 and "300 new" in out, err  # each plan's guess, printed before committing
    counts = store_backend.open().batches().sort_values("batch_id")["counts"].tolist()
    assert [(c["inserts"], c["updates"]) for c in counts] == [(300, 0), (0, 300)]
    assert counts[1]["planned"] == {"inserts": 300, "updates": 0}


def test_the_backends_share_one_contract_and_do_not_import_each_other():
    """What does not depend on the database lives once (store_contract); each backend holds SQL only."""
    import ast

    from podgeo import store_contract
    from podgeo.store_pg import PostgisStore

    def imports(name):
        tree = ast.parse((REPO / "podgeo" / f"{name}.py").read_text())
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | {
            f"podgeo.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "podgeo"
            for a in n.names}

    assert not {"podgeo.store", "podgeo.store_pg"} & imports("store_pg")
    assert not {"podgeo.store", "podgeo.store_pg"} & imports("store_contract")
    shared = {n for n, f in vars(store_contract.StoreContract).items() if callable(f) and not n.startswith("_")}
    assert {"commit_upload", "undo_batch", "districts", "create_cohort", "save_attribute_layer",
            "save_column_mapping"} <= shared
    for cls in (SqliteStore, PostgisStore):  # neither backend re-implements a shared public method
        assert not shared & {n for n in vars(cls) if not n.startswith("_")}, cls
