"""podgeo.coverage: hand-computed answers, a naive double-loop reference, directional checks, PySAL `access`."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from podgeo import coverage as cv
from podgeo.demand import ca_school_points

MI = cv.METRES_PER_MILE
ALBERS = "EPSG:5070"


def line_points(xs_miles, crs=ALBERS, **columns):
    """Points on the x axis of EPSG:5070, `xs_miles` miles from the origin, so distances are obvious."""
    geoms = [Point(x * MI, 0.0) for x in xs_miles]
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)


def xy_points(xy_miles, **columns):
    return gpd.GeoDataFrame(columns, geometry=[Point(x * MI, y * MI) for x, y in xy_miles], crs=ALBERS)


# --- hand-computed answers --------------------------------------------------------------------

@pytest.fixture
def two_sites():
    return line_points([0, 10], site_id=["s1", "s2"], capacity=[10.0, 30.0])


@pytest.fixture
def four_points():
    # D sits exactly 5 miles from both sites: distance == radius is inside the catchment (access uses <=).
    return line_points([0.5, 3, 9, 5, 20], demand_id=list("ABCDE"), total=[100.0, 200.0, 100.0, 100.0, 50.0])


def test_two_step_fca_by_hand(four_points, two_sites):
    out = cv.two_step_fca(four_points, two_sites, radius_miles=5)
    # s1 reaches A, B, D: 10 seats / 400 children = 0.025; s2 reaches C, D: 30 / 200 = 0.15; E is 10 miles away.
    assert out["access"].tolist() == pytest.approx([0.025, 0.025, 0.15, 0.175, 0.0], rel=1e-12)
    assert out["sites_in_reach"].tolist() == [1, 1, 1, 2, 0]
    assert (out["access_unit"] == "seats per child").all()
    assert out["demand_id"].tolist() == list("ABCDE") and "access" not in four_points.columns


def test_two_step_fca_counts_sites_when_no_seats(four_points, two_sites):
    out = cv.two_step_fca(four_points, two_sites.drop(columns="capacity"), radius_miles=5, seats_col=None)
    assert out["access"].tolist() == pytest.approx([1 / 400, 1 / 400, 1 / 200, 1 / 400 + 1 / 200, 0.0])
    assert (out["access_unit"] == "sites per child").all()


def test_two_step_fca_zero_demand_follows_access():
    # s1's catchment holds only a zero-demand point: ratio 5/0 = inf reaches only that point (as in access);
    # s2 has no seats and no demand: 0/0 is skipped, so its neighbour gets 0.
    sites = line_points([0, 100], site_id=["s1", "s2"], capacity=[5.0, 0.0])
    demand = line_points([1, 101, 50], demand_id=["F", "G", "H"], total=[0.0, 0.0, 10.0])
    out = cv.two_step_fca(demand, sites, radius_miles=5)
    assert out["access"].tolist() == [math.inf, 0.0, 0.0]


def test_enhanced_two_step_fca_steps_by_hand():
    site = line_points([0], site_id=["s1"], capacity=[10.0])
    demand = line_points([1, 3, 10], demand_id=list("ABC"), total=[100.0, 100.0, 100.0])
    out = cv.enhanced_two_step_fca(demand, site, radius_miles=10)  # steps 1 / 5 / 10 miles -> 1 / 0.68 / 0.22
    weighted_children = 100 * 1 + 100 * 0.68 + 100 * 0.22  # A at exactly 1 mile and C at exactly 10 keep their band
    assert out["access"].tolist() == pytest.approx([10 / 190 * w for w in (1, 0.68, 0.22)], rel=1e-12)
    assert weighted_children == pytest.approx(190)


def test_enhanced_two_step_fca_gaussian_by_hand():
    site = line_points([0], site_id=["s1"], capacity=[10.0])
    demand = line_points([1, 3, 10], demand_id=list("ABC"), total=[100.0, 100.0, 100.0])
    out = cv.enhanced_two_step_fca(demand, site, radius_miles=10, decay="gaussian", sigma_miles=5)
    w = [math.exp(-(d * d) / (2 * 25)) for d in (1, 3, 10)]
    ratio = 10 / (100 * sum(w))
    assert out["access"].tolist() == pytest.approx([ratio * x for x in w], rel=1e-12)


def test_wgs84_inputs_give_the_same_answer(four_points, two_sites):
    projected = cv.two_step_fca(four_points, two_sites, radius_miles=5.001)
    lonlat = cv.two_step_fca(four_points.to_crs(4326), two_sites.to_crs(4326), radius_miles=5.001)
    assert lonlat["access"].tolist() == pytest.approx(projected["access"].tolist(), rel=1e-9)
    assert lonlat.crs == "EPSG:4326"


def test_distance_coverage_by_hand(two_sites):
    demand = line_points([0.5, 3, 9, 20], demand_id=list("ABCD"), total=[1.0] * 4, urban=[True, True, False, False])
    out = cv.distance_coverage(demand, two_sites, urban_col="urban")
    assert out["nearest_site_miles"].tolist() == pytest.approx([0.5, 3, 1, 10])
    assert out["within_1mi"].tolist() == [True, False, True, False]
    assert out["within_5mi"].tolist() == [True, True, True, False]
    assert out["within_10mi"].tolist() == [True, True, True, True]  # exactly 10 miles counts
    assert out["within_usda"].tolist() == [True, False, True, True]  # urban 1 mile, rural 10 miles


def test_distance_coverage_with_no_sites():
    demand = line_points([0], demand_id=["A"], total=[5.0])
    out = cv.distance_coverage(demand, line_points([], site_id=[]), radii_miles=[2.5])
    assert out["nearest_site_miles"].tolist() == [math.inf] and out["within_2.5mi"].tolist() == [False]


@pytest.fixture
def split_districts():
    # unified U; elementary E overlaid by secondary S (a split area): rows must never be summed across layers.
    return pd.DataFrame({"leaid": ["0600001", "0600002", "0600003"], "layer": ["unified", "elementary", "secondary"],
                         "children": [2000.0, 1000.0, 600.0], "children_poverty": [400.0, 250.0, 100.0]})


def test_container_ratio_by_hand(split_districts):
    sites = pd.DataFrame({"site_id": ["s1", "s2", "s2", "s3"], "leaid": ["0600001", "0600002", "0600003", "0600002"],
                          "capacity": [50.0, 30.0, 30.0, 20.0]})
    out = cv.container_ratio(split_districts, sites)
    assert out["leaid"].tolist() == ["0600001", "0600002", "0600003"]
    assert out["sites"].tolist() == [1, 2, 1]
    assert out["per_1000_children"].tolist() == pytest.approx([25.0, 50.0, 50.0])
    assert out["per_1000_children_poverty"].tolist() == pytest.approx([125.0, 200.0, 300.0])
    assert (out["ratio_basis"] == "seats").all()


def test_container_ratio_counts_sites_when_capacity_unknown(split_districts):
    sites = pd.DataFrame({"site_id": ["s1", "s2", "s2", "s3"], "leaid": ["0600001", "0600002", "0600003", "0600002"],
                          "capacity": [50.0, 30.0, 30.0, np.nan]})
    out = cv.container_ratio(split_districts, sites)
    assert out["per_1000_children"].tolist() == pytest.approx([0.5, 2.0, 1000 / 600])
    assert out["per_1000_children_poverty"].tolist() == pytest.approx([2.5, 8.0, 10.0])
    assert out["sites_unknown_capacity"].tolist() == [0, 1, 0]
    assert out["ratio_basis"].iloc[0] == "sites: 1 of 3 sites have unknown capacity, so sites are counted"


def test_container_ratio_rejects_a_site_in_two_districts_of_one_layer(split_districts):
    districts = pd.concat([split_districts, pd.DataFrame(
        {"leaid": ["0600004"], "layer": ["unified"], "children": [10.0], "children_poverty": [1.0]})])
    sites = pd.DataFrame({"site_id": ["s1", "s1"], "leaid": ["0600001", "0600004"], "capacity": [5.0, 5.0]})
    with pytest.raises(ValueError, match="'s1' is assigned to two unified districts"):
        cv.container_ratio(districts, sites)


@pytest.fixture
def equity_points():
    return pd.DataFrame({"total": [100.0, 100.0, 10.0], "poverty": [60.0, 20.0, 5.0],
                         "english_learners": [5.0, 10.0, 3.0], "disability": [np.nan] * 3,
                         "access": [0.0, 0.5, 1.0]})


def test_equity_summary_by_hand(equity_points):
    out = cv.equity_summary(equity_points, "access").set_index("group")
    assert list(out.index) == ["total", "poverty", "english_learners", "not_poverty", "not_english_learners"]
    assert out.loc["poverty", "children"] == 85
    assert out.loc["poverty", "mean_access"] == pytest.approx(15 / 85)
    assert out.loc["poverty", "share_zero_access"] == pytest.approx(60 / 85)
    assert out.loc["not_poverty", "children"] == 125
    assert out.loc["not_poverty", "mean_access"] == pytest.approx(45 / 125)
    assert out.loc["not_poverty", "share_zero_access"] == pytest.approx(40 / 125)
    assert out.loc["poverty", "ratio"] == pytest.approx((15 / 85) / (45 / 125))
    assert out.loc["poverty", "compared_with"] == "not_poverty"
    assert out.loc["total", "mean_access"] == pytest.approx(60 / 210)
    # 18 English learners < 20: suppressed, and so is the ratio on its complement's row.
    assert out.loc["english_learners", "suppressed"] and math.isnan(out.loc["english_learners", "mean_access"])
    assert not out.loc["not_english_learners", "suppressed"]
    assert math.isnan(out.loc["not_english_learners", "ratio"])


def test_equity_summary_by_district(equity_points):
    points = equity_points.assign(leaid=["0600001", "0600001", "0600002"])
    out = cv.equity_summary(points, "access", groups=["total", "poverty"], by="leaid")
    row = out[(out["leaid"] == "0600001") & (out["group"] == "poverty")].iloc[0]
    assert row["mean_access"] == pytest.approx(10 / 80)
    small = out[(out["leaid"] == "0600002")]
    assert small["suppressed"].all() and small["mean_access"].isna().all()  # 10 children, 5 in poverty


def test_equity_summary_of_distance_flags_is_the_share_within(two_sites):
    demand = line_points([0.5, 3, 9, 20], demand_id=list("ABCD"), total=[100.0, 50.0, 30.0, 20.0],
                         poverty=[10.0, 40.0, 0.0, 20.0])
    flags = cv.distance_coverage(demand, two_sites)
    out = cv.equity_summary(flags, "within_1mi").set_index("group")
    assert out.loc["total", "mean_access"] == pytest.approx(130 / 200)  # A and C are within a mile
    assert out.loc["poverty", "mean_access"] == pytest.approx(10 / 70)
    assert out.loc["poverty", "share_zero_access"] == pytest.approx(60 / 70)


def test_equity_summary_and_shortfall_name_bad_values(equity_points):
    with pytest.raises(ValueError, match="group 'poverty' has a negative count"):
        cv.equity_summary(equity_points.assign(poverty=[-1.0, 2.0, 3.0]), "access")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['seats'\]"):
        cv.equity_summary(equity_points, "seats")
    with pytest.raises(ValueError, match="max_access -1"):
        cv.shortfall(equity_points.assign(leaid="0600001"), "access", max_access=-1)


def test_shortfall_by_hand():
    points = pd.DataFrame({"leaid": ["D1", "D1", "D2", "D3", "D4"], "poverty": [100.0, 50.0, 300.0, 200.0, 10.0],
                           "access": [0.0, 0.2, 0.0, 1.0, 0.0]})
    sites = pd.DataFrame({"leaid": ["D1"], "capacity": [10.0]})
    out = cv.shortfall(points, "access", sites=sites, max_access=0.1)
    assert out["leaid"].tolist() == ["D2", "D1"]  # D3 has access, D4 rests on 10 children
    assert out["rank"].tolist() == [1, 2]
    d1 = out.set_index("leaid").loc["D1"]
    assert d1["children_in_need"] == 150 and d1["children_in_need_zero_access"] == 100
    assert d1["access"] == pytest.approx(10 / 150) and d1["demand_points"] == 2
    assert d1["sites"] == 1 and d1["seats_known"] == 10
    assert out.set_index("leaid").loc["D2", "sites"] == 0
    # default threshold: lower quartile of district access (0, 0.0667, 1) -> 0.0333, so only D2
    default = cv.shortfall(points, "access")
    assert default["leaid"].tolist() == ["D2"]
    assert default["low_access_threshold"].iloc[0] == pytest.approx(np.quantile([0, 10 / 150, 1], 0.25))


def test_add_hypothetical_site_appends_one_row(two_sites):
    sites = two_sites.to_crs(4326)
    out = cv.add_hypothetical_site(sites, -122.27, 37.80, 40, leaid="0628050")
    assert len(out) == 3 and len(sites) == 2
    new = out.iloc[-1]
    assert new["site_id"] == "hypothetical-1" and new["capacity"] == 40 and new["leaid"] == "0628050"
    assert (new.geometry.x, new.geometry.y) == pytest.approx((-122.27, 37.80))
    with pytest.raises(ValueError, match="'s1' is already in sites"):
        cv.add_hypothetical_site(sites, -122.27, 37.80, 40, site_id="s1")


@pytest.mark.parametrize("kwargs, message", [
    ({"radius_miles": -1}, "radius_miles -1"),
    ({"radius_miles": 0}, "radius_miles 0"),
    ({"demand_col": "kids"}, r"missing column\(s\) \['kids'\]"),
    ({"seats_col": "seats"}, r"missing column\(s\) \['seats'\]"),
])
def test_two_step_fca_rejects_bad_arguments(four_points, two_sites, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cv.two_step_fca(four_points, two_sites, **kwargs)


def test_bad_inputs_name_the_bad_value(four_points, two_sites):
    with pytest.raises(ValueError, match="decay 'linear'"):
        cv.enhanced_two_step_fca(four_points, two_sites, decay="linear")
    with pytest.raises(ValueError, match="steps_miles weight -1"):
        cv.enhanced_two_step_fca(four_points, two_sites, steps_miles={5: -1})
    with pytest.raises(ValueError, match="row 1 is empty; pass seats_col=None"):
        cv.two_step_fca(four_points, two_sites.assign(capacity=[1.0, np.nan]))
    with pytest.raises(ValueError, match="site_id 's1' appears more than once"):
        cv.two_step_fca(four_points, pd.concat([two_sites, two_sites]))
    with pytest.raises(ValueError, match="row 0 is a Polygon"):
        cv.distance_coverage(four_points.set_geometry([Point(0, 0).buffer(1)] * 5), two_sites)
    with pytest.raises(ValueError, match="has no CRS"):
        cv.distance_coverage(four_points.set_crs(None, allow_override=True), two_sites)
    with pytest.raises(ValueError, match="radius 'far'"):
        cv.distance_coverage(four_points, two_sites, radii_miles=[1, "far"])
    with pytest.raises(ValueError, match="column 'urban' row 1 is 'yes'"):
        cv.distance_coverage(four_points.assign(urban=[True, "yes", False, True, True]), two_sites, urban_col="urban")


# --- naive reference: a plain double loop over every pair --------------------------------------

def naive_fca(demand_xy, totals, site_xy, seats, radius, weight):
    """Luo & Wang / Luo & Qi as written, with access' conventions (<= radius, 0/0 and inf*0 skipped)."""
    n, m = len(demand_xy), len(site_xy)
    ratios = []
    for j in range(m):
        reached = 0.0
        for i in range(n):
            d = math.dist(demand_xy[i], site_xy[j])
            if d <= radius:
                reached += totals[i] * weight(d)
        ratios.append(seats[j] / reached if reached > 0 else (math.inf if seats[j] > 0 else math.nan))
    result = []
    for i in range(n):
        total = 0.0
        for j in range(m):
            d = math.dist(demand_xy[i], site_xy[j])
            if d <= radius:
                term = ratios[j] * weight(d) if not (math.isinf(ratios[j]) and weight(d) == 0) else math.nan
                total += 0.0 if math.isnan(term) else term
        result.append(total)
    return np.array(result)


def random_layout(seed, n=80, m=15, box_miles=30.0):
    rng = np.random.default_rng(seed)
    demand = xy_points(rng.uniform(0, box_miles, (n, 2)), demand_id=[f"d{i}" for i in range(n)],
                       total=rng.integers(0, 500, n).astype(float))
    sites = xy_points(rng.uniform(0, box_miles, (m, 2)), site_id=[f"s{j}" for j in range(m)],
                      capacity=rng.integers(0, 60, m).astype(float))
    return demand, sites


def xy_metres(frame):
    return list(zip(frame.geometry.x, frame.geometry.y))


def assert_same(ours, reference):
    assert np.array_equal(np.isinf(ours), np.isinf(reference))
    finite = np.isfinite(reference)
    np.testing.assert_allclose(ours[finite], reference[finite], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_step_fca_matches_naive_double_loop(seed):
    demand, sites = random_layout(seed)
    ours = cv.two_step_fca(demand, sites, radius_miles=6)["access"].to_numpy()
    reference = naive_fca(xy_metres(demand), demand["total"].tolist(), xy_metres(sites), sites["capacity"].tolist(),
                          6 * MI, lambda d: 1.0)
    assert_same(ours, reference)


@pytest.mark.parametrize("seed", [4, 5])
def test_enhanced_two_step_fca_matches_naive_double_loop(seed):
    demand, sites = random_layout(seed)
    steps = {2.0: 1.0, 4.0: 0.5, 6.0: 0.1}
    ours = cv.enhanced_two_step_fca(demand, sites, radius_miles=8, steps_miles=steps)["access"].to_numpy()
    step = lambda d: next((w for t, w in sorted(steps.items()) if d <= t * MI), 0.0)  # noqa: E731
    assert_same(ours, naive_fca(xy_metres(demand), demand["total"].tolist(), xy_metres(sites),
                                sites["capacity"].tolist(), 8 * MI, step))
    ours = cv.enhanced_two_step_fca(demand, sites, radius_miles=8, decay="gaussian", sigma_miles=3)["access"]
    gauss = lambda d: math.exp(-d * d / (2 * (3 * MI) ** 2))  # noqa: E731
    assert_same(ours.to_numpy(), naive_fca(xy_metres(demand), demand["total"].tolist(), xy_metres(sites),
                                           sites["capacity"].tolist(), 8 * MI, gauss))


def test_distance_coverage_matches_naive_double_loop():
    demand, sites = random_layout(7)
    out = cv.distance_coverage(demand, sites, radii_miles=[1, 5, 10])
    nearest = [min(math.dist(p, s) for s in xy_metres(sites)) / MI for p in xy_metres(demand)]
    np.testing.assert_allclose(out["nearest_site_miles"], nearest, rtol=1e-12)
    for r in (1, 5, 10):
        assert out[f"within_{r}mi"].tolist() == [d <= r for d in nearest]


# --- directional properties ---------------------------------------------------------------------

coords = st.tuples(st.floats(0, 20), st.floats(0, 20))
layouts = st.fixed_dictionaries({
    "demand": st.lists(st.tuples(coords, st.integers(0, 400)), min_size=1, max_size=12),
    "sites": st.lists(st.tuples(coords, st.integers(0, 50)), min_size=1, max_size=6),
    "extra": st.tuples(coords, st.integers(1, 50)),
})


def frames(layout):
    demand = xy_points([xy for xy, _ in layout["demand"]], demand_id=[f"d{i}" for i in range(len(layout["demand"]))],
                       total=[float(t) for _, t in layout["demand"]])
    sites = xy_points([xy for xy, _ in layout["sites"]], site_id=[f"s{j}" for j in range(len(layout["sites"]))],
                      capacity=[float(c) for _, c in layout["sites"]])
    return demand, sites


def no_lower(after, before):
    after, before = np.asarray(after, float), np.asarray(before, float)
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities are caught by after == before
        return bool(np.all((after >= before - 1e-12 * np.abs(before) - 1e-15) | (after == before)))


METHODS = [
    lambda d, s: cv.two_step_fca(d, s, radius_miles=5)["access"],
    lambda d, s: cv.enhanced_two_step_fca(d, s, radius_miles=8)["access"],
    lambda d, s: cv.enhanced_two_step_fca(d, s, radius_miles=8, decay="gaussian", sigma_miles=3)["access"],
]


@settings(max_examples=40, deadline=None)
@given(layouts)
def test_adding_a_site_never_lowers_anyones_access(layout):
    demand, sites = frames(layout)
    (x, y), seats = layout["extra"]
    more = pd.concat([sites, xy_points([(x, y)], site_id=["new"], capacity=[float(seats)])], ignore_index=True)
    for method in METHODS:
        assert no_lower(method(demand, more), method(demand, sites))
    before = cv.distance_coverage(demand, sites)
    after = cv.distance_coverage(demand, more)
    assert (after["nearest_site_miles"] <= before["nearest_site_miles"]).all()
    assert (after["within_5mi"] >= before["within_5mi"]).all()


@settings(max_examples=40, deadline=None)
@given(layouts)
def test_adding_demand_never_raises_anyone_elses_access(layout):
    demand, sites = frames(layout)
    (x, y), children = layout["extra"]
    more = pd.concat([demand, xy_points([(x, y)], demand_id=["new"], total=[float(children)])], ignore_index=True)
    for method in METHODS:
        assert no_lower(method(demand, sites), method(more, sites).iloc[:-1].to_numpy())


@settings(max_examples=25, deadline=None)
@given(layouts)
def test_doubling_every_sites_seats_doubles_access(layout):
    demand, sites = frames(layout)
    for method in METHODS:
        once = method(demand, sites).to_numpy()
        twice = method(demand, sites.assign(capacity=sites["capacity"] * 2)).to_numpy()
        np.testing.assert_allclose(twice, 2 * once, rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(layouts)
def test_what_if_hub_only_raises_every_figure(layout):
    demand, sites = frames(layout)
    demand = demand.to_crs(4326).assign(leaid="0600001", poverty=demand["total"] * 0.3)
    sites = sites.to_crs(4326).assign(leaid="0600001")
    (x, y), seats = layout["extra"]
    hub = gpd.GeoSeries([Point(x * MI, y * MI)], crs=ALBERS).to_crs(4326).iloc[0]
    more = cv.add_hypothetical_site(sites, hub.x, hub.y, seats, leaid="0600001")
    districts = pd.DataFrame({"leaid": ["0600001"], "layer": ["unified"], "children": [demand["total"].sum()],
                              "children_poverty": [demand["poverty"].sum()]})
    before, after = cv.container_ratio(districts, sites), cv.container_ratio(districts, more)
    assert no_lower(after["per_1000_children"].fillna(0), before["per_1000_children"].fillna(0))
    for method in METHODS:
        old, new = method(demand, sites), method(demand, more)
        assert no_lower(new, old)
        eq_old = cv.equity_summary(demand.assign(a=old), "a", groups=["total", "poverty"], min_children=0)
        eq_new = cv.equity_summary(demand.assign(a=new), "a", groups=["total", "poverty"], min_children=0)
        assert no_lower(eq_new["mean_access"].fillna(0), eq_old["mean_access"].fillna(0))
        assert (eq_new["share_zero_access"].fillna(0) <= eq_old["share_zero_access"].fillna(0) + 1e-12).all()
        short_old = cv.shortfall(demand.assign(a=old), "a", min_children=0, max_access=math.inf)
        short_new = cv.shortfall(demand.assign(a=new), "a", min_children=0, max_access=math.inf)
        assert (short_new["children_in_need_zero_access"].to_numpy()
                <= short_old["children_in_need_zero_access"].to_numpy() + 1e-9).all()


# --- PySAL access on real California schools and library outlets ---------------------------------

BAY_AREA_COUNTY_CODES = {"01", "07", "21", "28", "38", "41", "43", "48", "49"}  # CDE county codes
BAY_AREA_COUNTIES = {"ALAMEDA", "CONTRA COSTA", "MARIN", "NAPA", "SAN FRANCISCO", "SAN MATEO", "SANTA CLARA",
                     "SOLANO", "SONOMA"}


@pytest.fixture(scope="module")
def bay_area_schools_and_libraries(shared_data):
    schools = ca_school_points(shared_data / "school_enrollment" / "cde_cupc_schools_2019_20.csv",
                               shared_data / "hub_sites" / "cde_public_schools_ca_2018.csv").points
    schools = schools[schools["demand_id"].str[:2].isin(BAY_AREA_COUNTY_CODES)].reset_index(drop=True)
    raw = pd.read_csv(shared_data / "hub_sites" / "imls_pls_fy2018_outlets.csv", dtype=str, encoding="cp1252")
    raw = raw[(raw["STABR"] == "CA") & (raw["C_OUT_TY"] != "BS") & raw["CNTY"].isin(BAY_AREA_COUNTIES)]
    rng = np.random.default_rng(2020)  # test-only seat counts, so supply varies between sites
    libraries = gpd.GeoDataFrame(
        {"site_id": (raw["FSCSKEY"] + "-" + raw["FSCS_SEQ"]).to_numpy(),
         "capacity": rng.integers(5, 80, len(raw)).astype(float)},
        geometry=gpd.points_from_xy(raw["LONGITUD"].astype(float), raw["LATITUDE"].astype(float)), crs=4326)
    return schools, libraries


# access 1.1.10 runs unchanged on pandas 3.1; it only warns about its own `inplace=True` calls.
PANDAS4_INPLACE = pytest.mark.filterwarnings("ignore:The inplace keyword")


def pysal_access(schools, libraries, max_cost_m):
    """access.Access on the same points, with its own Euclidean cost table (create_euclidean_distance)."""
    from access import Access

    model = Access(demand_df=schools.to_crs(ALBERS), demand_index="demand_id", demand_value="total",
                   supply_df=libraries.to_crs(ALBERS), supply_index="site_id", supply_value="capacity")
    # its cost table keeps distance < threshold; the FCA step keeps cost <= max_cost: pad the threshold.
    model.create_euclidean_distance(threshold=max_cost_m + 1.0)
    return model


def compare(ours, theirs):
    """Equal to 1e-9; access leaves points with no site in reach out (NaN) where podgeo gives 0."""
    ours = ours.set_index("demand_id")
    theirs = theirs.reindex(ours.index)
    assert (theirs.isna() == (ours["sites_in_reach"] == 0)).all()
    assert (ours.loc[theirs.isna(), "access"] == 0).all()
    assert np.max(np.abs(ours["access"].to_numpy() - theirs.fillna(0).to_numpy())) <= 1e-9


@PANDAS4_INPLACE
def test_two_step_fca_equals_pysal_access_on_bay_area(bay_area_schools_and_libraries):
    schools, libraries = bay_area_schools_and_libraries
    model = pysal_access(schools, libraries, 10 * MI)
    ours = cv.two_step_fca(schools, libraries, radius_miles=5)
    assert (ours["access"] == 0).any() and (ours["access"] > 0).sum() > 1000  # covered and uncovered schools
    compare(ours, model.two_stage_fca(name="two", max_cost=5 * MI)["two_capacity"])


@PANDAS4_INPLACE
def test_enhanced_two_step_fca_equals_pysal_access_on_bay_area(bay_area_schools_and_libraries):
    from access import weights

    schools, libraries = bay_area_schools_and_libraries
    model = pysal_access(schools, libraries, 10 * MI)
    steps = {k * MI: v for k, v in cv.LUO_QI_STEPS_MILES.items()}
    ours = cv.enhanced_two_step_fca(schools, libraries, radius_miles=10)
    compare(ours, model.enhanced_two_stage_fca(name="step", max_cost=10 * MI,
                                               weight_fn=weights.step_fn(steps))["step_capacity"])
    ours = cv.enhanced_two_step_fca(schools, libraries, radius_miles=10, decay="gaussian", sigma_miles=4)
    compare(ours, model.enhanced_two_stage_fca(name="gauss", max_cost=10 * MI,
                                               weight_fn=weights.gaussian(4 * MI))["gauss_capacity"])
