"""Sensitivity to the radius (podgeo.sensitivity): every group's access and gap at each radius, ranking stability."""
from __future__ import annotations

import pandas as pd
import pytest

from podgeo import access_report as ar
from podgeo import disparity, sensitivity
from podgeo.__main__ import main


def test_sweep_rows_are_the_single_runs(frames):
    args = dict(sites=["libraries"], demand="districts", method="2sfca", state="CA")
    swept = sensitivity.sweep(frames, [2.0, 5.0], chosen=10.0, **args)
    assert sorted(swept.groups["radius"].unique()) == [2.0, 5.0, 10.0] and swept.unit == "mi"
    for r in (2.0, 5.0):
        one = ar.coverage_table(frames, radius_miles=r, **args)
        rows = swept.groups[swept.groups["radius"] == r].set_index("group")
        pd.testing.assert_series_equal(rows["mean_access"], one.summary.set_index("group")["mean_access"])
        demo = disparity.scores(one, frames).demographic.set_index("group")
        assert rows.loc["of_color", "disparity_score"] == pytest.approx(demo.loc["of_color", "score"])
    chosen = swept.stability.set_index("radius").loc[10.0]
    assert chosen["still_top"] == chosen["top_at_chosen"] and chosen["left_the_top"] == ""


def test_ranking_stability_by_hand():
    tops = {1.0: ["a", "b", "x"], 5.0: ["a", "b", "c"], 10.0: ["c", "y", "z"]}
    out = sensitivity.ranking_stability(tops, 5.0).set_index("radius")
    assert out["still_top"].to_dict() == {1.0: 2, 5.0: 3, 10.0: 1}
    assert out.loc[10.0, "left_the_top"] == "a b" and out.loc[1.0, "share_kept"] == pytest.approx(2 / 3)


def test_parse_radii_names_the_bad_item():
    assert sensitivity.parse_radii("25, 1,2,5,10,15") == [1.0, 2.0, 5.0, 10.0, 15.0, 25.0]
    with pytest.raises(ValueError, match="--sweep item 'ten' is not a number"):
        sensitivity.parse_radii("1,ten")
    with pytest.raises(ValueError, match="--sweep item '-2' must be a positive radius"):
        sensitivity.parse_radii("-2")


def test_cli_sweep_writes_both_files(fixture_store, tmp_path, capsys):
    code = main(["coverage", "--db", str(fixture_store), "--sites", "libraries", "--demand", "districts",
                 "--method", "e2sfca", "--state", "CA", "--sweep", "1,5", "--out", str(tmp_path / "cov.csv")])
    assert code == 0
    groups = pd.read_csv(tmp_path / "cov_sweep.csv")
    ranking = pd.read_csv(tmp_path / "cov_ranking.csv")
    assert sorted(groups["radius"].unique()) == [1.0, 5.0, 10.0] and list(ranking["radius"]) == [1.0, 5.0, 10.0]
    assert "stay in the top 20" in capsys.readouterr().out
