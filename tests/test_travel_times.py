"""Travel-time tables (podgeo.travel_times) in place of straight lines: reading the published layouts,
matching ids (unmatched counted, never dropped silently), and the check that minutes = 2 x miles at
--max-minutes 2R gives every straight-line figure at radius R."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from podgeo import access_report as ar
from podgeo import coverage, travel_times
from podgeo.__main__ import main


def _twice_the_miles(result, within_miles=60.0):
    """Every demand point -> site pair within `within_miles`, minutes = 2 x straight-line miles."""
    d_xy, s_xy = coverage._projected_xy(result.points, "demand", result.sites, "sites")
    pairs = cKDTree(d_xy).sparse_distance_matrix(cKDTree(s_xy), within_miles * coverage.METRES_PER_MILE,
                                                 output_type="ndarray")
    return pd.DataFrame({"origin_id": result.points["demand_id"].to_numpy()[pairs["i"]],
                         "destination_id": result.sites["site_id"].to_numpy()[pairs["j"]],
                         "minutes": 2.0 * pairs["v"] / coverage.METRES_PER_MILE})


@pytest.mark.parametrize("method, decay", [("distance", "step"), ("2sfca", "step"), ("e2sfca", "step"),
                                           ("e2sfca", "gaussian")])
@pytest.mark.parametrize("demand", ["schools", "districts"])
def test_minutes_twice_the_miles_give_the_straight_line_figures(frames, method, decay, demand):
    args = dict(sites=["libraries"], demand=demand, method=method, decay=decay, state="CA")
    straight = ar.coverage_table(frames, radius_miles=10.0, **args)
    matrix = _twice_the_miles(straight)
    timed = ar.coverage_table(frames, travel_times=matrix, max_minutes=20.0, **args)
    pd.testing.assert_series_equal(timed.table["access"], straight.table["access"], rtol=1e-12)
    pd.testing.assert_frame_equal(timed.table.drop(columns="access"), straight.table.drop(columns="access"))
    for col in ("mean_access", "share_zero_access", "ratio"):
        np.testing.assert_allclose(timed.summary[col], straight.summary[col], rtol=1e-12)
    assert timed.meta["travel_times"]["unmatched_rows"] == 0
    assert "travel time in minutes" in ar.method_note(timed.meta)
    assert "straight lines in EPSG:5070" in ar.method_note(straight.meta)


def test_unmatched_ids_are_counted_and_reported(frames):
    straight = ar.coverage_table(frames, sites=["libraries"], demand="schools", method="2sfca", state="CA")
    matrix = _twice_the_miles(straight)
    extra = pd.DataFrame({"origin_id": ["nope-1", "nope-1", straight.points["demand_id"].iloc[0]],
                          "destination_id": [straight.sites["site_id"].iloc[0], "x", "libraries:none"],
                          "minutes": [1.0, 2.0, 3.0]})
    timed = ar.coverage_table(frames, sites=["libraries"], demand="schools", method="2sfca", state="CA",
                              travel_times=pd.concat([matrix, extra], ignore_index=True), max_minutes=20.0)
    t = timed.meta["travel_times"]
    assert (t["rows"], t["unmatched_rows"], t["unmatched_origins"], t["unmatched_destinations"]) == (
        len(matrix) + 3, 3, 1, 2)
    assert "3 rows left out because their ids match nothing" in ar.method_note(timed.meta)


def test_read_matrix_layouts_and_errors(tmp_path):
    (tmp_path / "open.csv").write_text("origin_id,destination_id,duration_sec\n06001,12,600\n")
    assert travel_times.read_matrix(tmp_path / "open.csv")["minutes"].tolist() == [10.0]  # OpenTimes: seconds
    pd.DataFrame({"from_id": [1, 2], "to_id": ["a", "b"], "travel_time": [3.5, 4]}).to_parquet(tmp_path / "r5.parquet")
    r5 = travel_times.read_matrix(tmp_path / "r5.parquet")
    assert r5["origin_id"].tolist() == ["1", "2"] and r5["minutes"].tolist() == [3.5, 4.0]
    (tmp_path / "bad.csv").write_text("origin_id,destination_id,minutes\na,b,5\na,c,soon\n")
    with pytest.raises(ValueError, match=r"bad.csv: row 3 column 'minutes' is 'soon'"):
        travel_times.read_matrix(tmp_path / "bad.csv")
    (tmp_path / "twice.csv").write_text("origin_id,destination_id,minutes\na,b,5\na,b,6\n")
    with pytest.raises(ValueError, match="row 3 repeats the pair 'a' -> 'b'"):
        travel_times.read_matrix(tmp_path / "twice.csv")
    (tmp_path / "cols.csv").write_text("o,d,m\n1,2,3\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['origin_id', 'destination_id', 'minutes'\]"):
        travel_times.read_matrix(tmp_path / "cols.csv")


def test_cli_travel_times_and_points_out(frames, fixture_store, tmp_path, capsys):
    straight = ar.coverage_table(frames, sites=["libraries"], demand="schools", method="2sfca", state="CA",
                                 radius_miles=5.0)
    _twice_the_miles(straight).to_csv(tmp_path / "tt.csv", index=False)
    code = main(["coverage", "--db", str(fixture_store), "--sites", "libraries", "--demand", "schools",
                 "--method", "2sfca", "--state", "CA", "--travel-times", str(tmp_path / "tt.csv"),
                 "--max-minutes", "10", "--out", str(tmp_path / "c.csv"), "--points-out", str(tmp_path / "p.csv")])
    assert code == 0
    points = pd.read_csv(tmp_path / "p.csv", dtype={"demand_id": str})
    unit = straight.meta["access_unit"]
    assert len(points) == len(straight.points)
    np.testing.assert_allclose(points[f"access ({unit.replace('in reach', 'within 10 min of travel')})"], straight.points["access"], rtol=1e-9)
    assert "travel time in minutes from the table tt.csv" in capsys.readouterr().out
    code = main(["coverage", "--db", str(fixture_store), "--sites", "libraries", "--demand", "schools",
                 "--method", "2sfca", "--travel-times", str(tmp_path / "tt.csv"), "--out", str(tmp_path / "x.csv")])
    assert code == 2 and "--travel-times (or --osm-pbf) and --max-minutes go together" in capsys.readouterr().err
