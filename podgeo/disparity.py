"""Disparity scores for one Coverage result: which counts and margins of error each demand source has.

`podgeo.equity` holds the method; this module only says, per demand source, what the baseline
counts are and how uncertain they are:

* district points (SAIPE children 5-17 x ACS group shares): disability, linguistic isolation and
  children of colour carry the ACS 90 % MOE of their percent; SAIPE publishes no MOE for school
  district children or poverty, so those have none (not assessed). The ACS-ED count of public-school
  children, which has an MOE, is added as a children baseline that can be tested.
* California schools: enrollment and FRPM/EL counts are administrative counts, not samples: SE 0.
* Bay Area tracts: MTC's ACS counts come without their MOEs, so nothing can be tested.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from podgeo import access_report, equity

#: district-demand group -> (percent column, its MOE column or None) in the store's measures.
_DISTRICT_PCT = {"poverty": ("pct_poverty", None), "disability": ("pct_disability", "pct_disability_moe"),
                 "english_learners": ("pct_ling_isolated", "pct_ling_isolated_moe"),
                 "of_color": ("pct_of_color", "pct_of_color_moe")}
SUPPLY = {"access": "access-weighted children (children x access)", "sites": "sites", "seats": "seats"}
MOE_NOTE = {
    "districts": "SAIPE publishes no margin of error for school-district children or poverty, so those "
                 "baselines are shown but not tested; ACS shares (disability, linguistic isolation, children "
                 "of colour, public-school children) carry their 90 % MOE.",
    "schools": "Enrollment, FRPM and English-learner counts are administrative counts (no sampling error): "
               "intervals have zero width.",
    "tracts": "MTC publishes the tract counts without margins of error, so no gap can be tested.",
}


GEO_COLUMNS = ["leaid", "baseline", "label", "supply_share", "baseline_share", "score", "se", "lower", "upper",
               "significant", "finding", "level", "name"]


@dataclass
class Disparities:
    geographic: pd.DataFrame  # leaid, name, baseline, label, shares, score, se, lower, upper, significant, finding
    demographic: pd.DataFrame  # group, label, percents, score (points), se, lower, upper, significant, finding
    sentence: str
    note: str


def scores(result: access_report.Coverage, frames: access_report.Frames, *, level: int = 90,
           supply: str = "access") -> Disparities:
    """Geographic scores per district and demographic scores per group for `result`, at `level` %."""
    if supply not in SUPPLY:
        raise ValueError(f"supply {supply!r} is not one of {list(SUPPLY)}")
    meta = result.meta
    kind = meta["demand"]
    units = _units(result.points, frames, kind)
    groups = [g for g in access_report.NEED_GROUPS[kind] if units[g].notna().any()]
    labels = {g: access_report.group_label(g, kind) for g in groups}
    labels["total"] = f"all {meta['demand_noun']}"
    labels["acs_children"] = "public-school children (ACS)"
    demo = equity.demographic_scores(
        units, access_weight_col="weighted", total_col="total", level=level,
        groups={g: (f"pct_{g}", f"pct_{g}_se") for g in groups})
    demo.insert(1, "label", demo["group"].map(labels))
    per = _per_district(units, result.table, groups, supply)
    baselines = {"total": ("total", "total_se")}
    if kind == "districts":
        baselines = {"acs_children": ("acs_children", "acs_children_se"), **baselines}
    baselines.update({g: (g, f"{g}_se") for g in groups})
    if per["supply"].sum() > 0:
        geo = equity.geographic_scores(per, supply_col="supply", baselines=baselines, level=level)
        geo = geo.merge(result.table[["leaid", "name"]], on="leaid", how="left")
        geo.insert(2, "label", geo["baseline"].map(labels))
        sentence = equity.in_words(geo, demo, labels)
    else:  # no site in reach anywhere: no share of supply to compare (not a gap of 0)
        geo = pd.DataFrame(columns=GEO_COLUMNS)
        sentence = "No child reaches any site, so there is no share of access to compare and no disparity score."
    note = (f"Disparity scores after the Urban Institute's Spatial Equity Data Tool: a district's share of "
            f"{SUPPLY[supply]} minus its share of each baseline (fractions), and each group's access-weighted "
            f"percent minus its overall percent (percentage points). Intervals at {level} % from the inputs' "
            f"margins of error (Census Bureau formulas for derived sums and proportions). " + MOE_NOTE[kind])
    return Disparities(geo, demo, sentence, note)


def summary_frame(d: Disparities) -> pd.DataFrame:
    """One long table (what `--summary-out` writes): group rows, then district rows."""
    demo = d.demographic.rename(columns={"group": "baseline"}).assign(score_type="demographic", leaid=None,
                                                                     name=None, score_unit="percentage points")
    geo = d.geographic.assign(score_type="geographic", score_unit="share (0-1)")
    cols = ["score_type", "leaid", "name", "baseline", "label", "access_weighted_pct", "overall_pct",
            "supply_share", "baseline_share", "score", "score_unit", "se", "lower", "upper", "level", "significant",
            "finding"]
    return pd.concat([demo, geo], ignore_index=True).reindex(columns=cols)


def _units(points, frames, kind):
    """Per demand point: children, access weight, each group's count and percent, and their SEs."""
    total = points["total"].to_numpy(dtype=float)
    access = points["access"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        weighted = np.where((total > 0) & np.isfinite(access), total * access, 0.0)
    out = pd.DataFrame({"leaid": points["leaid"].to_numpy(dtype=object), "total": total, "weighted": weighted})
    measures = None
    if kind == "districts":
        measures = frames.districts.drop_duplicates("leaid").set_index("leaid").reindex(out["leaid"])
        out["total_se"] = np.nan  # SAIPE: no MOE
        out["acs_children"] = measures["acs_children"].to_numpy(dtype=float)
        out["acs_children_se"] = measures["acs_children_moe"].to_numpy(dtype=float) / equity.MOE_Z
    else:
        out["total_se"] = 0.0 if kind == "schools" else np.nan
    for g in access_report.NEED_GROUPS[kind]:
        count = points[g].to_numpy(dtype=float)
        out[g] = count
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"pct_{g}"] = np.where(total > 0, 100.0 * count / total, np.nan)
        if kind == "districts":
            moe_col = _DISTRICT_PCT[g][1]
            pct_se = (measures[moe_col].to_numpy(dtype=float) / equity.MOE_Z if moe_col
                      else np.full(len(out), np.nan))
            out[f"pct_{g}_se"] = pct_se
            out[f"{g}_se"] = total * pct_se / 100.0
        else:
            out[f"pct_{g}_se"] = out[f"{g}_se"] = 0.0 if kind == "schools" else np.nan
    return out


def _per_district(units, table, groups, supply):
    """Per district of the table: supply and each baseline's count with its SE (root sum of squares)."""
    frame = units[units["leaid"].notna()]
    count_cols = ["total", *groups] + (["acs_children"] if "acs_children" in frame else [])
    parts = {"weighted": frame["weighted"]}
    for c in count_cols:  # a district's count (or SE) is known only if every point's is
        parts[c] = frame[c].fillna(0.0)
        parts[f"{c}_missing"] = frame[c].isna()
        parts[f"{c}_var"] = (frame[f"{c}_se"] ** 2).fillna(0.0)
        parts[f"{c}_var_missing"] = frame[f"{c}_se"].isna()
    agg = pd.DataFrame(parts).groupby(frame["leaid"].to_numpy()).sum()
    per = table[["leaid", "sites", "seats_known"]].merge(agg, left_on="leaid", right_index=True, how="inner")
    per["supply"] = {"access": per["weighted"], "sites": per["sites"], "seats": per["seats_known"]}[supply]
    per["supply"] = per["supply"].fillna(0.0)
    for c in count_cols:
        per[c] = per[c].where(per[f"{c}_missing"] == 0)
        per[f"{c}_se"] = np.sqrt(per[f"{c}_var"]).where(per[f"{c}_var_missing"] == 0)
    return per.reset_index(drop=True)
