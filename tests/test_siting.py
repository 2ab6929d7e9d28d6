"""Siting (MCLP with existing pods kept open, LSCP) checked against hand-solved and brute-force answers,
spopt's own model builder, greedy, and the real California files; the CLI gives the page's picks."""
from __future__ import annotations

import io
import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from shapely.geometry import Point

from podgeo import siting
from podgeo import siting_report as sr

MILE = siting.METRES_PER_MILE


def _points(xs_miles, crs="EPSG:5070"):
    """Points on the x axis of the equal-area CRS, `xs_miles` miles from the origin."""
    return gpd.GeoDataFrame({"id": range(len(xs_miles))}, geometry=[Point(x * MILE, 0) for x in xs_miles], crs=crs)


# demand a, b, c, d at 0, 2, 4, 6 miles (weights 5, 6, 6, 5), e at 100 miles (7), f at 50 miles (2)
DEMAND_X = [0, 2, 4, 6, 100, 50]
WEIGHTS = np.array([5, 6, 6, 5, 7, 2], dtype=float)
# candidates L (covers a, b), M (b, c), R (c, d), and one on top of the existing pod at 100 miles
CANDIDATE_X = [1, 3, 5, 100]
POD_X = [100]


@pytest.fixture
def line():
    demand = _points(DEMAND_X)
    return siting.Instance(WEIGHTS, siting.within_radius(demand, _points(CANDIDATE_X), 1.5),
                           siting.within_radius(demand, _points(POD_X), 1.5))


def test_within_radius_counts_distance_equal_to_radius_and_nothing_beyond():
    cover = siting.within_radius(_points([0, 2, 2.001]), _points([1]), 1.0).toarray()
    assert cover[:, 0].tolist() == [True, True, False]  # exactly one mile either side is within one mile
    cover = siting.within_radius(_points([0, 2]), _points([1]), 0.999).toarray()
    assert cover[:, 0].tolist() == [False, False]


def test_hand_built_instance_optimum_beats_greedy(line):
    result = siting.maximal_cover(line, 2)
    # by hand: greedy takes M (12) then L or R (+5) = 17 + pod 7 = 24; the optimum is L + R = 22 + 7 = 29
    assert result.method == siting.OPTIMAL and result.gap == 0.0
    assert sorted(result.chosen) == [0, 2]
    assert result.gains == [11.0, 11.0] and result.chosen[0] == 0  # tie: lowest index first
    assert result.covered_before == 7.0 and result.covered_after == 29.0 and result.total == 31.0
    assert result.greedy_after == 24.0
    assert siting.greedy_cover(line, 2) == ([1, 0], [12.0, 5.0])


def test_locked_pods_are_never_chosen_and_their_coverage_counts(line):
    result = siting.maximal_cover(line, 3)
    assert 3 not in result.chosen  # the candidate on top of the pod adds nothing
    assert result.covered_before == 7.0  # e, reached by the pod
    assert result.covered_after == 29.0  # a..d by the picks, e by the pod; f is out of everyone's reach
    assert result.method == siting.TRIVIAL  # three candidates add anything: all are taken, none is "optimised"
    assert result.chosen == [1, 0, 2] and result.gains == [12.0, 5.0, 5.0]
    assert siting.maximal_cover(line, 4).chosen == [1, 0, 2]  # a fourth would add nothing: not listed
    no_pods = siting.Instance(WEIGHTS, line.candidates, sparse.csr_matrix((6, 0), dtype=bool))
    alone = siting.maximal_cover(no_pods, 3)
    assert 3 in alone.chosen and alone.covered_after == 29.0 and alone.covered_before == 0.0


def test_set_cover_counts_new_hubs_and_reports_the_unreachable(line):
    cover = siting.set_cover(line)
    assert cover.method == siting.OPTIMAL and cover.count == 2 and cover.chosen == [0, 2]
    assert cover.unreachable_weight == 2.0 and cover.reachable_weight == 29.0


def test_when_everyone_is_covered_the_fewest_hubs_are_listed(line):
    many = siting.maximal_cover(line, 3)  # L, M, R all add something in greedy order...
    fewest = siting.fewest_for_full_cover(line, many, siting.set_cover(line))
    assert many.chosen == [1, 0, 2] and fewest.chosen == [0, 2]  # ...but L and R alone reach everyone
    assert fewest.gains == [11.0, 11.0] and fewest.covered_after == many.covered_after == 29.0
    two = siting.maximal_cover(line, 2)
    assert siting.fewest_for_full_cover(line, two, siting.set_cover(line)) is two


def _random_instance(seed, n=60, m=14, existing=3):
    rng = np.random.default_rng(seed)
    demand = gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in rng.uniform(0, 20 * MILE, (n, 2))], crs="EPSG:5070")
    sites = gpd.GeoDataFrame(geometry=[Point(x, y) for x, y in rng.uniform(0, 20 * MILE, (m + existing, 2))],
                             crs="EPSG:5070")
    cover = siting.within_radius(demand, sites, 4.0)
    weights = rng.integers(0, 50, n).astype(float)
    return siting.Instance(weights, cover[:, :m], cover[:, m:]), cover


@pytest.mark.parametrize("seed", range(6))
def test_optimum_matches_brute_force_and_spopt_and_is_never_below_greedy(seed):
    instance, _ = _random_instance(seed)
    k = 3
    result = siting.maximal_cover(instance, k)
    best = max(instance.weights[instance.covered(c)].sum() for c in itertools.combinations(range(14), k))
    assert result.method in (siting.OPTIMAL, siting.TRIVIAL)
    assert result.covered_after == pytest.approx(best)
    assert result.covered_after >= result.greedy_after
    assert result.covered_after == pytest.approx(instance.weights[instance.covered(result.chosen)].sum())
    assert sum(result.gains) == pytest.approx(result.covered_after - result.covered_before)


def test_optimum_equals_spopts_own_dense_mclp():
    """The reduced, sparse model gives what spopt's MCLP.from_cost_matrix (dense, unreduced) gives."""
    import pulp
    from spopt.locate import MCLP

    instance, cover = _random_instance(11, n=80, m=20, existing=2)
    cost = np.where(cover.toarray(), 0.0, 9.0)
    predefined = np.r_[np.zeros(20, int), np.ones(2, int)]
    reference = MCLP.from_cost_matrix(cost, instance.weights, 1.0, 2 + 4, predefined_facilities_arr=predefined)
    reference.solve(pulp.PULP_CBC_CMD(msg=False))
    assert siting.maximal_cover(instance, 4).covered_after == pytest.approx(pulp.value(reference.problem.objective))


def test_time_limit_gives_a_labelled_answer_with_its_gap():
    n, m = 1000, 250
    cover = sparse.random(n, m, density=0.04, random_state=2, format="csr") > 0
    weights = np.random.default_rng(1).integers(1, 100, n).astype(float)
    result = siting.maximal_cover(siting.Instance(weights, cover, sparse.csr_matrix((n, 0), dtype=bool)), 15,
                                  time_limit=0.5)
    assert result.method != siting.OPTIMAL and "not" in result.method  # never passed off as optimal
    assert result.status == "CBC: Stopped on time limit"
    assert result.gap is not None and result.gap > 0 and result.bound > result.covered_after
    assert result.covered_after >= result.greedy_after  # CBC starts from greedy's answer


def test_parse_cbc_log_reads_optimal_and_stopped_runs():
    optimal = "Result - Optimal solution found\n\nObjective value:                1686900.00000000\n"
    assert siting.parse_cbc_log(optimal) == {"result": "Optimal solution found", "objective": 1686900.0,
                                             "bound": 1686900.0, "gap": 0.0}
    stopped = ("Result - Stopped on time limit\n\nObjective value:                88065.00000000\n"
               "Lower bound:                    -103469.315\nGap:                            -0.15\n")
    assert siting.parse_cbc_log(stopped) == {"result": "Stopped on time limit", "objective": 88065.0,
                                             "bound": -103469.315, "gap": -0.15}
    none = "Result - Stopped on time limit\n\nNo feasible solution found\nUpper bound:                    103469.315\n"
    assert siting.parse_cbc_log(none)["bound"] == 103469.315 and siting.parse_cbc_log(none)["objective"] is None


def test_within_minutes_uses_only_known_pairs_under_the_limit():
    times = pd.DataFrame({"demand_id": ["a", "a", "b", "zz"], "site_id": ["s1", "s2", "s1", "s1"],
                          "minutes": [10, 25, 20.0, 1]})
    cover = siting.within_minutes(["a", "b", "c"], ["s1", "s2"], times, 20).toarray()
    assert cover.tolist() == [[True, False], [True, False], [False, False]]




def test_within_minutes_reads_the_travel_time_readers_layout_and_bare_site_ids():
    times = pd.DataFrame({"origin_id": ["a", "b"], "destination_id": ["12", "libraries:7"], "minutes": [5.0, 30.0]})
    cover = siting.within_minutes(["a", "b"], ["libraries:12", "libraries:7"], times, 30).toarray()
    assert cover.tolist() == [[True, False], [False, True]]


def test_travel_times_twice_the_miles_give_the_radius_picks(frames, fixture_store, tmp_path, capsys):
    """Minutes = 2 x straight-line miles for every pair: 2r minutes must pick what r miles picks, in the
    library and in `python -m podgeo site --travel-times FILE --max-minutes 2r`, ids matching nothing reported."""
    from podgeo import access_report as ar
    from podgeo.__main__ import main

    frames = frames
    base = ar.coverage_table(frames, sites=["pods", "libraries"], demand="schools", method="distance", state="CA")
    dxy, sxy = siting._xy(base.points, "d"), siting._xy(base.sites, "s")
    miles = np.hypot(dxy[:, None, 0] - sxy[None, :, 0], dxy[:, None, 1] - sxy[None, :, 1]) / MILE
    i, j = np.indices(miles.shape)
    times = pd.DataFrame({"origin_id": base.points["demand_id"].to_numpy()[i.ravel()],
                          "destination_id": base.sites["site_id"].to_numpy()[j.ravel()], "minutes": 2 * miles.ravel()})
    choices = sr.Choices(state="CA", candidates=("libraries",), radius_miles=2.0, n_new=3)
    by_miles = sr.site_table(frames, choices)
    by_minutes = sr.site_table(frames, choices, travel_times=times, max_minutes=4.0)
    assert by_minutes.picks["site_id"].tolist() == by_miles.picks["site_id"].tolist()
    assert by_minutes.mclp.covered_after == by_miles.mclp.covered_after
    assert "4 minutes of travel" in sr.method_note(by_minutes.meta)
    with pytest.raises(ValueError, match="max_minutes"):
        sr.site_table(frames, choices, travel_times=times)
    t = by_minutes.meta["travel_times"]
    assert t["rows"] == len(times) and t["unmatched_destinations"] == 0 and t["demand_without_pairs"] == 0
    assert t["unmatched_origins"] == by_minutes.meta["unknown_need_points"]  # points with no count of the group

    table = tmp_path / "times.csv"
    extra = pd.DataFrame({"origin_id": ["nowhere", base.points["demand_id"].iloc[0]],
                          "destination_id": [base.sites["site_id"].iloc[0], "libraries:no-such"], "minutes": [1.0, 1.0]})
    pd.concat([times, extra]).to_csv(table, index=False)
    args = ["site", "--db", str(fixture_store), "--state", "CA", "--candidates", "libraries", "--new", "3"]
    assert main([*args, "--radius-miles", "2", "--out", str(tmp_path / "miles.csv")]) == 0
    capsys.readouterr()
    assert main([*args, "--travel-times", str(table), "--max-minutes", "4", "--out", str(tmp_path / "min.csv")]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "min.csv").read_bytes() == (tmp_path / "miles.csv").read_bytes() == sr.picks_csv(by_miles)
    assert (f"times.csv: {len(times) + 2:,} pairs; 2 rows left out because their ids match nothing "
            f"({t['unmatched_origins'] + 1:,} origin ids") in printed
    assert "1 destination ids not among the candidates or the pods" in printed
    assert main([*args, "--travel-times", str(table), "--out", str(tmp_path / "x.csv")]) == 2
    assert "--travel-times and --max-minutes go together" in capsys.readouterr().err


def test_bad_arguments_name_the_value(line):
    with pytest.raises(ValueError, match="n_new 0"):
        siting.maximal_cover(line, 0)
    with pytest.raises(ValueError, match="time_limit -1"):
        siting.maximal_cover(line, 1, time_limit=-1)
    with pytest.raises(ValueError, match="radius_miles 0"):
        siting.within_radius(_points([0]), _points([1]), 0)
    with pytest.raises(ValueError, match="weights"):
        siting.Instance(np.array([1.0, np.nan]), sparse.csr_matrix((2, 1)), sparse.csr_matrix((2, 0)))


def test_candidate_csv_reads_good_rows_and_lists_every_bad_cell():
    good = siting.read_candidates_csv("Name,Lat,Lon,notes\nHub A,37.77,-122.41,x\n\nHub B,37.8,-122.3,\n".encode())
    assert good.to_dict("records") == [{"name": "Hub A", "lat": 37.77, "lon": -122.41, "row": 2},
                                       {"name": "Hub B", "lat": 37.8, "lon": -122.3, "row": 4}]
    with pytest.raises(siting.CandidateFileError) as err:
        siting.read_candidates_csv(b"name,lat,lon\n,37.7,-122.4\nB,north,-122.4\nC,37.7,-222\n")
    assert err.value.errors == [(2, "name", "is empty"), (3, "lat", "'north' is not a number"),
                                (4, "lon", "-222 is not in -180..180")]
    with pytest.raises(siting.CandidateFileError, match="missing column"):
        siting.read_candidates_csv(b"name,latitude\nA,1\n")
    with pytest.raises(siting.CandidateFileError, match="bytes"):
        siting.read_candidates_csv(b"x" * 20, max_bytes=10)
    with pytest.raises(siting.CandidateFileError, match="more than 2 rows"):
        siting.read_candidates_csv(b"name,lat,lon\nA,1,1\nB,1,1\nC,1,1\n", max_rows=2)
    with pytest.raises(siting.CandidateFileError, match="UTF-8"):
        siting.read_candidates_csv("name,lat,lon\nÉ,1,1\n".encode("latin-1"))


def test_picks_csv_defuses_formulas_in_uploaded_names():
    import geopandas as gpd

    picks = gpd.GeoDataFrame({c: [None] for c in sr.PICK_COLUMNS}, geometry=[Point(-122.3, 37.8)], crs=4326)
    picks[["pick", "site", "site_id", "district", "lon"]] = [1, "=HYPERLINK(\"x\")", "upload:1", None, -122.3]
    result = sr.SitingResult(picks, None, None, {})
    back = pd.read_csv(io.BytesIO(sr.picks_csv(result)))
    assert back.loc[0, "site"] == "'=HYPERLINK(\"x\")" and back.loc[0, "lon"] == -122.3


def test_choices_round_trip_the_url_and_distrust_it():
    choices = sr.Choices(state="CA", demand="tracts", group="disability", candidates=("schools", "clicked"),
                         radius_miles=2.5, n_new=4, leaids=("0634410",), points=(("Clicked point 1", -122.4, 37.7),),
                         points_kind=("clicked",), time_limit=20.0)
    back = sr.choices_from_query(choices.to_query(), state="CA")
    assert back == choices
    hostile = sr.choices_from_query({"demand": "x", "radius": "nan", "new": "1e9", "pts": "1,2;<b>", "group": "{{7*7}}",
                                     "districts": "0634410,'; drop", "limit": "1e6"}, state="CA")
    assert (hostile.demand, hostile.group, hostile.radius_miles, hostile.n_new) == ("schools", "low_income", 5.0, 10)
    assert hostile.points == (("Clicked point 1", 1.0, 2.0),) and hostile.leaids == ("0634410",)
    assert hostile.time_limit == siting.DEFAULT_TIME_LIMIT


# -- the real California files: the bench's instance, small, and the CLI against the library ------



def test_real_california_schools_and_libraries(ca_frames, ca_real_store, tmp_path, capsys):
    from podgeo.__main__ import main

    choices = sr.Choices(state="CA", demand="schools", group="low_income", candidates=("libraries",),
                         radius_miles=5.0, n_new=3)
    result = sr.site_table(ca_frames, choices)
    m = result.meta
    assert m["demand_points"] > 9000 and m["candidate_count"] > 1000 and m["existing_count"] > 0
    assert result.mclp.method == siting.OPTIMAL and result.mclp.gap == 0.0
    assert result.mclp.covered_after >= result.mclp.greedy_after > result.mclp.covered_before > 0
    assert result.picks["newly_covered"].is_monotonic_decreasing and len(result.picks) == 3
    assert result.picks["cumulative_share"].iloc[-1] == pytest.approx(result.mclp.covered_after / result.mclp.total)
    assert set(result.picks["kind"]) == {"libraries"} and result.picks["district"].notna().all()
    assert result.lscp.count is not None and result.lscp.count > 3
    out = tmp_path / "picks.csv"
    code = main(["site", "--db", str(ca_real_store), "--candidates", "libraries", "--demand", "schools",
                 "--group", "low_income", "--radius-miles", "5", "--new", "3", "--state", "CA", "--out", str(out)])
    assert code == 0
    assert out.read_bytes() == sr.picks_csv(result)
    assert "spopt 0.7.0" in (tmp_path / "picks.note.md").read_text()
    printed = capsys.readouterr().out
    assert f"{result.mclp.covered_before:,.0f}" in printed and f"{result.mclp.covered_after:,.0f}" in printed
    assert "status: optimal" in printed and "gap: 0.0000%" in printed


@pytest.mark.parametrize("n_new", [1, 4])
def test_before_and_after_agree_with_the_coverage_page(frames, n_new):
    """Covered before = Coverage's distance coverage from the pods; after = Coverage with every pick
    as a hypothetical hub, read back from the link "Open these picks in Coverage" hands over."""
    from podgeo import access_report as ar

    frames = frames
    result = sr.site_table(frames, sr.Choices(state="CA", candidates=("libraries",), radius_miles=2.0, n_new=n_new))
    query = sr.coverage_query(result)
    linked = ar.hubs_from_query(query["hubs"])
    assert linked.notice == "" and len(linked.hubs) == len(result.picks) == n_new
    hub = list(linked.hubs)
    common = dict(sites=["pods"], demand="schools", method="distance", radius_miles=2.0, group="low_income",
                  state="CA")

    def share(**extra):
        summary = ar.coverage_table(frames, **common, **extra).summary.set_index("group")
        return summary.loc["low_income", "mean_access"] / 100.0

    assert share() == pytest.approx(result.meta["share_before"])
    assert share(hypothetical=hub) == pytest.approx(result.meta["share_after"])
    assert result.meta["share_after"] > result.meta["share_before"]
    for k in range(1, n_new):  # each row's cumulative share = Coverage with the picks up to it
        assert share(hypothetical=hub[:k]) == pytest.approx(result.picks["cumulative_share"].iloc[k - 1])
