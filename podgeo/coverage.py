"""Access and equity metrics: how many seats children can reach, and who is left without.

Pure functions over (Geo)DataFrames: each copies its inputs and returns a new frame. Points
come in as EPSG:4326 and are measured in EPSG:5070 (CONUS Albers, equal area, metres) with
straight-line distances found through a k-d tree, so no method ever builds an n x m matrix.
Points already in one shared projected CRS in metres are measured as they are (tests use it to
write exact coordinates).

Methods (one public function each):

* `container_ratio`       seats (or sites) per 1,000 children 5-17 and children in poverty, per district
* `distance_coverage`     distance to the nearest site; within 1/5/10 miles, or USDA urban/rural radii
* `two_step_fca`          2SFCA (Luo & Wang 2003): seats per child reachable within a catchment
* `enhanced_two_step_fca` E2SFCA (Luo & Qi 2009): the same with stepped or Gaussian distance decay
* `equity_summary`        group-weighted mean access, paired-group ratios, share with zero access
* `shortfall`             districts with the most children in need and no or low access
* `add_hypothetical_site` what-if: append a hub so the same methods can be re-run

The floating-catchment methods follow PySAL `access` 1.1.10 (`fca.two_stage_fca`,
`weights.step_fn`, `weights.gaussian`) to the letter, so results agree with it:

* a pair is in the catchment when distance <= radius (equal counts);
* a step weight applies to distances <= its threshold, 0 beyond the largest threshold;
  the Gaussian weight is exp(-d^2 / (2 sigma^2)), 1 at distance 0, not normalised;
* the weights multiply both steps (demand reaching a site, and a site's ratio reaching demand);
* a site whose catchment holds no weighted demand has ratio seats / 0 = inf, so only a
  zero-demand point next to it gets inf; 0/0 and inf x 0 terms are skipped, as pandas'
  groupby-sum does. The one deliberate difference: a point with no site in reach gets 0
  (no seats reachable); `access` leaves such points out of its result (NaN).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Point

EQUAL_AREA_CRS = "EPSG:5070"
WGS84 = "EPSG:4326"
METRES_PER_MILE = 1609.344
DEFAULT_RADII_MILES = (1.0, 5.0, 10.0)
#: USDA Food Access Research Atlas radii: 1 mile in urban areas, 10 miles in rural ones.
USDA_RADII_MILES = {"urban": 1.0, "rural": 10.0}
#: Luo & Qi (2009) zone weights 1 / 0.68 / 0.22, on podgeo's 1 / 5 / 10-mile zones.
LUO_QI_STEPS_MILES = {1.0: 1.0, 5.0: 0.68, 10.0: 0.22}
#: Demand group columns every demand frame carries (see podgeo.demand).
GROUP_COLUMNS = ("poverty", "low_income", "english_learners", "disability", "of_color", "white_nh")
#: Group compared with its complement; "not_x" means total minus x.
GROUP_PAIRS = (
    ("poverty", "not_poverty"),
    ("low_income", "not_low_income"),
    ("english_learners", "not_english_learners"),
    ("disability", "not_disability"),
    ("of_color", "white_nh"),
)
#: Figures resting on fewer children than this are suppressed (NaN plus a flag).
MIN_CHILDREN = 20


def container_ratio(
    districts: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    children_col: str = "children",
    poverty_col: str = "children_poverty",
    capacity_col: str = "capacity",
    site_id_col: str = "site_id",
) -> pd.DataFrame:
    """Seats per 1,000 children 5-17 and per 1,000 children in poverty, one row per district.

    Each district row keeps its `layer`: unified + elementary tile a state and secondary overlays
    elementary, so a site in a split area counts once in its elementary and once in its
    secondary district, and rows must never be summed across layers. When any site lacks a
    capacity the whole frame falls back to counting sites, so districts stay comparable;
    `ratio_basis` says which was used and `sites_unknown_capacity` how many sites lacked one.
    """
    _require_columns(districts, ["leaid", "layer", children_col, poverty_col], "districts")
    _require_columns(sites, [site_id_col, "leaid", capacity_col], "sites")
    dups = districts["leaid"][districts["leaid"].duplicated()]
    if len(dups):
        raise ValueError(f"districts: leaid {_plain(dups.iloc[0])!r} appears more than once; "
                         "expected one row per district")
    capacity = _numeric_column(sites, capacity_col, "sites", allow_nan=True)
    placed = pd.DataFrame({"site_id": sites[site_id_col].to_numpy(), "leaid": sites["leaid"].to_numpy(),
                           "capacity": capacity.to_numpy()})
    placed = placed.merge(districts[["leaid", "layer"]], on="leaid", how="inner")
    twice = placed[placed.duplicated(["site_id", "layer"])]
    if len(twice):
        row = twice.iloc[0]
        raise ValueError(f"sites: site {_plain(row['site_id'])!r} is assigned to two {row['layer']} districts; "
                         "a site belongs to at most one district per layer")
    unknown_total = int(placed.drop_duplicates("site_id")["capacity"].isna().sum())
    n_sites_total = int(placed["site_id"].nunique())
    basis = "seats" if unknown_total == 0 else (
        f"sites: {unknown_total} of {n_sites_total} sites have unknown capacity, so sites are counted")
    per = _site_totals(placed)
    out = districts.merge(per, left_on="leaid", right_index=True, how="left")
    out[["sites", "sites_unknown_capacity"]] = out[["sites", "sites_unknown_capacity"]].fillna(0).astype(int)
    out["seats_known"] = out["seats_known"].fillna(0.0)
    numerator = out["seats_known"] if unknown_total == 0 else out["sites"].astype(float)
    children = _numeric_column(out, children_col, "districts", allow_nan=True)
    poor = _numeric_column(out, poverty_col, "districts", allow_nan=True)
    out["per_1000_children"] = _per_thousand(numerator, children)
    out["per_1000_children_poverty"] = _per_thousand(numerator, poor)
    out["ratio_basis"] = basis
    return out.reset_index(drop=True)


def distance_coverage(
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    radii_miles: Sequence[float] = DEFAULT_RADII_MILES,
    urban_col: str | None = None,
) -> gpd.GeoDataFrame:
    """Straight-line miles from each demand point to its nearest site, and within-radius flags.

    Adds `nearest_site_miles` and one boolean `within_{r}mi` per radius; with `urban_col` (a
    True/False column per demand point) also `within_usda`, using the USDA Food Access
    Research Atlas radii (1 mile urban, 10 miles rural). The share of demand covered is the
    demand-weighted mean of a flag: `equity_summary` gives it per group.
    """
    radii = _positive_radii(radii_miles)
    demand_xy, site_xy = _projected_xy(demand, "demand", sites, "sites")
    nearest_m = np.full(len(demand_xy), np.inf)
    if len(site_xy) and len(demand_xy):
        nearest_m, _ = cKDTree(site_xy).query(demand_xy, k=1)
    nearest = np.asarray(nearest_m, dtype=float) / METRES_PER_MILE
    out = demand.copy()
    out["nearest_site_miles"] = nearest
    for r in radii:
        out[f"within_{r:g}mi"] = nearest <= r
    if urban_col is not None:
        urban = _urban_flags(demand, urban_col)
        radius = np.where(urban, USDA_RADII_MILES["urban"], USDA_RADII_MILES["rural"])
        out["within_usda"] = nearest <= radius
    return out


def two_step_fca(
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    radius_miles: float = 10.0,
    demand_col: str = "total",
    seats_col: str | None = "capacity",
    site_id_col: str = "site_id",
) -> gpd.GeoDataFrame:
    """2SFCA (Luo & Wang 2003): each point's sum, over sites within the radius, of seats per child.

    Step 1 divides each site's seats by the children within `radius_miles` of it; step 2 sums
    those ratios over the sites within reach of each point. Adds `access` (seats per child; sites
    per child when `seats_col` is None), `access_unit` and `sites_in_reach`.
    """
    return _floating_catchment(demand, sites, radius_miles=radius_miles, decay=None, demand_col=demand_col,
                               seats_col=seats_col, site_id_col=site_id_col)


def enhanced_two_step_fca(
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    radius_miles: float = 10.0,
    decay: str = "step",
    steps_miles: Mapping[float, float] | None = None,
    sigma_miles: float | None = None,
    demand_col: str = "total",
    seats_col: str | None = "capacity",
    site_id_col: str = "site_id",
) -> gpd.GeoDataFrame:
    """E2SFCA (Luo & Qi 2009): 2SFCA with distance-decay weights in both steps.

    `decay="step"` uses `steps_miles` {threshold: weight} (default 1 / 5 / 10 miles at
    1 / 0.68 / 0.22, Luo & Qi's weights), as `access.weights.step_fn`; `decay="gaussian"` uses
    exp(-d^2 / 2 sigma^2) with `sigma_miles` (default half the radius), as
    `access.weights.gaussian`. Nearer seats count more, so a site next door is not equated with
    one at the catchment's edge.
    """
    if decay == "step":
        steps = dict(LUO_QI_STEPS_MILES if steps_miles is None else steps_miles)
        if not steps:
            raise ValueError("steps_miles is empty; give at least one {threshold_miles: weight}")
        for threshold, weight in steps.items():
            if not (_is_number(threshold) and threshold > 0):
                raise ValueError(f"steps_miles threshold {threshold!r} must be a positive number of miles")
            if not (_is_number(weight) and weight >= 0):
                raise ValueError(f"steps_miles weight {weight!r} (at {threshold} miles) must be a number >= 0")
        spec = ("step", {float(k) * METRES_PER_MILE: float(v) for k, v in steps.items()})
    elif decay == "gaussian":
        sigma = radius_miles / 2.0 if sigma_miles is None and _is_number(radius_miles) else sigma_miles
        if not (_is_number(sigma) and sigma > 0):
            raise ValueError(f"sigma_miles {sigma_miles!r} must be a positive number of miles")
        spec = ("gaussian", float(sigma) * METRES_PER_MILE)
    else:
        raise ValueError(f"decay {decay!r} is not one of 'step', 'gaussian'")
    return _floating_catchment(demand, sites, radius_miles=radius_miles, decay=spec, demand_col=demand_col,
                               seats_col=seats_col, site_id_col=site_id_col)


def equity_summary(
    points: pd.DataFrame,
    access_col: str,
    *,
    groups: Sequence[str] | None = None,
    pairs: Sequence[tuple[str, str]] = GROUP_PAIRS,
    total_col: str = "total",
    by: str | None = None,
    min_children: float = MIN_CHILDREN,
) -> pd.DataFrame:
    """Per group: children, group-weighted mean access, share with zero access, ratio to its pair.

    A group's weight at a point is its count there (`not_x` = total - x). Rows missing a
    group's count or the access value are left out of that group (and counted in
    `points_missing`). Figures resting on fewer than `min_children` children are NaN with
    `suppressed` True; a ratio is NaN when either side is suppressed. With `by` (e.g. "leaid")
    the summary is repeated per value of that column.
    """
    _require_columns(points, [access_col, total_col] + ([by] if by else []), "points")
    access = _numeric_column(points, access_col, "points", allow_nan=True)
    available = [g for g in GROUP_COLUMNS if g in points.columns and points[g].notna().any()]
    if groups is None:
        wanted = ["total"] + available
        wanted += [b for a, b in pairs if a in available and b.startswith("not_")]
    else:
        wanted = list(groups)
    weights = {g: _group_weights(points, g, total_col) for g in wanted}
    partner = {}
    for a, b in pairs:
        partner.setdefault(a, b)
        partner.setdefault(b, a)
    keys = points[by].to_numpy() if by else np.zeros(len(points), dtype=int)
    access_values = access.to_numpy()
    rows = []
    for key in pd.unique(keys[pd.notna(keys)]):
        mask = keys == key
        stats = {g: _weighted_stats(g, weights[g][mask], access_values[mask], min_children) for g in wanted}
        for g in wanted:
            row = {by: key} if by else {}
            row.update({"group": g, **stats[g]})
            other = partner.get(g)
            row["compared_with"] = other if other in stats else None
            if other in stats and not (stats[g]["suppressed"] or stats[other]["suppressed"]):
                with np.errstate(divide="ignore", invalid="ignore"):
                    row["ratio"] = np.float64(stats[g]["mean_access"]) / np.float64(stats[other]["mean_access"])
            else:
                row["ratio"] = np.nan
            rows.append(row)
    columns = ([by] if by else []) + ["group", "children", "mean_access", "share_zero_access", "compared_with",
                                      "ratio", "suppressed", "points_missing"]
    return pd.DataFrame(rows, columns=columns)


def shortfall(
    points: pd.DataFrame,
    access_col: str,
    *,
    need_col: str = "poverty",
    sites: pd.DataFrame | None = None,
    capacity_col: str = "capacity",
    max_access: float | None = None,
    min_children: float = MIN_CHILDREN,
) -> pd.DataFrame:
    """Districts ranked by children in need among those with no or low access.

    Per district (`leaid` of the demand points): children in need (`need_col`, e.g. poverty or
    low_income), those at points with zero access, need-weighted mean access, demand points,
    and, with `sites` assigned to districts (leaid; capacity optional), the district's sites,
    how many lack a capacity, and the seats of those that have one.
    Low access means mean access <= `max_access`; by default the lower quartile of district
    values (kept in `low_access_threshold`). Districts with fewer than `min_children` in need
    are not ranked.
    """
    _require_columns(points, ["leaid", access_col, need_col], "points")
    access = _numeric_column(points, access_col, "points", allow_nan=True).to_numpy()
    need = _numeric_column(points, need_col, "points", allow_nan=True).to_numpy()
    frame = pd.DataFrame({"leaid": points["leaid"].to_numpy(), "need": need, "access": access})
    frame = frame[frame["leaid"].notna() & frame["need"].notna()]
    frame["need_x_access"] = np.where(frame["need"] > 0, frame["need"] * frame["access"], 0.0)
    frame["need_zero"] = np.where(frame["access"] == 0, frame["need"], 0.0)
    frame["need_known_access"] = np.where(frame["access"].notna(), frame["need"], 0.0)
    per = frame.groupby("leaid").agg(
        children_in_need=("need", "sum"),
        children_in_need_zero_access=("need_zero", "sum"),
        weighted=("need_x_access", "sum"),
        weight=("need_known_access", "sum"),
        demand_points=("need", "size"),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        per["access"] = per["weighted"] / per["weight"]
    per = per.drop(columns=["weighted", "weight"]).reset_index()
    if sites is not None:
        _require_columns(sites, ["leaid"], "sites")
        seats = (_numeric_column(sites, capacity_col, "sites", allow_nan=True) if capacity_col in sites.columns
                 else pd.Series(np.nan, index=sites.index))
        in_district = pd.DataFrame({"leaid": sites["leaid"].to_numpy(), "capacity": seats.to_numpy()})
        per = per.merge(_site_totals(in_district), left_on="leaid", right_index=True, how="left")
        per[["sites", "sites_unknown_capacity"]] = per[["sites", "sites_unknown_capacity"]].fillna(0).astype(int)
        per["seats_known"] = per["seats_known"].fillna(0.0)
    else:
        per["sites"] = per["sites_unknown_capacity"] = per["seats_known"] = np.nan
    ranked = per[per["children_in_need"] >= min_children]
    if max_access is None:
        finite = ranked["access"][np.isfinite(ranked["access"])]
        threshold = float(np.quantile(finite, 0.25)) if len(finite) else 0.0
    elif _is_number(max_access) and max_access >= 0:
        threshold = float(max_access)
    else:
        raise ValueError(f"max_access {max_access!r} must be a number >= 0 or None")
    low = ranked[ranked["access"] <= threshold].copy()  # NaN access (no known value) is never ranked
    low = low.sort_values(["children_in_need", "children_in_need_zero_access", "leaid"],
                          ascending=[False, False, True])
    low.insert(0, "rank", np.arange(1, len(low) + 1))
    low["low_access_threshold"] = threshold
    low["need_measure"] = need_col
    return low.reset_index(drop=True)


def add_hypothetical_site(
    sites: gpd.GeoDataFrame,
    lon: float,
    lat: float,
    seats: float,
    *,
    site_id: str = "hypothetical-1",
    leaid: str | Sequence[str] | None = None,
    capacity_col: str = "capacity",
    site_id_col: str = "site_id",
) -> gpd.GeoDataFrame:
    """A copy of `sites` with one more hub at (lon, lat) WGS84, so any method can be re-run on it.

    Give `leaid` (one id, or one per layer for a split area) for `container_ratio`; other
    columns of the new row are empty. Adding a site never lowers any access figure.
    """
    if not isinstance(sites, gpd.GeoDataFrame) or sites.crs is None:
        raise ValueError("sites must be a GeoDataFrame with a CRS")
    if not (_is_number(lon) and -180 <= lon <= 180):
        raise ValueError(f"lon {lon!r} is not a longitude in -180..180")
    if not (_is_number(lat) and -90 <= lat <= 90):
        raise ValueError(f"lat {lat!r} is not a latitude in -90..90")
    if not (_is_number(seats) and seats >= 0):
        raise ValueError(f"seats {seats!r} must be a number >= 0")
    if site_id_col in sites.columns and (sites[site_id_col] == site_id).any():
        raise ValueError(f"site_id {site_id!r} is already in sites; pick another id")
    leaids = [None] if leaid is None else ([leaid] if isinstance(leaid, str) else list(leaid))
    point = gpd.GeoSeries([Point(lon, lat)], crs=WGS84).to_crs(sites.crs).iloc[0]
    new = gpd.GeoDataFrame(
        {site_id_col: [site_id] * len(leaids), capacity_col: [float(seats)] * len(leaids), "leaid": leaids},
        geometry=[point] * len(leaids), crs=sites.crs)
    if "leaid" not in sites.columns and leaid is None:
        new = new.drop(columns="leaid")
    new = new.rename_geometry(sites.geometry.name) if sites.geometry.name != "geometry" else new
    return gpd.GeoDataFrame(pd.concat([sites, new], ignore_index=True), crs=sites.crs,
                            geometry=sites.geometry.name)


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------

def _floating_catchment(demand, sites, *, radius_miles, decay, demand_col, seats_col, site_id_col):
    """Both steps of (E)2SFCA over the pairs within the radius, found with a k-d tree."""
    if not (_is_number(radius_miles) and radius_miles > 0 and math.isfinite(radius_miles)):
        raise ValueError(f"radius_miles {radius_miles!r} must be a positive number of miles")
    _require_columns(demand, [demand_col], "demand")
    _require_columns(sites, [site_id_col] + ([seats_col] if seats_col else []), "sites")
    dups = sites[site_id_col][sites[site_id_col].duplicated()]
    if len(dups):
        raise ValueError(f"sites: {site_id_col} {_plain(dups.iloc[0])!r} appears more than once; a site assigned to "
                         f"several districts must be de-duplicated (drop_duplicates({site_id_col!r})) first")
    children = _numeric_column(demand, demand_col, "demand", allow_nan=False, non_negative=True).to_numpy()
    if seats_col is None:
        supply, unit = np.ones(len(sites)), "sites per child"
    else:
        supply = _numeric_column(sites, seats_col, "sites", allow_nan=False, non_negative=True,
                                 hint="pass seats_col=None to count sites instead").to_numpy()
        unit = "seats per child"
    demand_xy, site_xy = _projected_xy(demand, "demand", sites, "sites")
    radius_m = radius_miles * METRES_PER_MILE
    d_idx, s_idx, dist = _pairs_within(demand_xy, site_xy, radius_m)
    access, in_reach = catchment_access(children, supply, d_idx, s_idx, dist, decay=decay)
    out = demand.copy()
    out["access"] = access
    out["access_unit"] = unit
    out["sites_in_reach"] = in_reach
    return out


def catchment_access(children, supply, d_idx, s_idx, cost, *, decay=None):
    """Both steps of (E)2SFCA over given pairs (demand index, site index, cost within the catchment).

    The one core every floating-catchment figure goes through, whether the pairs come from the
    k-d tree (cost in metres) or a travel-time matrix (cost in minutes); `decay` is None,
    ("step", {threshold: weight}) or ("gaussian", sigma), in the cost's unit. Returns (access per
    demand point, sites in reach per demand point).
    """
    children = np.asarray(children, dtype=float)
    supply = np.asarray(supply, dtype=float)
    d_idx = np.asarray(d_idx, dtype=np.intp)
    s_idx = np.asarray(s_idx, dtype=np.intp)
    weight = _decay_weights(np.asarray(cost, dtype=float), decay)
    with np.errstate(divide="ignore", invalid="ignore"):
        demand_at_site = np.bincount(s_idx, weights=children[d_idx] * weight, minlength=len(supply))
        ratio = supply / demand_at_site
        contribution = ratio[s_idx] * weight
    contribution[np.isnan(contribution)] = 0.0  # 0/0 and inf*0 terms: skipped, as access' groupby-sum does
    return (np.bincount(d_idx, weights=contribution, minlength=len(children)),
            np.bincount(d_idx, minlength=len(children)))


def _pairs_within(demand_xy, site_xy, radius_m):
    """(demand index, site index, metres) for every pair with distance <= radius_m."""
    if len(demand_xy) == 0 or len(site_xy) == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, np.empty(0)
    slack = radius_m * (1 + 1e-9) + 1e-9  # let the tree over-collect, then cut exactly at <= radius
    pairs = cKDTree(demand_xy).sparse_distance_matrix(cKDTree(site_xy), slack, output_type="ndarray")
    keep = pairs["v"] <= radius_m
    return pairs["i"][keep].astype(np.intp), pairs["j"][keep].astype(np.intp), pairs["v"][keep]


def _decay_weights(dist_m, decay):
    """Weights as access.weights defines them: step_fn (<= threshold, 0 beyond) or gaussian."""
    if decay is None:
        return np.ones(len(dist_m))
    kind, param = decay
    if kind == "step":
        thresholds = np.array(sorted(param))
        values = np.array([param[k] for k in sorted(param)] + [0.0])
        return values[np.searchsorted(thresholds, dist_m, side="left")]
    sigma = param
    return np.exp(-dist_m * dist_m / (2 * sigma**2))


def _projected_xy(demand, demand_name, sites, sites_name):
    """x/y arrays in metres: EPSG:5070, or the frames' shared projected metric CRS if they have one."""
    for frame, name in ((demand, demand_name), (sites, sites_name)):
        if not isinstance(frame, gpd.GeoDataFrame):
            raise ValueError(f"{name} must be a GeoDataFrame of points, got {type(frame).__name__}")
        if frame.crs is None:
            raise ValueError(f"{name} has no CRS; expected EPSG:4326 points")
        kinds = shapely.get_type_id(frame.geometry.values)  # -1 missing, 0 point
        bad = (kinds == -1) | shapely.is_empty(frame.geometry.values)
        if bad.any():
            raise ValueError(f"{name}: row {_plain(frame.index[bad][0])!r} has no geometry")
        if (kinds != 0).any():
            row = frame.index[kinds != 0][0]
            raise ValueError(f"{name}: row {_plain(row)!r} is a {frame.geometry.loc[row].geom_type}, expected a Point")
    same_metric = (demand.crs == sites.crs and demand.crs.is_projected
                   and all(a.unit_name in ("metre", "meter") for a in demand.crs.axis_info))
    out = []
    for frame in (demand, sites):
        xy = shapely.get_coordinates(frame.geometry.values)
        if not same_metric and len(xy):
            x, y = _to_equal_area(frame.crs).transform(xy[:, 0], xy[:, 1])
            xy = np.column_stack([x, y])
        if not np.isfinite(xy).all():
            raise ValueError("a point could not be projected to EPSG:5070 (coordinates outside the valid range?)")
        out.append(xy)
    return out


@functools.lru_cache(maxsize=16)
def _to_equal_area(crs):
    """Cached transformer: building one costs more than projecting thousands of points."""
    return pyproj.Transformer.from_crs(crs, EQUAL_AREA_CRS, always_xy=True)


def _site_totals(placed):
    """Per leaid: sites, sites without a capacity, and the sum of the capacities that are known.

    Counted with bincount: pandas' named groupby aggregation cost ~40 ms even on a few rows,
    and the map recounts on every filter change."""
    codes, leaids = pd.factorize(placed["leaid"].to_numpy())
    capacity = placed["capacity"].to_numpy(dtype=float)
    unknown = np.isnan(capacity)
    n = len(leaids)
    return pd.DataFrame({
        "sites": np.bincount(codes, minlength=n).astype(int),
        "sites_unknown_capacity": np.bincount(codes, weights=unknown, minlength=n).astype(int),
        "seats_known": np.bincount(codes, weights=np.where(unknown, 0.0, capacity), minlength=n),
    }, index=pd.Index(leaids, name="leaid"))


def _group_weights(points, group, total_col):
    """A group's count per point; `not_x` is total minus x (clipped at 0)."""
    if group == "total":
        return _numeric_column(points, total_col, "points", allow_nan=True).to_numpy(dtype=float)
    if group.startswith("not_") and group not in points.columns:
        base = group[4:]
        _require_columns(points, [base], "points")
        total = _numeric_column(points, total_col, "points", allow_nan=True).to_numpy(dtype=float)
        part = _numeric_column(points, base, "points", allow_nan=True).to_numpy(dtype=float)
        return np.clip(total - part, 0, None)
    _require_columns(points, [group], "points")
    return _numeric_column(points, group, "points", allow_nan=True).to_numpy(dtype=float)


def _weighted_stats(group, weight, access, min_children):
    """Children, weighted mean access and zero-access share for one group (suppressed below the floor)."""
    known = ~np.isnan(weight) & ~np.isnan(access)
    w, a = weight[known], access[known]
    if (w < 0).any():
        raise ValueError(f"points: group {group!r} has a negative count ({w.min():g}); counts must be >= 0")
    children = float(w.sum())
    missing = int((~known).sum())
    positive = w > 0  # zero-weight points add nothing (and keep inf*0 out of the sum)
    if children < min_children or children == 0:
        return {"children": children, "mean_access": np.nan, "share_zero_access": np.nan,
                "suppressed": True, "points_missing": missing}
    mean = float(np.sum(w[positive] * a[positive]) / children)
    zero = float(np.sum(w[positive & (a == 0)]) / children)
    return {"children": children, "mean_access": mean, "share_zero_access": zero,
            "suppressed": False, "points_missing": missing}


def _per_thousand(numerator, children):
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(children > 0, 1000.0 * numerator / children, np.nan), index=numerator.index)


def _urban_flags(frame, urban_col):
    _require_columns(frame, [urban_col], "demand")
    values = frame[urban_col]
    ok = values.isin([True, False, 0, 1])
    if not ok.all():
        row = frame.index[~ok.to_numpy()][0]
        raise ValueError(f"demand: column {urban_col!r} row {_plain(row)!r} is {_plain(values.loc[row])!r}, "
                         "expected True/False")
    return values.astype(bool).to_numpy()


def _positive_radii(radii):
    radii = [radii] if _is_number(radii) else list(radii)
    if not radii:
        raise ValueError("radii_miles is empty; give at least one radius in miles")
    for r in radii:
        if not (_is_number(r) and r > 0 and math.isfinite(r)):
            raise ValueError(f"radius {r!r} must be a positive number of miles")
    return [float(r) for r in radii]


def _numeric_column(frame, column, name, *, allow_nan, non_negative=False, hint=""):
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        row = frame.index[bad.to_numpy()][0]
        raise ValueError(f"{name}: column {column!r} row {_plain(row)!r} is {_plain(frame[column].loc[row])!r}, "
                         "expected a number")
    values = values.astype(float)
    if not allow_nan and values.isna().any():
        row = frame.index[values.isna().to_numpy()][0]
        raise ValueError(f"{name}: column {column!r} row {_plain(row)!r} is empty" + (f"; {hint}" if hint else ""))
    if non_negative and (values < 0).any():
        row = frame.index[(values < 0).to_numpy()][0]
        raise ValueError(f"{name}: column {column!r} row {_plain(row)!r} is {_plain(values.loc[row])!r}, "
                         "expected >= 0")
    return values


def _require_columns(frame, columns, name):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; found {list(frame.columns)}")


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and not (isinstance(value, float) and math.isnan(value))


def _plain(value):
    """numpy scalars as plain Python values, so messages read `row 3 is 250.0`, not `np.int64(3)`."""
    return value.item() if isinstance(value, np.generic) else value
