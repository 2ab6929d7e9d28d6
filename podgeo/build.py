"""Build the store from the source files: read, join by LEAID, assign points to districts, write.

`build()` is what `python -m podgeo build` runs. It only orchestrates: reading is in
`sources`, spatial work in `geo`, SQL in `store`. The store is written to a temporary file and
moved into place at the end, so a failed build leaves the previous store untouched.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from podgeo import demand, geo, measures, sources
from podgeo.sources import SOURCES, SourceError
from podgeo.store import DEMAND_POINTS, SqliteStore, build_store, open_store

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[1]
SAMPLE_PODS = REPO / "data" / "sample_pods.csv"


@dataclass
class BuildReport:
    """What a build loaded: store path, states, row counts per table, and the provenance rows."""

    path: Path
    states: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    provenance: list[dict] = field(default_factory=list)
    #: sources the build went on without (absent, empty, or replaced by a fallback), with why
    absent: list[dict] = field(default_factory=list)


#: What a store lacks without each source that a build can do without.
LAYERS = {
    "imls_outlets": "library outlets (candidate hub sites)",
    "cde_schools": "California public schools (candidate hub sites and, with enrollment, school demand points)",
    "cde_enrollment": "California school demand points (enrollment, low income, English learners)",
    "mtc_tracts": "Bay Area census-tract demand points",
    "udp_tracts": "Bay Area census-tract demand points",
    "elsi_2020_21": "enrollment, teachers and finance, and every agency without a boundary polygon",
}


class StrictBuildError(SourceError):
    """`--strict`: an optional source was absent, empty or replaced, so the build stopped before writing."""


def build(db_path: str | Path, *, sources_root: str | Path | None = None, states: list[str] | None = None,
          pods_file: Path | None = SAMPLE_PODS, progress: Callable[[str], None] | None = None,
          strict: bool = False) -> BuildReport:
    """Build a podgeo store at `db_path` from the sources folder (or downloads).

    `states` are postal codes or FIPS codes; None loads every state whose boundary files are in
    the sources folder (California only when downloading). Raises SourceError naming the file
    when a source is missing, truncated or malformed; the existing store is then unchanged.
    An optional source that is absent, a file with a header and no rows, or a boundary zip that
    cannot be read but has a fallback does not stop the build: each is said at the end, in the
    report's `absent` and in provenance (status and note). With `strict`, each is an error
    (StrictBuildError) and nothing is written.
    """
    say = progress or (lambda msg: log.info(msg))
    root = sources.sources_dir(sources_root)
    say(f"sources: {root if root else 'downloading into ' + str(sources.DOWNLOAD_CACHE)}")
    states_path = _need("states", root)
    state_table = sources.read_states(states_path)
    fips_list = _state_fips(states, state_table)

    say("reading district boundaries")
    absent: list[dict] = []
    parts, provenance = _read_boundaries(root, fips_list, absent)
    districts = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=sources.WGS84)
    dupes = districts["leaid"][districts["leaid"].duplicated()]
    if len(dupes):
        raise SourceError(f"the boundary files give LEAID {dupes.iloc[0]} twice; each district must appear once")
    loaded_fips = sorted(districts["state_fips"].unique())
    postal = dict(zip(state_table["state_fips"], state_table["state"]))
    districts["state"] = districts["state_fips"].map(postal)
    say(f"{len(districts):,} district polygons in {len(loaded_fips)} state(s); simplifying for display")
    point = districts.geometry.representative_point()
    districts["lon"], districts["lat"] = point.x, point.y
    districts["display"] = _display(districts)
    districts["national"] = _national(districts)

    say("joining demographics by LEAID; keeping every agency ELSI lists")
    elsi_path = _need("elsi_2020_21", root)
    elsi = sources.read_elsi(elsi_path)
    if elsi.empty:
        absent.append(_absence("elsi_2020_21", "empty", f"{elsi_path} has a header and no rows"))
    agencies = _agencies_without_boundary(elsi, districts, loaded_fips, postal)
    say(f"{len(agencies):,} agencies without a boundary polygon kept (charters, service and state agencies...)")
    table, more = _demographics(root, districts, agencies, (elsi, elsi_path), state_table, loaded_fips)
    provenance += more

    say("placing candidate hub sites in districts")
    sites, site_links, more = _sites(root, districts, postal, loaded_fips, absent)
    provenance += more

    say("placing demand points (schools, tracts) in districts")
    demand_rows, more = _demand_points(root, districts, loaded_fips, absent)
    provenance += more

    provenance.append(_prov("states", states_path, rows_read=len(state_table), rows_loaded=len(state_table)))
    provenance = _mark_absent(provenance, absent, root)
    if strict and absent:
        raise StrictBuildError("--strict: the build stopped before writing: " + "; ".join(a["note"] for a in absent))

    def write(store: SqliteStore) -> None:
        store.write_frame("states", _states_rows(state_table))
        store.write_frame("districts", pd.concat([districts[list(_DISTRICT_COLUMNS)], agencies[list(_DISTRICT_COLUMNS)]],
                                                 ignore_index=True))
        store.write_frame("district_measures", table, alter=True)
        store.write_frame("measure_catalog", _catalog())
        store.write_frame("sites", sites)
        store.write_frame("site_districts", site_links)
        store.write_frame("demand_points", demand_rows)
        store.write_provenance(provenance)
        store.set_meta(states=[postal[f] for f in loaded_fips],
                       sources_root=str(root) if root else "downloaded",
                       agencies_without_boundary=agencies["layer"].value_counts().sort_index().to_dict(),
                       absent=[{k: a[k] for k in ("source_key", "status", "layer")} for a in absent])
        if pods_file is not None:
            _load_pods(store, pods_file, districts)

    path = build_store(db_path, write)
    store = open_store(path)
    report = BuildReport(path, [postal[f] for f in loaded_fips], store.counts(), provenance, absent)
    store.close()
    for a in absent:
        say(f"WITHOUT {a['layer']}: {a['note']}")
    return report


_DISTRICT_COLUMNS = ("leaid", "name", "state_fips", "state", "layer", "aland", "awater", "vintage",
                                "is_filler", "lon", "lat", "geometry", "display", "national")


def _need(key: str, root: Path | None) -> Path:
    path = sources.locate(key, root)
    if path is None:
        raise SourceError(f"missing source file {SOURCES[key].path} ({SOURCES[key].title}) in {root}")
    return path


def _state_fips(states: list[str] | None, state_table: pd.DataFrame) -> list[str] | None:
    if not states:
        return None
    by_postal = dict(zip(state_table["state"], state_table["state_fips"]))
    out = []
    for s in states:
        s = s.strip().upper()
        if s in by_postal:
            out.append(by_postal[s])
        elif s in set(state_table["state_fips"]):
            out.append(s)
        else:
            raise ValueError(f"unknown state {s!r}: give a postal code (CA) or FIPS code (06)")
    return out


def _prov(key: str, path: Path, *, rows_read: int, rows_loaded: int, unjoined: dict | None = None) -> dict:
    src = SOURCES[key]
    unjoined = {k: v for k, v in (unjoined or {}).items() if v}
    return {"source_key": key, "file": str(path), "title": src.title, "publisher": src.publisher,
            "vintage": src.vintage, "sha256": sources.sha256_of(path), "rows_read": rows_read,
            "rows_loaded": rows_loaded, "rows_unjoined": sum(unjoined.values()), "unjoined_reasons": unjoined,
            "status": "loaded", "note": None}


def _absence(key: str, status: str, why: str) -> dict:
    """One source the build goes on without: `status` absent, empty or fallback, and a note saying
    which file, what is missing from the store because of it, and why."""
    layer = LAYERS.get(key) or SOURCES[key].title
    return {"source_key": key, "status": status, "layer": layer, "note": f"{why}: the store has no {layer}"
            if status != "fallback" else why}


def _mark_absent(provenance: list[dict], absent: list[dict], root: Path | None) -> list[dict]:
    """Provenance with each absence recorded: on the source's own row, or a row of its own."""
    by_key = {row["source_key"]: row for row in provenance}
    for a in absent:
        row = by_key.get(a["source_key"])
        if row is None:
            src = SOURCES[a["source_key"]]
            row = {"source_key": src.key, "file": str(root / src.path) if root else src.path, "title": src.title,
                   "publisher": src.publisher, "vintage": src.vintage, "sha256": None, "rows_read": 0,
                   "rows_loaded": 0, "rows_unjoined": 0, "unjoined_reasons": {}}
            by_key[src.key] = row
            provenance.append(row)
        row.update(status=a["status"], note=a["note"])
    return provenance


def _read_boundaries(root, fips_list, absent) -> tuple[list[gpd.GeoDataFrame], list[dict]]:
    """Each state's boundary files; a state whose file cannot be read falls back to its older or
    derived files when they are there (recorded in `absent`), else the SourceError stands."""
    by_state: dict[str, list] = {}
    for key, path, vintage in sources.district_files(root, fips_list):
        by_state.setdefault(key.split("_")[2], []).append((key, path, vintage))
    parts, provenance = [], []
    for files in by_state.values():
        frames = None
        while frames is None:
            frames = []
            for key, path, vintage in files:
                try:
                    frames.append((key, path, _read_district_file(path, vintage, fips_list)))
                except SourceError as exc:
                    fallback = sources.district_fallbacks(key, root)
                    if not fallback:
                        raise
                    absent.append(_absence(key, "fallback", f"{exc}; read "
                                           f"{', '.join(str(p) for _, p, _ in fallback)} instead"))
                    files, frames = fallback, None
                    break
        for key, path, frame in frames:
            parts.append(frame)
            provenance.append(_prov(key, path, rows_read=len(frame), rows_loaded=len(frame)))
    return parts, provenance


def _read_district_file(path: Path, vintage: int, fips_list) -> gpd.GeoDataFrame:
    reader = sources.read_district_geojson if path.suffix == ".geojson" else sources.read_district_zip
    frame = reader(path, vintage)
    return frame[frame["state_fips"].isin(fips_list)] if fips_list else frame


def _join_report(frame: pd.DataFrame, districts: pd.DataFrame, loaded_fips: list[str]) -> tuple[pd.DataFrame, dict]:
    """Rows of a LEAID-keyed frame that match a loaded district, and why the others did not."""
    known = set(districts["leaid"])
    in_scope = frame["leaid"].str[:2].isin(loaded_fips)
    matched = frame["leaid"].isin(known)
    reasons = {"state not loaded in this build": int((~in_scope).sum()),
               "LEAID has no polygon in the boundary file (merged, new, or not a geographic district)":
                   int((in_scope & ~matched).sum())}
    return frame[matched], reasons


def _agencies_without_boundary(elsi: pd.DataFrame, districts: gpd.GeoDataFrame, loaded_fips: list[str],
                               postal: dict[str, str]) -> gpd.GeoDataFrame:
    """District rows for the ELSI agencies of the loaded states that have no boundary polygon:
    no geometry, no area or interior point, `layer` named from their ELSI agency type."""
    fips = elsi["leaid"].str[:2]
    rows = elsi[fips.isin(loaded_fips) & ~elsi["leaid"].isin(set(districts["leaid"]))]
    empty = gpd.GeoSeries([None] * len(rows), crs=sources.WGS84).values
    return gpd.GeoDataFrame({
        "leaid": rows["leaid"].to_numpy(), "name": rows["elsi_name"].str.strip().to_numpy(),
        "state_fips": rows["leaid"].str[:2].to_numpy(), "state": rows["leaid"].str[:2].map(postal).to_numpy(),
        "layer": rows["agency_code"].map(sources.AGENCY_LAYERS).to_numpy(), "aland": np.nan, "awater": np.nan,
        "vintage": pd.array([pd.NA] * len(rows), dtype="Int64"), "is_filler": 0, "lon": np.nan, "lat": np.nan,
        "display": empty, "national": empty}, geometry=empty, crs=sources.WGS84)


def _demographics(root, districts, agencies, elsi_read, state_table, loaded_fips):
    """The district measures table: household conditions and race for districts with a boundary,
    ELSI enrollment, teachers and finance for every agency (with or without one)."""
    provenance = []
    xlsx = sources.locate("household_conditions", root, download=root is None)
    if xlsx is not None:
        hh_key, hh_path = "household_conditions", xlsx
        hh = sources.read_household_conditions_xlsx(xlsx, dict(zip(state_table["state_name"], state_table["state_fips"])))
    else:
        hh_key, hh_path = "household_conditions_csv", _need("household_conditions_csv", root)
        hh = sources.read_household_conditions_csv(hh_path)
    hh_in, reasons = _join_report(hh, districts, loaded_fips)
    provenance.append(_prov(hh_key, hh_path, rows_read=len(hh), rows_loaded=len(hh_in), unjoined=reasons))
    hh_in = hh_in.drop(columns=["name_source"])
    hh_in["children_poverty"] = (hh_in["children_5_17"] * hh_in["pct_poverty"] / 100.0).round()

    race_path = _need("acs_ed_race", root)
    race = sources.read_acs_race(race_path)
    race_in, reasons = _join_report(race, districts, loaded_fips)
    provenance.append(_prov("acs_ed_race", race_path, rows_read=len(race), rows_loaded=len(race_in), unjoined=reasons))

    elsi, elsi_path = elsi_read
    every = pd.concat([districts[["leaid"]], agencies[["leaid"]]], ignore_index=True)
    elsi_in, reasons = _join_report(elsi, every, loaded_fips)
    provenance.append(_prov("elsi_2020_21", elsi_path, rows_read=len(elsi), rows_loaded=len(elsi_in),
                            unjoined=reasons))
    elsi_in = elsi_in.drop(columns=["elsi_name", "agency_code"])

    table = every.merge(hh_in, on="leaid", how="left").merge(race_in, on="leaid", how="left")
    table = table.merge(elsi_in, on="leaid", how="left")
    measured = table.drop(columns="leaid").notna().any(axis=1)
    return table[measured].reset_index(drop=True), provenance


def _sites(root, districts, postal, loaded_fips, absent):
    frames, provenance = [], []
    loaded_postal = {postal[f] for f in loaded_fips}
    path = sources.locate("imls_outlets", root, download=root is None)
    if path is None:
        absent.append(_absence("imls_outlets", "absent", f"{_expected('imls_outlets', root)} is not there"))
    else:
        libs, skipped = sources.read_imls_outlets(path)
        read = len(libs) + sum(skipped.values())
        out_of_scope = ~libs["state"].isin(loaded_postal)
        skipped["state not loaded in this build (or a territory)"] = int(out_of_scope.sum())
        frames.append((("imls_outlets", path, read, skipped), libs[~out_of_scope]))
    if "06" in loaded_fips:
        path = sources.locate("cde_schools", root, download=False)
        if path is None:
            absent.append(_absence("cde_schools", "absent", f"{_expected('cde_schools', root)} is not there"))
        else:
            schools, skipped = sources.read_cde_schools(path)
            frames.append((("cde_schools", path, len(schools) + sum(skipped.values()), skipped), schools))
    all_sites, all_links = [], []
    for (key, path, read, skipped), frame in frames:
        points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=sources.WGS84)
        links = geo.assign_points_to_districts(points, districts, id_col="site_id").rename(
            columns={"point_id": "site_id"})
        placed = set(links["site_id"])
        outside = int((~frame["site_id"].isin(placed)).sum())
        skipped["point outside every loaded district polygon (kept, no district)"] = outside
        provenance.append(_prov(key, path, rows_read=read, rows_loaded=len(frame),
                                unjoined={k: v for k, v in skipped.items()}))
        all_sites.append(frame)
        all_links.append(links[["site_id", "leaid", "layer"]])
    sites = pd.concat(all_sites, ignore_index=True) if all_sites else pd.DataFrame(columns=sources.SITE_COLUMNS)
    links = pd.concat(all_links, ignore_index=True) if all_links else pd.DataFrame(columns=["site_id", "leaid", "layer"])
    return sites, links, provenance


def _expected(key: str, root: Path | None) -> str:
    return str(root / SOURCES[key].path) if root else f"{SOURCES[key].path} (not downloadable)"


def _demand_points(root, districts, loaded_fips, absent):
    """Schools (CA, CDE enrollment) and Bay Area tracts as demand points, each in its base-layer district.

    `leaid` is where the point lies among the unified + elementary districts (they tile a state),
    so every point counts once; a school's own LEA (NCESDist, e.g. a charter LEA) is kept in
    `leaid_source`. Points in no loaded district are kept with no district, and counted.
    """
    readers = []
    if "06" in loaded_fips:
        enrollment = sources.locate("cde_enrollment", root, download=False)
        directory = sources.locate("cde_schools", root, download=False)
        if enrollment is not None and directory is not None:
            readers.append(("schools", "cde_enrollment", enrollment,
                            lambda: demand.ca_school_points(enrollment, directory)))
        elif enrollment is None:
            absent.append(_absence("cde_enrollment", "absent", f"{_expected('cde_enrollment', root)} is not there"))
        counts = sources.locate("mtc_tracts", root, download=False)
        polygons = sources.locate("udp_tracts", root, download=False)
        if counts is not None and polygons is not None:
            readers.append(("tracts", "mtc_tracts", counts, lambda: demand.bay_area_tract_points(polygons, counts)))
        for key, path in (("mtc_tracts", counts), ("udp_tracts", polygons)):
            if path is None:
                absent.append(_absence(key, "absent", f"{_expected(key, root)} is not there"))
    base = districts[districts["layer"].isin(["unified", "elementary"])]
    frames, provenance = [], []
    for kind, key, path, read in readers:
        result = read()
        points = result.points
        links = geo.assign_points_to_districts(points, base, id_col="demand_id").set_index("point_id")["leaid"]
        rows = pd.DataFrame({
            "kind": kind, "demand_id": points["demand_id"].astype(object), "name": points["name"].astype(object),
            "leaid": points["demand_id"].map(links).astype(object),
            "leaid_source": points["leaid"].astype(object) if kind == "schools" else None,
            "state_fips": "06" if kind == "schools" else points["demand_id"].str[:2].astype(object),
            "lon": points.geometry.x, "lat": points.geometry.y,
            **{g: points[g] for g in ("total", *demand.GROUP_COLUMNS)}, "label": points["unit_label"].astype(object)})
        reasons = result.unmatched["reason"].value_counts().to_dict()
        reasons["point outside every loaded unified/elementary district (kept, no district)"] = int(
            rows["leaid"].isna().sum())
        provenance.append(_prov(key, path, rows_read=len(points) + len(result.unmatched), rows_loaded=len(points),
                                unjoined={k: int(v) for k, v in reasons.items()}))
        if kind == "tracts":
            features = int(pyogrio.read_info(polygons)["features"])
            outside = max(features - len(points), 0)
            provenance.append(_prov("udp_tracts", polygons, rows_read=features, rows_loaded=len(points), unjoined={
                "tract polygon with no MTC count row (outside the nine Bay Area counties)": outside}))
        frames.append(rows)
    columns = list(DEMAND_POINTS)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return out[columns], provenance


def _display(districts: gpd.GeoDataFrame) -> np.ndarray:
    """Display geometry for the districts. One state's files tile it as a valid polygon coverage,
    so it is simplified as one (neighbours keep a shared edge). Several states together never
    are (their files overlap slightly along state lines): there the coverage check only cost
    ~4 s nationally before falling back to per-polygon simplification, so it is skipped."""
    several = districts["state_fips"].nunique() > 1
    return geo.display_geometry(districts, method="simplify" if several else "coverage").geometry.values


def _national(districts: gpd.GeoDataFrame) -> np.ndarray:
    """National display geometry (2 km, 3 decimals), made from the display geometry once here so
    no page simplifies the nation on a rerun: each state's tiling as one coverage, so neighbours
    keep their shared edges (`geo.national_geometry`)."""
    display = gpd.GeoDataFrame(districts[["state_fips", "layer"]], geometry=districts["display"].values,
                               crs=sources.WGS84)
    return geo.national_geometry(display).geometry.values


def _states_rows(state_table: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = geo.display_geometry(state_table, tolerance_m=2000)
    return out.rename_geometry("display")[["state_fips", "state", "state_name", "display"]]


def _catalog() -> pd.DataFrame:
    rows = []
    for m in measures.MEASURES:
        src = SOURCES.get(m.source)
        rows.append({**m.as_dict(), "vintage": src.vintage if src else "as uploaded",
                     "publisher": src.publisher if src else "podgeo pods table"})
    return pd.DataFrame(rows)


def _load_pods(store: SqliteStore, pods_file: Path, districts: gpd.GeoDataFrame) -> None:
    from podgeo import pods as pods_module  # the pods writer is shared with uploads
    pods_module.load_file(store, pods_file, districts, source="podgeo sample (illustrative)")
