"""Cohorts: a handful of districts (any states) compared side by side and in total.

Pure functions over the frames the store returns. Totals follow the data's rules: students
enrolled add up across every member (each student enrols in one district), but children living
in a district are only added over unified and elementary members, which tile a state — a
secondary district overlays elementary ones, so adding its children would count them twice.
Pods are counted once each, even when a pod lies in a member elementary and a member secondary
district. A charter network joins as one named group of its LEAs (one per campus, sometimes in
two states); every LEA is a member once, however many groups or picks name it.

A viewer's cohort lives in the page's URL (`?members=0601234,0612345&groups=Name:4200144.4200145`),
read back here with every part checked; only staff save a named cohort in the store.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from podgeo import matching, sheets

TILING = ("unified", "elementary")
#: columns of the side-by-side table, in order, with their headers
COLUMNS = {"leaid": "LEAID", "name": "District", "state": "State", "layer": "Layer", "group": "Group",
           "enrollment": "Students enrolled",
           "children_5_17": "Children 5-17", "children_poverty": "Children in poverty",
           "pct_poverty": "% children in poverty", "pods": "Pods", "seats": "Seats (known)",
           "pods_unknown_capacity": "Pods with no capacity", "seats_per_1000": "Seats per 1,000 children"}


def summary(members: pd.DataFrame, pods: pd.DataFrame, links: pd.DataFrame,
            groups: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """One row per member district, a subtotal row per group, and a last "Total" row (see the
    module note for what adds up); a district listed twice counts once.

    `members`: districts (leaid, name, state, layer, enrollment, children_5_17, children_poverty);
    `pods`: pods already filtered (pod_id, capacity); `links`: which district(s) each pod lies in;
    `groups`: group name -> its LEAIDs (a charter network), shown in a "group" column.
    """
    for col in ("leaid", "name", "state", "layer", "enrollment", "children_5_17", "children_poverty"):
        if col not in members.columns:
            raise ValueError(f"members has no column {col!r} (columns: {list(members.columns)})")
    members = pd.DataFrame(members).drop_duplicates("leaid")
    base = pd.DataFrame(members[["leaid", "name", "state", "layer"]]).reset_index(drop=True)
    for col in ("enrollment", "children_5_17", "children_poverty"):
        base[col] = pd.to_numeric(members[col], errors="coerce").to_numpy(dtype=float)
    group_of = {leaid: name for name, leaids in (groups or {}).items() for leaid in leaids}
    base["group"] = [group_of.get(v, "") for v in base["leaid"]]
    placed = _placed(pods, links, base["leaid"])
    per = placed.groupby("leaid").agg(pods=("pod_id", "nunique"), seats=("capacity", "sum"),
                                      pods_unknown_capacity=("capacity", lambda c: int(c.isna().sum())))
    base = base.merge(per, left_on="leaid", right_index=True, how="left")
    base[["pods", "pods_unknown_capacity"]] = base[["pods", "pods_unknown_capacity"]].fillna(0).astype(int)
    base["seats"] = base["seats"].fillna(0.0)
    unbounded = ~_bounded(members)  # pods are placed by boundary: for an agency without one they are not known
    if unbounded.any():
        for col in ("pods", "pods_unknown_capacity", "seats"):
            base[col] = base[col].astype(float).where(~unbounded, np.nan)
    subtotals = []
    for name in groups or {}:
        part = base[base["group"] == name]
        if len(part):
            row = _total(part, placed[placed["leaid"].isin(set(part["leaid"]))])
            subtotals.append({**row, "name": f"{name} (group of {len(part)} LEAs)", "group": name})
    total = {**_total(base, placed), "group": ""}
    out = pd.concat([base, pd.DataFrame(subtotals + [total])], ignore_index=True)
    out["pct_poverty"] = _ratio(out["children_poverty"], out["children_5_17"], 100)
    out["seats_per_1000"] = _ratio(out["seats"], out["children_5_17"], 1000)
    for i, row in enumerate(subtotals + [total]):  # pods in the tiling members only
        out.loc[len(base) + i, "seats_per_1000"] = row["seats_per_1000"]
    return out[list(COLUMNS)]


def notes(members: pd.DataFrame) -> list[str]:
    """What the total row adds up, in words, for under the table."""
    members = pd.DataFrame(members).drop_duplicates("leaid")
    tiling, secondary = members["layer"].isin(TILING), members["layer"] == "secondary"
    other = ~tiling & ~secondary
    out = [f"Students enrolled: all {len(members)} districts. Children and children in poverty: the "
           f"{int(tiling.sum())} unified and elementary districts only."]
    if secondary.any():
        out.append(f"{int(secondary.sum())} secondary district(s) overlay elementary districts; their children are "
                   "not added to the total, so nobody is counted twice.")
    if other.any():
        out.append(f"{int(other.sum())} agency(ies) without a boundary (charter LEAs, state or specialised agencies): "
                   "their students are added; they have no children of their own (their students live in the "
                   "districts around them).")
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


#: how each column of `summary` is shown: unit after the number; unknown is "not known", never 0
UNITS = {"enrollment": "students", "children_5_17": "children", "children_poverty": "children", "pct_poverty": "%",
         "pods": "pods", "seats": "seats", "pods_unknown_capacity": "pods", "seats_per_1000": "per 1,000 children"}
#: most members a link may hold, and the longest group name
MAX_MEMBERS = 500
MAX_GROUP_NAME = 80


def display(table: pd.DataFrame) -> pd.DataFrame:
    """`summary` as text for a page: every figure with its unit and separators ("51,790 students",
    "10.8 %"), "not known" where the data has no value, headers from COLUMNS."""
    out = table.copy().astype(object)
    for col, unit in UNITS.items():
        if col in out.columns:
            out[col] = [_figure(v, unit) for v in table[col]]
    out["layer"] = [f"{layer}, no boundary" if layer and layer not in ("unified", "elementary", "secondary")
                    and "no boundary" not in layer else layer for layer in table["layer"].fillna("")]
    return out.rename(columns=COLUMNS)


def _figure(value, unit: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "not known"
    if math.isnan(number):
        return "not known"
    if unit == "%":
        return f"{number:.1f} %"
    if unit == "per 1,000 children":
        return f"{number:,.2f} {unit}"
    return f"{number:,.0f} {unit}"


@dataclass(frozen=True)
class LinkCohort:
    """A cohort read from a URL: members (LEAIDs, in order), groups (name -> LEAIDs) and notices
    for every part that was left out and why (shown to the viewer; never an exception)."""

    members: tuple[str, ...] = ()
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notices: tuple[str, ...] = ()

    def query(self) -> dict[str, str]:
        """The URL parameters that reopen this cohort."""
        out = {"members": ",".join(self.members)} if self.members else {}
        if self.groups:
            out["groups"] = ";".join(f"{name}:{'.'.join(ids)}" for name, ids in self.groups.items())
        return out

    def add(self, leaids, group: str | None = None) -> "LinkCohort":
        """This cohort with `leaids` added once each (as a named group when `group` is given)."""
        members = tuple(dict.fromkeys([*self.members, *leaids]))[:MAX_MEMBERS]
        groups = dict(self.groups)
        if group:
            groups[_group_name(group)] = tuple(dict.fromkeys(v for v in leaids if v in members))
        return LinkCohort(members, groups, ())

    def remove(self, leaid: str) -> "LinkCohort":
        groups = {n: tuple(v for v in ids if v != leaid) for n, ids in self.groups.items()}
        return LinkCohort(tuple(v for v in self.members if v != leaid), {n: ids for n, ids in groups.items() if ids})


def from_link(members: str | None, groups: str | None, known) -> LinkCohort:
    """The cohort in `?members=` (comma-separated LEAIDs) and `?groups=` (name:LEAID.LEAID;...),
    keeping only LEAIDs of districts in `known`; what is left out is said in `notices`."""
    known = set(known)
    notices, found = [], []
    parts = [p.strip() for p in str(members or "").split(",") if p.strip()]
    bad = [p for p in parts if matching.clean_leaid(p) is None]
    absent = [p for p in parts if matching.clean_leaid(p) is not None and matching.clean_leaid(p) not in known]
    found = [matching.clean_leaid(p) for p in parts if matching.clean_leaid(p) in known]
    if bad:
        notices.append(f"{len(bad)} part(s) of the link are not 7-digit LEAIDs and were left out: "
                       + ", ".join(repr(p[:20]) for p in bad[:5]))
    if absent:
        notices.append(f"{len(absent)} LEAID(s) in the link are not districts in this store: " + ", ".join(absent[:5]))
    read: dict[str, tuple[str, ...]] = {}
    for chunk in (c for c in str(groups or "").split(";") if c.strip()):
        name, sep, ids = chunk.rpartition(":")
        leaids = [matching.clean_leaid(v) for v in ids.split(".")]
        if not sep or not name.strip() or not all(leaids) or not set(leaids) <= known:
            notices.append(f"a group in the link could not be read and was left out: {chunk[:40]!r}")
            continue
        read[_group_name(name)] = tuple(dict.fromkeys(leaids))
        found += leaids
    members_found = tuple(dict.fromkeys(found))
    if len(members_found) > MAX_MEMBERS:
        notices.append(f"the link holds {len(members_found):,} districts; only the first {MAX_MEMBERS} are shown")
        members_found = members_found[:MAX_MEMBERS]
    return LinkCohort(members_found, read, tuple(notices))


def _group_name(name: str) -> str:
    """A group name as shown: one line, no separators of the link format, at most MAX_GROUP_NAME."""
    return re.sub(r"[;:]", " ", " ".join(str(name).split()))[:MAX_GROUP_NAME].strip() or "Group"


def members_map(members, states, pods=None, *, tiles: str | None = "env"):
    """The cohort's districts with a boundary, bold, over the outlines of the states they are in;
    None when no member has a boundary. No user text goes into the map (its title is fixed)."""
    import folium

    from podgeo import maps

    drawn = members[members.geometry.notna() & ~members.geometry.is_empty]
    if drawn.empty:
        return None
    m = maps.district_outlines(drawn, label="Cohort members", tiles=tiles)
    outlines = states[states["state"].isin(set(members["state"]))][["state", "geometry"]]
    if len(outlines):
        folium.GeoJson(outlines.to_crs("EPSG:4326").__geo_interface__, name="State outlines", control=False,
                       style_function=lambda _: {"color": "#252525", "weight": 1.5, "fill": False,
                                                 "interactive": False}).add_to(m)
    if pods is not None:
        maps.add_pods(m, pods)
    return m


# ---------------------------------------------------------------------------------------------


def _bounded(members: pd.DataFrame) -> np.ndarray:
    """Which members have a boundary polygon (`has_boundary` from the store, else a geometry)."""
    if "has_boundary" in members.columns:
        return pd.to_numeric(members["has_boundary"], errors="coerce").fillna(1).to_numpy() > 0
    if "geometry" in members.columns:
        geometry = gpd.GeoSeries(members["geometry"])
        return (geometry.notna() & ~geometry.is_empty).to_numpy()
    return np.ones(len(members), dtype=bool)


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
            **({"pods": int(distinct["pod_id"].nunique()), "seats": float(distinct["capacity"].sum()),
                "pods_unknown_capacity": int(distinct["capacity"].isna().sum())} if base["pods"].notna().any() else
               {"pods": np.nan, "seats": np.nan, "pods_unknown_capacity": np.nan}),  # no member has a boundary
            "seats_per_1000": _ratio(pd.Series([in_tiling["capacity"].sum()]),
                                     pd.Series([tiling["children_5_17"].sum(min_count=1)]), 1000).iloc[0]}


def _ratio(numerator: pd.Series, denominator: pd.Series, scale: float) -> pd.Series:
    num = pd.to_numeric(numerator, errors="coerce").astype(float)
    den = pd.to_numeric(denominator, errors="coerce").astype(float)
    return pd.Series(np.where(den > 0, num / den.where(den > 0) * scale, np.nan), index=numerator.index)


def labels(districts: pd.DataFrame) -> dict[str, str]:
    """LEAID -> "name — state (LEAID …)": how the pickers name a district, its state telling namesakes apart."""
    return dict(zip(districts["leaid"], districts["name"] + " — " + districts["state"]
                    + " (LEAID " + districts["leaid"] + ")"))


def member_pods(pods: pd.DataFrame, links: pd.DataFrame, leaids) -> pd.DataFrame:
    """The pods lying in any of these districts (by the store's pod-district links), each once."""
    inside = set(links.loc[links["leaid"].isin(set(leaids)), "pod_id"])
    return pods[pods["pod_id"].isin(inside)]
