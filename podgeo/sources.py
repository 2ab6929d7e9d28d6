"""Official source files: where each comes from, where podgeo finds it, and how it is read.

The manifest (`SOURCES`) is the single list of files podgeo reads. Files are looked up in the
sources folder (`PODGEO_SOURCES`, else `../shared/data` beside the repo); with neither, they are
downloaded from the publishers (or from `PODGEO_MIRROR_URL`, a server with the same layout) into a
git-ignored cache. Every reader returns a frame with podgeo's column names and raises
`SourceError` naming the file and what was expected when a file is missing, truncated or not the
format it should be.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DOWNLOAD_CACHE = REPO / "shapes" / "downloads"
WGS84 = "EPSG:4326"

ProgressFn = Callable[[str, int, int | None], None]


class SourceError(RuntimeError):
    """A source file is missing, unreadable or not what podgeo expects; the message says which."""


@dataclass(frozen=True)
class Source:
    """One file podgeo reads: its place in the sources folder and where the publisher serves it."""

    key: str
    title: str
    publisher: str
    vintage: str
    path: str  # relative to the sources folder
    url: str | None = None  # official download (None: no stable URL)
    landing: str | None = None  # page to start from when the URL fails
    member: str | None = None  # file inside the official zip, when the download is a zip
    mirror: str | None = None  # pinned third-party copy, last resort
    license: str = ""
    note: str = ""
    extra_members: tuple[str, ...] = field(default=())


_CENSUS_LANDING = "https://www.census.gov/geographies/mapping-files/time-series/geo/cartographic-boundary.html"
_HH_REPO = "https://raw.githubusercontent.com/jonmgeiger/household-conditions/8bc059bb88104a747ad91688dee3667c5c99e73d"
LAYER_CODES = {"unsd": "unified", "elsd": "elementary", "scsd": "secondary"}

#: The 99 state/layer combinations Census published for 2016 (others return 404).
_US2016_ELSD = "01 04 06 09 13 17 21 23 25 26 27 29 30 33 34 36 38 40 41 44 45 47 48 50 51 55 56".split()
_US2016_SCSD = "04 06 09 13 17 21 23 25 27 30 33 34 36 40 41 44 45 47 48 50 55".split()
STATE_FIPS = (
    "01 02 04 05 06 08 09 10 11 12 13 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 "
    "37 38 39 40 41 42 44 45 46 47 48 49 50 51 53 54 55 56"
).split()


def _district_zip(year: int, fips: str, code: str) -> Source:
    sub = "ca_2021" if year == 2021 else "us_2016/by_state"
    name = f"cb_{year}_{fips}_{code}_500k.zip"
    return Source(
        key=f"districts_{year}_{fips}_{code}",
        title=f"School districts ({LAYER_CODES[code]}), state {fips}, cartographic boundary {year}",
        publisher="U.S. Census Bureau",
        vintage=str(year),
        path=f"school_districts/{sub}/{name}",
        url=f"https://www2.census.gov/geo/tiger/GENZ{year}/shp/{name}",
        landing=_CENSUS_LANDING,
        license="public domain (US federal)",
    )


def _build_manifest() -> dict[str, Source]:
    items = [_district_zip(2021, "06", c) for c in LAYER_CODES]
    for fips in STATE_FIPS:
        items.append(_district_zip(2016, fips, "unsd"))
        if fips in _US2016_ELSD:
            items.append(_district_zip(2016, fips, "elsd"))
        if fips in _US2016_SCSD:
            items.append(_district_zip(2016, fips, "scsd"))
    items += [
        Source("districts_2021_06_combined", "California school districts 2021, three layers in one GeoJSON (derived)",
               "U.S. Census Bureau (merged by the data curators)", "2021",
               "school_districts/ca_2021/ca_school_districts_2021.geojson",
               note="derived copy; read only when the three Census zips are absent"),
        Source("states", "US state boundaries 1:20M", "U.S. Census Bureau", "2018", "states/cb_2018_us_state_20m.shp",
               url="https://www2.census.gov/geo/tiger/GENZ2018/shp/cb_2018_us_state_20m.zip", landing=_CENSUS_LANDING,
               member="cb_2018_us_state_20m.shp",
               extra_members=("cb_2018_us_state_20m.shx", "cb_2018_us_state_20m.dbf", "cb_2018_us_state_20m.prj",
                              "cb_2018_us_state_20m.cpg"),
               license="public domain (US federal)"),
        Source("household_conditions", "Household conditions by geographic school district (SAIPE + ACS 2014-2018)",
               "Urban Institute", "SAIPE / ACS 2014-2018",
               "demographics/urban_household_conditions_by_district_2014_2018.xlsx",
               url="https://urban-data-catalog.s3.amazonaws.com/drupal-root-live/2020/06/08/NHGIS_District_data.xlsx",
               landing="https://datacatalog.urban.org/dataset/household-conditions-geographic-school-district",
               mirror=f"{_HH_REPO}/raw/NHGIS_District_data.xlsx",
               license="Urban Data Catalog terms (attribution)"),
        Source("household_conditions_csv", "Household conditions with LEAID (cleaned copy of the Urban file)",
               "Urban Institute (cleaned by J. Geiger, N. Goodwin, A. Joppa)", "SAIPE / ACS 2014-2018",
               "demographics/household_conditions_hh_with_leaid.csv", mirror=f"{_HH_REPO}/data/hh.csv",
               note="read only when the Urban xlsx is absent"),
        Source("acs_ed_race", "ACS-ED CDP05.3 Hispanic or Latino and race, children enrolled in public school",
               "NCES EDGE (Census ACS special tabulation)", "ACS 2014-2018",
               "demographics/acs_ed_2014_2018_cdp05_3_race_children_enrolled_public.txt",
               landing="https://nces.ed.gov/programs/edge/TableViewer/acsProfile/2018",
               mirror=f"{_HH_REPO}/raw/race_raw.txt", license="public domain (US federal)"),
        Source("elsi_2020_21", "ELSI district table: enrollment, teachers, finance", "NCES Common Core of Data",
               "2020-21", "demographics/nces_elsi_districts_2020_21.csv",
               landing="https://nces.ed.gov/ccd/elsi/tableGenerator.aspx",
               mirror="https://raw.githubusercontent.com/thuy2020/acfrs_data/"
                      "e4401be61b95f31000921b71885d604e8b6c9e61/data/ELSI_school%20year%202020%202021.csv",
               license="public domain (US federal)"),
        Source("imls_outlets", "Public library outlets, Public Libraries Survey FY2018",
               "Institute of Museum and Library Services", "FY2018", "hub_sites/imls_pls_fy2018_outlets.csv",
               url="https://www.imls.gov/sites/default/files/pls_fy2018_data_files_csv.zip",
               member="pls_fy18_outlet_pud18i.csv",
               landing="https://www.imls.gov/research-evaluation/data-collection/public-libraries-survey",
               license="public domain (US federal)", note="cp1252 encoded"),
        Source("cde_schools", "California public schools and districts directory", "California Department of Education",
               "2018-01-16", "hub_sites/cde_public_schools_ca_2018.csv",
               landing="https://www.cde.ca.gov/ds/si/ds/pubschls.asp",
               note="the live CDE file is today's tab-delimited snapshot; the 2018 copy cannot be re-downloaded"),
        Source("cde_enrollment", "CALPADS unduplicated pupil count by school", "California Department of Education",
               "2019-20", "school_enrollment/cde_cupc_schools_2019_20.csv",
               landing="https://www.cde.ca.gov/ds/ad/filescupc.asp"),
        Source("mtc_tracts", "Equity Priority Communities, ACS 2014-2018 tract counts",
               "Metropolitan Transportation Commission", "ACS 2014-2018",
               "tracts_bay_area/mtc_epc_acs2014_2018_tracts.csv"),
        Source("udp_tracts", "Bay Area census tracts (displacement typologies)", "Urban Displacement Project",
               "2018", "tracts_bay_area/udp_bay_area_tracts_2018.gpkg"),
    ]
    return {s.key: s for s in items}


SOURCES: dict[str, Source] = _build_manifest()


# ---------------------------------------------------------------------------------------------
# Finding and fetching files
# ---------------------------------------------------------------------------------------------

def sources_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The folder holding the source files: the argument, `PODGEO_SOURCES`, else ../shared/data.

    Returns None when none exists, which means files must be downloaded.
    """
    if explicit:
        path = Path(explicit)
        if not path.is_dir():
            raise SourceError(f"sources folder {path} does not exist")
        return path
    env = os.environ.get("PODGEO_SOURCES")
    if env:
        if not Path(env).is_dir():
            raise SourceError(f"PODGEO_SOURCES={env} is not a folder")
        return Path(env)
    default = REPO.parent / "shared" / "data"
    return default if default.is_dir() else None


def locate(key: str, root: Path | None, *, download: bool = True,
           progress: ProgressFn | None = None) -> Path | None:
    """Path of source `key`: in the sources folder, else in the download cache (fetching it).

    With a sources folder, a file that is not there is simply absent (None): the folder defines
    what is loaded. Without one, the file is downloaded when `download` is true.
    """
    src = SOURCES[key]
    if root is not None:
        path = root / src.path
        return path if path.exists() else None
    cached = DOWNLOAD_CACHE / src.path
    if cached.exists():
        return cached
    if not download:
        return None
    fetch(src, cached, progress=progress)
    return cached


def fetch(src: Source, dest: Path, *, progress: ProgressFn | None = None) -> Path:
    """Download one source into `dest`, trying the mirror server, the publisher, then the pinned copy.

    `PODGEO_MIRROR_URL` (a server laid out like the sources folder) comes first when set: it is
    how tests and air-gapped sites serve the files. Raises SourceError saying what to do offline.
    """
    attempts: list[tuple[str, str | None]] = []
    mirror_root = os.environ.get("PODGEO_MIRROR_URL")
    if mirror_root:
        attempts.append((f"{mirror_root.rstrip('/')}/{src.path}", None))
    if src.url:
        attempts.append((src.url, src.member))
    if src.mirror:
        attempts.append((src.mirror, None))
    if not attempts:
        raise SourceError(
            f"{src.path} ({src.title}) has no download address. Get it from {src.landing or src.publisher} "
            f"and put it at <sources folder>/{src.path}, then set PODGEO_SOURCES to that folder.")
    failures = []
    for url, member in attempts:
        try:
            data = _download(url, progress=progress, label=src.path)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            failures.append(f"{url}: {getattr(exc, 'reason', exc)}")
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if member:
            _extract_members(data, src, dest, url)
        else:
            tmp = dest.with_suffix(dest.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(dest)
        return dest
    raise SourceError(
        f"Could not download {src.path} ({src.title}). Tried:\n  " + "\n  ".join(failures) +
        "\nIf this machine is offline: copy the source files into a folder laid out like shared/data and "
        "set PODGEO_SOURCES to it (or pass --sources DIR)."
        + (f" The publisher's page is {src.landing}." if src.landing else ""))


def _download(url: str, *, progress: ProgressFn | None, label: str, chunk: int = 1 << 16) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "podgeo (education equity research)"})
    with urllib.request.urlopen(request, timeout=60) as response:
        total = response.length
        buf = io.BytesIO()
        bar = None
        if progress is None:
            from tqdm import tqdm
            bar = tqdm(total=total, unit="B", unit_scale=True, desc=label, leave=False)
        while True:
            block = response.read(chunk)
            if not block:
                break
            buf.write(block)
            if bar is not None:
                bar.update(len(block))
            else:
                progress(label, buf.tell(), total)
        if bar is not None:
            bar.close()
    data = buf.getvalue()
    if total is not None and len(data) != total:
        raise ValueError(f"truncated download: {len(data)} of {total} bytes")
    return data


def _extract_members(data: bytes, src: Source, dest: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            # the main member becomes `dest` (our file name); companions keep theirs beside it
            for name, target in ((src.member, dest), *((m, dest.parent / m) for m in src.extra_members)):
                inner = next((n for n in zf.namelist() if n.rsplit("/", 1)[-1] == name), None)
                if inner is None:
                    raise SourceError(f"{url} does not contain {name}")
                target.write_bytes(zf.read(inner))
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{url} is not a zip file ({exc})") from exc


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, streamed (recorded in the provenance table)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Readers: one per source, returning podgeo column names
# ---------------------------------------------------------------------------------------------

DISTRICT_COLUMNS = ["leaid", "name", "state_fips", "layer", "aland", "awater", "vintage", "is_filler", "geometry"]


def read_district_zip(path: Path, vintage: int) -> gpd.GeoDataFrame:
    """One Census cartographic-boundary school-district zip -> districts in EPSG:4326."""
    code = _layer_code_from_name(path.name)
    gdf = _read_vector(path, required=["GEOID", "NAME", "STATEFP", "ALAND", "AWATER"])
    gdf["layer"] = LAYER_CODES[code]
    return _districts_frame(gdf, vintage)


def read_district_geojson(path: Path, vintage: int) -> gpd.GeoDataFrame:
    """The derived all-layers GeoJSON (columns GEOID, NAME, STATEFP, SDTYPE, ALAND, AWATER)."""
    gdf = _read_vector(path, required=["GEOID", "NAME", "STATEFP", "SDTYPE", "ALAND", "AWATER"])
    bad = sorted(set(gdf["SDTYPE"]) - set(LAYER_CODES.values()))
    if bad:
        raise SourceError(f"{path}: column SDTYPE has unknown layer(s) {bad}; expected unified/elementary/secondary")
    gdf["layer"] = gdf["SDTYPE"]
    return _districts_frame(gdf, vintage)


def district_files(root: Path | None, states: list[str] | None = None, *,
                   progress: ProgressFn | None = None) -> list[tuple[str, Path, int]]:
    """(source key, path, vintage) of the newest boundary files per state.

    California uses the 2021 files (the Census zips, else the derived GeoJSON); every other
    state its 2016 zips. `states` are FIPS codes; None means every state present in the folder.
    """
    wanted = states or (STATE_FIPS if root is not None else ["06"])
    found: list[tuple[str, Path, int]] = []
    for fips in wanted:
        if fips not in STATE_FIPS:
            raise SourceError(f"unknown state FIPS code {fips!r}")
        newest = [k for k in SOURCES if k.startswith(f"districts_2021_{fips}_") and not k.endswith("combined")]
        paths = [(k, locate(k, root, download=True, progress=progress)) for k in newest] if newest else []
        if newest and all(p for _, p in paths):
            found += [(k, p, 2021) for k, p in paths]
            continue
        combined = f"districts_2021_{fips}_combined"
        if combined in SOURCES and (p := locate(combined, root, download=False)) is not None:
            found.append((combined, p, 2021))
            continue
        older = [k for k in SOURCES if k.startswith(f"districts_2016_{fips}_")]
        hits = [(k, locate(k, root, download=root is None, progress=progress)) for k in older]
        hits = [(k, p, 2016) for k, p in hits if p is not None]
        if not hits and states:
            raise SourceError(
                f"no school-district boundary file for state {fips}: expected "
                f"{SOURCES[older[0]].path if older else 'a cb_YYYY_' + fips + '_unsd_500k.zip'} in the sources folder")
        found += hits
    if not found:
        raise SourceError(
            f"no school-district boundary files found in {root}: expected school_districts/ca_2021/"
            "cb_2021_06_unsd_500k.zip or school_districts/us_2016/by_state/cb_2016_SS_unsd_500k.zip")
    return found


def district_fallbacks(failed_key: str, root: Path | None) -> list[tuple[str, Path, int]]:
    """What to read instead of a state's boundary files when `failed_key` (one of them) cannot be
    read: the derived combined GeoJSON after the 2021 zips, then the 2016 zips; [] when none is there."""
    year, fips = failed_key.split("_")[1:3]
    found: list[tuple[str, Path, int]] = []
    combined = f"districts_2021_{fips}_combined"
    if year == "2021" and not failed_key.endswith("combined") and combined in SOURCES:
        if (p := locate(combined, root, download=False)) is not None:
            return [(combined, p, 2021)]
    if year == "2021":
        for key in (k for k in SOURCES if k.startswith(f"districts_2016_{fips}_")):
            if (p := locate(key, root, download=False)) is not None:
                found.append((key, p, 2016))
    return found


def read_states(path: Path) -> gpd.GeoDataFrame:
    """Census state boundaries -> state_fips, state (postal), state_name, geometry (EPSG:4326)."""
    gdf = _read_vector(path, required=["STATEFP", "STUSPS", "NAME"])
    out = gpd.GeoDataFrame(
        {"state_fips": gdf["STATEFP"].astype(str), "state": gdf["STUSPS"].astype(str),
         "state_name": gdf["NAME"].astype(str)}, geometry=gdf.geometry.values, crs=gdf.crs)
    return out.to_crs(WGS84)


#: Household-condition measures: podgeo name -> (Urban xlsx estimate column, xlsx MOE column, hh.csv est, hh.csv MOE)
HH_MEASURES = {
    "pct_poverty": ("% Poverty (SAIPE Estimate)", None, "pct_pov", None),
    "pct_single_parent": ("% Single Parent Estimate", "Single Parent Margin of Error", "pct_SP", "SP_MOE"),
    "pct_vulnerable_job": ("% HHs With Vulnerable Job Estimate", "Vulnerable Job Margin of Error", "pct_HHVJ", "HHVJ_MOE"),
    "pct_crowded": ("% Crowded Conditions Estimate", "HH With Crowded Conditions Margin of Error", "pct_CC", "CC_MOE"),
    "pct_no_computer": ("% No Computer or Internet Estimate", "No Computer or Internet Margin of Error", "pct_NCI", "nci_MOE"),
    "pct_disability": ("% Children with Disability", "Children with Disability Margin of Error", "pct_CD", "CD_MOE"),
    "pct_ling_isolated": ("% Linguistically Isolated Children", "Linguistically Isolated Children Margin of Error",
                          "pct_CLI", "CLI_MOE"),
}


def read_household_conditions_xlsx(path: Path, state_fips_by_name: dict[str, str]) -> pd.DataFrame:
    """Urban Institute xlsx -> leaid, children_5_17, pct_* (0-100) and pct_*_moe (percentage points).

    The xlsx gives percents as fractions and margins of error as a "13%-32%" interval; the MOE
    stored is half its width, the same convention as the cleaned CSV.
    """
    try:  # calamine (Rust) reads the 13,314-row sheet ~4x faster than openpyxl, to the same strings
        raw = pd.read_excel(path, dtype=str, engine="calamine")
    except Exception as exc:  # the readers raise many types for a bad workbook
        raise SourceError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    needed = ["School ID", "State", "Geographic School District", "Children 5-17 (SAIPE Estimate)"]
    needed += [v[0] for v in HH_MEASURES.values()] + [v[1] for v in HH_MEASURES.values() if v[1]]
    _require_columns(path, raw.columns, needed)
    unknown = sorted(set(raw["State"].dropna()) - set(state_fips_by_name))
    if unknown:
        raise SourceError(f"{path}: column State has names that are not US states: {unknown[:5]}")
    out = pd.DataFrame({
        "leaid": raw["State"].map(state_fips_by_name) + raw["School ID"].str.strip().str.zfill(5),
        "name_source": raw["Geographic School District"],
        "children_5_17": _numeric(raw["Children 5-17 (SAIPE Estimate)"], path, "Children 5-17 (SAIPE Estimate)"),
    })
    for name, (est, moe, _, _) in HH_MEASURES.items():
        out[name] = _numeric(raw[est], path, est) * 100.0
        out[f"{name}_moe"] = _interval_half_width(raw[moe], path, moe) if moe else np.nan
    return _dedupe_leaid(out, path)


def read_household_conditions_csv(path: Path) -> pd.DataFrame:
    """The cleaned CSV (percent 0-100, one-sided MOEs) -> the same columns as the xlsx reader."""
    raw = _read_csv(path, required=["leaid", "dist", "children"] + [v[2] for v in HH_MEASURES.values()])
    out = pd.DataFrame({"leaid": raw["leaid"].str.strip().str.zfill(7), "name_source": raw["dist"],
                        "children_5_17": _numeric(raw["children"], path, "children")})
    for name, (_, _, est, moe) in HH_MEASURES.items():
        out[name] = _numeric(raw[est], path, est)
        out[f"{name}_moe"] = _numeric(raw[moe], path, moe) if moe else np.nan
    return _dedupe_leaid(out, path)


#: ACS-ED CDP05.3 items: podgeo group -> item number.
RACE_ITEMS = {"hispanic": 52, "white_nh": 58, "black_nh": 59, "aian_nh": 60, "asian_nh": 61, "nhpi_nh": 62,
              "other_nh": 63, "two_plus_nh": 64}


def read_acs_race(path: Path) -> pd.DataFrame:
    """ACS-ED race/ethnicity of public-school children -> counts and percents with MOEs per LEAID.

    Children of color = all children minus white non-Hispanic; its count MOE uses the ACS
    approximation for a difference (root of summed squares) and its percent MOE is the white
    share's (the complement has the same interval).
    """
    cols = ["LEAID", "CDP05.3_51est", "CDP05.3_51moe"]
    for item in RACE_ITEMS.values():
        cols += [f"CDP05.3_{item}{s}" for s in ("est", "moe", "pct", "pctmoe")]
    raw = _read_csv(path, required=cols, sep="|")
    out = pd.DataFrame({"leaid": raw["LEAID"].str.strip().str.zfill(7),
                        "acs_children": _numeric(raw["CDP05.3_51est"], path, "CDP05.3_51est"),
                        "acs_children_moe": _numeric(raw["CDP05.3_51moe"], path, "CDP05.3_51moe")})
    for group, item in RACE_ITEMS.items():
        out[f"n_{group}"] = _numeric(raw[f"CDP05.3_{item}est"], path, f"CDP05.3_{item}est")
        out[f"n_{group}_moe"] = _numeric(raw[f"CDP05.3_{item}moe"], path, f"CDP05.3_{item}moe")
        out[f"pct_{group}"] = _numeric(raw[f"CDP05.3_{item}pct"], path, f"CDP05.3_{item}pct")
        out[f"pct_{group}_moe"] = _numeric(raw[f"CDP05.3_{item}pctmoe"], path, f"CDP05.3_{item}pctmoe")
    out["n_of_color"] = out["acs_children"] - out["n_white_nh"]
    out["n_of_color_moe"] = np.sqrt(out["acs_children_moe"] ** 2 + out["n_white_nh_moe"] ** 2)
    out["pct_of_color"] = np.where(out["acs_children"] > 0, 100.0 - out["pct_white_nh"], np.nan)
    out["pct_of_color_moe"] = out["pct_white_nh_moe"]
    return _dedupe_leaid(out, path)


ELSI_ID = "Agency ID - NCES Assigned [District] Latest available year"
ELSI_COLUMNS = {
    "Agency Name": "elsi_name",
    "Agency Type [District] 2020-21": "agency_type",
    "Total Students All Grades (Excludes AE) [District] 2020-21": "enrollment",
    "Full-Time Equivalent (FTE) Teachers [District] 2020-21": "fte_teachers",
    "Total Revenue (TOTALREV) [District Finance] 2020-21": "revenue_total",
    "Total Expenditures (TOTALEXP) [District Finance] 2020-21": "expenditure_total",
}


#: What an agency without a boundary polygon is called in the districts table (`layer`), by the
#: ELSI agency type code. Types 1-2 are geographic districts, so they normally have a polygon;
#: those that do not (new, merged or renamed since the boundary vintage) are still districts.
AGENCY_LAYERS = {"1": "regular, no boundary", "2": "regular, no boundary", "3": "supervisory union",
                 "4": "service agency", "5": "state agency", "6": "federal agency", "7": "charter",
                 "8": "other agency", "9": "specialized"}


def read_elsi(path: Path) -> pd.DataFrame:
    """NCES ELSI export -> every agency (districts, charters, service and state agencies...) with its
    ELSI agency type and 2020-21 enrollment, teachers and finance.

    Skips the export's preamble and footer wherever they are, and turns its symbols
    († not applicable, – missing, ‡ below quality standards) into missing values. `agency_code`
    is the type's number as text ("1".."9"; types 1 and 2 are geographic districts).
    """
    text = _read_text(path, encodings=("utf-8-sig", "cp1252"))
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines[:50]) if line.startswith("Agency Name,")), None)
    if header is None:
        raise SourceError(f"{path}: no header line starting 'Agency Name,' in the first 50 lines; "
                          "expected an NCES ELSI district export")
    body = [lines[header]]
    for line in lines[header + 1:]:
        if not line.strip() or line.startswith(("Data Source:", "†", "–", "‡")):
            break
        body.append(line)
    raw = pd.read_csv(io.StringIO("\n".join(body)), dtype=str, keep_default_na=False)
    _require_columns(path, raw.columns, [ELSI_ID, *ELSI_COLUMNS])
    raw = raw.rename(columns={ELSI_ID: "leaid", **ELSI_COLUMNS})
    out = raw[["leaid", *ELSI_COLUMNS.values()]].copy()
    out["leaid"] = out["leaid"].str.strip().str.zfill(7)
    out["agency_code"] = out["agency_type"].str.extract(r"^\s*(\d)-", expand=False)
    unknown = out["agency_code"].isna() | ~out["agency_code"].isin(list(AGENCY_LAYERS))
    if unknown.any():
        row = int(unknown.to_numpy().argmax())
        raise SourceError(f"{path}: row {header + row + 2} (LEAID {out['leaid'].iloc[row]}) has agency type "
                          f"{out['agency_type'].iloc[row]!r}; expected one starting 1- to 9-")
    for col in ("enrollment", "fte_teachers", "revenue_total", "expenditure_total"):
        out[col] = pd.to_numeric(out[col].str.replace(",", "").str.strip(), errors="coerce")
    return _dedupe_leaid(out, path)


SITE_COLUMNS = ["site_id", "kind", "subtype", "name", "address", "city", "state", "zip", "leaid_source", "lon", "lat"]


def read_imls_outlets(path: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """IMLS outlet file (cp1252) -> fixed library sites; bookmobiles and by-mail outlets are counted out."""
    raw = _read_csv(path, required=["STABR", "FSCSKEY", "FSCS_SEQ", "LIBNAME", "ADDRESS", "CITY", "ZIP",
                                    "C_OUT_TY", "LONGITUD", "LATITUDE"], encoding="cp1252")
    out = pd.DataFrame({
        "site_id": "imls:" + raw["FSCSKEY"].str.strip() + "-" + raw["FSCS_SEQ"].str.strip(),
        "kind": "library", "subtype": raw["C_OUT_TY"].map(
            {"CE": "central library", "BR": "branch library", "BS": "bookmobile", "MO": "books by mail"}
        ).fillna(raw["C_OUT_TY"]),
        "name": raw["LIBNAME"].str.strip(), "address": raw["ADDRESS"].str.strip(), "city": raw["CITY"].str.strip(),
        "state": raw["STABR"].str.strip(), "zip": raw["ZIP"].str.strip().str.zfill(5), "leaid_source": None,
        "lon": _numeric(raw["LONGITUD"], path, "LONGITUD"), "lat": _numeric(raw["LATITUDE"], path, "LATITUDE"),
    })
    mobile = raw["C_OUT_TY"].isin(["BS", "MO"])
    no_xy = out["lon"].isna() | out["lat"].isna()
    skipped = {"bookmobile or books-by-mail outlet (no fixed site)": int(mobile.sum()),
               "no coordinates": int((no_xy & ~mobile).sum())}
    return out.loc[~mobile & ~no_xy].reset_index(drop=True), skipped


def read_cde_schools(path: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """CDE directory -> active California schools (district-office rows and closed schools counted out)."""
    raw = _read_csv(path, required=["CDSCode", "NCESDist", "StatusType", "School", "Street", "City", "Zip",
                                    "SOCType", "Latitude", "Longitude"], encoding="utf-8")
    active = raw["StatusType"].eq("Active")
    named = raw["School"].str.strip().ne("")
    out = pd.DataFrame({
        "site_id": "cde:" + raw["CDSCode"].str.strip(), "kind": "school", "subtype": raw["SOCType"].str.strip(),
        "name": raw["School"].str.strip(), "address": raw["Street"].str.strip(), "city": raw["City"].str.strip(),
        "state": "CA", "zip": raw["Zip"].str.strip().str[:5], "leaid_source": raw["NCESDist"].str.strip(),
        "lon": _numeric(raw["Longitude"], path, "Longitude"), "lat": _numeric(raw["Latitude"], path, "Latitude"),
    })
    no_xy = out["lon"].isna() | out["lat"].isna()
    keep = active & named & ~no_xy
    skipped = {"not active (closed, merged or pending)": int((~active).sum()),
               "district or county office row (no school name)": int((active & ~named).sum()),
               "no coordinates": int((active & named & no_xy).sum())}
    return out.loc[keep].reset_index(drop=True), skipped


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------

def _read_vector(path: Path, required: list[str]) -> gpd.GeoDataFrame:
    target = f"zip://{path}" if path.suffix == ".zip" else str(path)
    if path.suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                if not any(n.endswith(".shp") for n in zf.namelist()):
                    raise SourceError(f"{path}: the zip holds no .shp file; expected a Census shapefile zip")
        except zipfile.BadZipFile as exc:
            raise SourceError(f"{path}: not a valid zip file ({exc}); expected a Census shapefile zip") from exc
    try:
        gdf = gpd.read_file(target, engine="pyogrio")
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise SourceError(f"{path}: cannot read as a vector file ({exc})") from exc
    _require_columns(path, gdf.columns, required)
    if gdf.crs is None:
        raise SourceError(f"{path}: no coordinate reference system (missing .prj?)")
    if len(gdf) == 0:
        raise SourceError(f"{path}: no features")
    return gdf


def _districts_frame(gdf: gpd.GeoDataFrame, vintage: int) -> gpd.GeoDataFrame:
    geoid = gdf["GEOID"].astype(str).str.strip()
    bad = geoid[~geoid.str.fullmatch(r"\d{7}")]
    if len(bad):
        raise SourceError(f"GEOID values are not 7-digit LEAIDs: {bad.head(3).tolist()}")
    out = gpd.GeoDataFrame({
        "leaid": geoid, "name": gdf["NAME"].astype(str), "state_fips": geoid.str[:2], "layer": gdf["layer"],
        "aland": pd.to_numeric(gdf["ALAND"], errors="coerce"), "awater": pd.to_numeric(gdf["AWATER"], errors="coerce"),
        "vintage": vintage, "is_filler": geoid.str.endswith("99997").astype(int),
    }, geometry=gdf.geometry.values, crs=gdf.crs)
    return out.to_crs(WGS84)


def _layer_code_from_name(name: str) -> str:
    match = re.search(r"_(unsd|elsd|scsd)_", name)
    if not match:
        raise SourceError(f"{name}: file name does not say the layer (expected _unsd_, _elsd_ or _scsd_)")
    return match.group(1)


def _read_text(path: Path, encodings: tuple[str, ...]) -> str:
    data = path.read_bytes()
    for enc in encodings:
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise SourceError(f"{path}: not text in any of {encodings}")


def _read_csv(path: Path, required: list[str], sep: str = ",", encoding: str = "utf-8") -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, sep=sep, encoding=encoding, keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{path}: not {encoding} text ({exc})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SourceError(f"{path}: cannot parse as {'pipe-delimited' if sep == '|' else 'CSV'} text ({exc})") from exc
    _require_columns(path, raw.columns, required)
    if len(raw) == 0:
        raise SourceError(f"{path}: header only, no rows")
    return raw


def _require_columns(path: Path, columns, required: list[str]) -> None:
    missing = [c for c in required if c not in set(columns)]
    if missing:
        raise SourceError(f"{path}: missing column(s) {missing}; found {list(columns)[:12]}...")


def _numeric(series: pd.Series, path: Path, column: str) -> pd.Series:
    """Numbers from text; blanks become NaN, anything else that is not a number is an error."""
    text = series.astype(str).str.strip().str.replace(",", "", regex=False)
    blank = text.isin(["", "nan", "None", "NA", "N/A", "-", "†", "–", "‡"])
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        row = int(bad.idxmax())
        raise SourceError(f"{path}: column {column!r} row {row + 2} is {series.iloc[row]!r}, expected a number")
    return values.astype(float)


def _interval_half_width(series: pd.Series, path: Path, column: str) -> pd.Series:
    """'13%-32%' -> 9.5 (percentage points); blanks -> NaN."""
    parts = series.astype(str).str.extract(r"^\s*(-?[\d.]+)%\s*-\s*(-?[\d.]+)%\s*$")
    blank = series.isna() | series.astype(str).str.strip().isin(["", "nan"])
    bad = parts[0].isna() & ~blank
    if bad.any():
        row = int(bad.idxmax())
        raise SourceError(f"{path}: column {column!r} row {row + 2} is {series.iloc[row]!r}, expected 'lo%-hi%'")
    return (parts[1].astype(float) - parts[0].astype(float)) / 2.0


def _dedupe_leaid(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    bad = frame["leaid"].isna() | ~frame["leaid"].astype(str).str.fullmatch(r"\d{7}")
    if bad.any():
        row = int(bad.idxmax())
        raise SourceError(f"{path}: row {row + 2} has no valid 7-digit LEAID ({frame['leaid'].iloc[row]!r})")
    return frame.drop_duplicates("leaid", keep="first").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Provenance, grouped for reading
# ---------------------------------------------------------------------------------------------

_DISTRICT_KEY = re.compile(r"^districts_(\d{4})_(\d{2})_(\w+)$")


def provenance_groups(prov: pd.DataFrame, state_names: dict[str, str]) -> pd.DataFrame:
    """One row per source, not per file: the 99 boundary zips of a vintage become one row naming
    its states, with rows summed and the reasons rows were not loaded added up across files.

    `prov` is `store.provenance()` (stores built before provenance had `status`/`note` read as
    loaded); `state_names` maps FIPS to a state's name. Columns: source, publisher, vintage,
    states, files, rows_read, rows_loaded, not_loaded (text, '—' when every row loaded),
    status (loaded / absent / empty / fallback: the worst of the group's files), note, and sha256
    (its first 12 characters, for a one-file source).
    """
    rows = []
    for group, part in prov.groupby(prov["source_key"].map(_group_key), sort=False):
        match = _DISTRICT_KEY.match(part["source_key"].iloc[0])
        reasons: dict[str, int] = {}
        for r in part["unjoined_reasons"]:
            for k, v in (r or {}).items():
                reasons[k] = reasons.get(k, 0) + int(v)
        status = part.get("status", pd.Series(["loaded"] * len(part))).fillna("loaded")
        notes = [n for n in part.get("note", pd.Series([None] * len(part))) if isinstance(n, str) and n]
        fips = sorted({m.group(2) for m in map(_DISTRICT_KEY.match, part["source_key"]) if m})
        rows.append({
            "source": f"School district boundaries, Census cartographic boundary {match.group(1)}" if match
            else part["title"].iloc[0],
            "publisher": part["publisher"].iloc[0], "vintage": part["vintage"].iloc[0],
            "states": ", ".join(state_names.get(f, f"FIPS {f}") for f in fips) if fips else "",
            "files": len(part), "rows_read": int(part["rows_read"].fillna(0).sum()),
            "rows_loaded": int(part["rows_loaded"].fillna(0).sum()),
            "not_loaded": "; ".join(f"{v:,} {k}" for k, v in reasons.items() if v) or "—",
            "status": next((s for s in ("absent", "empty", "fallback") if (status == s).any()), "loaded"),
            "note": " ".join(notes),
            "sha256": str(part["sha256"].iloc[0])[:12] if len(part) == 1 and isinstance(part["sha256"].iloc[0], str)
            else ""})
    return pd.DataFrame(rows, columns=["source", "publisher", "vintage", "states", "files", "rows_read",
                                       "rows_loaded", "not_loaded", "status", "note", "sha256"])


def _group_key(source_key: str) -> str:
    match = _DISTRICT_KEY.match(source_key)
    return f"districts_{match.group(1)}" if match else source_key
