"""podgeo.access_report: the table the Coverage page shows and `python -m podgeo coverage` writes."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import geopandas as gpd
import pytest
from shapely.geometry import box

from podgeo import access_report as ar
from podgeo import disparity
from podgeo.__main__ import main
from podgeo.filters import PodFilter

# -- a hand-built state: two districts, three schools, one library ------------------------------
#
#   district A (0600001)              district B (0600002)
#   s1 (100 students, 60 low-income)  s3 (200 students, 150 low-income)
#   + the library, at s1              s3 is 7.7 mi from s1, s2 4.4 mi
#   s2 (50 students, 10 low-income)
#
# With a 1-mile radius only s1 reaches the library: 1 site / 100 students = 10 per 1,000 students.


@pytest.fixture
def hand_frames():
    districts = gpd.GeoDataFrame({
        "leaid": ["0600001", "0600002", "0600003"], "name": ["A Unified", "B Elementary", "C Secondary"],
        "state": "CA", "state_fips": "06", "layer": ["unified", "elementary", "secondary"], "is_filler": 0,
        "lon": [-119.95, -119.85, -119.85], "lat": 37.05, "children_5_17": [1000.0, 2000.0, 500.0],
        "children_poverty": [100.0, 600.0, 50.0], "pct_poverty": [10.0, 30.0, 10.0],
        "pct_disability": [5.0, 5.0, 5.0], "pct_ling_isolated": [2.0, 4.0, 1.0], "pct_of_color": [50.0, 80.0, 60.0],
    }, geometry=[box(-120.0, 37.0, -119.9, 37.1), box(-119.9, 37.0, -119.8, 37.1), box(-119.9, 37.0, -119.8, 37.1)],
        crs=4326)
    schools = gpd.GeoDataFrame({
        "kind": "schools", "demand_id": ["s1", "s2", "s3"], "name": ["One", "Two", "Three"],
        "leaid": ["0600001", "0600001", "0600002"], "state_fips": "06", "lon": [-119.99, -119.91, -119.85],
        "lat": 37.05, "total": [100.0, 50.0, 200.0], "poverty": np.nan, "low_income": [60.0, 10.0, 150.0],
        "english_learners": [5.0, 5.0, 40.0], "disability": np.nan, "of_color": np.nan, "white_nh": np.nan,
        "label": "Hand-built schools",
    }, geometry=gpd.points_from_xy([-119.99, -119.91, -119.85], [37.05] * 3), crs=4326)
    library = gpd.GeoDataFrame({"site_id": ["L1"], "kind": ["library"], "name": ["Library"], "state": ["CA"],
                                "lon": [-119.99], "lat": [37.05]}, geometry=gpd.points_from_xy([-119.99], [37.05]),
                               crs=4326)
    pods = gpd.GeoDataFrame({c: [] for c in ("pod_id", "name", "state", "lon", "lat", "capacity", "operator_type",
                                             "mode", "cost", "status", "priority_groups", "supports")},
                            geometry=gpd.points_from_xy([], []), crs=4326)
    return ar.Frames(districts=districts, sites=library,
                     site_links=pd.DataFrame({"site_id": ["L1"], "leaid": ["0600001"], "layer": ["unified"]}),
                     pods=pods, pod_links=pd.DataFrame(columns=["pod_id", "leaid", "layer"]),
                     demand={"schools": schools}, provenance=pd.DataFrame(columns=["source_key"]))


def _hand(frames, **kw):
    args = dict(sites=["libraries"], demand="schools", method="2sfca", radius_miles=1.0, state="CA")
    return ar.coverage_table(frames, **{**args, **kw})


def test_2sfca_by_hand(hand_frames):
    table, summary, meta = _hand(hand_frames)
    t = table.set_index("leaid")
    assert list(table["leaid"]) == ["0600002", "0600001"]  # B ranked first; secondary C is not a row
    assert t.loc["0600001", "access"] == pytest.approx(100 * 10 / 150)
    assert t.loc["0600001", "need_access"] == pytest.approx(60 * 10 / 70)
    assert (t.loc["0600001", "children_in_need"], t.loc["0600001", "in_need_zero_access"]) == (70, 10)
    assert (t.loc["0600002", "access"], t.loc["0600002", "in_need_zero_access"]) == (0, 150)
    assert t.loc["0600002", "rank"] == 1 and pd.isna(t.loc["0600001", "rank"])
    assert meta["low_access_threshold"] == pytest.approx(np.quantile([0, 60 / 7], 0.25))
    assert meta["access_unit"] == "sites per 1,000 students in reach" and meta["basis"] == "sites"
    s = summary.set_index("group")
    assert s.loc["total", "mean_access"] == pytest.approx(1000 / 350)
    assert s.loc["total", "share_zero_access"] == pytest.approx(250 / 350)
    assert s.loc["low_income", "mean_access"] == pytest.approx(600 / 220)
    assert s.loc["not_low_income", "mean_access"] == pytest.approx(400 / 130)
    assert s.loc["low_income", "ratio"] == pytest.approx((600 / 220) / (400 / 130))
    assert s.loc["low_income", "label"] == "Low-income students (FRPM)"


def test_ratio_and_distance_by_hand(hand_frames):
    ratio = _hand(hand_frames, method="ratio").table.set_index("leaid")
    assert ratio["access"].to_dict() == {"0600002": 0.0, "0600001": 1.0}  # 1 site per 1,000 children 5-17
    assert ratio.loc["0600001", "sites"] == 1
    distance, _, meta = _hand(hand_frames, method="distance", radius_miles=5.0)
    assert distance.set_index("leaid")["access"].to_dict() == {"0600002": 0.0, "0600001": 100.0}
    assert meta["access_unit"] == "% of students within 5 mi of a site"
    near = _hand(hand_frames, method="distance", radius_miles=1.0).table.set_index("leaid")
    assert near.loc["0600001", "access"] == pytest.approx(100 * 100 / 150)


def test_hypothetical_hub_by_hand(hand_frames):
    hub = ar.Hub(-119.85, 37.05, 30)
    table, summary, meta = _hand(hand_frames, hypothetical=hub)
    t = table.set_index("leaid")
    assert t.loc["0600002", "access"] == pytest.approx(1000 / 200)  # the hub counts as one site: basis is sites
    assert t.loc["0600002", "sites"] == 1  # placed in B by its polygon
    assert meta["hypothetical"] == [{"lon": -119.85, "lat": 37.05, "seats": 30}]
    seats = _hand(hand_frames, hypothetical=hub, assumed_seats=20).table.set_index("leaid")
    assert seats.loc["0600002", "access"] == pytest.approx(1000 * 30 / 200)  # every site has seats now
    assert seats.loc["0600001", "access"] == pytest.approx(100 * (1000 * 20 / 100) / 150)


def test_several_hypothetical_hubs_by_hand(hand_frames):
    """Hubs at s3 (B) and s2 (A), 30 seats each, library 20 seats, 1 mile: each serves only its own school."""
    hubs = [ar.Hub(-119.85, 37.05, 30), ar.Hub(-119.91, 37.05, 30)]
    result = _hand(hand_frames, hypothetical=hubs, assumed_seats=20)
    t = result.table.set_index("leaid")
    assert t.loc["0600001", "access"] == pytest.approx((100 * 200 + 50 * 600) / 150)  # s1: 20/100, s2: 30/50
    assert t.loc["0600002", "access"] == pytest.approx(1000 * 30 / 200)
    assert t["sites"].to_dict() == {"0600001": 2, "0600002": 1}
    hub_rows = result.sites[result.sites["kind"] == "hypothetical"]
    assert hub_rows["site_id"].tolist() == ["hypothetical-hub-1", "hypothetical-hub-2"]
    assert hub_rows["leaid"].tolist() == ["0600002", "0600001"]
    assert result.summary.set_index("group").loc["total", "mean_access"] == pytest.approx(80000 / 350)
    assert len(result.meta["hypothetical"]) == 2
    assert "includes 2 hypothetical hubs: 37.0500, -119.8500 (30 seats)" in ar.method_note(result.meta)
    assert ar.cli_command(result.meta).count("--hub ") == 2
    one = _hand(hand_frames, hypothetical=hubs[:1], assumed_seats=20)
    assert one.table.equals(_hand(hand_frames, hypothetical=hubs[0], assumed_seats=20).table)
    with pytest.raises(ValueError, match="is not an access_report.Hub"):
        _hand(hand_frames, hypothetical=[(-119.85, 37.05, 30)])


def test_hypothetical_hubs_by_travel_time_count_only_with_their_minutes(hand_frames):
    """Under a travel-time table a hub reaches whom the table says: hub 1 is listed (5 min to s3), hub 2 is
    not, so it reaches no one, and the note and meta say so instead of leaving it silently idle."""
    hubs = [ar.Hub(-119.85, 37.05, 30), ar.Hub(-119.91, 37.05, 30)]
    times = pd.DataFrame({"origin_id": ["s1", "s3"], "destination_id": ["L1", "hypothetical-hub-1"],
                          "minutes": [1.0, 5.0]})
    result = _hand(hand_frames, method="distance", hypothetical=hubs, travel_times=times, max_minutes=10)
    points = result.points.set_index("demand_id")["access"]
    assert points.to_dict() == {"s1": 100.0, "s2": 0.0, "s3": 100.0}  # s2 sits on hub 2, which has no minutes
    assert result.meta["hubs_without_times"] == 1
    assert "1 hypothetical hub(s) have no pairs in the travel-time table" in ar.method_note(result.meta)
    assert _hand(hand_frames, method="distance", hypothetical=hubs).meta["hubs_without_times"] == 0


def test_hubs_from_a_link_keep_the_good_and_name_the_rest():
    linked = ar.hubs_from_query("-122.1,37.5,50; garbage ;-122,95,3;1,2,nan;**x**,1,2;-122,37,5,6;;-121,38,0")
    assert linked.hubs == (ar.Hub(-122.1, 37.5, 50.0), ar.Hub(-121.0, 38.0, 0.0))
    for part in ("hub 2 (garbage) is not longitude,latitude,seats", r"hub 3: hub latitude 95.0 is not in \-90..90",
                 "hub 4: hub seats nan", r"hub 5 (\*\*x\*\*,1,2)", r"hub 6 (\-122,37,5,6)"):
        assert part in linked.notice
    assert ar.hubs_from_query(None) == ar.hubs_from_query("") == ar.LinkedHubs()
    many = ar.hubs_from_query(";".join(["-122,37,5"] * (ar.MAX_HUBS + 20)))
    assert len(many.hubs) == ar.MAX_HUBS and f"lists {ar.MAX_HUBS + 20:,} hubs; only the first {ar.MAX_HUBS}" in many.notice
    with pytest.raises(ValueError, match="at most 100"):
        ar.coverage_table(ar.Frames(*([None] * 5)), hypothetical=[ar.Hub(0, 0, 1)] * 101)


@pytest.mark.parametrize("method", list(ar.METHODS))
def test_no_sites_at_all_means_zero_access_and_every_needy_district_ranked(hand_frames, method):
    table, summary, meta = _hand(hand_frames, sites=["pods"], method=method)  # the hand store has no pods
    assert meta["site_counts"] == {"pods": 0} and (table["access"] == 0).all()
    assert table["rank"].tolist() == [1, 2] and table["leaid"].tolist() == ["0600002", "0600001"]
    assert summary.set_index("group").loc["total", "share_zero_access"] == 1.0


@pytest.mark.parametrize("change, message", [
    ({"sites": ["museums"]}, r"sites \['museums'\] not among"),
    ({"sites": []}, "sites is empty"),
    ({"demand": "counties"}, "demand 'counties' is not one of"),
    ({"method": "gravity"}, "method 'gravity' is not one of"),
    ({"radius_miles": 0}, "radius_miles 0 must be"),
    ({"decay": "linear"}, "decay 'linear' is not one of"),
    ({"group": "poverty"}, "group 'poverty' is not counted by schools demand"),
    ({"demand": "tracts"}, r"no tracts demand points; choose one of \['schools', 'districts'\]"),
    ({"assumed_seats": -1}, "assumed_seats -1 must be"),
])
def test_bad_arguments_name_the_value(hand_frames, change, message):
    with pytest.raises(ValueError, match=message):
        _hand(hand_frames, **change)


def test_hub_and_pod_filter_text_are_checked():
    assert ar.Hub.from_query("-122.41,37.77,50") == ar.Hub(-122.41, 37.77, 50.0)
    assert ar.Hub.from_query("-122.41,37.77") is None and ar.Hub.from_query("x,1,2") is None
    assert ar.Hub.from_query("-122.41,97,5") is None  # latitude out of range: not trusted from a URL
    with pytest.raises(ValueError, match="hub seats -5"):
        ar.Hub(-122.4, 37.7, -5)
    assert ar.pod_filter_from_text("modes=in_person&statuses=active") == PodFilter(modes=("in_person",),
                                                                                    statuses=("active",))
    with pytest.raises(ValueError, match=r"parameter\(s\) \['colour'\]"):
        ar.pod_filter_from_text("colour=red")
    with pytest.raises(ValueError, match="modes='zoom' is not valid"):
        ar.pod_filter_from_text("modes=zoom")


# -- the fixture store ----------------------------------------------------------------------------


def test_demand_points_come_from_the_store(frames):
    assert len(frames.demand["schools"]) == 318 and len(frames.demand["tracts"]) == 421
    assert ar.available_demand(frames) == ["schools", "tracts", "districts"]
    _, _, meta = ar.coverage_table(frames, sites=["libraries"], demand="schools", state="CA")
    assert meta["demand_points"] == 318 and meta["demand_label"] == "CA public schools, 2019-20 enrollment"
    keys = [v["source_key"] for v in meta["vintages"]]
    assert keys[:1] == ["districts"] and {"cde_enrollment", "cde_schools", "imls_outlets"} <= set(keys)


def test_pods_are_counted_per_district_as_on_the_map(frames):
    table, _, meta = ar.coverage_table(frames, sites=["pods"], demand="districts", method="ratio", state="CA")
    placed = frames.pod_links[frames.pod_links["leaid"].isin(table["leaid"])].groupby("leaid").size()
    assert table.set_index("leaid")["sites"][placed.index].to_dict() == placed.to_dict()
    assert meta["site_counts"] == {"pods": 40} and meta["basis"] == "sites"  # two sample pods lack a capacity
    active = ar.coverage_table(frames, sites=["pods"], demand="districts", method="ratio", state="CA",
                               pod_filter=PodFilter(statuses=("active",)))
    assert active.meta["site_counts"]["pods"] < 40 and active.meta["pods_filter"].startswith("statuses:")


@pytest.mark.parametrize("method, demand", [("2sfca", "schools"), ("e2sfca", "tracts"), ("distance", "districts"),
                                            ("ratio", "schools")])
def test_cli_writes_the_table_the_function_returns(frames, fixture_store, tmp_path, method, demand, capsys):
    out, summary_out = tmp_path / "coverage.csv", tmp_path / "summary.csv"
    code = main(["coverage", "--db", str(fixture_store), "--sites", "pods", "--sites", "libraries,schools",
                 "--demand", demand, "--method", method, "--radius-miles", "3", "--state", "CA",
                 "--decay", "gaussian", "--hub=-122.06,37.70,40", "--out", str(out), "--summary-out", str(summary_out)])
    assert code == 0
    result = ar.coverage_table(frames, sites=["pods", "libraries", "schools"], demand=demand, method=method,
                               radius_miles=3, state="CA", decay="gaussian", hypothetical=ar.Hub(-122.06, 37.70, 40))
    assert out.read_bytes() == ar.to_csv(ar.with_units(result.table, result.meta))
    assert summary_out.read_bytes() == ar.to_csv(disparity.summary_frame(disparity.scores(result, frames)))
    written = pd.read_csv(out, dtype={"leaid": str})
    assert "access_unit" not in written.columns and f"access ({result.meta['access_unit']})" in written.columns
    printed = capsys.readouterr().out
    assert f"wrote {out}: 21 districts" in printed and "Data: School district boundaries" in printed
    assert ar.cli_command(result.meta).startswith("python -m podgeo coverage --sites pods,libraries,schools")


def test_cli_takes_several_hubs_and_names_a_bad_one(frames, fixture_store, tmp_path, capsys):
    out = tmp_path / "hubs.csv"
    args = ["coverage", "--db", str(fixture_store), "--sites", "pods", "--demand", "schools", "--method", "distance",
            "--radius-miles", "2", "--state", "CA", "--out", str(out)]
    assert main([*args, "--hub=-122.154,37.847,40", "--hub=-122.27,37.8,50"]) == 0
    result = ar.coverage_table(frames, sites=["pods"], demand="schools", method="distance", radius_miles=2, state="CA",
                               hypothetical=[ar.Hub(-122.154, 37.847, 40), ar.Hub(-122.27, 37.8, 50)])
    assert out.read_bytes() == ar.to_csv(ar.with_units(result.table, result.meta))
    assert "includes 2 hypothetical hubs" in capsys.readouterr().out
    assert ar.cli_command(result.meta).count("--hub ") == 2
    assert main([*args, "--hub=-122.154,37.847,40", "--hub=north,37.8,50"]) == 2
    assert "--hub 'north,37.8,50' is not LON,LAT,SEATS" in capsys.readouterr().err


def test_cli_errors_are_one_line_and_exit_2(fixture_store, tmp_path, capsys):
    code = main(["coverage", "--db", str(fixture_store), "--sites", "pods", "--demand", "schools",
                 "--method", "gravity", "--out", str(tmp_path / "x.csv")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: method 'gravity' is not one of")
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("method", list(ar.METHODS))
@pytest.mark.parametrize("demand", ["schools", "tracts", "districts"])
def test_a_hypothetical_hub_raises_figures_never_lowers(frames, method, demand):
    args = dict(sites=["libraries"], demand=demand, method=method, radius_miles=2.0, state="CA")
    before = ar.coverage_table(frames, **args)
    unserved = before.points[(before.points["access"] == 0) & (before.points["total"] > 0)
                             & before.points["leaid"].notna()].iloc[0]  # put the hub where access was zero
    hub = ar.Hub(round(unserved.geometry.x, 5), round(unserved.geometry.y, 5), 40)
    after = ar.coverage_table(frames, **args, hypothetical=hub)
    a = before.table.set_index("leaid")["access"]
    b = after.table.set_index("leaid")["access"][a.index]
    known = a.notna()
    assert (b[known] >= a[known] - 1e-12).all()
    assert b[unserved["leaid"]] > a[unserved["leaid"]]
    s0 = before.summary.set_index("group")["mean_access"]
    s1 = after.summary.set_index("group")["mean_access"][s0.index]
    assert (s1[s0.notna()] >= s0[s0.notna()] - 1e-12).all()


def test_poverty_quartiles_weight_by_demand():
    table = pd.DataFrame({"pct_poverty": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, np.nan],
                          "demand": [10, 30, 1, 1, 1, 1, 5, 5, 100], "access": [1.0, 3.0, 0, 0, 2, 2, 4, 6, 9]})
    q = ar.poverty_quartiles(table)
    assert q["quartile"].tolist() == ["Q1", "Q2", "Q3", "Q4"]
    assert q["mean_access"].tolist() == pytest.approx([(10 + 90) / 40, 0.0, 2.0, 5.0])
    assert q["poverty_range"].iloc[0] == "1-2% in poverty" and q["districts"].tolist() == [2, 2, 2, 2]


def test_stepped_e2sfca_zones_scale_with_the_radius(hand_frames):
    """Regression (issue 11 item 12): zones fixed at 1/5/10 mi weighed every site beyond 10 mi 0, so 10 -> 15 mi
    changed nothing. Zones now sit at 10/50/100 % of the radius: s3 (7.7 mi from the library) weighs 0.22 at
    10 mi (zone 5-10) and 0.68 at 20 mi (zone 2-10); s2 (4.4 mi) 0.68 in both."""
    at10 = _hand(hand_frames, method="e2sfca", decay="step", radius_miles=10.0).points.set_index("demand_id")
    at20 = _hand(hand_frames, method="e2sfca", decay="step", radius_miles=20.0).points.set_index("demand_id")
    assert at10.loc["s3", "access"] == pytest.approx(1000 * 0.22 / (100 + 0.68 * 50 + 0.22 * 200))
    assert at20.loc["s3", "access"] == pytest.approx(1000 * 0.68 / (100 + 0.68 * 50 + 0.68 * 200))
    assert at20.loc["s1", "access"] < at10.loc["s1", "access"]  # more children share the library
    note = ar.method_note(_hand(hand_frames, method="e2sfca", decay="step", radius_miles=20.0).meta)
    assert "10 %, 50 % and 100 % of the radius" in note


def test_opens_on_library_outlets_and_says_when_a_state_has_no_pods(hand_frames):
    """Regression (issue 11 item 4): the default supply is library outlets, not the illustrative pods."""
    default = ar.coverage_table(hand_frames, demand="schools", state="CA")
    assert default.meta["sites"] == ["libraries"] and default.meta["no_pods"] is False
    assert default.summary.set_index("group").loc["total", "mean_access"] > 0
    pods = ar.coverage_table(hand_frames, sites=["pods"], demand="schools", state="CA")
    assert pods.meta["no_pods"] is True
    assert "**No pods:** CA has no pods (after the filter)" in ar.method_note(pods.meta)


def test_units_go_in_headers_not_in_every_row(hand_frames):
    """Regression (issue 11 item 12): no access_unit column; the unit is in the header; shares as %."""
    result = _hand(hand_frames, method="distance", radius_miles=5.0)
    assert "access_unit" not in result.table.columns and "access_unit" not in result.summary.columns
    table = ar.with_units(result.table, result.meta)
    assert "access (% of students within 5 mi of a site)" in table.columns
    summary = ar.with_units(result.summary, result.meta).set_index("group")
    assert summary.loc["total", "zero_access (%)"] == pytest.approx(100 * 200 / 350)
    points = ar.points_frame(result.points)
    assert list(points["demand_id"]) == ["s1", "s2", "s3"] and points["lon"].iloc[0] == pytest.approx(-119.99)


def test_headline_figures_carry_their_unit(hand_frames):
    distance = _hand(hand_frames, method="distance", radius_miles=5.0)
    assert ar.format_access(40.0, distance.meta) == "40.0 % of students within 5 mi of a site"
    assert ar.format_access(40.0, distance.meta, short=True) == "40.0 %"
    two = _hand(hand_frames)
    assert ar.format_access(0.0066, two.meta) == "0.0066 sites per 1,000 students in reach"
    assert ar.format_access(float("nan"), two.meta) == "no figure"  # unknown is never 0


def test_export_coverage_counts_library_outlets_like_the_page(fixture_store, tmp_path):
    """`python -m podgeo export coverage` opens where the Coverage page does (library outlets), and
    `--sites pods` still gives the pods' table."""
    from podgeo import exports
    from podgeo.store import SqliteStore

    store = SqliteStore(fixture_store)
    try:
        frames = ar.load_frames(store, "CA")
        default = exports.export(store, "coverage", "csv", state="CA")
    finally:
        store.close()
    out = tmp_path / "pods.csv"
    assert main(["export", "coverage", "--db", str(fixture_store), "--state", "CA", "--sites", "pods",
                 "--out", str(out)]) == 0

    def access(data: bytes) -> dict:
        return pd.read_csv(io.BytesIO(data), comment="#", dtype={"leaid": str}).set_index("leaid")[
            "access"].round(9).to_dict()

    for sites, data in ((["libraries"], default.data), (["pods"], out.read_bytes())):
        expected = ar.coverage_table(frames, sites=sites, demand="districts", method="ratio", state="CA").table
        assert access(data) == expected.set_index("leaid")["access"].round(9).to_dict()
    assert "sites: libraries" in default.description and "pods not counted" in default.description
    assert access(default.data) != access(out.read_bytes())
