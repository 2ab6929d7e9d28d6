"""Downloads: what a user sees, as CSV (safe to open in a spreadsheet), Excel, GeoJSON and GeoPackage.

Every download can say what it holds (the filters applied, the data vintages, when it was made),
so a file found on a shared drive months later still explains itself; but a CSV stays a plain
table that pandas and Excel read as they are. The note travels beside it: a README in a zip with
the CSV, a second sheet of the xlsx, the GeoJSON's `description`, the GeoPackage layer description.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone

import geopandas as gpd
import pandas as pd

from podgeo.cells import safe_cell

#: pod columns exported, in order (list columns are joined with "; ")
POD_EXPORT_COLUMNS = ("pod_id", "name", "operator_type", "operator_name", "partner_leaid", "mode", "grade_low",
                      "grade_high", "capacity", "cost", "fee_usd", "priority_groups", "supports", "languages",
                      "status", "opened_on", "closed_on", "address", "city", "state", "zip", "lat", "lon",
                      "leaids", "geocode_status", "source", "last_verified", "notes", "illustrative")


def note(what: str, filters: str, vintages: str) -> str:
    """The one-line description every download carries."""
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"podgeo export: {what}; filters: {filters}; data: {vintages}; made {made}"


def frame_csv(frame: pd.DataFrame, description: str | None = None) -> bytes:
    """A table as a plain UTF-8 CSV (BOM for Excel): a header row, then the rows, nothing else.

    `description` is not written into the file (a leading note line made pandas read one column
    and Excel one giant cell); `csv_zip`, `frame_xlsx` and the geo formats carry it. Text cells
    are defused against formula injection; numbers stay numbers (a negative longitude too).
    """
    buf = io.StringIO()
    _spreadsheet_safe(frame).to_csv(buf, index=False, lineterminator="\r\n")
    return buf.getvalue().encode("utf-8-sig")


def _spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: safe_cell(_plain(v)) if not _is_missing(v) else "")
    return out


def notes_text(description: str, frame: pd.DataFrame | None = None) -> str:
    """The README that travels with a download: the note one part a line, then the columns."""
    lines = [part.strip() for part in _top_level_parts(description) if part.strip()]
    text = "\r\n".join(lines)
    if frame is not None:
        text += "\r\n\r\ncolumns: " + ", ".join(str(c) for c in frame.columns)
    return text + "\r\n"


def _top_level_parts(text: str) -> list[str]:
    """`text` split at "; " outside parentheses ("districts (state CA; layers …)" stays one part)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")" and depth > 0)
        if depth == 0 and text.startswith("; ", i):
            parts.append(text[start:i])
            start = i + 2
    return [*parts, text[start:]]


def csv_zip(frame: pd.DataFrame, description: str, stem: str) -> bytes:
    """A zip of `{stem}.csv` (plain, as `frame_csv`) and `{stem}_README.txt` (the note)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{stem}.csv", frame_csv(frame))
        z.writestr(f"{stem}_README.txt", notes_text(description, frame).encode("utf-8"))
    return buf.getvalue()


def frame_xlsx(frame: pd.DataFrame, description: str) -> bytes:
    """An Excel workbook: the table on sheet "data", the note (one part a row) on sheet "notes"."""
    buf = io.BytesIO()
    notes = pd.DataFrame({"about this file": notes_text(description, frame).strip().split("\r\n")})
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        _spreadsheet_safe(frame).to_excel(xl, sheet_name="data", index=False)
        _spreadsheet_safe(notes).to_excel(xl, sheet_name="notes", index=False)
    return buf.getvalue()


def pods_table(pods: pd.DataFrame) -> pd.DataFrame:
    """The pods as a flat table: export columns in order, list columns joined with '; '."""
    cols = [c for c in POD_EXPORT_COLUMNS if c in pods.columns]
    table = pd.DataFrame(pods[cols]).copy()
    for col in ("priority_groups", "supports", "languages"):
        if col in table:
            table[col] = table[col].map(lambda v: "; ".join(v) if isinstance(v, (list, tuple)) else (v or ""))
    return table


def pods_csv(pods: pd.DataFrame, description: str | None = None) -> bytes:
    return frame_csv(pods_table(pods))


def pods_zip(pods: pd.DataFrame, description: str) -> bytes:
    return csv_zip(pods_table(pods), description, "podgeo_pods")


def pods_xlsx(pods: pd.DataFrame, description: str) -> bytes:
    return frame_xlsx(pods_table(pods), description)


def pods_geojson(pods: gpd.GeoDataFrame, description: str) -> bytes:
    """Pods with coordinates as a GeoJSON FeatureCollection (EPSG:4326) carrying `description`."""
    located = pods[pods.geometry.notna() & ~pods.geometry.is_empty & pods["lat"].notna()]
    table = pods_table(located)
    gdf = gpd.GeoDataFrame(table, geometry=located.geometry.values, crs="EPSG:4326")
    data = json.loads(gdf.to_json(drop_id=True))
    data["description"] = description
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _plain(value):
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return value


def _is_missing(value) -> bool:
    if isinstance(value, (list, tuple)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# -- GeoPackage, district tables and the shell export ----------------------------------------------
# (the directory page's downloads and `python -m podgeo export` share these, so both say the same)

EXPORT_KINDS = ("pods", "districts", "coverage")
FORMATS = ("csv", "geojson", "gpkg")


def gpkg(frame: gpd.GeoDataFrame, description: str, *, layer: str) -> bytes:
    """A GeoDataFrame as GeoPackage bytes in EPSG:4326 that QGIS opens with the right CRS.

    The note is the layer's description (gpkg_contents, shown in QGIS's layer properties), not a
    field repeated on every feature. List columns are joined with "; " (GeoPackage fields hold one value).
    """
    import os
    import tempfile

    out = gpd.GeoDataFrame(
        {col: frame[col].map(_plain) if frame[col].dtype == object else frame[col]
         for col in frame.columns if col != frame.geometry.name},
        geometry=frame.geometry.values, crs=frame.crs or "EPSG:4326").to_crs("EPSG:4326")
    with tempfile.TemporaryDirectory(prefix="podgeo-gpkg-") as tmp:
        path = os.path.join(tmp, f"{layer}.gpkg")
        out.to_file(path, driver="GPKG", layer=layer, engine="pyogrio", layer_options={"DESCRIPTION": description})
        with open(path, "rb") as fh:
            return fh.read()


def pods_gpkg(pods: gpd.GeoDataFrame, description: str) -> bytes:
    """Pods with coordinates as a GeoPackage point layer `pods` (same fields as the CSV)."""
    located = pods[pods.geometry.notna() & ~pods.geometry.is_empty & pods["lat"].notna()]
    table = pods_table(located)
    return gpkg(gpd.GeoDataFrame(table, geometry=located.geometry.values, crs="EPSG:4326"), description, layer="pods")


def geo_bytes(frame: gpd.GeoDataFrame, fmt: str, description: str, *, layer: str) -> bytes:
    """Any table of features as csv (no geometry), geojson or gpkg, carrying `description`."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {list(FORMATS)}")
    if fmt == "csv":
        return frame_csv(pd.DataFrame(frame.drop(columns=frame.geometry.name)), description)
    if fmt == "gpkg":
        return gpkg(frame, description, layer=layer)
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for col in table.columns:
        if table[col].dtype == object:
            table[col] = table[col].map(_plain)
    data = json.loads(gpd.GeoDataFrame(table, geometry=frame.geometry.values, crs=frame.crs).to_crs(
        "EPSG:4326").to_json(drop_id=True, na="null"))
    data["description"] = description
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def vintages(provenance: pd.DataFrame) -> str:
    """The data vintages behind a download, as the app's notes write them: one entry per source,
    the per-state files of one source and vintage folded into one ("…, 49 states")."""
    if provenance.empty:
        return "none"
    title = provenance["title"].astype(str)
    fips = title.str.extract(_STATE_PART, expand=False)
    frame = pd.DataFrame({"title": title.str.replace(_STATE_PART, "", regex=True), "fips": fips,
                          "publisher": provenance["publisher"].astype(str), "vintage": provenance["vintage"].astype(str)})
    parts = []
    for (name, publisher, vintage), group in frame.groupby(["title", "publisher", "vintage"], sort=False):
        states = group["fips"].dropna().nunique()
        where = f", {states} state{'s' if states != 1 else ''}" if states else ""
        parts.append(f"{name} ({publisher}, {vintage}{where})")
    return "; ".join(parts)


_STATE_PART = r", state (\d{2})(?=,|$)"


@dataclass
class Export:
    """One export: the file's bytes, how many rows it holds, and the note it carries."""

    data: bytes
    rows: int
    description: str


def export(store, kind: str, fmt: str, *, state: str | None = None, pod_filter=None,
           layers: tuple[str, ...] = ("unified", "elementary"), sites: tuple[str, ...] = ("libraries",)) -> Export:
    """What `python -m podgeo export` writes: pods (filtered), districts (every measure, pod counts
    and attribute-layer columns) or coverage (the Coverage page's container-ratio table, with
    geometry, over `sites`: library outlets by default, as the page opens) for one state or all, as
    csv, geojson or gpkg. Raises ValueError naming a bad choice."""
    from podgeo import filters

    if kind not in EXPORT_KINDS:
        raise ValueError(f"export {kind!r} is not one of {list(EXPORT_KINDS)}")
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {list(FORMATS)}")
    pod_filter = pod_filter or filters.PodFilter()
    fips = _state_fips(store, state)
    where = f"state {state}" if state else "every state"
    data_note = vintages(store.provenance())
    if kind == "pods":
        pods = filters.apply(store.pods(), pod_filter)
        if state:
            pods = pods[pods["state"] == state]
        description = note(f"pods ({where})", filters.describe(pod_filter), data_note)
        if fmt == "csv":
            return Export(pods_csv(pods, description), len(pods), description)
        if fmt == "geojson":
            return Export(pods_geojson(pods, description), int(pods["lat"].notna().sum()), description)
        return Export(pods_gpkg(pods, description), int(pods["lat"].notna().sum()), description)
    if kind == "districts":
        frame = _districts_export(store, fips, layers, pod_filter)
        description = note(f"districts ({where}; layers {', '.join(layers)})",
                           f"pod counts: {filters.describe(pod_filter)}", data_note)
        return Export(geo_bytes(frame, fmt, description, layer="districts"), len(frame), description)
    from podgeo import access_report

    frames = access_report.load_frames(store, state)
    table = access_report.coverage_table(frames, sites=list(sites), demand="districts", method="ratio", state=state,
                                         pod_filter=pod_filter).table
    frame = access_report.district_shapes(table, frames)
    counted = filters.describe(pod_filter) if "pods" in sites else "none (pods not counted)"
    description = note(f"coverage: container ratio per district ({where}; unified + elementary; sites: "
                       f"{', '.join(sites)})", counted, data_note)
    return Export(geo_bytes(frame, fmt, description, layer="coverage"), len(frame), description)


def _districts_export(store, fips, layers, pod_filter) -> gpd.GeoDataFrame:
    from podgeo import attributes, filters, rollup

    districts = store.districts(state_fips=fips, layers=layers, geometry="display")
    pods = filters.apply(store.pods(), pod_filter)
    counted = rollup.with_pod_counts(districts, pods, store.place_districts("pods"))
    layers_ = store.attribute_layers()
    table = attributes.wide(layers_, store.attribute_values(leaids=counted["leaid"]))
    joined = attributes.join(pd.DataFrame(counted), table)
    names = {row["id"]: row["label"] for _, row in attributes.catalog(layers_).iterrows()}
    joined = joined.rename(columns=names)
    drop = [c for c in ("is_filler",) if c in joined.columns]
    return gpd.GeoDataFrame(joined.drop(columns=drop), geometry="geometry", crs="EPSG:4326")


def _state_fips(store, state: str | None) -> list[str] | None:
    if state is None:
        return None
    states = store.state_list()
    lookup = dict(zip(states["state"], states["state_fips"]))
    if state not in lookup:
        raise ValueError(f"state {state!r} is not in the store (it has {', '.join(states['state']) or 'none'})")
    return [lookup[state]]
