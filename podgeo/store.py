"""The SQLite store (sqlite-utils): schema, the atomic build write, and every query the app runs.

This is the only module that speaks SQL. Geometry is kept as WKB in EPSG:4326: `geometry` at
full resolution for spatial joins, `display` simplified and rounded for maps (made at build
time so no page simplifies on a rerun). A PostGIS store will implement the same methods.
"""
from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import pandas as pd
import shapely
import sqlite_utils

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DB = REPO / "data" / "podgeo.db"
SCHEMA_VERSION = 1


class StoreError(RuntimeError):
    """The store is missing, from another version, or cannot be written; the message says which."""


def default_path() -> Path:
    """`PODGEO_DB` if set, else data/podgeo.db in the repo."""
    return Path(os.environ.get("PODGEO_DB") or DEFAULT_DB)


# Column types per table; the build and the pods writers rely on these names.
DISTRICTS = {"leaid": str, "name": str, "state_fips": str, "state": str, "layer": str, "aland": float,
             "awater": float, "vintage": int, "is_filler": int, "lon": float, "lat": float,
             "geometry": bytes, "display": bytes}
STATES = {"state_fips": str, "state": str, "state_name": str, "display": bytes}
SITES = {"site_id": str, "kind": str, "subtype": str, "name": str, "address": str, "city": str, "state": str,
         "zip": str, "leaid_source": str, "lon": float, "lat": float}
PLACE_DISTRICTS = {"leaid": str, "layer": str}
PODS = {"pod_id": str, "name": str, "operator_type": str, "operator_name": str, "partner_leaid": str, "mode": str,
        "grade_low": int, "grade_high": int, "capacity": int, "cost": str, "fee_usd": float,
        "priority_groups": str, "supports": str, "languages": str, "status": str, "opened_on": str,
        "closed_on": str, "address": str, "city": str, "state": str, "zip": str, "lat": float, "lon": float,
        "geocode_status": str, "source": str, "last_verified": str, "notes": str, "illustrative": int,
        "batch_id": int}
PROVENANCE = {"source_key": str, "file": str, "title": str, "publisher": str, "vintage": str, "sha256": str,
              "rows_read": int, "rows_loaded": int, "rows_unjoined": int, "unjoined_reasons": str,
              "loaded_at": str}
MEASURE_CATALOG = {"key": str, "label": str, "unit": str, "source": str, "moe": str, "kind": str, "weight": str,
                   "note": str, "vintage": str, "publisher": str}


class SqliteStore:
    """A podgeo store in one SQLite file. Open one per thread or request; it is cheap."""

    def __init__(self, path: str | os.PathLike | None = None, *, must_exist: bool = True):
        self.path = Path(path) if path else default_path()
        if must_exist and not self.path.exists():
            raise StoreError(f"no podgeo store at {self.path}: build it with `python -m podgeo build`")
        self.db = sqlite_utils.Database(self._connect(self.path))
        if must_exist:
            self._check_version()

    # -- build --------------------------------------------------------------------------------

    @classmethod
    def build_atomically(cls, path: str | os.PathLike, write: "callable") -> Path:
        """Create a fresh store in a temporary file beside `path`, let `write(store)` fill it, then
        move it into place. A failure anywhere leaves the existing store exactly as it was."""
        final = Path(path)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=final.name + ".", suffix=".tmp", dir=final.parent)
        os.close(fd)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it owner-only; a store is an ordinary file
        tmp_path = Path(tmp)
        try:
            store = cls(tmp_path, must_exist=False)
            store.create_schema()
            write(store)
            store.set_meta(schema_version=SCHEMA_VERSION, built_at=_now(), revision=1)
            store.db.conn.commit()
            store.db.execute("VACUUM")
            store.close()
            os.replace(tmp_path, final)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        return final

    def create_schema(self) -> None:
        db = self.db
        db["meta"].create({"key": str, "value": str}, pk="key")
        db["states"].create(STATES, pk="state_fips")
        db["districts"].create(DISTRICTS, pk="leaid", not_null={"name", "state_fips", "layer"})
        db["district_measures"].create({"leaid": str}, pk="leaid", foreign_keys=[("leaid", "districts")])
        db["measure_catalog"].create(MEASURE_CATALOG, pk="key")
        db["sites"].create(SITES, pk="site_id")
        db["site_districts"].create({"site_id": str, **PLACE_DISTRICTS}, pk=("site_id", "leaid"))
        db["pods"].create(PODS, pk="pod_id", not_null={"name"})
        db["pod_districts"].create({"pod_id": str, **PLACE_DISTRICTS}, pk=("pod_id", "leaid"))
        db["provenance"].create(PROVENANCE, pk="source_key")
        db["districts"].create_index(["state_fips", "layer"])
        db["site_districts"].create_index(["leaid"])
        db["pod_districts"].create_index(["leaid"])
        db["sites"].create_index(["kind", "state"])

    def write_frame(self, table: str, frame: pd.DataFrame, *, alter: bool = False) -> int:
        """Insert a (Geo)DataFrame's rows; geometry columns become WKB, NaN becomes NULL."""
        records = _records(frame)
        self.db[table].insert_all(records, batch_size=2000, alter=alter)
        return len(records)

    def write_provenance(self, rows: Iterable[dict]) -> None:
        rows = [{**r, "unjoined_reasons": json.dumps(r.get("unjoined_reasons") or {}), "loaded_at": _now()}
                for r in rows]
        self.db["provenance"].insert_all(rows, replace=True)

    def upsert_pods(self, rows: list[dict], links: pd.DataFrame) -> None:
        """Insert or update pods by `pod_id` and replace their district links, in one transaction."""
        rows = [{k: (json.dumps(v) if isinstance(v, (list, tuple)) else v) for k, v in r.items() if k in PODS}
                for r in rows]
        ids = [r["pod_id"] for r in rows]
        with self.db.conn:
            self.db["pods"].upsert_all(rows, pk="pod_id")
            for chunk in _chunks(ids, 500):
                self.db.execute(f"delete from pod_districts where pod_id in ({', '.join('?' * len(chunk))})", chunk)
            if len(links):
                self.db["pod_districts"].insert_all(_records(links[["pod_id", "leaid", "layer"]]))
            self._bump_revision()

    def _bump_revision(self) -> None:
        self.db.execute("insert into meta(key, value) values('revision', '1') on conflict(key) do update "
                        "set value = cast(value as integer) + 1")

    def set_meta(self, **values) -> None:
        self.db["meta"].insert_all([{"key": k, "value": json.dumps(v)} for k, v in values.items()], replace=True)

    # -- reads --------------------------------------------------------------------------------

    def meta(self) -> dict:
        return {r["key"]: json.loads(r["value"]) for r in self.db["meta"].rows}

    def revision(self) -> int:
        """A number every write bumps: cached loaders key on it so nobody sees stale data."""
        row = self.db.execute("select value from meta where key = 'revision'").fetchone()
        return int(json.loads(row[0])) if row else 0

    def state_list(self) -> pd.DataFrame:
        """States that have districts in the store, with district counts and boundary vintage."""
        return self._frame(
            "select s.state_fips, s.state, s.state_name, count(d.leaid) as districts, max(d.vintage) as vintage "
            "from states s join districts d on d.state_fips = s.state_fips group by s.state_fips order by s.state")

    def states(self, *, geometry: bool = True) -> gpd.GeoDataFrame | pd.DataFrame:
        """Every state row in the store (display geometry when asked)."""
        cols = "state_fips, state, state_name" + (", display" if geometry else "")
        frame = self._frame(f"select {cols} from states order by state")
        return _to_geo(frame, "display") if geometry else frame

    def districts(self, *, state_fips: Iterable[str] | None = None, layers: Iterable[str] | None = None,
                  geometry: str | None = "display", include_filler: bool = False,
                  leaids: Iterable[str] | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
        """Districts with every measure joined. `geometry` is 'display', 'full' or None."""
        where, params = [], []
        for column, values in (("d.state_fips", state_fips), ("d.layer", layers), ("d.leaid", leaids)):
            if values is not None:
                values = list(values)
                where.append(f"{column} in ({', '.join('?' * len(values))})" if values else "0")
                params += values
        if not include_filler:
            where.append("d.is_filler = 0")
        geom = {"display": ", d.display as geom", "full": ", d.geometry as geom", None: ""}[geometry]
        sql = (f"select d.leaid, d.name, d.state_fips, d.state, d.layer, d.aland, d.awater, d.vintage, d.is_filler, "
               f"d.lon, d.lat, m.*{geom} from districts d left join district_measures m on m.leaid = d.leaid"
               + (" where " + " and ".join(where) if where else "") + " order by d.leaid")
        frame = self._frame(sql, params)
        frame = frame.loc[:, ~frame.columns.duplicated()]
        return _to_geo(frame, "geom") if geometry else frame

    def measure_catalog(self) -> pd.DataFrame:
        return self._frame("select * from measure_catalog order by rowid")

    def sites(self, *, kinds: Iterable[str] | None = None, states: Iterable[str] | None = None) -> gpd.GeoDataFrame:
        """Candidate hub sites (libraries, schools) as points, with the LEAIDs they fall in."""
        where, params = [], []
        for column, values in (("s.kind", kinds), ("s.state", states)):
            if values is not None:
                values = list(values)
                where.append(f"{column} in ({', '.join('?' * len(values))})" if values else "0")
                params += values
        sql = ("select s.*, (select group_concat(leaid, ';') from site_districts sd where sd.site_id = s.site_id) "
               "as leaids from sites s" + (" where " + " and ".join(where) if where else "") + " order by s.site_id")
        return _points(self._frame(sql, params))

    def pods(self) -> gpd.GeoDataFrame:
        """Every pod with its list columns decoded and the LEAIDs it falls in."""
        frame = self._frame(
            "select p.*, (select group_concat(leaid, ';') from pod_districts pd where pd.pod_id = p.pod_id) "
            "as leaids from pods p order by p.name, p.pod_id")
        for col in ("priority_groups", "supports", "languages"):
            frame[col] = frame[col].map(lambda v: json.loads(v) if isinstance(v, str) and v else [])
        return _points(frame)

    def place_districts(self, kind: str) -> pd.DataFrame:
        """(id, leaid, layer) for 'pods' or 'sites': which districts each point falls in."""
        table, key = {"pods": ("pod_districts", "pod_id"), "sites": ("site_districts", "site_id")}[kind]
        return self._frame(f"select {key}, leaid, layer from {table}")

    def provenance(self) -> pd.DataFrame:
        frame = self._frame("select * from provenance order by source_key")
        frame["unjoined_reasons"] = frame["unjoined_reasons"].map(lambda v: json.loads(v) if v else {})
        return frame

    def counts(self) -> dict[str, int]:
        """Row counts per table (for the CLI report and the tests)."""
        return {t: self.db[t].count for t in self.db.table_names()}

    def close(self) -> None:
        self.db.conn.close()

    # -- helpers ------------------------------------------------------------------------------

    def _frame(self, sql: str, params: list | tuple = ()) -> pd.DataFrame:
        cursor = self.db.execute(sql, params)
        columns = [c[0] for c in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)

    def _check_version(self) -> None:
        if "meta" not in self.db.table_names():
            raise StoreError(f"{self.path} is not a podgeo store (no meta table); rebuild it with `python -m podgeo build`")
        version = self.meta().get("schema_version")
        if version != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has store schema {version}, this podgeo reads {SCHEMA_VERSION}: "
                             "rebuild it with `python -m podgeo build`")

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        conn.execute("pragma busy_timeout = 30000")
        conn.execute("pragma foreign_keys = on")
        return conn


def _records(frame: pd.DataFrame) -> list[dict]:
    out = pd.DataFrame({
        col: (shapely.to_wkb(frame[col].values, output_dimension=2)
              if isinstance(frame[col].dtype, gpd.array.GeometryDtype) else frame[col].to_numpy())
        for col in frame.columns})
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict(orient="records")


def _to_geo(frame: pd.DataFrame, column: str) -> gpd.GeoDataFrame:
    geoms = shapely.from_wkb(frame[column].to_numpy()) if len(frame) else []
    return gpd.GeoDataFrame(frame.drop(columns=[column]), geometry=gpd.GeoSeries(geoms, crs="EPSG:4326").values,
                            crs="EPSG:4326")


def _points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    lon = pd.to_numeric(frame.get("lon"), errors="coerce")
    lat = pd.to_numeric(frame.get("lat"), errors="coerce")
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]
