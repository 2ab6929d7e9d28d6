"""Coverage for the page and the shell: one call turns store frames and a few choices into the table.

`coverage_table` is what the Coverage page shows and what `python -m podgeo coverage` writes, so
the two can never disagree. It only orchestrates: the metrics are `podgeo.coverage`, district
interior points `podgeo.demand`, pod filters `podgeo.filters`. Rows are the unified and
elementary districts of the chosen state(s): they tile a state, so every child counts once
(secondary districts overlay elementary ones and are left out).

Units, so that district and group figures read alike: 2SFCA and E2SFCA give seats (or sites) per
1,000 of the demand unit in reach (students, residents, children 5-17); distance coverage the
percent of them within the radius; the container ratio seats (or sites) per 1,000 SAIPE children
5-17 in the district, which each demand point inherits for the group figures.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from podgeo import coverage, demand, filters, geo, travel_times

METHODS = {"ratio": "Container ratio", "distance": "Distance coverage",
           "2sfca": "Two-step floating catchment (2SFCA)", "e2sfca": "Enhanced 2SFCA (distance decay)"}
SITE_KINDS = {"pods": "Pods and hubs", "libraries": "Public library outlets", "schools": "Public schools"}
DEMAND_KINDS = {"schools": "California public schools (enrollment)",
                "tracts": "Bay Area census tracts (residents)",
                "districts": "District interior points (SAIPE children 5-17)"}
#: What one unit of demand is, for axis labels and units ("seats per 1,000 students").
DEMAND_NOUN = {"schools": "students", "tracts": "residents", "districts": "children 5-17"}
DECAYS = {"step": "stepped (1 / 0.68 / 0.22 within 10 / 50 / 100 % of the radius)",
          "gaussian": "Gaussian (sigma = radius / 2)"}
#: Luo & Qi's three zones as fractions of the catchment radius, with their weights. Fixed 1/5/10-mile
#: zones gave weight 0 beyond 10 miles, so any radius above 10 changed nothing: the zones scale instead.
STEP_FRACTIONS = {0.1: 1.0, 0.5: 0.68, 1.0: 0.22}
#: Groups each demand source counts, in menu order; the first is the default need measure.
NEED_GROUPS = {"schools": ("low_income", "english_learners"),
               "tracts": ("low_income", "english_learners", "disability", "of_color"),
               "districts": ("poverty", "english_learners", "disability", "of_color")}
BASE_LAYERS = ("unified", "elementary")
HUB_ID = "hypothetical-hub"
#: Hypothetical hubs one link may carry (`?hubs=`): the siting page's most new hubs, no more.
MAX_HUBS = 100
_STORE_KIND = {"libraries": "library", "schools": "school"}
_VINTAGE_SOURCES = {"schools": ("cde_enrollment", "cde_schools"), "tracts": ("mtc_tracts", "udp_tracts"),
                    "districts": ("household_conditions", "household_conditions_csv", "acs_ed_race"),
                    "libraries": ("imls_outlets",), "sites:schools": ("cde_schools",)}


@dataclass
class Coverage:
    """What `coverage_table` returns; unpacks as `table, summary, meta`.

    `table`: one row per district; `summary`: equity by group; `meta`: parameters, units, data
    vintages; `points`: the demand points with their access (for a map layer); `sites`: the
    sites used, the hypothetical hub included.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    meta: dict
    points: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame

    def __iter__(self):
        return iter((self.table, self.summary, self.meta))


@dataclass(frozen=True)
class Hub:
    """A hypothetical hub: where (WGS84) and how many seats. Frozen, so it can key a cache or a URL."""

    lon: float
    lat: float
    seats: float

    def __post_init__(self):
        if not (_is_number(self.lon) and -180 <= self.lon <= 180):
            raise ValueError(f"hub longitude {self.lon!r} is not in -180..180")
        if not (_is_number(self.lat) and -90 <= self.lat <= 90):
            raise ValueError(f"hub latitude {self.lat!r} is not in -90..90")
        if not (_is_number(self.seats) and self.seats >= 0):
            raise ValueError(f"hub seats {self.seats!r} must be a number >= 0")

    def to_query(self) -> str:
        return f"{self.lon:.5f},{self.lat:.5f},{self.seats:g}"

    @classmethod
    def from_query(cls, text: str | None) -> "Hub | None":
        """`-122.41,37.77,50` -> Hub; anything malformed -> None (a URL is never trusted)."""
        try:
            lon, lat, seats = (float(v) for v in str(text or "").split(","))
            return cls(lon, lat, seats)
        except ValueError:
            return None


@dataclass(frozen=True)
class LinkedHubs:
    """Hubs read from a link's `?hubs=`, and what was refused (markdown-safe; empty when all was fine)."""

    hubs: tuple[Hub, ...] = ()
    notice: str = ""


def hubs_from_query(text: str | None, *, limit: int = MAX_HUBS) -> LinkedHubs:
    """`lon,lat,seats;lon,lat,seats;...` (what the siting page sends) -> the valid hubs, first `limit`.

    A URL is never trusted: a part that is not three numbers, or whose position or seats are out of
    range, is left out and named in the notice, as is every hub beyond `limit`; nothing raises.
    """
    parts = [p.strip() for p in str(text or "").split(";") if p.strip()]
    hubs, bad = [], []
    for number, part in enumerate(parts[:limit], start=1):
        values = part.split(",")
        try:
            numbers = [float(v) for v in values] if len(values) == 3 else None
        except ValueError:
            numbers = None
        if numbers is None:
            bad.append(f"hub {number} ({_md_text(part[:40])}) is not longitude,latitude,seats")
            continue
        try:
            hubs.append(Hub(*numbers))
        except ValueError as exc:  # out of range, or not finite
            bad.append(f"hub {number}: {_md_text(str(exc))}")
    problems = bad[:5] + ([f"and {len(bad) - 5:,} more"] if len(bad) > 5 else [])
    if len(parts) > limit:
        problems.append(f"the link lists {len(parts):,} hubs; only the first {limit:,} are used")
    notice = ("Some hypothetical hubs in the link were not used: " + "; ".join(problems) + ".") if problems else ""
    return LinkedHubs(tuple(hubs), notice)


@dataclass
class Frames:
    """Everything coverage reads from the store for one state (or all): see `load_frames`."""

    districts: gpd.GeoDataFrame  # districts with measures and display geometry
    sites: gpd.GeoDataFrame  # candidate hub sites (libraries, schools)
    site_links: pd.DataFrame  # site_id, leaid, layer
    pods: gpd.GeoDataFrame
    pod_links: pd.DataFrame  # pod_id, leaid, layer
    demand: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)  # "schools", "tracts"
    provenance: pd.DataFrame = field(default_factory=pd.DataFrame)


def coverage_table(
    frames: Frames,
    *,
    sites: Sequence[str] = ("libraries",),
    demand: str = "districts",
    method: str = "2sfca",
    radius_miles: float = 10.0,
    decay: str = "step",
    group: str | None = None,
    state: str | None = None,
    pod_filter: filters.PodFilter | None = None,
    hypothetical: Hub | Sequence[Hub] | None = None,
    assumed_seats: float | None = None,
    travel_times: pd.DataFrame | None = None,
    max_minutes: float | None = None,
) -> Coverage:
    """Access per district (ranked by children in need with low access), equity by group, and meta.

    `sites`: any of pods (after `pod_filter`), libraries, schools. `demand`: schools, tracts or
    districts. `group`: the need measure that ranks the shortfall (default: the first of
    `NEED_GROUPS[demand]`). `state`: postal code, None for every state in `frames`.
    `assumed_seats`: seats to assume at sites with no capacity; None counts sites instead of
    seats whenever any chosen site lacks one. `hypothetical`: a `Hub` (or several) added to the sites.
    `travel_times` (from `podgeo.travel_times.read_matrix`) with `max_minutes`: minutes replace
    straight-line miles for distance coverage, 2SFCA and E2SFCA (`radius_miles` is then unused).
    """
    if travel_times is not None and not (_is_number(max_minutes) and 0 < max_minutes <= 600):
        raise ValueError(f"max_minutes {max_minutes!r} must be a number of minutes above 0 and at most 600 "
                         "when a travel-time table is given")
    sites, group = _check_args(sites, demand, method, radius_miles, decay, group, assumed_seats)
    hubs = _hub_list(hypothetical)
    pod_filter = pod_filter or filters.PodFilter()
    districts = _base_districts(frames.districts, state)
    points, label, dropped = _demand_points(frames, demand, state, districts)
    if not points[group].notna().any():
        raise ValueError(f"group {group!r} has no counts in the {demand} demand points; "
                         f"choose one of {list(NEED_GROUPS[demand])}")
    site_frame, site_notes = _site_frame(frames, sites, state, pod_filter, districts)
    if hubs:
        site_frame = _add_hubs(site_frame, hubs, districts)
    if assumed_seats is not None:
        site_frame["capacity"] = site_frame["capacity"].fillna(float(assumed_seats))
    seats_known = bool(site_frame["capacity"].notna().all())
    noun = DEMAND_NOUN[demand]
    ratio = coverage.container_ratio(
        districts[["leaid", "layer", "children_5_17", "children_poverty"]],
        site_frame.loc[site_frame["leaid"].notna(), ["site_id", "leaid", "capacity"]],
        children_col="children_5_17", poverty_col="children_poverty")
    cut = float(max_minutes) if travel_times is not None else float(radius_miles)
    points, unit, matched = _point_access(points, site_frame, ratio, method=method, radius=cut, decay=decay,
                                          seats_known=seats_known, noun=noun, travel=travel_times)
    per = _per_district(points, group)
    threshold = _low_access_threshold(per, method)
    placed = site_frame.loc[site_frame["leaid"].notna(), ["leaid", "capacity"]]
    short = coverage.shortfall(points, "access", need_col=group, sites=placed, max_access=threshold)
    table = _district_table(districts, ratio, per, short, method=method, group=group, unit=unit)
    summary = coverage.equity_summary(points, "access", total_col="total")
    summary.insert(1, "label", summary["group"].map(lambda g: group_label(g, demand)))
    meta = _meta(frames, sites=sites, demand=demand, method=method, radius=float(radius_miles), decay=decay,
                 state=state, pod_filter=pod_filter, hubs=hubs, assumed_seats=assumed_seats,
                 site_frame=site_frame, site_notes=site_notes, seats_known=seats_known, points=points, label=label,
                 dropped=dropped, group=group, unit=unit, threshold=threshold, table=table)
    meta["travel_times"] = None if matched is None else {
        "max_minutes": cut, "source": matched.source, "rows": matched.rows, "unmatched_rows": matched.unmatched_rows,
        "unmatched_origins": matched.unmatched_origins, "unmatched_destinations": matched.unmatched_destinations,
        "demand_without_pairs": matched.demand_without_pairs}
    hub_ids = site_frame.loc[site_frame["kind"] == "hypothetical", "site_id"]
    meta["hubs_without_times"] = 0 if matched is None else int(
        (~hub_ids.isin(set(map(str, pd.unique(travel_times["destination_id"]))))).sum())
    return Coverage(table, summary, meta, points, site_frame)


def load_frames(store, state: str | None = None) -> Frames:
    """Read what `coverage_table` needs from a store (`podgeo.store.open_store`), for one state or all."""
    fips = None
    if state is not None:
        states = store.state_list()
        lookup = dict(zip(states["state"], states["state_fips"]))
        if state not in lookup:
            raise ValueError(f"state {state!r} is not in the store (it has {', '.join(states['state']) or 'none'})")
        fips = [lookup[state]]
    demand_frames = {kind: store.demand_points(kind, state_fips=fips) for kind in ("schools", "tracts")}
    return Frames(
        districts=store.districts(state_fips=fips, geometry="display"),
        sites=store.sites(states=None if state is None else [state]),
        site_links=store.place_districts("sites"), pods=store.pods(), pod_links=store.place_districts("pods"),
        demand=demand_frames, provenance=store.provenance())


def chosen_pods(frames: Frames, state: str | None, pod_filter: filters.PodFilter) -> gpd.GeoDataFrame:
    """The pods of `state` that `pod_filter` keeps: the same selection as the map page."""
    pods = frames.pods if state is None else frames.pods[frames.pods["state"] == state]
    return filters.apply(pods, pod_filter)


def cli_command(meta: dict, level: int | None = None) -> str:
    """The shell command that writes this table (`python -m podgeo coverage ...`)."""
    import shlex

    parts = ["python -m podgeo coverage", "--sites", ",".join(meta["sites"]), "--demand", meta["demand"],
             "--method", meta["method"], "--radius-miles", f"{meta['radius_miles']:g}", "--group", meta["group"]]
    if meta["state"]:
        parts += ["--state", meta["state"]]
    if meta["decay"]:
        parts += ["--decay", meta["decay"]]
    if meta.get("assumed_seats") is not None:
        parts += ["--assumed-seats", f"{meta['assumed_seats']:g}"]
    if meta.get("pod_filter_query"):
        parts += ["--pod-filter", shlex.quote(meta["pod_filter_query"])]
    for h in meta.get("hypothetical") or ():
        parts += ["--hub", Hub(h["lon"], h["lat"], h["seats"]).to_query()]
    if meta.get("travel_times"):
        t = meta["travel_times"]
        parts += ["--travel-times", shlex.quote(t["source"]), "--max-minutes", f"{t['max_minutes']:g}"]
    if level is not None:
        parts += ["--level", str(level)]
    return " ".join(parts + ["--out", "coverage.csv", "--summary-out", "disparity.csv"])


def district_shapes(table: pd.DataFrame, frames: Frames) -> gpd.GeoDataFrame:
    """The table's districts with their display geometry, for a choropleth."""
    shapes = frames.districts[["leaid", frames.districts.geometry.name]]
    return gpd.GeoDataFrame(shapes.merge(table, on="leaid", how="inner"), geometry=shapes.geometry.name,
                            crs=frames.districts.crs)


def available_demand(frames: Frames) -> list[str]:
    """Demand kinds with points in `frames` (district points are always available)."""
    return [k for k in ("schools", "tracts") if len(frames.demand.get(k, ()))] + ["districts"]


def group_label(group: str, demand_kind: str) -> str:
    """What a group is, in the words of its source (tract counts are people of all ages)."""
    base = {"total": "Everyone", "poverty": "Children in poverty", "low_income": "Low-income students (FRPM)",
            "english_learners": "English learners", "disability": "Children with a disability",
            "of_color": "Children of color", "white_nh": "White non-Hispanic children"}
    if demand_kind == "tracts":
        base.update(low_income="People below 200% of poverty", english_learners="People with limited English",
                    disability="People with a disability", of_color="People of color",
                    white_nh="White non-Hispanic people")
    elif demand_kind == "districts":
        base["english_learners"] = "Linguistically isolated children"
    if group.startswith("not_"):
        return "Not " + _lower_first(base.get(group[4:], group[4:]))
    return base.get(group, group)


def poverty_quartiles(table: pd.DataFrame) -> pd.DataFrame:
    """Districts in quartiles of SAIPE child poverty: demand-weighted mean access in each.

    Fewer than four groups when there are too few distinct poverty rates to split.
    """
    ok = table[table["pct_poverty"].notna() & (table["demand"] > 0) & np.isfinite(table["access"])].copy()
    columns = ["quartile", "poverty_range", "districts", "demand", "mean_access"]
    if ok.empty:
        return pd.DataFrame(columns=columns)
    codes = pd.qcut(ok["pct_poverty"].rank(method="first"), q=min(4, len(ok)), labels=False)
    ok["q"] = codes.astype(int)
    rows = []
    for q, part in ok.groupby("q"):
        lo, hi = part["pct_poverty"].min(), part["pct_poverty"].max()
        rows.append({"quartile": f"Q{q + 1}", "poverty_range": f"{lo:.0f}-{hi:.0f}% in poverty",
                     "districts": len(part), "demand": float(part["demand"].sum()),
                     "mean_access": float(np.average(part["access"], weights=part["demand"]))})
    return pd.DataFrame(rows, columns=columns)


def pod_filter_from_text(text: str) -> filters.PodFilter:
    """The map page's URL filter parameters (`modes=in_person&statuses=active`) as a PodFilter.

    Unlike a URL, which is never trusted and loses what it does not know, text typed in a shell
    is checked: an unknown parameter or value raises ValueError naming it.
    """
    from urllib.parse import parse_qsl

    given = dict(parse_qsl(text or "", keep_blank_values=True))
    known = set(filters.FIELDS) - {"grade_low", "grade_high"} | {"grades"}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValueError(f"pod filter parameter(s) {unknown} not among {sorted(known)}")
    result = filters.PodFilter.from_query(given)
    kept = result.to_query()
    for key, value in given.items():
        if value and kept.get(key) != value:
            raise ValueError(f"pod filter {key}={value!r} is not valid (kept: {kept.get(key, 'nothing')!r})")
    return result


def format_access(value: float, meta: dict, *, short: bool = False) -> str:
    """A headline access figure with its unit: "47.2 % of students within 5 mi of a site", "0.0066 sites
    per 1,000 children 5-17 in reach" (`short`: "47.2 %", "0.0066", for a label that names the unit);
    unknown is "no figure", never 0."""
    unit = meta["access_unit"]
    if value is None or not math.isfinite(float(value)):
        return "no figure"
    if unit.startswith("%"):
        return f"{value:.1f} %" if short else f"{value:.1f} {unit}"
    return f"{value:,.3g}" if short else f"{value:,.3g} {unit}"


def headline(summary: pd.DataFrame, meta: dict) -> list[tuple[str, str, str | None, str | None]]:
    """The Coverage page's four figures as (label, value, delta, help): demand, mean access, the share with
    zero access, and how many districts the shortfall ranks."""
    everyone = summary.set_index("group").loc["total"]
    return [
        (f"Demand ({meta['demand_noun']})", f"{meta['demand_total']:,.0f}", None, meta["demand_label"]),
        ("Mean access", format_access(everyone["mean_access"], meta, short=True), None, meta["access_unit"]),
        ("With zero access", f"{100 * everyone['share_zero_access']:.1f} %", None, None),
        ("Low-access districts ranked", f"{meta['ranked']:,} of {meta['districts']:,}", None, None),
    ]


def text_blanks(frame: pd.DataFrame, mark: str = "—") -> pd.DataFrame:
    """A copy for the screen with blank text cells as `mark` (not applicable, e.g. whom "everyone" is
    compared with) instead of a raw "None"; numbers stay blank, never 0. CSVs keep the blanks."""
    out = frame.copy()
    texts = [c for c in out.columns if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype)]
    out[texts] = out[texts].fillna(mark)
    return out


def with_units(frame: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """A table, group summary or points frame for a file: units in the headers, shares as percents.

    The unit lives once in a header ("access (sites per 1,000 students in reach)"), not in a column
    repeated on every row.
    """
    unit = meta["access_unit"]
    out = frame.drop(columns=[c for c in ("need_measure",) if c in frame.columns])  # named in the headers
    if "share_zero_access" in out:
        out["share_zero_access"] = 100.0 * out["share_zero_access"]
    names = {"access": f"access ({unit})", "need_access": f"access of {_lower_first(meta['group_label'])} ({unit})",
             "mean_access": f"mean_access ({unit})", "share_zero_access": "zero_access (%)",
             "children_in_need": f"{_lower_first(meta['group_label'])} (count)",
             "in_need_zero_access": f"{_lower_first(meta['group_label'])} with zero access (count)",
             "demand": f"demand ({meta['demand_noun']})", "pct_poverty": "pct_poverty (%)",
             "per_1000_children": "per_1000_children (seats or sites per 1,000 children 5-17)",
             "per_1000_children_poverty": "per_1000_children_poverty (per 1,000 children in poverty)",
             "nearest_site_miles": "nearest_site (mi)", "nearest_site_minutes": "nearest_site (min)"}
    return out.rename(columns={k: v for k, v in names.items() if k in out.columns})


def points_frame(points: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every demand point's access with its id and position, for `--points-out` (mapping below the district)."""
    keep = [c for c in ("demand_id", "name", "leaid", "total", *coverage.GROUP_COLUMNS, "access", "sites_in_reach",
                        "nearest_site_miles", "nearest_site_minutes") if c in points.columns]
    out = pd.DataFrame(points[keep])
    out["lon"], out["lat"] = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    """The table as CSV bytes: what the page offers for download and the CLI writes."""
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    Path(path).write_bytes(to_csv(frame))


def method_note(meta: dict) -> str:
    """A short, citable description of how the figures were made (markdown; also printed by the CLI)."""
    m = meta["method"]
    travel = meta.get("travel_times")
    r = travel["max_minutes"] if travel else meta["radius_miles"]
    reach = f"{r:g} minutes of travel time" if travel else f"{r:g} straight-line miles"
    what = {
        "ratio": "seats (or sites) located in each district per 1,000 SAIPE children 5-17 (container ratio)",
        "distance": f"share of {meta['demand_noun']} whose nearest site is within {reach}",
        "2sfca": f"two-step floating catchment (Luo & Wang 2003), catchment of {reach}",
        "e2sfca": f"enhanced two-step floating catchment (Luo & Qi 2009), catchment of {reach}, "
                  f"{DECAYS.get(meta['decay'] or '', '')} weights",
    }[m]
    if m == "ratio":
        distance = "No distance is used: sites are counted in the district that contains them."
    elif travel:
        t = travel
        distance = (f"Distance: travel time in minutes from the table {_md_text(t['source'])} (not straight "
                    f"lines): {t['rows']:,} pairs; {t['unmatched_rows']:,} rows left out because their ids match "
                    f"nothing ({t['unmatched_origins']:,} origin ids not among the demand points, "
                    f"{t['unmatched_destinations']:,} destination ids not among the sites); "
                    f"{t['demand_without_pairs']:,} demand points appear in no pair, so reach no site.")
    else:
        distance = "Distance: straight lines in EPSG:5070 (equal area); floating-catchment results match PySAL " \
                   "`access` 1.1.10."
    if m == "e2sfca" and meta["decay"] == "step":
        distance += (" The three Luo & Qi zones sit at 10 %, 50 % and 100 % of the radius, so a larger radius "
                     "widens every zone; with fixed 1/5/10-mile zones every site beyond 10 miles weighed 0 and "
                     "a radius above 10 changed nothing.")
    sites = ", ".join(f"{SITE_KINDS[k].lower()} ({meta['site_counts'].get(k, 0):,})" for k in meta["sites"])
    lines = [
        f"**Method:** {what}; access in {meta['access_unit']}. {distance}",
        f"**Sites:** {sites or 'none'}"
        + (f"; pods: {meta['pods_filter']}" if meta.get("pods_filter") else "")
        + (f"; {meta['pods_without_location']:,} pods without a location left out" if meta.get("pods_without_location") else "")
        + (f"; counted as sites, not seats ({meta['sites_unknown_capacity']:,} without a capacity)"
           if meta["basis"] == "sites" else "")
        + (f"; {meta['assumed_seats']:g} seats assumed where unknown" if meta.get("assumed_seats") is not None else "")
        + ".",
        f"**Demand:** {meta['demand_label']}: {meta['demand_points']:,} points, {meta['demand_total']:,.0f} "
        f"{meta['demand_noun']}. Sites and demand are those of {meta['state'] or 'every state in the store'}, so "
        "catchments stop at the edge of what is loaded.",
        f"**Shortfall:** districts with at least {coverage.MIN_CHILDREN} {_lower_first(meta['group_label'])} and "
        f"access at or below the lower quartile of districts ({meta['low_access_threshold']:.3g}), ranked by "
        f"{_lower_first(meta['group_label'])}. Group figures resting on fewer than {coverage.MIN_CHILDREN} are "
        "suppressed.",
    ]
    hubs = meta.get("hypothetical") or []
    if len(hubs) == 1:
        h = hubs[0]
        lines.append(f"**What-if:** includes a hypothetical hub at {h['lat']:.4f}, {h['lon']:.4f} "
                     f"with {h['seats']:g} seats.")
    elif hubs:
        shown = "; ".join(f"{h['lat']:.4f}, {h['lon']:.4f} ({h['seats']:g} seats)" for h in hubs[:10])
        lines.append(f"**What-if:** includes {len(hubs):,} hypothetical hubs: {shown}"
                     + (f"; and {len(hubs) - 10:,} more" if len(hubs) > 10 else "") + ".")
    if meta.get("hubs_without_times"):
        lines.append(f"**What-if by travel time:** {meta['hubs_without_times']:,} hypothetical hub(s) have no pairs in "
                     f"the travel-time table (they would be listed as destination {HUB_ID}, or {HUB_ID}-1, -2, ... "
                     "for several), so they reach no one; add their minutes to the table to count them.")
    if meta.get("no_pods"):
        lines.append(f"**No pods:** {meta['state'] or 'the store'} has no pods (after the filter), so pods add "
                     "no supply here.")
    lines.append("**Data:** " + "; ".join(f"{v['title']} ({v['publisher']}, {v['vintage']})" for v in meta["vintages"]))
    return "\n\n".join(lines)


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------

def _check_args(sites, demand_kind, method, radius, decay, group, assumed_seats):
    chosen = [sites] if isinstance(sites, str) else list(sites)
    bad = [s for s in chosen if s not in SITE_KINDS]
    if bad:
        raise ValueError(f"sites {bad} not among {list(SITE_KINDS)}")
    if not chosen:
        raise ValueError(f"sites is empty; choose one or more of {list(SITE_KINDS)}")
    if demand_kind not in DEMAND_KINDS:
        raise ValueError(f"demand {demand_kind!r} is not one of {list(DEMAND_KINDS)}")
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {list(METHODS)}")
    if not (_is_number(radius) and 0 < radius <= 200):
        raise ValueError(f"radius_miles {radius!r} must be a number of miles above 0 and at most 200")
    if decay not in DECAYS:
        raise ValueError(f"decay {decay!r} is not one of {list(DECAYS)}")
    group = NEED_GROUPS[demand_kind][0] if group is None else group
    if group not in NEED_GROUPS[demand_kind]:
        raise ValueError(f"group {group!r} is not counted by {demand_kind} demand; "
                         f"choose one of {list(NEED_GROUPS[demand_kind])}")
    if assumed_seats is not None and not (_is_number(assumed_seats) and assumed_seats >= 0):
        raise ValueError(f"assumed_seats {assumed_seats!r} must be a number >= 0 or None")
    return list(dict.fromkeys(chosen)), group


def _base_districts(districts, state):
    keep = districts["layer"].isin(BASE_LAYERS) & (districts["is_filler"] == 0)
    if state is not None:
        keep &= districts["state"] == state
    out = districts[keep].copy()
    if out.empty:
        raise ValueError(f"no unified or elementary districts for state {state!r} in the store")
    return out.reset_index(drop=True)


def _demand_points(frames, kind, state, districts):
    """Demand points with the shared columns; points without a count are dropped (and counted)."""
    if kind == "districts":
        table = pd.DataFrame(districts.drop(columns=districts.geometry.name)).rename(
            columns={"children_5_17": "children"})
        located = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=4326)
        result = demand.district_points(located)
        points, dropped = result.points, int(len(result.unmatched))
    else:
        stored = frames.demand.get(kind)
        if stored is None or stored.empty:
            raise ValueError(f"the store has no {kind} demand points; choose one of {available_demand(frames)}")
        if state is not None:
            fips = districts["state_fips"].iloc[0]
            stored = stored[stored["state_fips"] == fips]
            if stored.empty:
                raise ValueError(f"no {kind} demand points in {state}; choose one of {available_demand(frames)} "
                                 "(school and tract points cover California only)")
        points = gpd.GeoDataFrame(stored.rename(columns={"label": "unit_label"}), geometry=stored.geometry.values,
                                  crs=stored.crs)
        counted = points["total"].notna()
        points, dropped = points[counted], int((~counted).sum())
    label = points["unit_label"].iloc[0] if len(points) else DEMAND_KINDS[kind]
    keep = ["demand_id", "name", "leaid", "total", *coverage.GROUP_COLUMNS]
    out = gpd.GeoDataFrame(points[keep].reset_index(drop=True), geometry=points.geometry.values, crs=4326)
    out["leaid"] = out["leaid"].astype(object).where(out["leaid"].notna(), None)
    return out, label, dropped


def _site_frame(frames, kinds, state, pod_filter, districts):
    """One row per site: site_id (kind-prefixed), kind, name, capacity, its base-layer leaid, point."""
    base = set(districts["leaid"])
    parts, counts, unlocated = [], {}, 0
    for kind in kinds:
        if kind == "pods":
            pods = chosen_pods(frames, state, pod_filter)
            located = pods["lon"].notna() & pods["lat"].notna()
            unlocated = int((~located).sum())
            pods = pods[located]
            links = frames.pod_links.rename(columns={"pod_id": "id"})
            frame = pd.DataFrame({"id": pods["pod_id"], "name": pods["name"],
                                  "capacity": pd.to_numeric(pods["capacity"], errors="coerce"),
                                  "lon": pods["lon"], "lat": pods["lat"]})
        else:
            chosen = frames.sites[frames.sites["kind"] == _STORE_KIND[kind]]
            if state is not None:
                chosen = chosen[chosen["state"] == state]
            links = frames.site_links.rename(columns={"site_id": "id"})
            frame = pd.DataFrame({"id": chosen["site_id"], "name": chosen["name"], "capacity": np.nan,
                                  "lon": chosen["lon"], "lat": chosen["lat"]})
        links = links[links["leaid"].isin(base)].drop_duplicates("id").set_index("id")["leaid"]
        frame["leaid"] = frame["id"].map(links)
        frame.insert(0, "site_id", kind + ":" + frame["id"].astype(str))
        frame.insert(1, "kind", kind)
        counts[kind] = len(frame)
        parts.append(frame.drop(columns="id"))
    table = pd.concat(parts, ignore_index=True)
    table["capacity"] = table["capacity"].astype(float)
    table["leaid"] = table["leaid"].astype(object).where(table["leaid"].notna(), None)
    out = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]), crs=4326)
    return out, {"counts": counts, "unlocated": unlocated}


def _hub_list(hypothetical) -> tuple[Hub, ...]:
    """None, one Hub or several -> a tuple of Hubs (anything else is refused by name)."""
    hubs = () if hypothetical is None else (hypothetical,) if isinstance(hypothetical, Hub) else tuple(hypothetical)
    bad = [h for h in hubs if not isinstance(h, Hub)]
    if bad:
        raise ValueError(f"hypothetical {bad[0]!r} is not an access_report.Hub")
    if len(hubs) > MAX_HUBS:
        raise ValueError(f"{len(hubs):,} hypothetical hubs: at most {MAX_HUBS}")
    return hubs


def _add_hubs(sites, hubs, districts):
    """The sites plus the hypothetical hubs, each placed in the base-layer district under it (if any).

    One hub keeps the id `HUB_ID`; several are `HUB_ID-1`, `HUB_ID-2`, ... in the order given."""
    ids = [HUB_ID] if len(hubs) == 1 else [f"{HUB_ID}-{i}" for i in range(1, len(hubs) + 1)]
    names = ["Hypothetical hub"] if len(hubs) == 1 else [f"Hypothetical hub {i}" for i in range(1, len(hubs) + 1)]
    where = {}
    if isinstance(districts, gpd.GeoDataFrame) and districts.geometry.notna().any():
        points = gpd.GeoDataFrame({"id": ids}, geometry=[Point(h.lon, h.lat) for h in hubs], crs=4326)
        hit = geo.assign_points_to_districts(points, districts, id_col="id")
        where = hit.drop_duplicates("point_id").set_index("point_id")["leaid"].to_dict() if len(hit) else {}
    out = sites
    for hub, site_id, name in zip(hubs, ids, names):
        out = coverage.add_hypothetical_site(out, hub.lon, hub.lat, hub.seats, site_id=site_id,
                                             leaid=where.get(site_id))
        out.loc[out["site_id"] == site_id, ["kind", "name", "lon", "lat"]] = ["hypothetical", name, hub.lon, hub.lat]
    out["leaid"] = out["leaid"].astype(object).where(out["leaid"].notna(), None)
    return out


def _point_access(points, sites, ratio, *, method, radius, decay, seats_known, noun, travel=None):
    """Each demand point's access in display units, the unit's name, and the travel-time match (or None).

    With `travel` (a table from `travel_times.read_matrix`), `radius` is minutes and the table's
    pairs replace straight-line distance; otherwise `radius` is straight-line miles.
    """
    supply = "seats" if seats_known else "sites"
    seats_col = "capacity" if seats_known else None
    fca = sites[["site_id", "capacity", "geometry"]]
    if method == "ratio":
        per = ratio.set_index("leaid")["per_1000_children"]
        out = points.assign(access=points["leaid"].map(per).astype(float))
        return out, f"{supply} per 1,000 children 5-17 in the district", None
    reach = f"{radius:g} min" if travel is not None else f"{radius:g} mi"
    if travel is not None:
        matched = travel_times.match(travel, points["demand_id"], sites["site_id"], max_minutes=radius)
        if method == "distance":
            near = travel_times.nearest(matched, len(points))
            out = points.assign(access=100.0 * (near <= radius), nearest_site_minutes=near)
            return out, f"% of {noun} within {reach} of a site", matched
        supply_values = (pd.to_numeric(sites["capacity"]).to_numpy(dtype=float) if seats_known
                         else np.ones(len(sites)))
        spec = _decay_spec(method, decay, radius)
        access, in_reach = coverage.catchment_access(points["total"].to_numpy(dtype=float), supply_values,
                                                     matched.d_idx, matched.s_idx, matched.minutes, decay=spec)
        out = points.assign(access=1000.0 * access, sites_in_reach=in_reach)
        return out, f"{supply} per 1,000 {noun} within {reach} of travel", matched
    if method == "distance":
        near = coverage.distance_coverage(points, fca, radii_miles=[radius])
        out = points.assign(access=100.0 * near[f"within_{radius:g}mi"].astype(float),
                            nearest_site_miles=near["nearest_site_miles"])
        return out, f"% of {noun} within {reach} of a site", None
    if method == "2sfca":
        result = coverage.two_step_fca(points, fca, radius_miles=radius, seats_col=seats_col)
    elif decay == "step":
        steps = {f * radius: w for f, w in STEP_FRACTIONS.items()}
        result = coverage.enhanced_two_step_fca(points, fca, radius_miles=radius, decay="step", steps_miles=steps,
                                                seats_col=seats_col)
    else:
        result = coverage.enhanced_two_step_fca(points, fca, radius_miles=radius, decay=decay, seats_col=seats_col)
    out = points.assign(access=1000.0 * result["access"], sites_in_reach=result["sites_in_reach"])
    return out, f"{supply} per 1,000 {noun} in reach", None


def _decay_spec(method, decay, radius):
    """The weights `coverage.catchment_access` takes, in the radius' unit (minutes)."""
    if method == "2sfca":
        return None
    if decay == "step":
        return ("step", {f * radius: w for f, w in STEP_FRACTIONS.items()})
    return ("gaussian", radius / 2.0)


def _per_district(points, group):
    """Per leaid: demand points, demand, children in need (and at zero access), demand- and need-weighted access."""
    frame = pd.DataFrame({"leaid": points["leaid"], "total": points["total"].fillna(0.0),
                          "need": points[group].fillna(0.0), "access": points["access"]})
    frame = frame[frame["leaid"].notna()]
    known = frame["access"].notna()
    weight = frame["total"].where(known & (frame["total"] > 0), 0.0)
    need_weight = frame["need"].where(known & (frame["need"] > 0), 0.0)
    with np.errstate(invalid="ignore"):  # inf access at zero-demand points has weight 0: skipped
        frame["w_access"] = np.where(weight > 0, weight * frame["access"], 0.0)
        frame["n_access"] = np.where(need_weight > 0, need_weight * frame["access"], 0.0)
    frame["need_zero"] = np.where(frame["access"] == 0, frame["need"], 0.0)
    frame["w"], frame["nw"] = weight, need_weight
    per = frame.groupby("leaid").agg(demand_points=("total", "size"), demand=("total", "sum"),
                                     children_in_need=("need", "sum"), in_need_zero_access=("need_zero", "sum"),
                                     w_access=("w_access", "sum"), w=("w", "sum"), n_access=("n_access", "sum"),
                                     nw=("nw", "sum"))
    with np.errstate(divide="ignore", invalid="ignore"):
        per["access"] = per["w_access"] / per["w"]
        per["need_access"] = per["n_access"] / per["nw"]
    return per.drop(columns=["w_access", "w", "n_access", "nw"])


def _low_access_threshold(per, method):
    """Lower quartile of need-weighted district access (districts with enough children in need).

    For distance coverage it is capped below 100 %: a district whose children are all within
    the radius is never "low access", however many districts tie at 100 %.
    """
    ranked = per.loc[per["children_in_need"] >= coverage.MIN_CHILDREN, "need_access"]
    finite = ranked[np.isfinite(ranked)]
    threshold = float(np.quantile(finite, 0.25)) if len(finite) else 0.0
    return min(threshold, float(np.nextafter(100.0, 0.0))) if method == "distance" else threshold


def _district_table(districts, ratio, per, short, *, method, group, unit):
    """One row per district: access, need, demand, sites, and the shortfall rank (blank when not ranked)."""
    cols = ["leaid", "name", "state", "layer", "children_5_17", "children_poverty", "pct_poverty"]
    table = pd.DataFrame(districts[cols]).merge(
        ratio[["leaid", "sites", "seats_known", "sites_unknown_capacity", "per_1000_children",
               "per_1000_children_poverty"]], on="leaid", how="left")
    table = table.merge(per, left_on="leaid", right_index=True, how="left")
    if method == "ratio":  # the ratio is a district figure: it exists with or without demand points
        table["access"] = table["per_1000_children"]
    table["demand_points"] = table["demand_points"].fillna(0).astype(int)
    filled = ["demand", "children_in_need", "in_need_zero_access"]
    table[filled] = table[filled].fillna(0.0)
    table = table.merge(short[["leaid", "rank"]], on="leaid", how="left")
    table["rank"] = table["rank"].astype("Int64")
    table["need_measure"] = group
    table = table.sort_values(["rank", "children_in_need", "leaid"], ascending=[True, False, True],
                              na_position="last", kind="stable")
    order = ["rank", "leaid", "name", "state", "layer", "access", "need_measure", "children_in_need",
             "in_need_zero_access", "need_access", "demand", "demand_points", "children_5_17", "children_poverty",
             "pct_poverty", "sites", "seats_known", "sites_unknown_capacity", "per_1000_children",
             "per_1000_children_poverty"]
    return table[order].reset_index(drop=True)


def _meta(frames, *, sites, demand, method, radius, decay, state, pod_filter, hubs, assumed_seats, site_frame,
          site_notes, seats_known, points, label, dropped, group, unit, threshold, table):
    """Parameters, counts, units and data vintages: what the method note and the CLI print."""
    return {
        "method": method, "method_label": METHODS[method], "radius_miles": radius,
        "decay": decay if method == "e2sfca" else None, "state": state, "sites": list(sites),
        "site_counts": site_notes["counts"], "pods_filter": filters.describe(pod_filter) if "pods" in sites else None,
        "pod_filter_query": urlencode(pod_filter.to_query()) if "pods" in sites else "",
        "pods_without_location": site_notes["unlocated"], "sites_without_district": int(site_frame["leaid"].isna().sum()),
        "basis": "seats" if seats_known else "sites", "assumed_seats": assumed_seats,
        "sites_unknown_capacity": int(site_frame["capacity"].isna().sum()),
        "demand": demand, "demand_label": label, "demand_noun": DEMAND_NOUN[demand], "demand_points": int(len(points)),
        "demand_total": float(points["total"].sum()), "demand_points_dropped": dropped,
        "demand_points_without_district": int(points["leaid"].isna().sum()),
        "group": group, "group_label": group_label(group, demand), "access_unit": unit,
        "low_access_threshold": threshold, "districts": int(len(table)), "ranked": int(table["rank"].notna().sum()),
        "hypothetical": [{"lon": h.lon, "lat": h.lat, "seats": h.seats} for h in hubs] or None,
        "vintages": _vintages(frames.provenance, sites, demand),
        "no_pods": ("pods" in sites and site_notes["counts"].get("pods", 0) == 0),
    }


def _vintages(provenance, sites, demand_kind):
    """Title, publisher and vintage of every source behind the figures, from the store's provenance."""
    if provenance is None or provenance.empty:
        return []
    keys = ["household_conditions", "household_conditions_csv", "acs_ed_race"]
    keys += list(_VINTAGE_SOURCES.get(demand_kind, ()))
    for kind in sites:
        keys += list(_VINTAGE_SOURCES.get("sites:schools" if kind == "schools" else kind, ()))
    rows = provenance.drop_duplicates("source_key").set_index("source_key")
    boundaries = rows[rows.index.str.startswith("districts_")]
    out = [{"source_key": "districts", "title": "School district boundaries (cartographic boundary files)",
            "publisher": "U.S. Census Bureau", "vintage": ", ".join(sorted(set(boundaries["vintage"].astype(str))))}
           ] if len(boundaries) else []
    for key in dict.fromkeys(keys):
        if key in rows.index:
            row = rows.loc[key]
            out.append({"source_key": key, "title": row["title"], "publisher": row["publisher"],
                        "vintage": row["vintage"]})
    if "pods" in sites:
        out.append({"source_key": "pods", "title": "Pods and hubs", "publisher": "podgeo store (uploads and the "
                    "illustrative sample)", "vintage": "as uploaded"})
    return out


def _md_text(text: str) -> str:
    """A file name or other user text made inert in markdown (no links, emphasis or HTML)."""
    import re

    return re.sub(r"([\\`*_{}\[\]()#+!<>|~-])", r"\\\1", str(text))


def _lower_first(text: str) -> str:
    """'Low-income students (FRPM)' -> 'low-income students (FRPM)': acronyms and proper nouns
    ('English learners') keep their case."""
    if text.split(" ", 1)[0] in _PROPER_WORDS or text[:2].isupper():
        return text
    return text[:1].lower() + text[1:]


_PROPER_WORDS = {"English", "Hispanic", "Black", "Asian", "American", "Native", "Spanish"}


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value))
