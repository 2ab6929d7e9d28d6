"""State roll-ups and pod counts per district, against sums worked by hand."""
import pandas as pd
import pytest

from podgeo import rollup
from podgeo.store import SqliteStore

DISTRICTS = pd.DataFrame({
    "leaid": ["0600001", "0600002", "0600003", "3200001"],
    "state_fips": ["06", "06", "06", "32"],
    "layer": ["unified", "elementary", "secondary", "unified"],
    "children_5_17": [100.0, 300.0, 50.0, 0.0],
    "children_poverty": [10.0, 60.0, 5.0, 0.0],
    "pct_poverty": [10.0, 20.0, 10.0, None],
})


def test_percent_is_weighted_by_children_and_ignores_the_secondary_layer():
    out = rollup.state_rollup(DISTRICTS, "pct_poverty").set_index("state_fips")
    assert out.loc["06", "value"] == pytest.approx((100 * 10 + 300 * 20) / 400)  # 17.5, not the mean 15
    assert out.loc["06", "districts_with_data"] == 2
    assert pd.isna(out.loc["32", "value"]) and out.loc["32", "districts_with_data"] == 0


def test_counts_sum_over_the_tiling_layers_only():
    out = rollup.state_rollup(DISTRICTS, "children_5_17").set_index("state_fips")
    assert out.loc["06", "value"] == 400  # the 50 secondary children are already in the elementary 300


def test_pod_counts_and_rates_per_district():
    pods = pd.DataFrame({"pod_id": ["a", "b", "c"], "capacity": [10, None, 5]})
    links = pd.DataFrame({"pod_id": ["a", "b", "c", "c"], "leaid": ["0600001", "0600002", "0600002", "0600003"],
                          "layer": ["unified", "elementary", "elementary", "secondary"]})
    out = rollup.with_pod_counts(DISTRICTS, pods, links).set_index("leaid")
    assert out["pods"].to_dict() == {"0600001": 1, "0600002": 2, "0600003": 1, "3200001": 0}
    assert out["seats"].to_dict() == {"0600001": 10, "0600002": 5, "0600003": 5, "3200001": 0}
    assert out.loc["0600002", "pods_unknown_capacity"] == 1
    assert out.loc["0600001", "pods_per_1000"] == pytest.approx(10.0)
    assert out.loc["0600002", "seats_per_1000"] == pytest.approx(5 / 300 * 1000)
    assert pd.isna(out.loc["3200001", "pods_per_1000"])  # no children: no rate, not zero
    # the state rate counts each pod once: a, b, c over the 400 children of the tiling layers
    state = rollup.state_rollup(out.reset_index(), "pods_per_1000").set_index("state_fips")
    assert state.loc["06", "value"] == pytest.approx(3 / 400 * 1000)


def test_filtered_out_pods_are_not_counted():
    pods = pd.DataFrame({"pod_id": ["a"], "capacity": [10]})
    links = pd.DataFrame({"pod_id": ["a", "b"], "leaid": ["0600001", "0600001"], "layer": ["unified", "unified"]})
    out = rollup.with_pod_counts(DISTRICTS, pods, links).set_index("leaid")
    assert out.loc["0600001", "pods"] == 1


def test_real_fixture_state_poverty_matches_a_hand_sum(fixture_store):
    d = SqliteStore(fixture_store).districts(geometry=None)
    base = d[d["layer"].isin(["unified", "elementary"])].dropna(subset=["pct_poverty", "children_5_17"])
    expected = (base["pct_poverty"] * base["children_5_17"]).sum() / base["children_5_17"].sum()
    out = rollup.state_rollup(d, "pct_poverty")
    assert out["value"].iloc[0] == pytest.approx(expected)
    assert out["districts_with_data"].iloc[0] == 21


def test_enrollment_sums_every_agency_once_and_children_stay_on_the_tiling_layers():
    """Students are enrolled in one agency each, so the state's enrollment adds every agency (with or
    without a boundary); children live in the tiling districts, so a charter adds none."""
    frame = pd.DataFrame({
        "leaid": ["0600001", "0600002", "0600003", "0600004", "0600005"], "state_fips": ["06"] * 5,
        "layer": ["unified", "elementary", "secondary", "charter", "service agency"],
        "has_boundary": [1, 1, 1, 0, 0],
        "children_5_17": [100.0, 300.0, 50.0, None, None], "enrollment": [90.0, 250.0, 40.0, 30.0, None]})
    enrolled = rollup.state_rollup(frame, "enrollment").iloc[0]
    assert enrolled["value"] == 90 + 250 + 40 + 30
    assert (enrolled["districts_with_data"], enrolled["without_boundary"]) == (4, 1)
    assert enrolled["includes"] == rollup.INCLUDES_ALL
    children = rollup.state_rollup(frame, "children_5_17").iloc[0]
    assert (children["value"], children["without_boundary"], children["includes"]) == (400, 0, rollup.INCLUDES_BASE)
