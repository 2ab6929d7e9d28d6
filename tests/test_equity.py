"""Disparity scores (podgeo.equity): hand-computed scores and intervals, SEDT's own functions on one
example, and the real store's district demand."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from podgeo import access_report as ar
from podgeo import disparity, equity


def test_geographic_scores_by_hand():
    # supply 2/1/1 sites -> shares .5/.25/.25; children 100/200/100 with SE 20/10/0 (share .25/.5/.25)
    frame = pd.DataFrame({"leaid": ["a", "b", "c"], "sites": [2, 1, 1], "kids": [100.0, 200.0, 100.0],
                          "kids_se": [20.0, 10.0, 0.0]})
    out = equity.geographic_scores(frame, supply_col="sites", baselines={"children": ("kids", "kids_se")})
    # SE(Y) = sqrt(400 + 100 + 0) ; a: sqrt(400 - .25^2 * 500) / 400 ; b, c: radicand < 0 -> ratio formula (+)
    se = [math.sqrt(400 - 0.0625 * 500) / 400, math.sqrt(100 + 0.25 * 500) / 400, math.sqrt(0 + 0.0625 * 500) / 400]
    assert out["score"].tolist() == pytest.approx([0.25, -0.25, 0.0])
    assert out["se"].tolist() == pytest.approx(se)
    assert out["lower"].tolist() == pytest.approx([0.25 - 1.645 * se[0], -0.25 - 1.645 * se[1], -1.645 * se[2]])
    assert out["finding"].tolist() == ["surplus", "shortfall", "not significant"]
    at95 = equity.geographic_scores(frame, supply_col="sites", baselines={"children": ("kids", "kids_se")}, level=95)
    assert at95["upper"].iloc[2] == pytest.approx(1.96 * se[2])


def test_no_margin_of_error_is_not_assessed_and_an_unknown_count_has_no_share():
    frame = pd.DataFrame({"leaid": ["a", "b", "c"], "sites": [1, 0, 1], "pov": [10.0, 30.0, np.nan]})
    out = equity.geographic_scores(frame, supply_col="sites", baselines={"poverty": ("pov", None)})
    assert out["baseline_share"].iloc[:2].tolist() == pytest.approx([0.25, 0.75])  # c has no estimate: left out
    assert out["finding"].tolist() == [equity.FINDINGS[3], equity.FINDINGS[3], "no data"]
    assert out["significant"].isna().all() and out["lower"].isna().all()


def test_demographic_scores_by_hand():
    # children 100/300; access 3 and 1/3 -> access weights 300/100: a = .75/.25, c = .25/.75
    frame = pd.DataFrame({"w": [300.0, 100.0], "kids": [100.0, 300.0], "pct": [40.0, 20.0], "pct_se": [4.0, 2.0]})
    out = equity.demographic_scores(frame, access_weight_col="w", total_col="kids", groups={"g": ("pct", "pct_se")})
    row = out.iloc[0]
    assert (row["access_weighted_pct"], row["overall_pct"], row["score"]) == pytest.approx((35.0, 25.0, 10.0))
    assert row["se"] == pytest.approx(math.sqrt((0.5 * 4) ** 2 + (0.5 * 2) ** 2))  # (a - c) x SE, both districts
    assert row["lower"] == pytest.approx(10 - 1.645 * math.sqrt(5)) and row["finding"] == "over-served"
    flat = frame.assign(w=frame["kids"])  # access the same everywhere: no gap, not significant
    again = equity.demographic_scores(flat, access_weight_col="w", total_col="kids", groups={"g": ("pct", "pct_se")})
    assert again["score"].iloc[0] == pytest.approx(0.0) and again["finding"].iloc[0] == "not significant"


def test_bad_level_and_negative_counts_are_named():
    with pytest.raises(ValueError, match="confidence level 80"):
        equity.z_value(80)
    frame = pd.DataFrame({"leaid": ["a"], "s": [-1.0], "k": [5.0]})
    with pytest.raises(ValueError, match="column 's' has a negative value"):
        equity.geographic_scores(frame, supply_col="s", baselines={"k": ("k", None)})


# --- SEDT's functions, ported from UrbanInstitute/ui-equity-tool scripts/lambda/equity-calculations/
# equity_calculations.py (add_pct_prop_cols, append_geo_disparity_score_and_sig_diff and
# calculate_demo_disparity_score_and_sig_diff), minus the S3 status bookkeeping. ---

def _sedt_add_pct_prop_cols(temp, cols_dict):
    for est_col, moe_col in cols_dict.items():
        temp["prop_" + est_col] = temp[est_col] / temp[est_col].sum()
        temp["pct_" + est_col] = temp[est_col] / temp["num_pop"] * 100
        X_pct, Y_pct = temp[est_col], temp["num_pop"]
        Se_X_pct, Se_Y_pct = temp[moe_col] / 1.645, temp["num_pop_margin"] / 1.645
        temp["pct_" + est_col + "_margin"] = 1 / Y_pct * np.sqrt(Se_X_pct**2 - X_pct**2 / Y_pct**2 * Se_Y_pct**2) * 100
        X_prop, Y_prop = temp[est_col], temp[est_col].sum()
        Se_X_prop = temp[moe_col] / 1.645
        Se_Y_prop = np.sqrt(((temp[moe_col] / 1.645) ** 2).sum())
        temp["prop_" + est_col + "_margin"] = 1 / Y_prop * np.sqrt(Se_X_prop**2 - X_prop**2 / Y_prop**2 * Se_Y_prop**2)
    return temp


def _sedt_geo(temp_df, baseline_name):
    diff = "diff_" + baseline_name.replace("prop_", "")
    temp_df[diff] = temp_df.apply(lambda row: round(row["data_prop"], 3) - round(row[baseline_name], 3), axis=1)
    temp_df["sig_" + diff] = np.where(
        (temp_df["data_prop"] <= (temp_df[baseline_name] - 1.960 * temp_df[baseline_name + "_margin"]))
        | (temp_df["data_prop"] >= (temp_df[baseline_name] + 1.960 * temp_df[baseline_name + "_margin"])),
        "TRUE", "FALSE")
    return temp_df


def _sedt_demo(df_data, summary_value, summary_value_margin, censusvar):
    data_value = (df_data["data_prop"] * df_data[censusvar]).sum()
    data_value_margin = ((df_data["data_prop"] * df_data[censusvar + "_margin"]) ** 2).sum()
    data_value_sd = (math.sqrt(data_value_margin)) / 1.645
    test_stat = (data_value - summary_value) / math.sqrt(data_value_sd**2 + summary_value_margin**2)
    return {"diff_data_city": data_value - summary_value, "data_value_sd": data_value_sd, "sig_diff": abs(test_stat) > 1.96}


def test_same_numbers_as_sedt_on_one_example():
    """Four tracts: population 1000/2000/800/1200 (MOE 100/150/90/110); children 250/500/125/125 (MOE
    60/90/40/40); 8 sites placed 2/3/2/1. SEDT runs at 95 %, so podgeo does too."""
    temp = pd.DataFrame({"GEOID": ["t1", "t2", "t3", "t4"], "num_pop": [1000.0, 2000.0, 800.0, 1200.0],
                         "num_pop_margin": [100.0, 150.0, 90.0, 110.0], "children": [250.0, 500.0, 125.0, 125.0],
                         "children_moe": [60.0, 90.0, 40.0, 40.0], "weighted_counts": [2.0, 3.0, 2.0, 1.0]})
    temp["data_prop"] = temp["weighted_counts"] / temp["weighted_counts"].sum()
    sedt = _sedt_geo(_sedt_add_pct_prop_cols(temp.copy(), {"children": "children_moe"}), "prop_children")
    ours = equity.geographic_scores(temp.assign(leaid=temp["GEOID"], children_se=temp["children_moe"] / 1.645),
                                    supply_col="weighted_counts", baselines={"children": ("children", "children_se")},
                                    level=95)
    assert ours["score"].tolist() == pytest.approx(sedt["diff_children"].tolist(), abs=1e-12)
    assert ours["se"].tolist() == pytest.approx(sedt["prop_children_margin"].tolist(), rel=1e-12)
    assert ours["significant"].astype(bool).tolist() == (sedt["sig_diff_children"] == "TRUE").tolist()
    assert sedt["sig_diff_children"].tolist() == ["FALSE", "TRUE", "TRUE", "FALSE"]  # a mix, so the test bites

    # demographic: percent of children among the population, data-weighted vs population-weighted
    summary_value = float(np.sum(sedt["num_pop"] / sedt["num_pop"].sum() * sedt["pct_children"]))
    theirs = _sedt_demo(sedt, summary_value, 1.0, "pct_children")
    demo = equity.demographic_scores(sedt.assign(w=sedt["data_prop"]), access_weight_col="w", total_col="num_pop",
                                     groups={"children": ("pct_children", "pct_children_margin")}, level=95)
    assert demo["score"].iloc[0] == pytest.approx(theirs["diff_data_city"], rel=1e-12)
    # SEDT's SE of the weighted mix is ACS formula 1 with the weights held constant, as ours is term by term
    assert equity.mix_se(sedt["data_prop"], sedt["pct_children_margin"]) / 1.645 == pytest.approx(
        theirs["data_value_sd"], rel=1e-12)


def test_district_demand_scores_on_the_real_store(frames):
    result = ar.coverage_table(frames, sites=["libraries"], demand="districts", method="2sfca", state="CA")
    d = disparity.scores(result, frames)
    demo = d.demographic.set_index("group")
    assert demo.loc["poverty", "finding"] == equity.FINDINGS[3]  # SAIPE: no MOE
    assert demo.loc[["disability", "english_learners", "of_color"], "se"].gt(0).all()
    # naive reference: access-weighted minus child-weighted percent, straight from the points
    pts = result.points
    w = (pts["total"] * pts["access"]).to_numpy()
    pct = (100 * pts["of_color"] / pts["total"]).to_numpy()
    ok = np.isfinite(pct)
    expected = np.average(pct[ok], weights=w[ok]) - np.average(pct[ok], weights=pts["total"].to_numpy()[ok])
    assert demo.loc["of_color", "score"] == pytest.approx(expected)
    geo = d.geographic[d.geographic["baseline"] == "acs_children"]
    assert geo["supply_share"].sum() == pytest.approx(1.0) and geo["baseline_share"].sum() == pytest.approx(1.0)
    assert set(geo["finding"]) <= {"shortfall", "surplus", "not significant", "no data"}
    assert "significant" in d.sentence and "SAIPE publishes no margin of error" in d.note
    frame = disparity.summary_frame(d)
    assert list(frame["score_type"].unique()) == ["demographic", "geographic"]


def test_no_supply_anywhere_gives_no_score_not_a_gap_of_zero(frames):
    result = ar.coverage_table(frames, sites=["pods"], demand="districts", method="2sfca", state="CA",
                               radius_miles=0.5, pod_filter=ar.pod_filter_from_text("statuses=closed&modes=in_person"
                                                                                     "&costs=paid"))
    d = disparity.scores(result, frames)
    assert d.geographic.empty and "no disparity score" in d.sentence
    assert d.demographic["score"].isna().all() and set(d.demographic["finding"]) == {"no data"}


def test_the_sentence_agrees_in_number_and_group_names_keep_their_proper_nouns():
    # hand-made: one district significant each way, one not significant (the by-hand case above)
    frame = pd.DataFrame({"leaid": ["a", "b", "c"], "sites": [2, 1, 1], "kids": [100.0, 200.0, 100.0],
                          "kids_se": [20.0, 10.0, 0.0]})
    geo = equity.geographic_scores(frame, supply_col="sites", baselines={"children": ("kids", "kids_se")})
    words = equity.in_words(geo, pd.DataFrame(columns=["group", "finding", "level"]))
    assert "1 of 3 districts have a significant shortfall and 1 a significant surplus" in words
    assert "1 differs by no more" in words and "1 differ " not in words
    assert ar.group_label("not_english_learners", "schools") == "Not English learners"
    assert ar.group_label("not_poverty", "schools") == "Not children in poverty"
    assert ar.group_label("not_low_income", "schools") == "Not low-income students (FRPM)"
    assert ar.group_label("english_learners", "tracts") == "People with limited English"
