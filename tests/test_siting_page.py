"""AppTest for views/siting.py: the page shows `siting_report.site_table`'s picks (the CLI's picks, byte for
byte), the URL holds the choices, clicked points become candidates, the picks open in Coverage, and the
map layer keeps hostile names as text."""
from __future__ import annotations

import io
from urllib.parse import quote

import pandas as pd
import pytest
from apptest_helpers import no_errors, send_bad_travel_times, open_app

from podgeo import access_report as ar
from podgeo import maps, siting
from podgeo import siting_map
from podgeo import siting_report as sr
from podgeo.store import SqliteStore


@pytest.fixture
def page(fixture_store, monkeypatch):
    monkeypatch.setenv("PODGEO_DB", str(fixture_store))
    return lambda **query: open_app("views/siting.py", **query)




def _table(at) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if "newly_covered" in d.value.columns)


def test_page_shows_the_picks_the_cli_writes(page, fixture_store, tmp_path, capsys):
    from podgeo.__main__ import main

    at = page(state="CA", demand="schools", group="low_income", candidates="libraries", radius="2", new="3")
    no_errors(at)
    out = tmp_path / "picks.csv"
    assert main(["site", "--db", str(fixture_store), "--candidates", "libraries", "--demand", "schools", "--group",
                 "low_income", "--radius-miles", "2", "--new", "3", "--state", "CA", "--out", str(out)]) == 0
    cli = pd.read_csv(out, dtype={"leaid": str})
    shown = _table(at)
    assert shown["site_id"].tolist() == cli["site_id"].tolist() and len(cli) == 3
    assert shown["newly_covered"].tolist() == cli["newly_covered"].tolist()
    metrics = {m.label: m.value for m in at.metric}
    printed = capsys.readouterr().out
    before = next(line for line in printed.splitlines() if line.startswith("covered by existing pods"))
    assert metrics["Low-income students (FRPM) covered now"] in before
    assert metrics["Solver"] == "optimal" and "status: optimal" in printed
    after = next(m for m in at.metric if m.label.startswith("With 3 new hub"))
    share = {k: float(metrics[k].rstrip("%")) for k in (after.label, "Low-income students (FRPM) covered now")}
    assert after.delta.endswith(" points")  # percentage points, not a relative percent
    assert abs(float(after.delta.split()[0]) - (share[after.label] - share["Low-income students (FRPM) covered now"])) <= 0.11


def test_url_holds_the_choices_and_reopens_them(page, frames):
    leaids = ",".join(sr.area_districts(frames, "CA")["leaid"][:6])
    at = page(state="CA", demand="districts", group="poverty", candidates="libraries,schools", radius="3", new="2",
              area="districts", districts=leaids)
    no_errors(at)
    q = at.query_params
    assert (q["demand"], q["group"], q["candidates"], q["radius"], q["new"], q["area"]) == (
        "districts", "poverty", "libraries,schools", "3", "2", "districts")
    assert q["districts"] == leaids
    expected = sr.site_table(frames, sr.Choices(state="CA", demand="districts", group="poverty",
                                                candidates=("libraries", "schools"), radius_miles=3.0, n_new=2,
                                                leaids=tuple(leaids.split(","))))
    assert _table(at)["site_id"].tolist() == expected.picks["site_id"].tolist()
    assert set(_table(at)["leaid"]) <= set(leaids.split(","))


def test_clicked_points_from_the_url_are_candidates(page):
    # a point in central Oakland, where the fixture's schools are; it is the only candidate
    at = page(state="CA", demand="schools", group="total", candidates="clicked", radius="2", new="1",
              pts="-122.27000,37.80000")
    no_errors(at)
    table = _table(at)
    assert table["kind"].tolist() == ["clicked"] and table["site"].tolist() == ["Clicked point 1"]
    assert at.query_params["pts"] == "-122.27000,37.80000"


def test_send_to_coverage_opens_the_picks_as_hypothetical_hubs(page, frames):
    at = page(state="CA", demand="schools", group="low_income", candidates="libraries", radius="2", new="2")
    picks = _table(at)
    at.button(key="siting.to_coverage").click().run()
    no_errors(at)
    assert at.title[0].value.startswith("Coverage")
    hubs = at.query_params["hubs"].split(";")
    assert [tuple(map(float, h.split(",")[:2])) for h in hubs] == [
        (round(lon, 5), round(lat, 5)) for lon, lat in zip(picks["lon"], picks["lat"])]
    assert at.query_params["method"] == "distance" and at.query_params["radius"] == "2"
    # Coverage now counts every pick: its low-income share within 2 miles is the siting page's "after"
    after = sr.site_table(frames, sr.Choices(state="CA", candidates=("libraries",), radius_miles=2.0, n_new=2))
    summary = next(d.value for d in at.dataframe if "group" in d.value.columns).set_index("group")
    share = summary.loc["low_income", next(c for c in summary.columns if c.startswith("mean_access"))] / 100
    assert share == pytest.approx(after.meta["share_after"]) and after.meta["share_after"] > after.meta["share_before"]
    assert any("Includes 2 hypothetical hub(s)" in c.value for c in at.caption) and not at.warning


def test_error_table_lists_a_refused_upload_by_row_and_column():
    with pytest.raises(siting.CandidateFileError) as err:
        siting.read_candidates_csv(b"name,lat,lon\nA,95,-122\n")
    assert sr.error_table(err.value).to_dict("records") == [{"row": 2, "column": "lat", "problem": "95 is not in -90..90"}]


def test_linked_hubs_are_one_numbered_layer():
    """Coverage draws the hubs a link carries like the picks: numbered 1..n, their seats in the tooltip."""
    m = maps.base_map((-122.5, 37.6, -122.0, 38.0), tiles=None)
    siting_map.add_hubs(m, [ar.Hub(-122.27, 37.8, 50), ar.Hub(-122.154, 37.847, 40)])
    html = m.get_root().render()
    assert f'{{"lat": 37.8, "lon": -122.27, "n": 1, "tip": "{quote("Hypothetical hub 1: 50 seats", safe="")}"}}' in html
    assert f'{{"lat": 37.847, "lon": -122.154, "n": 2, "tip": "{quote("Hypothetical hub 2: 40 seats", safe="")}"}}' in html
    assert html.count("L.featureGroup()") == 1


def test_picks_layer_keeps_hostile_names_as_text():
    import geopandas as gpd
    from shapely.geometry import Point

    hostile = "<img src=x onerror=alert(1)>{{ 7*7 }}{% raw %}</script>"
    picks = gpd.GeoDataFrame({"pick": [1], "site": [hostile], "district": [hostile], "newly_covered": [12.0],
                              "lat": [37.8], "lon": [-122.27]}, geometry=[Point(-122.27, 37.8)], crs=4326)
    m = maps.base_map((-122.5, 37.6, -122.0, 38.0), tiles=None)
    siting_map.add_picks(m, picks, clicked=[(hostile, -122.3, 37.7)])
    html = m.get_root().render()
    assert "<img" not in html and "{{ 7*7 }}" not in html and "{% raw" not in html
    assert quote(f"#1 {hostile} ({hostile}): +12", safe="") in html  # data the browser decodes into textContent


def test_geojson_download_has_the_picks(frames):
    result = sr.site_table(frames, sr.Choices(state="CA", candidates=("libraries",), radius_miles=2.0, n_new=2))
    import geopandas as gpd

    back = gpd.read_file(io.BytesIO(sr.picks_geojson(result)))
    assert back["site_id"].tolist() == result.picks["site_id"].tolist()
    assert back.geometry.x.round(6).tolist() == result.picks["lon"].tolist()


def test_a_cohort_is_an_area(db, monkeypatch):
    store = SqliteStore(db)
    try:
        frames = ar.load_frames(store, "CA")
        members = sr.area_districts(frames, "CA")["leaid"][:8].tolist()
        cohort = store.create_cohort("East Bay <b>test</b>", members)
    finally:
        store.close()
    at = open_app("views/siting.py", state="CA", area="cohort", cohort=str(cohort), demand="schools",
                  group="low_income", candidates="libraries,schools", radius="2", new="2")
    no_errors(at)
    expected = sr.site_table(frames, sr.Choices(state="CA", candidates=("libraries", "schools"), radius_miles=2.0,
                                                n_new=2, leaids=tuple(members)))
    assert _table(at)["site_id"].tolist() == expected.picks["site_id"].tolist()
    assert set(_table(at)["leaid"]) <= set(members) and at.query_params["cohort"] == str(cohort)
    note = next(e.value for e in at.markdown if "**Model:**" in e.value)
    assert "East Bay \\<b\\>test\\</b\\>" in note  # the cohort's name, inert in markdown


def test_an_uploaded_csv_adds_candidates_and_a_bad_one_lists_its_cells(page, frames):
    at = page(state="CA", demand="schools", group="total", candidates="upload", radius="2", new="1")
    good = b"name,lat,lon\n=HYPERLINK(\"x\") hub,37.80,-122.27\nFar hub,38.9,-120.0\n"
    at.file_uploader(key="siting.upload").set_value(("hubs.csv", good, "text/csv")).run()
    no_errors(at)
    table = _table(at)
    assert table["kind"].tolist() == ["upload"] and table["site"].tolist() == ['=HYPERLINK("x") hub']
    expected = sr.site_table(frames, sr.with_upload(
        sr.Choices(state="CA", group="total", candidates=("upload",), radius_miles=2.0, n_new=1),
        siting.read_candidates_csv(good)))
    assert table["newly_covered"].tolist() == expected.picks["newly_covered"].tolist()
    at.file_uploader(key="siting.upload").set_value(("bad.csv", b"name,lat,lon\nA,north,-122\n,1,1\n",
                                                     "text/csv")).run()
    errors = next(d.value for d in at.dataframe if "problem" in d.value.columns)
    assert errors.to_dict("records") == [{"row": 2, "column": "lat", "problem": "'north' is not a number"},
                                         {"row": 3, "column": "name", "problem": "is empty"}]
    assert [e.value for e in at.error] == ["The candidate file was not used:"]


def test_an_uploaded_travel_time_table_sites_by_minutes(page, frames):
    """Minutes = 2 x straight-line miles: 4 minutes on the page picks what 2 miles picks; ids that match
    nothing are reported; a bad table is an error naming its row, never an exception."""
    base = ar.coverage_table(frames, sites=["pods", "libraries"], demand="schools", method="distance", state="CA")
    dxy, sxy = siting._xy(base.points, "d"), siting._xy(base.sites, "s")
    miles = ((dxy[:, None, :] - sxy[None, :, :]) ** 2).sum(axis=2) ** 0.5 / siting.METRES_PER_MILE
    i, j = (miles <= 6).nonzero()  # pairs beyond 12 minutes cannot matter at 4
    times = pd.DataFrame({"origin_id": base.points["demand_id"].to_numpy()[i],
                          "destination_id": base.sites["site_id"].to_numpy()[j], "minutes": 2 * miles[i, j]})
    body = times.to_csv(index=False) + "no-such-school,libraries:nowhere,1\n"
    at = page(state="CA", demand="schools", group="low_income", candidates="libraries", radius="4", new="3")
    at.file_uploader(key="siting.travel").set_value(("times.csv", body.encode(), "text/csv")).run()
    no_errors(at)
    assert at.sidebar.slider(key="siting.radius").label == "Reach (travel minutes)"
    by_miles = sr.site_table(frames, sr.Choices(state="CA", candidates=("libraries",), radius_miles=2.0, n_new=3))
    assert _table(at)["site_id"].tolist() == by_miles.picks["site_id"].tolist()
    caption = " ".join(c.value for c in at.caption)
    assert f"times.csv: {len(times) + 1:,} pairs; 1 rows left out because their ids match nothing" in caption
    assert "--travel-times times.csv --max-minutes 4" in at.code[0].value
    send_bad_travel_times(at, "siting.travel")
    assert at.sidebar.slider(key="siting.radius").label == "Reach (straight-line miles)"


def test_area_choice_click_and_headline_helpers():
    names = {"0600001": "A", "0600002": "B"}
    assert sr.choose_area("state", names) == sr.Area(None)
    picked = sr.choose_area("districts", names, picked=["0600002", "0699999"])
    assert (picked.leaids, picked.query, picked.missing) == (("0600002",), {"districts": "0600002"}, False)
    cohort = sr.choose_area("cohort", names, cohort=7, cohort_name="East", members=["0600001", "3600001"])
    assert (cohort.leaids, cohort.label, cohort.query) == (("0600001",), "cohort East", {"cohort": "7"})
    assert sr.choose_area("cohort", names).missing and sr.choose_area("districts", names).missing
    with pytest.raises(ValueError, match="area 'county'"):
        sr.choose_area("county", names)
    assert [sr.query_index([3, 7], t) for t in ("7", "x", None, "9", "-7")] == [1, 0, 0, 0, 0]
    points = []
    assert sr.add_clicked(points, (-122.123456, 37.5), ("clicked",)) and points == [("Clicked point 1", -122.12346, 37.5)]
    assert not sr.add_clicked(points, (-122, 37), ("libraries",)) and not sr.add_clicked(points, None, ("clicked",))
    assert sr.read_upload(None) == (None, None)
    rows, refused = sr.read_upload(b"name,lat,lon\nA,95,-122\n")
    assert rows is None and refused.to_dict("records") == [{"row": 2, "column": "lat", "problem": "95 is not in -90..90"}]
