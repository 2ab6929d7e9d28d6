"""Pods into the store: a validated sheet's rows, placed in their districts, upserted by stable id.

Shared by the build (the illustrative sample) and, later, staff uploads, so both take the
same path: `sheets` validates, `geo` places, `store` writes.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from podgeo import geo, sheets
from podgeo.store import SqliteStore


def load_file(store: SqliteStore, path: Path, districts: gpd.GeoDataFrame, *, source: str,
              illustrative: bool = True) -> sheets.Validation:
    """Validate a pods sheet and write its valid rows; raises SheetError if any row is rejected.

    Used for files the project ships, which must be clean: a rejected row is a bug in the file.
    """
    raw = sheets.read_sheet(path.read_bytes(), path.name)
    result = sheets.validate(raw, sheets.suggest_mapping(raw.columns))
    if result.rejected:
        first = result.rejected[0].errors[0]
        raise sheets.SheetError(f"{path.name}: {len(result.rejected)} row(s) rejected; first: {first.message}")
    rows = [{**v.pod, "illustrative": int(illustrative), "geocode_status": _geocode_status(v)} for v in result.valid]
    write_pods(store, rows, districts)
    return result


def write_pods(store: SqliteStore, rows: list[dict], districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """Upsert pod rows and link each to the district(s) its point lies in; returns the links."""
    links = place(rows, districts)
    store.upsert_pods(rows, links)
    return links


def place(rows: list[dict], districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """(pod_id, leaid, layer) for every pod with coordinates."""
    frame = pd.DataFrame(rows, columns=["pod_id", "lon", "lat"])
    located = frame.dropna(subset=["lon", "lat"])
    if located.empty:
        return pd.DataFrame(columns=["pod_id", "leaid", "layer"])
    points = gpd.GeoDataFrame(located, geometry=gpd.points_from_xy(located["lon"], located["lat"]), crs="EPSG:4326")
    return geo.assign_points_to_districts(points, districts, id_col="pod_id").rename(columns={"point_id": "pod_id"})


def _geocode_status(row: sheets.ValidRow) -> str:
    if row.needs_geocode:
        return "not_geocoded"
    return "provided" if row.pod.get("lat") is not None else "no_location"
