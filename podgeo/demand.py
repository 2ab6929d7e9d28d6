"""Demand points: where the children (or people) are, at the finest unit each source has.

Every reader returns `DemandPoints(points, unmatched)`: `points` is a GeoDataFrame in
EPSG:4326 with the same columns for every source (`DEMAND_COLUMNS`), group counts NaN where
the source has no such count; `unmatched` lists every source row that did not become a point,
with the reason, so nothing is dropped silently. Readers take explicit file paths and read ids
as text.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

WGS84 = "EPSG:4326"
GROUP_COLUMNS = ("poverty", "low_income", "english_learners", "disability", "of_color", "white_nh")
DEMAND_COLUMNS = ["demand_id", "name", "leaid", "total", *GROUP_COLUMNS, "demand_kind", "unit_label", "geometry"]
UNMATCHED_COLUMNS = ["demand_id", "name", "total", "reason"]
LAYERS = ("unified", "elementary", "secondary")

SCHOOL_LABEL = "CA public schools, 2019-20 enrollment"
TRACT_LABEL = "Bay Area census tracts, ACS 2014-18 (people of all ages)"
DISTRICT_LABEL = "School districts, SAIPE children 5-17 with ACS 2014-18 group shares"

#: Bay Area county FIPS (3 digits) -> name: the nine counties MTC covers.
BAY_AREA_COUNTIES = {"001": "Alameda", "013": "Contra Costa", "041": "Marin", "055": "Napa",
                     "075": "San Francisco", "081": "San Mateo", "085": "Santa Clara", "095": "Solano",
                     "097": "Sonoma"}

_CUPC_COUNTS = {"total": "Total Enrollment", "low_income": "Unduplicated FRPM Eligible Count",
                "english_learners": "English Learner (EL)"}
_MTC_COUNTS = {"total": "tot_pop", "of_color": "pop_poc", "low_income": "pop_below2",
               "english_learners": "pop_lep", "disability": "pop_disabi"}
_DISTRICT_SHARES = {"poverty": "pct_poverty", "disability": "pct_disability",
                    "english_learners": "pct_ling_isolated", "of_color": "pct_of_color"}


class DemandPoints(NamedTuple):
    """Demand points plus the source rows that could not be placed, each with a reason."""

    points: gpd.GeoDataFrame
    unmatched: pd.DataFrame


def ca_school_points(enrollment_csv: str | Path, directory_csv: str | Path) -> DemandPoints:
    """California schools weighted by 2019-20 enrollment, low-income and English-learner counts.

    Joins CDE's Unduplicated Pupil Count file to the CDE school directory on the 14-character
    CDSCode for coordinates and NCESDist (LEAID). `low_income` is the unduplicated FRPM-eligible
    count (FRPM, direct certification, foster, homeless or migrant); `english_learners` the EL
    count. Race, poverty and disability are not published by school (NaN). Students are placed
    where they are enrolled, not where they live.
    """
    enrollment = _read_text_csv(enrollment_csv, ["CDSCode", "School Code", "School Name", *_CUPC_COUNTS.values()])
    directory = _read_text_csv(directory_csv, ["CDSCode", "NCESDist", "Latitude", "Longitude"])
    enrollment["CDSCode"] = enrollment["CDSCode"].str.strip()
    directory["CDSCode"] = directory["CDSCode"].str.strip()
    dup = directory["CDSCode"][directory["CDSCode"].duplicated()]
    if len(dup):
        raise ValueError(f"{directory_csv}: CDSCode {_plain(dup.iloc[0])!r} appears more than once")
    counts = {k: _to_number(enrollment[c], enrollment_csv, c) for k, c in _CUPC_COUNTS.items()}
    merged = enrollment.merge(directory[["CDSCode", "NCESDist", "Latitude", "Longitude"]], on="CDSCode",
                              how="left", indicator=True)
    lat = _to_number(merged["Latitude"], directory_csv, "Latitude")
    lon = _to_number(merged["Longitude"], directory_csv, "Longitude")
    school_code = merged["School Code"].str.strip()
    reason = pd.Series(None, index=merged.index, dtype=object)
    reason[merged["_merge"] == "left_only"] = ("CDSCode not in the school directory (school opened after "
                                               "the directory's date, or the directory is a subset)")
    reason[(merged["_merge"] == "both") & (lat.isna() | lon.isna())] = "directory row has no coordinates"
    reason[school_code == "0000000"] = "district office row: students not enrolled at a school site"
    reason[school_code == "0000001"] = ("nonpublic, nonsectarian school placements: "
                                        "no location by design")
    frame = pd.DataFrame({
        "demand_id": merged["CDSCode"], "name": merged["School Name"].str.strip(),
        "leaid": merged["NCESDist"].str.strip().replace("", np.nan),
        **{k: v.to_numpy() for k, v in counts.items()},
    })
    return _split(frame, reason, lon, lat, kind="ca_school", label=SCHOOL_LABEL)


def bay_area_tract_points(tracts_gpkg: str | Path, counts_csv: str | Path) -> DemandPoints:
    """Bay Area census tracts (representative points) weighted by MTC's ACS 2014-18 counts.

    Counts cover people of all ages (no child counts exist by tract here): `of_color` people of
    colour, `white_nh` = total - of_color, `low_income` persons below 200 % of poverty,
    `english_learners` limited-English persons (5+), `disability` persons with a disability.
    Each count has its own ACS universe, close to but not equal to `total`. Tract GEOIDs are
    rebuilt to 11 characters (UDP stores them as floats, MTC without the leading zero); MTC
    tracts with no UDP polygon are reported in `unmatched`.
    """
    polygons = gpd.read_file(tracts_gpkg)
    if "GEOID" not in polygons.columns:
        raise ValueError(f"{tracts_gpkg}: missing column 'GEOID'")
    polygons = polygons.assign(GEOID=_tract_geoid(polygons["GEOID"], tracts_gpkg)).to_crs(WGS84)
    counts = _read_text_csv(counts_csv, ["geoid", *_MTC_COUNTS.values()])
    counts["GEOID"] = _tract_geoid(counts["geoid"], counts_csv)
    dup = counts["GEOID"][counts["GEOID"].duplicated()]
    if len(dup):
        raise ValueError(f"{counts_csv}: tract {_plain(dup.iloc[0])!r} appears more than once")
    shapes = polygons.drop_duplicates("GEOID").set_index("GEOID").geometry
    geometry = counts["GEOID"].map(shapes)
    values = {k: _to_number(counts[c], counts_csv, c).to_numpy() for k, c in _MTC_COUNTS.items()}
    county = counts["GEOID"].str[2:5].map(BAY_AREA_COUNTIES).fillna("county " + counts["GEOID"].str[2:5])
    frame = pd.DataFrame({
        "demand_id": counts["GEOID"],
        "name": "Tract " + counts["GEOID"].str[5:9] + "." + counts["GEOID"].str[9:] + ", " + county,
        "leaid": np.nan, **values,
    })
    frame["white_nh"] = frame["total"] - frame["of_color"]
    reason = pd.Series(None, index=frame.index, dtype=object)
    no_shape = geometry.isna().to_numpy()
    reason[no_shape] = "no tract polygon in the UDP file (UDP dropped water and non-urban tracts)"
    has_shape = ~no_shape
    points = pd.Series(None, index=frame.index, dtype=object)
    points[has_shape] = gpd.GeoSeries(geometry[has_shape].tolist(), crs=WGS84).representative_point().to_numpy()
    return _split(frame, reason, geometry=points, kind="bay_area_tract", label=TRACT_LABEL)


def district_points(districts: gpd.GeoDataFrame, layers: Sequence[str] = ("unified", "elementary")) -> DemandPoints:
    """One interior point per district, weighted by SAIPE children 5-17 and the district's group shares.

    Expects columns leaid, layer, children and the percents (0-100, NaN allowed) pct_poverty,
    pct_disability, pct_ling_isolated (stands in for English learners) and pct_of_color (share
    of public-school children; `white_nh` is its complement). Group counts = children x share.
    Unified + elementary layers tile a state, so they are the default; adding secondary would
    count children twice. Filler districts (GEOID ending 99997), districts with no children
    estimate and empty shapes are reported in `unmatched`.
    """
    if not isinstance(districts, gpd.GeoDataFrame) or districts.crs is None:
        raise ValueError("districts must be a GeoDataFrame with a CRS")
    required = ["leaid", "layer", "children", *_DISTRICT_SHARES.values()]
    missing = [c for c in required if c not in districts.columns]
    if missing:
        raise ValueError(f"districts: missing column(s) {missing}; found {list(districts.columns)}")
    layers = [layers] if isinstance(layers, str) else list(layers)
    unknown = [x for x in layers if x not in LAYERS]
    if unknown:
        raise ValueError(f"layers {unknown} not among {list(LAYERS)}")
    chosen = districts[districts["layer"].isin(layers)]
    children = _to_number(chosen["children"], "districts", "children")
    frame = pd.DataFrame({
        "demand_id": chosen["leaid"].astype(str).to_numpy(),
        "name": chosen["name"].to_numpy() if "name" in chosen.columns else np.nan,
        "leaid": chosen["leaid"].astype(str).to_numpy(), "total": children.to_numpy(),
    })
    for group, column in _DISTRICT_SHARES.items():
        share = _to_number(chosen[column], "districts", column)
        out_of_range = (share < 0) | (share > 100)
        if out_of_range.any():
            row = chosen.index[out_of_range.to_numpy()][0]
            raise ValueError(f"districts: column {column!r} row {_plain(row)!r} is {_plain(share.loc[row])!r}, "
                             "expected a percent 0-100")
        frame[group] = (children * share / 100.0).to_numpy()
    frame["low_income"] = np.nan
    frame["white_nh"] = frame["total"] - frame["of_color"]
    shapes = chosen.geometry
    empty = (shapes.isna() | shapes.is_empty).to_numpy()
    reason = pd.Series(None, index=frame.index, dtype=object)
    reason[np.isnan(frame["total"].to_numpy())] = "no SAIPE children 5-17 estimate for this LEAID"
    reason[empty] = "empty district geometry"
    reason[frame["leaid"].str.endswith("99997").to_numpy()] = "Census filler polygon (GEOID ends 99997), not a district"
    points = pd.Series(None, index=frame.index, dtype=object)
    ok = ~empty
    valid = shapes[ok].make_valid()  # the simplified national file has self-intersections
    points[ok] = gpd.GeoSeries(valid, crs=districts.crs).representative_point().to_crs(WGS84).to_numpy()
    label = DISTRICT_LABEL + " (" + " + ".join(layers) + ")"
    return _split(frame, reason, geometry=points, kind="district", label=label)


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------

def _split(frame, reason, lon=None, lat=None, *, geometry=None, kind, label):
    """Rows with a reason go to `unmatched`; the rest become points with the shared columns."""
    bad = reason.notna().to_numpy()
    unmatched = frame.loc[bad, ["demand_id", "name", "total"]].assign(reason=reason[bad].to_numpy())
    good = frame.loc[~bad].copy()
    for group in GROUP_COLUMNS:
        if group not in good.columns:
            good[group] = np.nan
    good["demand_kind"] = kind
    good["unit_label"] = label
    if geometry is None:
        geoms = gpd.points_from_xy(lon[~bad], lat[~bad], crs=WGS84)
    else:
        geoms = gpd.GeoSeries(geometry[~bad].tolist(), crs=WGS84).values
    points = gpd.GeoDataFrame(good, geometry=geoms, crs=WGS84)[DEMAND_COLUMNS]
    for column in ("total", *GROUP_COLUMNS):
        points[column] = points[column].astype(float)
    for column in ("demand_id", "name", "leaid"):
        points[column] = points[column].astype("str")  # pandas' text dtype: missing stays missing
    return DemandPoints(points.reset_index(drop=True), unmatched[UNMATCHED_COLUMNS].reset_index(drop=True))


def _read_text_csv(path, required, encoding="utf-8"):
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(frame.columns)[:12]}")
    return frame


def _to_number(series, path, column):
    """Numbers from text; blanks become NaN, anything else that is not a number is an error."""
    text = series.astype(str).str.strip().str.replace(",", "", regex=False)
    blank = text.isin(["", "nan", "None", "NA"]) | series.isna()
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        row = series.index[bad.to_numpy()][0]
        raise ValueError(f"{path}: column {column!r} row {_plain(row)!r} is {_plain(series.loc[row])!r}, "
                         "expected a number")
    return values.astype(float)


def _tract_geoid(series, path):
    """11-character tract GEOID from floats (6013303102.0) or digit text missing its leading zero."""
    text = series.astype(str).str.strip().str.replace(r"\.0+$", "", regex=True)
    bad = ~text.str.fullmatch(r"\d{10,11}")
    if bad.any():
        row = series.index[bad.to_numpy()][0]
        raise ValueError(f"{path}: tract id {_plain(series.loc[row])!r} (row {_plain(row)!r}) "
                         "is not a 10-11 digit GEOID")
    return text.str.zfill(11)


def _plain(value):
    """numpy scalars as plain Python values, so messages read `row 3 is 250.0`, not `np.int64(3)`."""
    return value.item() if isinstance(value, np.generic) else value
