"""A district's profile: every measure with its margin of error, source, vintage and state median.

Pure functions over the frames the store returns, shared by the map's click panel and the
district profile page so both say the same thing about a district.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from podgeo import measures


def measure_rows(district: pd.Series, state_districts: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """One row per measure: value, ±MOE, unit, source, vintage, the state median and where the
    district stands against it. The median is over districts of the same layer in the state."""
    same_layer = state_districts[state_districts["layer"] == district["layer"]]
    info = catalog.set_index("key") if len(catalog) else pd.DataFrame()
    rows = []
    for m in measures.MEASURES:
        if m.key not in district.index:
            continue
        value = _num(district.get(m.key))
        moe = _num(district.get(m.moe)) if m.moe else None
        median = _num(pd.to_numeric(same_layer[m.key], errors="coerce").median()) if m.key in same_layer else None
        meta = info.loc[m.key] if m.key in info.index else {}
        rows.append({
            "measure": m.label, "key": m.key, "value": value, "moe": moe, "unit": m.unit,
            "state_median": median, "vs_state": _compare(value, median),
            "source": meta.get("publisher", "") if len(meta) else "", "vintage": meta.get("vintage", "") if len(meta) else "",
        })
    return pd.DataFrame(rows)


def format_value(value: float | None, unit: str, moe: float | None = None) -> str:
    """'22.4 % ± 0.5', '724,446 children', 'no data'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    if unit == "%":
        text = f"{value:.1f} %"
        return text + (f" ± {moe:.1f}" if moe is not None and not math.isnan(moe) else "")
    if unit in {"per 1,000 children"}:
        return f"{value:.2f} {unit}"
    text = f"{value:,.0f} {unit}"
    return text + (f" ± {moe:,.0f}" if moe is not None and not math.isnan(moe) else "")


def _compare(value: float | None, median: float | None) -> str:
    if value is None or median is None:
        return ""
    if math.isclose(value, median, rel_tol=0.005, abs_tol=1e-9):
        return "at the state median"
    return "above the state median" if value > median else "below the state median"


def _num(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


# -- the district profile page ------------------------------------------------------------------
# (assembled here, like podgeo.explore for the map page, so the page only draws what this returns)

import folium  # noqa: E402
import geopandas as gpd  # noqa: E402

from podgeo import coverage, maps, rollup, vocab  # noqa: E402

#: candidate sites this close to a district's boundary count as nearby (straight line)
NEARBY_MILES = 1.0
_SITE_LAYERS = {"library": "libraries", "school": "schools"}


@dataclass
class DistrictProfile:
    """Everything the profile page shows for one district."""

    leaid: str
    heading: str
    figures: pd.DataFrame  # figure, value: children, enrollment, pods, seats, container ratios, sites
    measures: pd.DataFrame  # measure, value (± MOE), state median, vs state, source, vintage
    pods: pd.DataFrame  # the district's pods, as text
    sites: pd.DataFrame  # candidate sites inside or within NEARBY_MILES, nearest first
    map: folium.Map | None  # None for an agency without a boundary (a charter LEA, a state agency)


def district_profile(leaid: str, state_districts: gpd.GeoDataFrame, pods: gpd.GeoDataFrame, links: pd.DataFrame,
                     sites: gpd.GeoDataFrame, catalog: pd.DataFrame, *, nearby_miles: float = NEARBY_MILES,
                     tiles: str | None = "env") -> DistrictProfile:
    """One district's profile from its state's districts (every layer, display geometry), the
    pods (already filtered) with their district links, and the state's candidate sites.

    State medians compare the district with the other districts of its layer; the container
    ratio is `coverage.container_ratio`, as on the map and the Coverage page.
    """
    if leaid not in set(state_districts["leaid"]):
        raise ValueError(f"district {leaid!r} is not among the {len(state_districts)} districts given")
    row = state_districts.set_index("leaid").loc[leaid]
    shape = state_districts.loc[state_districts["leaid"] == leaid].geometry.iloc[0]
    bounded = shape is not None and not shape.is_empty
    peers = state_districts[state_districts["layer"].isin(_peer_layers(row["layer"]))]
    counted = rollup.with_pod_counts(peers, pods, links)
    district = counted.set_index("leaid").loc[leaid].rename(leaid)
    inside = pods[pods["pod_id"].isin(set(links.loc[links["leaid"] == leaid, "pod_id"]))]
    near = _nearby_sites(shape if bounded else None, sites, nearby_miles)
    measures_table = measure_rows(district, pd.DataFrame(counted.drop(columns="geometry")), catalog)
    measures_table["value"] = [format_value(v, u, e) for v, u, e in
                               zip(measures_table["value"], measures_table["unit"], measures_table["moe"])]
    measures_table["state_median"] = [format_value(v, u) for v, u in
                                      zip(measures_table["state_median"], measures_table["unit"])]
    m = None
    if bounded:
        drawn = peers[peers.geometry.notna() & ~peers.geometry.is_empty]
        m = maps.district_outlines(drawn, chosen=[leaid], label=str(row["name"]), tiles=tiles)
        for kind, layer in _SITE_LAYERS.items():
            part = near[near["kind"] == kind]
            if len(part):
                maps.add_sites(m, part, layer, show=True)
        maps.add_pods(m, inside)
    # the vintage column is float once agencies without a boundary (no vintage) share the table
    boundary = f"boundaries {int(row['vintage'])}" if bounded and pd.notna(row["vintage"]) else "no boundary"
    heading = f"{row['name']} · {row['state']} · LEAID {leaid} · {row['layer']} · {boundary}"
    covered = set(sites["kind"]) if "kind" in sites.columns else set()
    return DistrictProfile(leaid, heading, _figures(district, inside, near, nearby_miles, covered, bounded),
                           measures_table[["measure", "value", "state_median", "vs_state", "source", "vintage"]],
                           _pod_table(inside), _site_table(near), m)


def with_unbounded(bounded: gpd.GeoDataFrame, table: pd.DataFrame, leaids=None, state_fips=None) -> gpd.GeoDataFrame:
    """`bounded` (districts with display geometry) plus the agencies of `table` (every district,
    no geometry) it lacks, with an empty geometry: those without a boundary polygon (charter LEAs,
    state agencies), kept so profiles and cohorts show and count them. Limited to `leaids` and/or
    the states `state_fips` when given."""
    extra = table[~table["leaid"].isin(set(bounded["leaid"]))]
    if leaids is not None:
        extra = extra[extra["leaid"].isin(set(leaids))]
    if state_fips is not None:
        extra = extra[extra["state_fips"].isin(set(state_fips))]
    if extra.empty:
        return bounded
    rows = gpd.GeoDataFrame(pd.DataFrame(extra).reset_index(drop=True), geometry=[None] * len(extra), crs=bounded.crs)
    return gpd.GeoDataFrame(pd.concat([bounded, rows], ignore_index=True), geometry="geometry", crs=bounded.crs)


def _peer_layers(layer: str) -> tuple[str, ...]:
    """The districts a district is compared with: its own layer group (agencies without a boundary
    are compared with agencies of their own type)."""
    if layer == "secondary":
        return ("secondary",)
    return rollup.BASE_LAYERS if layer in rollup.BASE_LAYERS else (layer,)


def _figures(district: pd.Series, pods: pd.DataFrame, near: pd.DataFrame, miles: float, covered: set[str],
             bounded: bool) -> pd.DataFrame:
    """The headline figures; a count the data cannot give (a layer that does not cover the state,
    a district without a boundary) says so instead of showing 0."""
    placed = pd.DataFrame({"site_id": pods["pod_id"].to_numpy(), "leaid": district.name,
                           "capacity": pd.to_numeric(pods["capacity"], errors="coerce").to_numpy(dtype=float)})
    ratio = coverage.container_ratio(
        pd.DataFrame([{"leaid": district.name, "layer": district["layer"], "children_5_17": district["children_5_17"],
                       "children_poverty": district["children_poverty"]}]), placed,
        children_col="children_5_17", poverty_col="children_poverty").iloc[0]
    basis = "seats" if ratio["ratio_basis"] == "seats" else "pods (some have no capacity)"
    inside = near[near["distance_miles"] == 0]
    rows = [
        ("Children 5-17 (SAIPE)", format_value(_num(district.get("children_5_17")), "children")),
        ("Children 5-17 in poverty", format_value(_num(district.get("children_poverty")), "children")),
        ("Students enrolled 2020-21", format_value(_num(district.get("enrollment")), "students")),
        ("Pods and hubs in the district", f"{len(pods):,}" if bounded else _unknown(covered, bounded, district)),
        ("Seats (known capacities)", (f"{ratio['seats_known']:,.0f}" + (
            f" ({int(ratio['sites_unknown_capacity'])} without a known capacity)"
            if ratio["sites_unknown_capacity"] else "")) if bounded else _unknown(covered, bounded, district)),
        (f"Container ratio: {basis} per 1,000 children", _rate(ratio["per_1000_children"])),
        (f"Container ratio: {basis} per 1,000 children in poverty", _rate(ratio["per_1000_children_poverty"])),
        ("Public library outlets in the district", _site_count(inside, "library", covered, bounded, district)),
        ("Public schools in the district", _site_count(inside, "school", covered, bounded, district)),
        (f"Candidate sites within {miles:g} mi outside the boundary",
         f"{int((near['distance_miles'] > 0).sum()):,}" if bounded and covered else _unknown(covered, bounded, district)),
    ]
    return pd.DataFrame(rows, columns=["figure", "value"])


_LAYER_NAMES = {"library": "library layer (IMLS outlets)", "school": "school layer"}


def _site_count(inside: pd.DataFrame, kind: str, covered: set[str], bounded: bool, district: pd.Series) -> str:
    if not bounded or kind not in covered:
        return _unknown({kind} & covered, bounded, district, kind)
    return f"{int((inside['kind'] == kind).sum()):,}"


def _unknown(covered: set[str], bounded: bool, district: pd.Series, kind: str | None = None) -> str:
    if not bounded:
        return "not known: no boundary to place pods or sites in"
    layer = _LAYER_NAMES.get(kind, "candidate-site layers") if kind else "candidate-site layers"
    verb = "do" if layer.endswith("layers") else "does"
    return f"not known: the {layer} {verb} not cover {district.get('state', 'this state')}"


def _rate(value) -> str:
    number = _num(value)
    return "no data" if number is None else f"{number:,.2f}"


def _nearby_sites(shape, sites: gpd.GeoDataFrame, miles: float) -> gpd.GeoDataFrame:
    """Sites inside `shape` (distance 0) or within `miles` of it, nearest first, measured in EPSG:5070."""
    if sites.empty or shape is None:
        return sites.assign(distance_miles=pd.Series(dtype=float)).iloc[0:0]
    located = sites[sites.geometry.notna() & ~sites.geometry.is_empty]
    area = gpd.GeoSeries([shape], crs=maps.DISPLAY_CRS).to_crs(coverage.EQUAL_AREA_CRS).iloc[0]
    points = located.to_crs(coverage.EQUAL_AREA_CRS)
    near = points.sindex.query(area, predicate="dwithin", distance=miles * coverage.METRES_PER_MILE)
    out = located.iloc[near].copy()
    out["distance_miles"] = points.iloc[near].distance(area).to_numpy() / coverage.METRES_PER_MILE
    out["distance_miles"] = out["distance_miles"].round(2)
    return out.sort_values(["distance_miles", "name"], kind="stable")


def _pod_table(pods: pd.DataFrame) -> pd.DataFrame:
    types, modes, statuses = (vocab.labels(t) for t in (vocab.OPERATOR_TYPES, vocab.MODES, vocab.STATUSES))
    grades = [f"{_grade(lo)}-{_grade(hi)}" for lo, hi in zip(pods["grade_low"], pods["grade_high"])]
    return pd.DataFrame({"pod": pods["name"].astype(str).to_numpy(),
                         "type": pods["operator_type"].map(lambda v: types.get(v, v or "")).to_numpy(),
                         "mode": pods["mode"].map(lambda v: modes.get(v, v or "")).to_numpy(), "grades": grades,
                         "seats": pd.to_numeric(pods["capacity"], errors="coerce").to_numpy(),
                         "status": pods["status"].map(lambda v: statuses.get(v, v or "")).to_numpy(),
                         "city": pods["city"].fillna("").astype(str).to_numpy()})


def _grade(value) -> str:
    return vocab.grade_label(int(value)) if pd.notna(value) else "?"


def _site_table(near: pd.DataFrame) -> pd.DataFrame:
    kinds = {"library": "Public library outlet", "school": "Public school"}
    return pd.DataFrame({"site": near["name"].fillna("").astype(str).to_numpy(),
                         "kind": near["kind"].map(lambda k: kinds.get(k, k)).to_numpy(),
                         "address": (near["address"].fillna("") + ", " + near["city"].fillna(""))
                         .str.strip(", ").to_numpy(),
                         "miles outside": near["distance_miles"].to_numpy()})
