"""Spatial joins, reprojection and display simplification.

Pure functions over GeoDataFrames: they copy their inputs and return new frames.
School districts come in layers: unified and elementary districts tile a state together and
secondary districts overlay the elementary ones, so joins and simplification work per tiling
("base" = unified + elementary, "secondary"), never across it.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Equal-area CONUS projection used for simplifying and measuring in metres.
EQUAL_AREA_CRS = "EPSG:5070"
DISPLAY_CRS = "EPSG:4326"
#: Census GEOIDs ending in 99997 are "School District Not Defined" filler areas, not districts.
FILLER_SUFFIX = "99997"

_TILING = {"unified": "base", "elementary": "base", "secondary": "secondary"}


def display_geometry(gdf: gpd.GeoDataFrame, tolerance_m: float = 300, decimals: int = 5, *,
                     layer_col: str | None = "layer", method: str = "coverage") -> gpd.GeoDataFrame:
    """Boundaries light enough to send to a browser: simplified in metres, WGS84, rounded.

    method="coverage" simplifies each tiling (by `layer_col` when present) as a polygon
    coverage, so neighbouring districts keep one shared edge (no slivers or gaps between them);
    it falls back to "simplify" (Douglas-Peucker with preserve_topology, per polygon) when the
    polygons do not form a valid coverage. Coordinates are snapped to `decimals` places
    (5 ~ 1 m) and any geometry this made invalid is repaired.
    """
    (geoms,) = display_geometries(gdf, [(tolerance_m, decimals)], layer_col=layer_col, method=method)
    return gdf.copy().set_geometry(geoms) if not gdf.empty else gdf.copy().to_crs(DISPLAY_CRS)


#: national maps of every district: ~2 km is under a pixel at the zooms a national map is read at
NATIONAL_TOLERANCE_M = 2000
NATIONAL_DECIMALS = 3


def display_geometries(gdf: gpd.GeoDataFrame, levels, *, layer_col: str | None = "layer",
                       method: str = "coverage") -> list[gpd.GeoSeries]:
    """`display_geometry` at several (tolerance_m, decimals) levels in one pass, coarsest last:
    each level is simplified from the previous one's unrounded result, so a national level
    (`NATIONAL_TOLERANCE_M`) built after the 300 m one costs little and is still a coverage."""
    levels = [(float(t), int(d)) for t, d in levels]
    for tolerance_m, decimals in levels:
        if method not in ("coverage", "simplify"):
            raise ValueError(f"method must be 'coverage' or 'simplify', not {method!r}")
        if tolerance_m < 0:
            raise ValueError(f"tolerance_m must be >= 0, not {tolerance_m!r}")
        if not 0 <= decimals <= 10:
            raise ValueError(f"decimals must be between 0 and 10, not {decimals!r}")
    if gdf.crs is None:
        raise ValueError("gdf has no CRS; set it (e.g. EPSG:4326) before simplifying")
    if gdf.empty:
        return [gpd.GeoSeries([], index=gdf.index, crs=DISPLAY_CRS) for _ in levels]
    projected = gdf.geometry.to_crs(EQUAL_AREA_CRS).values
    groups = _tiling_groups(gdf, layer_col)
    out = []
    for tolerance_m, decimals in levels:
        if tolerance_m > 0:
            projected = _simplify(projected, tolerance_m, groups, method)
        geoms = gpd.GeoSeries(projected, index=gdf.index, crs=EQUAL_AREA_CRS).to_crs(DISPLAY_CRS).values
        geoms = shapely.set_precision(geoms, 10.0 ** -decimals)
        geoms = _round_coordinates(geoms, decimals)
        out.append(gpd.GeoSeries(_make_valid(geoms), index=gdf.index, crs=DISPLAY_CRS))
    return out


def national_geometry(gdf: gpd.GeoDataFrame, *, state_col: str = "state_fips", layer_col: str = "layer",
                      tolerance_m: float = NATIONAL_TOLERANCE_M, decimals: int = NATIONAL_DECIMALS) -> gpd.GeoDataFrame:
    """National display geometry from display geometry (for a store built without its `national`
    column): each state's tiling simplified as a coverage even where 1 m rounding left hairline
    overlaps (coverage_simplify tolerates them), no district dropped."""
    if gdf.crs is None:
        raise ValueError("gdf has no CRS; set it (e.g. EPSG:4326) before simplifying")
    out = gdf.copy()
    if out.empty:
        return out.to_crs(DISPLAY_CRS)
    projected = out.geometry.to_crs(EQUAL_AREA_CRS).values
    groups = out[state_col].astype(str).to_numpy(dtype=object) + ":" + _tiling_groups(out, layer_col)
    simplified = projected.copy()
    present = ~shapely.is_missing(projected) & ~shapely.is_empty(projected)
    for group in pd.unique(groups):
        mask = (groups == group) & present
        simplified[mask] = _coverage_or_simplify(projected[mask], tolerance_m)
    geoms = gpd.GeoSeries(simplified, index=out.index, crs=EQUAL_AREA_CRS).to_crs(DISPLAY_CRS).values
    # rounding only (no set_precision, 6 s nationally): the map quantises to the same grid anyway
    geoms = _round_coordinates(geoms, int(decimals))
    return out.set_geometry(gpd.GeoSeries(_make_valid(geoms), index=out.index, crs=DISPLAY_CRS))


def assign_points_to_districts(points_gdf: gpd.GeoDataFrame, districts_gdf: gpd.GeoDataFrame, *,
                               id_col: str | None = None, leaid_col: str = "leaid",
                               layer_col: str = "layer", keep_unmatched: bool = False) -> pd.DataFrame:
    """Which district(s) each point lies in: DataFrame[point_id, leaid, layer].

    A point on a boundary still gets a district (intersects, i.e. covers semantics); a point gets
    at most one district per tiling, so it can be in an elementary AND a secondary district but
    never counted twice in one tiling: on a shared boundary the district whose interior holds it
    wins, then the lowest LEAID. Filler areas (LEAID ending 99997) are not districts. Points
    in no district get no row unless `keep_unmatched` (then leaid/layer are None).
    `id_col` names the points' id column; None uses the index.
    """
    for col in (leaid_col, layer_col):
        if col not in districts_gdf.columns:
            raise ValueError(f"districts_gdf has no column {col!r} (columns: {list(districts_gdf.columns)})")
    if id_col is not None and id_col not in points_gdf.columns:
        raise ValueError(f"points_gdf has no column {id_col!r} (columns: {list(points_gdf.columns)})")
    if points_gdf.crs is None or districts_gdf.crs is None:
        raise ValueError("points_gdf and districts_gdf both need a CRS")
    ids = points_gdf.index.to_series() if id_col is None else points_gdf[id_col]
    points = gpd.GeoDataFrame({"point_id": ids.to_numpy()}, geometry=points_gdf.geometry.to_crs(districts_gdf.crs).values,
                              crs=districts_gdf.crs)
    points = points[points.geometry.notna() & ~points.geometry.is_empty]
    leaids = districts_gdf[leaid_col].astype(str)
    districts = gpd.GeoDataFrame({"leaid": leaids.to_numpy(), "layer": districts_gdf[layer_col].to_numpy()},
                                 geometry=districts_gdf.geometry.values, crs=districts_gdf.crs)
    districts = districts[~districts["leaid"].str.endswith(FILLER_SUFFIX) & districts.geometry.notna()]
    matches = _best_match_per_tiling(points, districts)
    if keep_unmatched:
        missing = pd.DataFrame({"point_id": ids[~ids.isin(matches["point_id"])].to_numpy(), "leaid": None, "layer": None})
        matches = pd.concat([matches, missing], ignore_index=True) if len(missing) else matches
    return matches.reset_index(drop=True)


def round_geojson(obj, decimals: int = 5):
    """Round every coordinate of a GeoJSON-like dict/list to `decimals` places (returns a new object)."""
    if isinstance(obj, dict):
        return {k: (_round_coords(v, decimals) if k == "coordinates" else round_geojson(v, decimals))
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_geojson(v, decimals) for v in obj]
    return obj


def _simplify(geoms: np.ndarray, tolerance_m: float, groups: np.ndarray, method: str) -> np.ndarray:
    out = geoms.copy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    for group in pd.unique(groups):
        mask = (groups == group) & present
        part = geoms[mask]
        polygonal = np.isin(shapely.get_type_id(part), (3, 6))
        if method == "coverage" and polygonal.all() and bool(shapely.coverage_is_valid(part)):
            out[mask] = _coverage_or_simplify(part, tolerance_m)
        else:
            out[mask] = shapely.simplify(part, tolerance_m, preserve_topology=True)
    return out


def _coverage_or_simplify(part: np.ndarray, tolerance_m: float) -> np.ndarray:
    """coverage_simplify (tolerance ~ the square root of the area of the triangles removed); a
    polygon it collapses to nothing is simplified on its own instead, so no district vanishes."""
    polygonal = np.isin(shapely.get_type_id(part), (3, 6))
    if not polygonal.all():
        return shapely.simplify(part, tolerance_m, preserve_topology=True)
    out = shapely.coverage_simplify(part, tolerance_m)
    lost = shapely.is_empty(out) | (shapely.area(out) <= 0)
    if lost.any():
        out[lost] = shapely.simplify(part[lost], tolerance_m, preserve_topology=True)
    return out


def _tiling_groups(gdf: gpd.GeoDataFrame, layer_col: str | None) -> np.ndarray:
    if layer_col is None or layer_col not in gdf.columns:
        return np.zeros(len(gdf), dtype=object)
    layers = gdf[layer_col].astype("string").str.lower().fillna("")
    return np.array([_TILING.get(v, v) for v in layers], dtype=object)


def _round_coordinates(geoms: np.ndarray, decimals: int) -> np.ndarray:
    """Make every coordinate the double nearest its rounded decimal, so JSON prints it short."""
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def _make_valid(geoms: np.ndarray) -> np.ndarray:
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if invalid.any():
        broken = _without_collapsed_parts(geoms[invalid])
        try:
            fixed = shapely.make_valid(broken)
        except shapely.errors.GEOSException:  # a ring rounding made a point or a line: one at a time
            fixed = np.array([_make_one_valid(g) for g in broken], dtype=object)
        # make_valid may return a GeometryCollection with stray lines; keep the polygonal part.
        geoms = geoms.copy()
        geoms[invalid] = [_polygonal_part(g) for g in fixed]
    return geoms


def _without_collapsed_parts(geoms: np.ndarray) -> np.ndarray:
    """Multipolygons without the parts that rounding collapsed to no area (a 3 decimal grid turns
    an islet into one repeated point, which GEOS's make_valid refuses as "mixed-dimension")."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    flat = shapely.area(parts) <= 0
    out = geoms.copy()
    for i in np.unique(index[flat]):
        kept = parts[(index == i) & ~flat]
        if len(kept):
            out[i] = kept[0] if len(kept) == 1 else shapely.multipolygons(kept)
    return out


def _make_one_valid(geom):
    try:
        return shapely.make_valid(geom)
    except shapely.errors.GEOSException:
        return shapely.buffer(geom, 0)


def _polygonal_part(geom):
    if geom.geom_type != "GeometryCollection":
        return geom
    polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else geom


def _best_match_per_tiling(points: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> pd.DataFrame:
    empty = pd.DataFrame({"point_id": pd.Series(dtype=points["point_id"].dtype),
                          "leaid": pd.Series(dtype=object), "layer": pd.Series(dtype=object)})
    if points.empty or districts.empty:
        return empty
    p_idx, d_idx = districts.sindex.query(points.geometry.values, predicate="intersects")
    if len(p_idx) == 0:
        return empty
    pts = points.geometry.values[p_idx]
    polys = districts.geometry.values[d_idx]
    pairs = pd.DataFrame({
        "point_id": points["point_id"].to_numpy()[p_idx],
        "row": p_idx,
        "leaid": districts["leaid"].to_numpy()[d_idx],
        "layer": districts["layer"].to_numpy()[d_idx],
        "inside": shapely.contains_properly(polys, pts),
    })
    pairs["tiling"] = _tiling_groups(pairs, "layer")
    pairs = pairs.sort_values(["row", "tiling", "inside", "leaid"], ascending=[True, True, False, True], kind="stable")
    best = pairs.drop_duplicates(["row", "tiling"], keep="first")
    return best[["point_id", "leaid", "layer"]]


def _round_coords(coords, decimals: int):
    if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
        return [round(float(c), decimals) for c in coords]
    return [_round_coords(c, decimals) for c in coords]


# ---------------------------------------------------------------- national maps: Alaska, Hawaii, Puerto Rico as insets

#: Where national maps draw the states far from the lower 48, as the Census Bureau's and NCES's national
#: maps do (Albers-USA style): each is projected around its own centre (equal-area, so its shape is
#: true), scaled, and placed at a spot south of the lower 48. Alaska at 0.35 of its size, Hawaii and
#: Puerto Rico at full size. (centre lon, lat of the state) -> (lon, lat where that centre is drawn).
INSETS: dict[str, dict[str, float]] = {
    "02": {"lon_0": -152.0, "lat_0": 63.0, "scale": 0.35, "lon": -115.0, "lat": 24.0},   # Alaska
    "15": {"lon_0": -157.0, "lat_0": 20.5, "scale": 1.0, "lon": -105.5, "lat": 24.5},    # Hawaii
    "72": {"lon_0": -66.4, "lat_0": 18.2, "scale": 1.0, "lon": -75.5, "lat": 24.6},      # Puerto Rico
}


def inset_composite(gdf: gpd.GeoDataFrame, state_col: str = "state_fips") -> gpd.GeoDataFrame:
    """A display copy (WGS84) with Alaska, Hawaii and Puerto Rico moved to insets near the lower 48.

    For national maps only: a web map of the real places puts Hawaii in the Pacific, far off any
    frame that holds the lower 48, and Alaska's Aleutians across the antimeridian (a blank map on a
    phone). Rows of other states are unchanged; `state_col` holds 2-digit FIPS codes. Geometry
    here is for drawing, never for measuring or joining (see `INSETS`).
    """
    if state_col not in gdf.columns:
        raise ValueError(f"gdf has no column {state_col!r} (columns: {list(gdf.columns)})")
    if gdf.crs is None:
        raise ValueError("gdf has no CRS; set it (e.g. EPSG:4326) first")
    out = gdf.to_crs(DISPLAY_CRS) if not gdf.crs.equals(DISPLAY_CRS) else gdf.copy()
    fips = out[state_col].astype("string").str.zfill(2).to_numpy(dtype=object)
    geoms = out.geometry.values.copy()
    for code, spec in INSETS.items():
        mask = fips == code
        if mask.any():
            geoms[mask] = _to_inset(geoms[mask], spec)
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=DISPLAY_CRS))


def inset_points(lon, lat, state_fips) -> tuple[np.ndarray, np.ndarray]:
    """`inset_composite` for coordinates (pods, sites): where each point is drawn on a national map."""
    lon, lat = np.asarray(lon, dtype=float).copy(), np.asarray(lat, dtype=float).copy()
    fips = pd.Series(state_fips, dtype="string").str.zfill(2).to_numpy(dtype=object)
    for code, spec in INSETS.items():
        mask = (fips == code) & np.isfinite(lon) & np.isfinite(lat)
        if mask.any():
            moved = _to_inset(shapely.points(lon[mask], lat[mask]), spec)
            lon[mask], lat[mask] = shapely.get_x(moved), shapely.get_y(moved)
    return lon, lat


def _to_inset(geoms: np.ndarray, spec: dict[str, float]) -> np.ndarray:
    from pyproj import Transformer

    local = f"+proj=laea +lat_0={spec['lat_0']} +lon_0={spec['lon_0']} +datum=WGS84 +units=m +no_defs"
    to_local = Transformer.from_crs(DISPLAY_CRS, local, always_xy=True)
    mercator = Transformer.from_crs(DISPLAY_CRS, "EPSG:3857", always_xy=True)
    cx, cy = mercator.transform(spec["lon"], spec["lat"])
    # web maps are Mercator: a metre at latitude φ is drawn 1/cos φ times larger, so scale by that too
    k = spec["scale"] / np.cos(np.radians(spec["lat"]))
    from_mercator = Transformer.from_crs("EPSG:3857", DISPLAY_CRS, always_xy=True)

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = to_local.transform(xy[:, 0], xy[:, 1])
        lon, lat = from_mercator.transform(cx + k * np.asarray(x), cy + k * np.asarray(y))
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, move)
