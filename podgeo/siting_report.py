"""Where to add hubs, for the page and the shell: one call turns store frames and choices into the picks.

`site_table` is what the "Where to add hubs" page shows and what `python -m podgeo site` writes,
so the two cannot disagree. It only orchestrates: demand points, sites and pods come from the
Coverage page's own `access_report.coverage_table` (same points, same pod filters, same
districts), the optimisation from `podgeo.siting`.
"""
from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from podgeo import access_report as ar
from podgeo import exports, filters, geo, siting, travel_times

#: Candidate kinds: the store's point layers, plus points a user clicks or uploads.
CANDIDATE_KINDS = {"libraries": "Public library outlets", "schools": "Public schools",
                   "clicked": "Points clicked on the map", "upload": "Uploaded CSV (name, lat, lon)"}
STORE_KINDS = ("libraries", "schools")
#: Need groups per demand kind: the Coverage page's, plus everyone.
GROUPS = {kind: (*groups, "total") for kind, groups in ar.NEED_GROUPS.items()}
AREAS = {"state": "The whole state", "districts": "Chosen districts", "cohort": "A cohort's districts (in this state)"}
MAX_POINTS = 50  # clicked points kept in a URL
MAX_NEW = ar.MAX_HUBS  # every pick must fit in Coverage's ?hubs=
PICK_COLUMNS = ["pick", "site", "kind", "site_id", "district", "leaid", "lat", "lon", "newly_covered",
                "cumulative_covered", "cumulative_share"]


@dataclass(frozen=True)
class Choices:
    """Everything that decides the picks; frozen so it can key a cache and round-trip a URL."""

    state: str | None
    demand: str = "schools"
    group: str = "low_income"
    candidates: tuple[str, ...] = ("libraries",)
    radius_miles: float = 5.0
    n_new: int = 10
    leaids: tuple[str, ...] | None = None  # the area: these districts (None = the whole state)
    area_label: str = ""
    time_limit: float = siting.DEFAULT_TIME_LIMIT
    pod_filter: filters.PodFilter = field(default_factory=filters.PodFilter)
    points: tuple[tuple[str, float, float], ...] = ()  # clicked or uploaded candidates: (name, lon, lat)
    points_kind: tuple[str, ...] = ()  # "clicked" or "upload", one per point

    def to_query(self) -> dict[str, str]:
        """The page's URL parameters (clicked points included; an upload is not, it lives in the session)."""
        out = {"demand": self.demand, "group": self.group, "candidates": ",".join(self.candidates),
               "radius": f"{self.radius_miles:g}", "new": str(self.n_new)}
        if self.state:
            out["state"] = self.state
        if self.leaids:
            out["districts"] = ",".join(self.leaids)
        if self.time_limit != siting.DEFAULT_TIME_LIMIT:
            out["limit"] = f"{self.time_limit:g}"
        clicked = [(lon, lat) for (_, lon, lat), k in zip(self.points, self.points_kind) if k == "clicked"]
        if clicked:
            out["pts"] = ";".join(f"{lon:.5f},{lat:.5f}" for lon, lat in clicked[:MAX_POINTS])
        return out


@dataclass
class SitingResult:
    """Picks (one row per new hub, in order of what each adds), the MCLP and LSCP answers, and meta."""

    picks: gpd.GeoDataFrame
    mclp: siting.Siting
    lscp: siting.SetCover
    meta: dict
    existing: gpd.GeoDataFrame = field(default_factory=gpd.GeoDataFrame)


def site_table(frames: ar.Frames, choices: Choices, *, travel_times: pd.DataFrame | None = None,
               max_minutes: float | None = None) -> SitingResult:
    """The new hubs that, with every (filtered) existing pod, reach the most children in need.

    Demand points are the Coverage page's for `choices.demand`, weighted by `choices.group`
    ("total" = everyone); points with no count of that group are left out and counted, never
    taken as zero. Candidates are the chosen store layers within the area plus clicked or
    uploaded points; existing pods anywhere in the state count as open. With `travel_times`
    (demand_id/origin_id, site_id/destination_id, minutes) reach is `max_minutes` of travel
    instead of the radius; a pair the table does not list is out of reach.
    """
    if travel_times is not None and not (isinstance(max_minutes, (int, float)) and 0 < max_minutes <= 600):
        raise ValueError(f"max_minutes {max_minutes!r} must be minutes above 0 and at most 600 with a travel-time table")
    c = _check(choices)
    kinds = [k for k in c.candidates if k in STORE_KINDS]
    cov_group = c.group if c.group in ar.NEED_GROUPS[c.demand] else ar.NEED_GROUPS[c.demand][0]
    base = ar.coverage_table(frames, sites=["pods", *kinds], demand=c.demand, method="distance",
                             radius_miles=c.radius_miles, group=cov_group, state=c.state, pod_filter=c.pod_filter)
    districts = _base_districts(frames, c.state)
    points = _area_points(base.points, districts, c.leaids)
    weight = points["total" if c.group == "total" else c.group].astype(float)
    unknown = int(weight.isna().sum())
    points = points[weight.notna()].reset_index(drop=True)
    weight = weight[weight.notna()].to_numpy()
    existing = base.sites[base.sites["kind"] == "pods"].reset_index(drop=True)
    candidates = _candidates(base.sites, c, districts)
    if candidates.empty:
        raise ValueError("no candidate sites in the area: choose libraries, schools, click points or upload a CSV")
    matched = None
    if travel_times is None:
        reach = [siting.within_radius(points, sites, c.radius_miles) for sites in (candidates, existing)]
    else:  # one match over candidates then pods, so the report counts each table id once
        ids = pd.concat([candidates["site_id"], existing["site_id"]], ignore_index=True)
        cover, matched = siting.minutes_cover(points["demand_id"], ids, travel_times, float(max_minutes))
        reach = [cover[:, :len(candidates)].tocsr(), cover[:, len(candidates):].tocsr()]
    instance = siting.Instance(weight, *reach)
    mclp = siting.maximal_cover(instance, c.n_new, time_limit=c.time_limit)
    lscp = siting.set_cover(instance, time_limit=c.time_limit)
    mclp = siting.fewest_for_full_cover(instance, mclp, lscp)
    picks = _picks(candidates, districts, mclp)
    meta = _meta(frames, c, base.meta, mclp, lscp, points=len(points), unknown=unknown, candidates=candidates,
                 existing=len(existing))
    meta["max_minutes"] = None if matched is None else float(max_minutes)
    meta["travel_source"] = None if matched is None else matched.source
    meta["travel_times"] = None if matched is None else {
        "rows": matched.rows, "unmatched_rows": matched.unmatched_rows, "unmatched_origins": matched.unmatched_origins,
        "unmatched_destinations": matched.unmatched_destinations, "demand_without_pairs": matched.demand_without_pairs}
    return SitingResult(picks, mclp, lscp, meta, existing)


def choices_from_query(params: dict, *, state: str | None = None) -> Choices:
    """URL parameters -> Choices; anything malformed falls back to the default (a URL is never trusted)."""
    demand = params.get("demand") if params.get("demand") in ar.DEMAND_KINDS else "schools"
    group = params.get("group") if params.get("group") in GROUPS[demand] else GROUPS[demand][0]
    wanted = [k for k in str(params.get("candidates", "libraries")).split(",") if k in CANDIDATE_KINDS]
    radius = _number(params.get("radius"), 5.0, 0.5, 50.0)
    n_new = int(_number(params.get("new"), 10, 1, MAX_NEW))
    leaids = tuple(v for v in str(params.get("districts", "")).split(",") if v.isalnum() and len(v) == 7) or None
    points = []
    for part in str(params.get("pts", "")).split(";")[:MAX_POINTS]:
        hub = ar.Hub.from_query(f"{part},0")
        if hub is not None:
            points.append((f"Clicked point {len(points) + 1}", hub.lon, hub.lat))
    return Choices(state=state, demand=demand, group=group, candidates=tuple(dict.fromkeys(wanted)) or ("libraries",),
                   radius_miles=radius, n_new=n_new, leaids=leaids, points=tuple(points),
                   time_limit=_number(params.get("limit"), siting.DEFAULT_TIME_LIMIT, 5.0, 600.0),
                   points_kind=("clicked",) * len(points), pod_filter=filters.PodFilter.from_query(params))


def with_upload(choices: Choices, upload: pd.DataFrame | None) -> Choices:
    """Choices plus the rows of an uploaded candidate file (`siting.read_candidates_csv`)."""
    if upload is None or upload.empty:
        return choices
    clicked = [(p, k) for p, k in zip(choices.points, choices.points_kind) if k == "clicked"]
    rows = [(str(r.name), float(r.lon), float(r.lat)) for r in upload.itertuples()]
    return replace(choices, points=tuple(p for p, _ in clicked) + tuple(rows),
                   points_kind=("clicked",) * len(clicked) + ("upload",) * len(rows))


def area_districts(frames: ar.Frames, state: str | None) -> gpd.GeoDataFrame:
    """The unified and elementary districts (no filler) an area is chosen from: they tile the state."""
    return _base_districts(frames, state)


@dataclass(frozen=True)
class Area:
    """The area the sidebar chose: districts (None = the whole state), a label, and its URL parameters."""

    leaids: tuple[str, ...] | None = None
    label: str = ""
    query: dict = field(default_factory=dict)

    @property
    def missing(self) -> bool:
        """Districts or a cohort were asked for, but none of this state's districts are in it."""
        return self.leaids is not None and not self.leaids


def choose_area(area: str, names: dict, *, picked=(), cohort: int | None = None, cohort_name: str = "",
                members=()) -> Area:
    """`area` ("state", "districts", "cohort") and the widgets' values -> the districts to site in.

    `names`: leaid -> name of the state's districts; picked districts or a cohort's members outside
    them are left out (a cohort may span states)."""
    if area == "districts":
        leaids = tuple(v for v in picked if v in names)
        return Area(leaids, "", {"districts": ",".join(leaids)})
    if area == "cohort":
        if cohort is None:
            return Area((), "", {})
        return Area(tuple(v for v in members if v in names), f"cohort {cohort_name}", {"cohort": str(cohort)})
    if area != "state":
        raise ValueError(f"area {area!r} is not one of {list(AREAS)}")
    return Area(None)


def query_index(ids: list, text) -> int:
    """Position of the URL's id (`?cohort=3`) among `ids`, 0 when it is missing or malformed."""
    wanted = int(text) if str(text or "").isdigit() else None
    return ids.index(wanted) if wanted in ids else 0


def add_clicked(points: list, point, candidates) -> bool:
    """Append a map click (lon, lat) to `points` as a named candidate, when clicked points are
    candidates and fewer than MAX_POINTS are kept; True if it was added."""
    if not point or "clicked" not in candidates or len(points) >= MAX_POINTS:
        return False
    points.append((f"Clicked point {len(points) + 1}", round(point[0], 5), round(point[1], 5)))
    return True


def read_upload(data: bytes | None) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """An uploaded candidate CSV -> (rows, None), or (None, one row per bad cell) when it is refused."""
    if data is None:
        return None, None
    try:
        return siting.read_candidates_csv(data), None
    except siting.CandidateFileError as exc:
        return None, error_table(exc)


def read_travel(name: str | None, data: bytes | None) -> tuple[pd.DataFrame | None, str]:
    """An uploaded travel-time table (`travel_times.read_matrix`) -> (matrix, ""), or (None, why not)."""
    if data is None:
        return None, ""
    try:
        return travel_times.read_matrix(name or "travel-times.csv", data), ""
    except ValueError as exc:
        return None, str(exc)


def headline(result: SitingResult) -> list[tuple[str, str, str | None, str]]:
    """The page's four figures as (label, value, delta, help): covered now, with the picks, LSCP, solver."""
    m, s = result.meta, result.mclp
    return [
        (f"{m['group_label']} covered now", f"{m['share_before']:.1%}", None, f"within {_reach(m)} of a pod"),
        (f"With {len(s.chosen)} new hub(s)", f"{m['share_after']:.1%}", _points(m['share_after'] - m['share_before']),
         f"within {_reach(m)}"),
        ("Hubs to reach everyone reachable (LSCP)", "—" if result.lscp.count is None else f"{result.lscp.count:,}",
         None, _lscp_text(result.lscp)),
        ("Solver", "optimal" if s.method == siting.OPTIMAL else "not proven optimal", None,
         f"{s.method}; {s.status}; gap {s.gap}"),
    ]


def _points(change: float) -> str:
    """A change between two shares in percentage points ("+18.4 points"): "+18.4%" would read as a relative rise."""
    return f"{change * 100:+.1f} points"


def error_table(exc: siting.CandidateFileError) -> pd.DataFrame:
    """A refused upload's problems, one row per bad cell (row 1 = the header)."""
    return pd.DataFrame(exc.errors, columns=["row", "column", "problem"]).astype({"row": "Int64"})


def coverage_query(result: SitingResult, *, seats: float = 50.0) -> dict[str, str]:
    """URL parameters that open Coverage on the same state, demand, radius and group, pods as sites,
    distance coverage, and every pick as a hypothetical hub (`hubs=lon,lat,seats;...`)."""
    m = result.meta
    hubs = ";".join(ar.Hub(float(r.lon), float(r.lat), float(seats)).to_query() for r in result.picks.itertuples())
    reach = m["max_minutes"] or m["radius_miles"]  # minutes only count once the same table is uploaded there
    query = {"supply": "pods", "demand": m["demand"], "method": "distance", "radius": f"{reach:g}",
             "group": m["coverage_group"], "hubs": hubs}
    if m["state"]:
        query["state"] = m["state"]
    query.update(m["pod_filter_query_dict"])
    return query


def picks_csv(result: SitingResult) -> bytes:
    """The picks table as CSV (what the page downloads and the CLI writes); names that an upload
    supplies are defused against spreadsheet formula injection."""
    table = pd.DataFrame(result.picks.drop(columns="geometry"))
    for column in ("site", "site_id", "district"):
        table[column] = table[column].map(lambda v: exports.safe_cell(v) if isinstance(v, str) else v)
    return ar.to_csv(table)


def picks_geojson(result: SitingResult) -> bytes:
    """The picks as GeoJSON points (WGS84), same columns as the CSV."""
    return result.picks.to_json(drop_id=True, ensure_ascii=False).encode("utf-8")


def summary_lines(result: SitingResult) -> list[str]:
    """Plain lines: covered before/after, solver status and gap, LSCP's answer (the CLI prints them)."""
    m, s, c = result.meta, result.mclp, result.lscp
    label = m["group_label"]
    gap = "unknown" if s.gap is None else f"{s.gap:.4%}"
    lines = [
        f"{label}: {s.total:,.0f} in {m['demand_points']:,} demand points ({m['area']})",
        f"covered by existing pods within {_reach(m)}: {s.covered_before:,.0f} ({_share(s.covered_before, s.total)})",
        f"covered with {len(s.chosen)} new hub(s): {s.covered_after:,.0f} ({_share(s.covered_after, s.total)}); "
        f"greedy alone: {s.greedy_after:,.0f}",
        f"solver: {m['solver_line']}; status: {s.status}; method: {s.method}; gap: {gap}; {s.seconds:.1f} s",
        f"to reach every reachable child in need (LSCP): {_lscp_text(c)}",
    ]
    if m["unknown_need_points"]:
        lines.append(f"{m['unknown_need_points']:,} demand points have no count of this group and are left out")
    if m.get("travel_times"):
        lines.append(f"travel times: {_travel_text(m)}")
    return lines


def method_note(meta: dict) -> str:
    """How the picks were made (markdown): model, software versions, solver parameters, data."""
    lines = [
        f"**Model:** maximal covering location (MCLP, Church & ReVelle 1974): choose {meta['n_new']} new hub(s) "
        f"among {meta['candidate_count']:,} candidates ({meta['candidate_text']}) to maximise "
        f"{_lower(meta['group_label'])} within {_reach(meta)}, with "
        f"{meta['existing_count']:,} existing pods kept open as predefined facilities"
        + (f" ({meta['pods_filter']})" if meta.get("pods_filter") else "") + ". "
        "Set covering (LSCP, Toregas et al. 1971) gives the fewest new hubs that reach every child in need "
        "whom any candidate or pod can reach.",
        f"**Software:** PySAL spopt {meta['spopt']} (`spopt.locate.MCLP`, `LSCP`) on PuLP {meta['pulp']} with "
        f"{siting.SOLVER}; time limit {meta['time_limit']:g} s, relative gap 0, one thread. Points with identical "
        "coverage are merged and candidates that add nothing dropped first (the optimum is unchanged); "
        f"model: {meta['model_size'].get('rows', 0):,} merged rows x {meta['model_size'].get('useful_candidates', 0):,} "
        "candidates. CBC starts from the greedy answer, so a run stopped by the time limit is never worse than "
        "greedy and reports its bound and gap; with no solution from CBC the greedy answer is shown, labelled. "
        "Picks are numbered by what each adds given the pods and the picks before it; when they already reach "
        "every reachable child, LSCP's (fewer) hubs are listed instead.",
        f"**Demand:** {meta['demand_label']} in {meta['area']}: {meta['demand_points']:,} points"
        + (f"; {meta['unknown_need_points']:,} without a count of this group left out" if meta['unknown_need_points'] else "")
        + ". Coverage only counts sites and pods loaded for this state, so reach stops at its edge.",
        (f"**Reach:** {meta['max_minutes']:g} minutes of travel time (pairs the table does not list are out of "
         f"reach). Table {_md(_travel_text(meta))}." if meta.get("max_minutes") else
         f"**Reach:** {meta['radius_miles']:g} straight-line miles (no travel-time table given)."),
    ]
    if meta.get("vintages"):
        lines.append("**Data:** " + "; ".join(f"{v['title']} ({v['publisher']}, {v['vintage']})"
                                              for v in meta["vintages"]))
    return "\n\n".join(lines)


def cli_command(meta: dict) -> str:
    """The shell command that gives the same picks (`python -m podgeo site ...`)."""
    store_kinds = [k for k in meta["candidates"] if k in STORE_KINDS]
    reach = (["--travel-times", shlex.quote(str(meta["travel_source"])), "--max-minutes", f"{meta['max_minutes']:g}"]
             if meta.get("max_minutes") else ["--radius-miles", f"{meta['radius_miles']:g}"])
    parts = ["python -m podgeo site", "--candidates", ",".join(store_kinds) or "none", "--demand", meta["demand"],
             "--group", meta["group"], *reach, "--new", str(meta["n_new"])]
    if meta["state"]:
        parts += ["--state", meta["state"]]
    if meta.get("leaids"):
        parts += ["--districts", ",".join(meta["leaids"])]
    if meta.get("pod_filter_query"):
        parts += ["--pod-filter", shlex.quote(meta["pod_filter_query"])]
    if meta["time_limit"] != siting.DEFAULT_TIME_LIMIT:
        parts += ["--time-limit", f"{meta['time_limit']:g}"]
    if meta.get("extra_points"):
        parts += ["--candidates-csv", "points.csv"]
    return " ".join(parts + ["--out", "picks.csv"])


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------

def _check(c: Choices) -> Choices:
    if c.demand not in ar.DEMAND_KINDS:
        raise ValueError(f"demand {c.demand!r} is not one of {list(ar.DEMAND_KINDS)}")
    if c.group not in GROUPS[c.demand]:
        raise ValueError(f"group {c.group!r} is not counted by {c.demand} demand; choose one of {list(GROUPS[c.demand])}")
    bad = [k for k in c.candidates if k not in CANDIDATE_KINDS]
    if bad or not c.candidates:
        raise ValueError(f"candidates {bad or '(none)'}: choose one or more of {list(CANDIDATE_KINDS)}")
    if not (isinstance(c.n_new, (int, np.integer)) and 1 <= c.n_new <= MAX_NEW):
        raise ValueError(f"new hubs {c.n_new!r} must be a whole number from 1 to {MAX_NEW}")
    if not (isinstance(c.radius_miles, (int, float)) and 0 < c.radius_miles <= 200):
        raise ValueError(f"radius_miles {c.radius_miles!r} must be a number of miles above 0 and at most 200")
    if len(c.points) != len(c.points_kind):
        raise ValueError("points and points_kind must have one entry each")
    return replace(c, candidates=tuple(dict.fromkeys(c.candidates)), n_new=int(c.n_new),
                   leaids=tuple(c.leaids) if c.leaids else None)


def _base_districts(frames: ar.Frames, state: str | None) -> gpd.GeoDataFrame:
    d = frames.districts
    keep = d["layer"].isin(ar.BASE_LAYERS) & (d["is_filler"] == 0)
    if state is not None:
        keep &= d["state"] == state
    return d[keep].reset_index(drop=True)


def _area_points(points: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, leaids) -> gpd.GeoDataFrame:
    """The demand points in the area; points with no district (tracts) are placed in one first."""
    if not leaids:
        return points.reset_index(drop=True)
    unknown = set(leaids) - set(districts["leaid"])
    if unknown:
        raise ValueError(f"district(s) {sorted(unknown)[:5]} are not unified or elementary districts of this state")
    where = points["leaid"].astype(object)
    missing = where.isna().to_numpy()
    if missing.any():
        hit = geo.assign_points_to_districts(points[missing], districts)
        where[missing] = points.index[missing].map(hit.drop_duplicates("point_id").set_index("point_id")["leaid"])
    return points[where.isin(set(leaids)).to_numpy()].reset_index(drop=True)


def _candidates(sites: gpd.GeoDataFrame, c: Choices, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Store candidates in the area, then clicked and uploaded points (placed in districts for the table)."""
    chosen = sites[sites["kind"].isin([k for k in c.candidates if k in STORE_KINDS])]
    if c.leaids:
        chosen = chosen[chosen["leaid"].isin(set(c.leaids))]
    frame = pd.DataFrame(chosen[["site_id", "kind", "name", "leaid", "lon", "lat"]])
    extra = [(n, lon, lat, k) for (n, lon, lat), k in zip(c.points, c.points_kind) if k in c.candidates]
    if extra:
        added = pd.DataFrame({"site_id": [f"{k}:{i + 1}" for i, (_, _, _, k) in enumerate(extra)],
                              "kind": [e[3] for e in extra], "name": [e[0] for e in extra], "leaid": None,
                              "lon": [float(e[1]) for e in extra], "lat": [float(e[2]) for e in extra]})
        pts = gpd.GeoDataFrame(added, geometry=gpd.points_from_xy(added["lon"], added["lat"]), crs=4326)
        hit = geo.assign_points_to_districts(pts, districts, id_col="site_id") if len(districts) else pd.DataFrame()
        if len(hit):
            added["leaid"] = added["site_id"].map(hit.drop_duplicates("point_id").set_index("point_id")["leaid"])
        frame = pd.concat([frame, added], ignore_index=True)
    frame = frame.reset_index(drop=True)
    frame["leaid"] = frame["leaid"].astype(object).where(frame["leaid"].notna(), None)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326)


def _picks(candidates: gpd.GeoDataFrame, districts: gpd.GeoDataFrame, s: siting.Siting) -> gpd.GeoDataFrame:
    names = dict(zip(districts["leaid"], districts["name"]))
    rows = candidates.iloc[s.chosen].reset_index(drop=True)
    cumulative = s.covered_before + np.cumsum(s.gains) if s.gains else np.zeros(0)
    out = pd.DataFrame({
        "pick": np.arange(1, len(rows) + 1), "site": rows["name"].astype(object), "kind": rows["kind"],
        "site_id": rows["site_id"], "district": rows["leaid"].map(names).astype(object), "leaid": rows["leaid"],
        "lat": rows["lat"].round(6), "lon": rows["lon"].round(6), "newly_covered": np.asarray(s.gains, dtype=float),
        "cumulative_covered": np.asarray(cumulative, dtype=float),
        "cumulative_share": np.asarray(cumulative, dtype=float) / s.total if s.total else np.nan,
    })
    return gpd.GeoDataFrame(out[PICK_COLUMNS], geometry=rows.geometry.values, crs=4326)


def _meta(frames, c: Choices, cov: dict, s: siting.Siting, lscp: siting.SetCover, *, points, unknown, candidates,
          existing) -> dict:
    counts = candidates["kind"].value_counts().to_dict()
    text = ", ".join(f"{CANDIDATE_KINDS[k].lower()} {counts.get(k, 0):,}" for k in c.candidates)
    area = (c.area_label or f"{len(c.leaids)} district(s)") + f" of {c.state}" if c.leaids else (c.state or "every state")
    return {
        "state": c.state, "demand": c.demand, "group": c.group, "coverage_group": cov["group"],
        "group_label": ar.group_label(c.group, c.demand), "demand_label": cov["demand_label"],
        "candidates": list(c.candidates), "candidate_count": int(len(candidates)), "candidate_text": text,
        "existing_count": int(existing), "pods_filter": cov.get("pods_filter"),
        "pod_filter_query": cov.get("pod_filter_query", ""), "pod_filter_query_dict": c.pod_filter.to_query(),
        "radius_miles": float(c.radius_miles), "n_new": int(c.n_new), "leaids": list(c.leaids or []), "area": area,
        "time_limit": float(c.time_limit), "demand_points": int(points), "unknown_need_points": unknown,
        "extra_points": int(len(c.points)), "model_size": s.model_size, "spopt": siting.spopt_version(),
        "pulp": siting.pulp_version(), "solver_line": f"spopt {siting.spopt_version()} MCLP, CBC via PuLP "
        f"{siting.pulp_version()}, time limit {c.time_limit:g} s",
        "covered_before": s.covered_before, "covered_after": s.covered_after, "total": s.total,
        "share_before": s.covered_before / s.total if s.total else math.nan,
        "share_after": s.covered_after / s.total if s.total else math.nan,
        "method": s.method, "status": s.status, "gap": s.gap, "seconds": s.seconds,
        "lscp_count": lscp.count, "lscp_method": lscp.method, "lscp_unreachable": lscp.unreachable_weight,
        "vintages": cov.get("vintages", []),
    }


def _lscp_text(c: siting.SetCover) -> str:
    if c.count is None:
        return f"not found ({c.status})"
    proof = "" if c.method == siting.OPTIMAL else f" ({c.method}; {c.status})"
    beyond = f"; {c.unreachable_weight:,.0f} are beyond reach of every candidate and pod" if c.unreachable_weight else ""
    return f"{c.count:,} new hub(s){proof}{beyond}"


def _travel_text(meta: dict) -> str:
    """What the travel-time table held and what of it matched nothing (never dropped silently)."""
    t = meta.get("travel_times") or {}
    if not t:
        return str(meta.get("travel_source"))
    return (f"{meta['travel_source']}: {t['rows']:,} pairs; {t['unmatched_rows']:,} rows left out because their ids "
            f"match nothing ({t['unmatched_origins']:,} origin ids not among the area's demand points with a count "
            f"of this group, {t['unmatched_destinations']:,} destination ids not among the candidates or the pods); "
            f"{t['demand_without_pairs']:,} demand points appear in no pair, so no hub reaches them")


def _reach(meta: dict) -> str:
    if meta.get("max_minutes"):
        return f"{meta['max_minutes']:g} minutes of travel"
    return f"{meta['radius_miles']:g} straight-line miles (EPSG:5070)"


def _md(text: str) -> str:
    """A file name (user text) made inert in markdown."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()<>#+-.!|~" else ch for ch in str(text))


def _share(part: float, total: float) -> str:
    return f"{part / total:.1%}" if total else "n/a"


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _number(text, default, low, high):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) and low <= value <= high else default

