"""Disparity scores with intervals, after the Urban Institute's Spatial Equity Data Tool (SEDT).

SEDT (UrbanInstitute/ui-equity-tool, scripts/lambda/equity-calculations/equity_calculations.py)
asks two questions of a set of sites; podgeo asks them of access:

* geographic disparity, per district: its share of the supply (sites, seats or access-weighted
  children) minus its share of a baseline (children, or children in one need group). Below 0 the
  district gets less than its share (shortfall), above 0 more (surplus). As in SEDT
  (`append_geo_disparity_score_and_sig_diff`) the supply is an exact count and the uncertainty is the
  baseline share's: the Census Bureau's formula for a proportion of a derived sum (ACS handbook
  ch. 8, eqs. 2-3: SE(Y) = sqrt(sum SE(X_i)^2); SE(p) = sqrt(SE(X)^2 - p^2 SE(Y)^2) / Y, with the
  ratio formula's + when the radicand is negative, where SEDT gives NaN).
* demographic disparity, per group: the access-weighted mix (the group's percent among children,
  each weighted by the access it has) minus the overall mix. SEDT's score exactly; its SE treats
  the weights as constants (ACS handbook formula 1, as SEDT does). Unlike SEDT, which adds the
  overall margin to the weighted one as if independent (and mixes an SE with an MOE, its own TODO
  says), the difference is taken district by district, sum (a_i - c_i) x pct_i, so the shared
  estimates cancel: SE = sqrt(sum ((a_i - c_i) SE(pct_i))^2).

A margin of error (MOE, 90 %) becomes an SE by dividing by 1.645. An input with no published MOE
(SAIPE poverty and children; tract counts from MTC) has SE NaN: its interval is unknown and its
finding "not assessed", never "significant" or zero-width. An administrative count (school
enrollment) has SE 0: no sampling error. Significant means the interval at the chosen level (90 %,
z = 1.645, the ACS convention; 95 %, z = 1.96, SEDT's) excludes 0.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

Z = {90: 1.645, 95: 1.96}
MOE_Z = 1.645  # ACS margins of error are published at 90 %
FINDINGS = ("shortfall", "surplus", "not significant", "not assessed (no margin of error)")


def z_value(level: int) -> float:
    """1.645 at 90 %, 1.96 at 95 %; ValueError for any other level."""
    if level not in Z:
        raise ValueError(f"confidence level {level!r} must be one of {sorted(Z)}")
    return Z[level]


def share_se(counts, ses) -> np.ndarray:
    """SE of each count's share of their sum (Census proportion of a derived sum); NaN where SE unknown."""
    x = np.asarray(counts, dtype=float)
    se = np.asarray(ses, dtype=float)
    total = x.sum()
    if total <= 0:
        return np.full(len(x), np.nan)
    se_total = np.sqrt(np.sum(se**2))  # NaN if any SE is unknown: then every share's SE is
    p = x / total
    radicand = se**2 - p**2 * se_total**2
    radicand = np.where(radicand < 0, se**2 + p**2 * se_total**2, radicand)  # the ratio formula
    return np.sqrt(radicand) / total


def mix_se(weights, pct_se) -> float:
    """SE of sum(w_i pct_i) with the weights constant: sqrt(sum (w_i SE_i)^2) (ACS formula 1)."""
    w = np.asarray(weights, dtype=float)
    se = np.asarray(pct_se, dtype=float)
    used = w != 0
    return float(np.sqrt(np.sum((w[used] * se[used]) ** 2)))


def geographic_scores(frame: pd.DataFrame, *, supply_col: str, baselines: Mapping[str, tuple[str, str | None]],
                      level: int = 90, id_col: str = "leaid") -> pd.DataFrame:
    """One row per district and baseline: supply share, baseline share, score, SE, interval, finding.

    `baselines` maps a name to (count column, SE column or None); an SE column may hold NaN (no
    MOE) or 0 (an exact count). Shares are fractions (0-1); score = supply share - baseline share.
    """
    z = z_value(level)
    _require(frame, [id_col, supply_col, *[c for c, _ in baselines.values()],
                     *[s for _, s in baselines.values() if s]])
    supply = _counts(frame[supply_col], supply_col)
    total = supply.sum()
    if not total > 0:
        raise ValueError(f"{supply_col}: total supply is {total:g}; a disparity score needs some supply")
    supply_share = supply / total
    parts = []
    for name, (count_col, se_col) in baselines.items():
        counts = _counts(frame[count_col], count_col, keep_missing=True)
        se = frame[se_col].to_numpy(dtype=float) if se_col else np.full(len(frame), np.nan)
        known = np.isfinite(counts)  # a district with no estimate has no share (not a share of 0)
        if counts[known].sum() <= 0:
            raise ValueError(f"baseline {name!r} ({count_col}) sums to 0; it has no share to compare with")
        share = np.full(len(frame), np.nan)
        share_err = np.full(len(frame), np.nan)
        share[known] = counts[known] / counts[known].sum()
        share_err[known] = share_se(counts[known], se[known])
        score = supply_share - share
        parts.append(pd.DataFrame({
            id_col: frame[id_col].to_numpy(), "baseline": name, "supply_share": supply_share,
            "baseline_share": share, "score": score, "se": share_err,
            "lower": score - z * share_err, "upper": score + z * share_err,
            "significant": _significant(score, share_err, z),
            "finding": np.where(known, _findings(score, share_err, z), "no data"),
        }))
    out = pd.concat(parts, ignore_index=True)
    out["level"] = level
    return out


def demographic_scores(frame: pd.DataFrame, *, access_weight_col: str, total_col: str,
                       groups: Mapping[str, tuple[str, str | None]], level: int = 90) -> pd.DataFrame:
    """One row per group: access-weighted percent, overall percent, score (points), SE, interval, finding.

    Rows are units (districts or demand points); `access_weight_col` is each unit's children
    times its access, `total_col` its children; `groups` maps a group to (percent column 0-100,
    percent-SE column or None). Units without a percent for a group are left out of that group.
    """
    z = z_value(level)
    _require(frame, [access_weight_col, total_col, *[c for c, _ in groups.values()],
                     *[s for _, s in groups.values() if s]])
    rows = []
    for name, (pct_col, se_col) in groups.items():
        pct = frame[pct_col].to_numpy(dtype=float)
        known = np.isfinite(pct)
        weight = _counts(frame[access_weight_col], access_weight_col)[known]
        total = _counts(frame[total_col], total_col)[known]
        p = pct[known]
        se = frame[se_col].to_numpy(dtype=float)[known] if se_col else np.full(len(p), np.nan)
        if not (weight.sum() > 0 and total.sum() > 0):
            rows.append({"group": name, "access_weighted_pct": np.nan, "overall_pct": np.nan, "score": np.nan,
                         "se": np.nan, "units": int(known.sum())})
            continue
        a, c = weight / weight.sum(), total / total.sum()
        rows.append({"group": name, "access_weighted_pct": float(a @ p), "overall_pct": float(c @ p),
                     "score": float((a - c) @ p), "se": mix_se(a - c, se), "units": int(known.sum())})
    out = pd.DataFrame(rows, columns=["group", "access_weighted_pct", "overall_pct", "score", "se", "units"])
    score, se = out["score"].to_numpy(dtype=float), out["se"].to_numpy(dtype=float)
    out["lower"], out["upper"] = score - z * se, score + z * se
    out["significant"] = _significant(score, se, z)
    out["finding"] = np.where(np.isnan(score), "no data", _findings(score, se, z, low="under-served",
                                                                       high="over-served"))
    out["level"] = level
    return out


def in_words(geo: pd.DataFrame, demo: pd.DataFrame, labels: Mapping[str, str] | None = None) -> str:
    """One paragraph saying what is and is not significant (districts for the first baseline, then groups)."""
    labels = dict(labels or {})
    level = int(geo["level"].iloc[0]) if len(geo) else int(demo["level"].iloc[0]) if len(demo) else 90
    parts = []
    if len(geo):
        first = geo["baseline"].iloc[0]
        part = geo[geo["baseline"] == first]
        n = part["finding"].value_counts()
        base = labels.get(first, first)
        if n.get(FINDINGS[3], 0) == len(part):
            parts.append(f"District shares of {base} have no published margin of error, so no district's gap can "
                         "be tested.")
        else:
            parts.append(f"Against their share of {base}, {n.get('shortfall', 0):,} of {len(part):,} districts have "
                         f"a significant shortfall and {n.get('surplus', 0):,} a significant surplus at {level} %; "
                         f"{n.get('not significant', 0):,} {'differs' if n.get('not significant', 0) == 1 else 'differ'} by no "
                         "more than the estimates' uncertainty"
                         + (f" and {n.get(FINDINGS[3], 0):,} cannot be tested" if n.get(FINDINGS[3], 0) else "")
                         + ".")
    for finding, verb in (("under-served", "get significantly less access than children overall"),
                          ("over-served", "get significantly more access than children overall")):
        names = [labels.get(g, g) for g in demo.loc[demo["finding"] == finding, "group"]]
        if names:
            parts.append(f"{_join(names)} {verb}.")
    quiet = [labels.get(g, g) for g in demo.loc[demo["finding"] == "not significant", "group"]]
    if quiet:
        parts.append(f"For {_join(quiet)} the gap is within the margin of error (not significant).")
    untested = [labels.get(g, g) for g in demo.loc[demo["finding"] == FINDINGS[3], "group"]]
    if untested:
        parts.append(f"{_join(untested)}: no margin of error in the source, so the gap is shown but not tested.")
    return " ".join(parts)


def _significant(score, se, z):
    """True/False where the SE is known, <NA> where it is not (boolean with missing values)."""
    score, se = np.asarray(score, dtype=float), np.asarray(se, dtype=float)
    flag = pd.array(np.abs(score) >= z * se, dtype="boolean")
    flag[np.isnan(se) | np.isnan(score)] = pd.NA
    zero = (se == 0) & (score == 0)
    flag[zero] = False
    return flag


def _findings(score, se, z, *, low="shortfall", high="surplus"):
    flag = _significant(score, se, z)
    score = np.asarray(score, dtype=float)
    out = np.where(score < 0, low, high).astype(object)
    missing = np.asarray(flag.isna(), dtype=bool)
    out[~np.asarray(flag.fillna(True), dtype=bool)] = "not significant"
    out[missing] = FINDINGS[3]
    return out


def _counts(series: pd.Series, column: str, *, keep_missing: bool = False) -> np.ndarray:
    """Counts as floats; a missing supply count is 0 (nothing placed), a missing baseline stays NaN."""
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    if not keep_missing:
        values = np.where(np.isnan(values), 0.0, values)
    if (values < 0).any():
        raise ValueError(f"column {column!r} has a negative value ({values.min():g}); counts must be >= 0")
    return values


def _require(frame: pd.DataFrame, columns) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing}; found {list(frame.columns)}")


def _join(names: list[str]) -> str:
    """'A', 'B' and 'C', later names lower-cased at the start as they run on in a sentence."""
    names = [names[0]] + [n if n.startswith("English") else n[:1].lower() + n[1:] for n in names[1:]]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
