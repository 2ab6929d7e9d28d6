"""Downloads: what a user sees, as CSV (safe to open in a spreadsheet) and GeoJSON, with a note.

Every download says what it holds: the filters applied, the data vintages and when it was
made, so a file found on a shared drive months later still explains itself.
"""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone

import geopandas as gpd
import pandas as pd

FORMULA_PREFIXES = tuple("=+-@\t\r")
#: pod columns exported, in order (list columns are joined with "; ")
POD_EXPORT_COLUMNS = ("pod_id", "name", "operator_type", "operator_name", "partner_leaid", "mode", "grade_low",
                      "grade_high", "capacity", "cost", "fee_usd", "priority_groups", "supports", "languages",
                      "status", "opened_on", "closed_on", "address", "city", "state", "zip", "lat", "lon",
                      "leaids", "geocode_status", "source", "last_verified", "notes", "illustrative")


def safe_cell(value) -> str:
    """Defuse spreadsheet formula injection: text starting with = + - @ (or tab/CR) gets a leading
    quote. A plain number such as -122.25 is left alone: it is no formula, and a quote would turn
    a longitude into text."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


_PLAIN_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")


def note(what: str, filters: str, vintages: str) -> str:
    """The one-line description every download carries."""
    made = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"podgeo export: {what}; filters: {filters}; data: {vintages}; made {made}"


def frame_csv(frame: pd.DataFrame, description: str) -> bytes:
    """A table as UTF-8 CSV (BOM for Excel) with `description` as a leading `#` line.

    Text cells are defused against formula injection; numbers are written as numbers (a
    negative longitude stays a number, not a quoted string).
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: safe_cell(_plain(v)) if not _is_missing(v) else "")
    buf = io.StringIO()
    buf.write("# " + description.replace("\n", " ") + "\r\n")
    out.to_csv(buf, index=False, lineterminator="\r\n")
    return buf.getvalue().encode("utf-8-sig")


def pods_table(pods: pd.DataFrame) -> pd.DataFrame:
    """The pods as a flat table: export columns in order, list columns joined with '; '."""
    cols = [c for c in POD_EXPORT_COLUMNS if c in pods.columns]
    table = pd.DataFrame(pods[cols]).copy()
    for col in ("priority_groups", "supports", "languages"):
        if col in table:
            table[col] = table[col].map(lambda v: "; ".join(v) if isinstance(v, (list, tuple)) else (v or ""))
    return table


def pods_csv(pods: pd.DataFrame, description: str) -> bytes:
    return frame_csv(pods_table(pods), description)


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
