"""Pods into the store: a validated sheet's rows, geocoded, placed in their districts, committed.

Shared by the build (the illustrative sample), the upload page and `python -m podgeo import`,
so all three take the same path: `sheets` validates, `geocode` fills missing coordinates,
`geo` places, `store` writes one atomic, undoable batch.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import geopandas as gpd
import pandas as pd

from podgeo import geo, geocode, sheets
from podgeo.store import SqliteStore


@dataclass
class UploadPlan:
    """What an upload would do, before anything is written: the preview the user approves."""

    filename: str
    data: bytes
    raw: sheets.RawSheet
    validation: sheets.Validation
    sha256: str = field(init=False)

    def __post_init__(self):
        self.sha256 = hashlib.sha256(self.data).hexdigest()

    @property
    def counts(self) -> dict[str, int]:
        return self.validation.counts

    @property
    def committable(self) -> bool:
        return bool(self.validation.valid)

    def preview(self) -> pd.DataFrame:
        """Valid rows with the action each will take (insert/update) and whether it needs geocoding."""
        rows = [{"row": v.row, "action": v.action, "needs_geocode": v.needs_geocode, **v.pod}
                for v in self.validation.valid]
        return pd.DataFrame(rows)

    def rejected(self) -> pd.DataFrame:
        return pd.DataFrame([{"row": r.row, "errors": r.error_text, **r.values} for r in self.validation.rejected])


def plan_upload(store: SqliteStore, data: bytes, filename: str, *, sheet: str | None = None,
                mapping: Mapping[str, str | None] | None = None, state: str | None = None,
                max_bytes: int = sheets.MAX_BYTES) -> UploadPlan:
    """Read and validate an upload against the store's pods (existing ids become updates).

    Raises SheetError (naming the file) when the file as a whole cannot be used.
    """
    raw = sheets.read_sheet(data, filename, sheet=sheet, max_bytes=max_bytes)
    chosen = dict(mapping) if mapping is not None else sheets.suggest_mapping(raw.columns)
    validation = sheets.validate(raw, chosen, existing_ids=store.pod_ids(), state=state)
    return UploadPlan(filename, data, raw, validation)


def commit_upload(store: SqliteStore, plan: UploadPlan, *, user: str, geocoder_url: str | None = None,
                  use_geocoder: bool = True, progress: Callable[[int, int], None] | None = None) -> int:
    """Geocode the rows that need it, place every pod, and write the batch in one transaction.

    Rows the geocoder cannot place (or when it cannot be reached) are kept as "not geocoded",
    linked to their partner district when the sheet names one. Never drops a row. Returns the
    new batch id; raises SheetError when the plan has no valid row.
    """
    if not plan.committable:
        raise sheets.SheetError(f"{plan.filename}: no valid row to commit ({plan.counts['rejected']} rejected)")
    rows = [{**v.pod, "geocode_status": "provided" if v.pod.get("lat") is not None else "no_location"}
            for v in plan.validation.valid]
    wanted = geocode.geocode_requests(rows)
    if wanted:
        if use_geocoder:
            results = geocode.geocode_batch(wanted, url=geocoder_url, progress=progress)
        else:
            results = {r[0]: geocode.GeocodeResult(r[0], "not_geocoded", message="geocoder not used") for r in wanted}
        rows = geocode.apply_geocodes(rows, results)
    for row in rows:
        row["illustrative"] = 0
    districts = _districts_for(store, rows)
    links = place(rows, districts)
    links = pd.concat([links, _partner_links(rows, links, districts)], ignore_index=True)
    counts = {**plan.counts, "geocoded": sum(r.get("geocode_status") == "match" for r in rows),
              "not_geocoded": sum(r.get("lat") is None for r in rows),
              "placed": int(links["pod_id"].nunique()) if len(links) else 0}
    batch = {"filename": plan.filename, "sha256": plan.sha256, "file_bytes": plan.data, "sheet": plan.raw.sheet,
             "uploaded_by": user, "mapping": plan.validation.mapping, "counts": counts}
    rejected = [{"row": r.row, "row_values": r.values, "errors": [str(e) for e in r.errors]}
                for r in plan.validation.rejected]
    return store.commit_upload(batch, rows, links, rejected)


def load_file(store: SqliteStore, path: Path, districts: gpd.GeoDataFrame, *, source: str,
              illustrative: bool = True) -> sheets.Validation:
    """Validate a pods sheet the project ships and write it; raises SheetError if any row is rejected.

    Used by the build for the sample, which must be clean: a rejected row is a bug in the file.
    """
    raw = sheets.read_sheet(path.read_bytes(), path.name)
    result = sheets.validate(raw, sheets.suggest_mapping(raw.columns))
    if result.rejected:
        first = result.rejected[0].errors[0]
        raise sheets.SheetError(f"{path.name}: {len(result.rejected)} row(s) rejected; first: {first}")
    rows = [{**v.pod, "illustrative": int(illustrative),
             "geocode_status": "provided" if v.pod.get("lat") is not None else "no_location"} for v in result.valid]
    store.upsert_pods(rows, place(rows, districts))
    return result


def place(rows: list[dict], districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """(pod_id, leaid, layer) for every pod with coordinates: one district per tiling layer."""
    frame = pd.DataFrame(rows, columns=["pod_id", "lon", "lat"])
    located = frame.dropna(subset=["lon", "lat"])
    if located.empty or districts.empty:
        return pd.DataFrame(columns=["pod_id", "leaid", "layer"])
    points = gpd.GeoDataFrame(located, geometry=gpd.points_from_xy(located["lon"], located["lat"]), crs="EPSG:4326")
    return geo.assign_points_to_districts(points, districts, id_col="pod_id").rename(columns={"point_id": "pod_id"})


def _districts_for(store: SqliteStore, rows: list[dict]) -> gpd.GeoDataFrame:
    """Full-resolution districts of the states the rows name (all states when a row names none)."""
    states = {r.get("state") for r in rows}
    known = store.state_list()
    fips = dict(zip(known["state"], known["state_fips"]))
    if None in states or "" in states:
        return store.districts(geometry="full")
    return store.districts(geometry="full", state_fips=[fips[s] for s in states if s in fips])


def _partner_links(rows: list[dict], links: pd.DataFrame, districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """Pods with no location keep the partner district the sheet names, so they still count there."""
    layer_of = dict(zip(districts["leaid"], districts["layer"]))
    placed = set(links["pod_id"]) if len(links) else set()
    extra = [{"pod_id": r["pod_id"], "leaid": r["partner_leaid"], "layer": layer_of[r["partner_leaid"]]}
             for r in rows if r["pod_id"] not in placed and r.get("lat") is None
             and r.get("partner_leaid") in layer_of]
    return pd.DataFrame(extra, columns=["pod_id", "leaid", "layer"])
