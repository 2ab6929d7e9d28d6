"""Cohorts: a handful of districts (any states) compared side by side and in total.

Pure functions over the frames the store returns. Totals follow the data's rules: students
enrolled add up across every member (each student enrols in one district), but children living
in a district are only added over unified and elementary members, which tile a state — a
secondary district overlays elementary ones, so adding its children would count them twice.
Pods are counted once each, even when a pod lies in a member elementary and a member secondary
district.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from podgeo import matching, sheets

TILING = ("unified", "elementary")
#: columns of the side-by-side table, in order, with their headers
COLUMNS = {"leaid": "LEAID", "name": "District", "state": "State", "layer": "Layer", "enrollment": "Students enrolled",
           "children_5_17": "Children 5-17", "children_poverty": "Children in poverty",
           "pct_poverty": "% children in poverty", "pods": "Pods", "seats": "Seats (known)",
           "pods_unknown_capacity": "Pods with no capacity", "seats_per_1000": "Seats per 1,000 children"}


def summary(members: pd.DataFrame, pods: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """One row per member district and a last "Total" row (see the module note for what adds up).

    `members`: districts (leaid, name, state, layer, enrollment, children_5_17, children_poverty);
    `pods`: pods already filtered (pod_id, capacity); `links`: which district(s) each pod lies in.
    """
    for col in ("leaid", "name", "state", "layer", "enrollment", "children_5_17", "children_poverty"):
        if col not in members.columns:
            raise ValueError(f"members has no column {col!r} (columns: {list(members.columns)})")
    base = pd.DataFrame(members[["leaid", "name", "state", "layer"]]).reset_index(drop=True)
    for col in ("enrollment", "children_5_17", "children_poverty"):
        base[col] = pd.to_numeric(members[col], errors="coerce").to_numpy(dtype=float)
    placed = _placed(pods, links, base["leaid"])
    per = placed.groupby("leaid").agg(pods=("pod_id", "nunique"), seats=("capacity", "sum"),
                                      pods_unknown_capacity=("capacity", lambda c: int(c.isna().sum())))
    base = base.merge(per, left_on="leaid", right_index=True, how="left")
    base[["pods", "pods_unknown_capacity"]] = base[["pods", "pods_unknown_capacity"]].fillna(0).astype(int)
    base["seats"] = base["seats"].fillna(0.0)
    total = _total(base, placed)
    out = pd.concat([base, pd.DataFrame([total])], ignore_index=True)
    out["pct_poverty"] = _ratio(out["children_poverty"], out["children_5_17"], 100)
    out["seats_per_1000"] = _ratio(out["seats"], out["children_5_17"], 1000)
    out.loc[out.index[-1], "seats_per_1000"] = total["seats_per_1000"]  # pods in the tiling members only
    return out[list(COLUMNS)]


def notes(members: pd.DataFrame) -> list[str]:
    """What the total row adds up, in words, for under the table."""
    tiling = members["layer"].isin(TILING)
    out = [f"Students enrolled: all {len(members)} districts. Children and children in poverty: the "
           f"{int(tiling.sum())} unified and elementary districts only."]
    if (~tiling).any():
        out.append(f"{int((~tiling).sum())} secondary district(s) overlay elementary districts; their children are "
                   "not added to the total, so nobody is counted twice.")
    out.append("Pods and seats: each pod counted once, even when it lies in two member districts. Seats per 1,000 "
               "children (total): seats of pods in the unified and elementary members over their children.")
    return out


@dataclass(frozen=True)
class SheetMembers:
    """Districts read from a sheet: `leaids` found for sure, `matches` (names only) for the user to
    settle, and `errors` (row, column, message) for cells that name no district."""

    leaids: tuple[str, ...]
    matches: matching.Matches | None
    errors: tuple[str, ...]

    @property
    def ambiguous(self) -> pd.DataFrame:
        """row, name, state, candidates: the names that fit several districts (empty for LEAIDs)."""
        if self.matches is None:
            return pd.DataFrame(columns=["row", "name", "state", "candidates"])
        return self.matches.ambiguous


def from_sheet(raw: sheets.RawSheet, districts: pd.DataFrame, *, states: pd.DataFrame | None = None) -> SheetMembers:
    """The districts a sheet lists: by a LEAID column, else by district name (+ state) columns,
    else by its first column (LEAIDs when most cells are, names otherwise)."""
    sheets.check_district_sheet(raw)
    keys = matching.key_columns(raw.columns)
    rows = [(n, c) for n, c in raw.records() if any(v.strip() for v in c.values())]
    if not keys["leaid"] and not keys["name"]:
        first = raw.columns[0]
        looks_like_ids = sum(matching.clean_leaid(c[first]) is not None for _, c in rows) >= 0.8 * max(len(rows), 1)
        keys["leaid" if looks_like_ids else "name"] = first
    if keys["leaid"]:
        known, found, errors = set(districts["leaid"].astype(str)), [], []
        col = keys["leaid"]
        for number, cells in rows:
            leaid = matching.clean_leaid(cells[col])
            if leaid is None:
                errors.append(f"row {number}, column '{col}': '{cells[col]}' is not a 7-digit NCES LEAID")
            elif leaid not in known:
                errors.append(f"row {number}, column '{col}': no district with LEAID {leaid} in the store")
            else:
                found.append(leaid)
        return SheetMembers(tuple(dict.fromkeys(found)), None, tuple(errors))
    name_col, state_col = keys["name"], keys["state"]
    found = matching.match_districts([(c[name_col], c[state_col] if state_col else None) for _, c in rows],
                                     districts, states=states, rows=[n for n, _ in rows])
    errors = tuple(f"row {r.row}, column '{name_col}': {r.reason}" for r in found.unmatched.itertuples())
    return SheetMembers(tuple(dict.fromkeys(found.matched["leaid"])), found, errors)


# ---------------------------------------------------------------------------------------------


def _placed(pods: pd.DataFrame, links: pd.DataFrame, leaids: pd.Series) -> pd.DataFrame:
    placed = links[links["leaid"].isin(set(leaids))][["pod_id", "leaid"]]
    capacity = pd.DataFrame({"pod_id": pods["pod_id"].to_numpy(),
                             "capacity": pd.to_numeric(pods["capacity"], errors="coerce").to_numpy(dtype=float)})
    return placed.merge(capacity, on="pod_id", how="inner")


def _total(base: pd.DataFrame, placed: pd.DataFrame) -> dict:
    tiling = base[base["layer"].isin(TILING)]
    distinct = placed.drop_duplicates("pod_id")
    in_tiling = placed[placed["leaid"].isin(set(tiling["leaid"]))].drop_duplicates("pod_id")
    states = ", ".join(sorted(base["state"].dropna().unique()))
    return {"leaid": "", "name": f"Total ({len(base)} districts)", "state": states, "layer": "",
            "enrollment": base["enrollment"].sum(min_count=1),
            "children_5_17": tiling["children_5_17"].sum(min_count=1),
            "children_poverty": tiling["children_poverty"].sum(min_count=1),
            "pods": int(distinct["pod_id"].nunique()), "seats": float(distinct["capacity"].sum()),
            "pods_unknown_capacity": int(distinct["capacity"].isna().sum()),
            "seats_per_1000": _ratio(pd.Series([in_tiling["capacity"].sum()]),
                                     pd.Series([tiling["children_5_17"].sum(min_count=1)]), 1000).iloc[0]}


def _ratio(numerator: pd.Series, denominator: pd.Series, scale: float) -> pd.Series:
    num = pd.to_numeric(numerator, errors="coerce").astype(float)
    den = pd.to_numeric(denominator, errors="coerce").astype(float)
    return pd.Series(np.where(den > 0, num / den.where(den > 0) * scale, np.nan), index=numerator.index)
