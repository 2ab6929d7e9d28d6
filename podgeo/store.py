"""The SQLite store (sqlite-utils): schema, the atomic build write, and every query the app runs.

This is the only module that speaks SQL. Geometry is kept as WKB in EPSG:4326: `geometry` at
full resolution for spatial joins, `display` simplified and rounded for maps (made at build
time so no page simplifies on a rerun). `store_pg.PostgisStore` implements the same methods on
PostGIS for several app replicas on one database; `open_store` picks one from a path or a URL.
"""
from __future__ import annotations

import contextlib
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

from podgeo import store_contract as contract
from podgeo.store_contract import COLUMN_MAPPINGS, StoreError, header_signature  # noqa: F401 - public names

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DB = REPO / "data" / "podgeo.db"
SCHEMA_VERSION = 4  # 4: cohorts and district attribute layers


def default_path() -> Path | str:
    """`PODGEO_DB` if set, else data/podgeo.db in the repo (a postgresql:// URL stays text)."""
    return store_location(os.environ.get("PODGEO_DB") or DEFAULT_DB)


def open_store(location: str | os.PathLike | None = None, *, must_exist: bool = True):
    """The store at `location` (default `default_path()`): a PostgisStore for a postgresql:// URL,
    else a SqliteStore. The rest of podgeo calls this and never asks which one it got."""
    location = default_path() if location is None else store_location(location)
    if isinstance(location, str):
        return _postgis().PostgisStore(location, must_exist=must_exist)
    return SqliteStore(location, must_exist=must_exist)


def build_store(location: str | os.PathLike, write: "callable") -> Path | str:
    """Build a store atomically at a path or postgresql:// URL: see `build_atomically` of each store."""
    location = store_location(location)
    if isinstance(location, str):
        return _postgis().PostgisStore.build_atomically(location, write)
    return SqliteStore.build_atomically(location, write)


def store_location(value: str | os.PathLike) -> Path | str:
    """A postgresql:// URL as text (a Path would fold its `//`), anything else as a Path."""
    text = os.fspath(value)
    return text if is_postgres_url(text) else Path(text)


def is_postgres_url(value) -> bool:
    return isinstance(value, str) and value.split("://", 1)[0].lower() in ("postgresql", "postgres") and "://" in value


def describe_location(location) -> str:
    """A store's path or URL for messages and logs, with any password replaced by ***."""
    text = os.fspath(location)
    if not is_postgres_url(text):
        return text
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(text)
    if parts.password is None:
        return text
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{netloc[0].split(':', 1)[0]}:***@{netloc[1]}"))


def _postgis():
    """podgeo.store_pg, imported only when a postgresql:// store is asked for (psycopg is optional)."""
    try:
        from podgeo import store_pg
    except ImportError as exc:
        raise StoreError(f"a postgresql:// store needs psycopg ({exc}): pip install -r requirements.txt") from exc
    return store_pg


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
BATCHES = {"batch_id": int, "kind": str, "filename": str, "sha256": str, "file_bytes": bytes, "sheet": str,
           "uploaded_by": str, "uploaded_at": str, "mapping": str, "counts": str, "undoes": int, "undone_by": int,
           "note": str}
#: Demand points (schools, tracts): `leaid` is the unified/elementary district the point lies in,
#: `leaid_source` the LEA the source itself names (a school's NCESDist), `label` the unit shown on screen.
DEMAND_POINTS = {"kind": str, "demand_id": str, "name": str, "leaid": str, "leaid_source": str, "state_fips": str,
                 "lon": float, "lat": float, "total": float, "poverty": float, "low_income": float,
                 "english_learners": float, "disability": float, "of_color": float, "white_nh": float, "label": str}
DEMAND_KINDS = ("schools", "tracts")
MEASURE_CATALOG = {"key": str, "label": str, "unit": str, "source": str, "moe": str, "kind": str, "weight": str,
                   "note": str, "vintage": str, "publisher": str}
#: A named set of districts (any states) to compare side by side; members in `cohort_members`.
COHORTS = {"cohort_id": int, "name": str, "created_by": str, "created_at": str, "source": str, "note": str}
#: A staff-uploaded sheet of district facts: provenance here, one row per (district, column) in
#: `attribute_values` (text, typed by `columns`: [{"key", "label", "type"}], see podgeo.attributes).
ATTRIBUTE_LAYERS = {"layer_id": int, "name": str, "filename": str, "sha256": str, "file_bytes": bytes, "sheet": str,
                    "uploaded_by": str, "uploaded_at": str, "key": str, "columns": str, "counts": str,
                    "rejected": str, "version": int}


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
            store.db.execute("pragma journal_mode = wal")  # readers never block the one writer
            store.close()
            _empty_wal(final)
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
        db["upload_batches"].create(BATCHES, pk="batch_id")
        db["pod_history"].create({"batch_id": int, "pod_id": str, "before": str, "before_links": str},
                                 pk=("batch_id", "pod_id"))
        db["rejected_rows"].create({"batch_id": int, "row": int, "row_values": str, "errors": str},
                                   pk=("batch_id", "row"))
        db["demand_points"].create(DEMAND_POINTS, pk=("kind", "demand_id"))
        db["districts"].create_index(["state_fips", "layer"])
        db["demand_points"].create_index(["kind", "state_fips"])
        db["site_districts"].create_index(["leaid"])
        db["pod_districts"].create_index(["leaid"])
        db["sites"].create_index(["kind", "state"])
        self._create_cohort_and_attribute_tables()
        self._create_mapping_table()

    def _create_cohort_and_attribute_tables(self) -> None:
        db = self.db
        db["cohorts"].create(COHORTS, pk="cohort_id", not_null={"name"})
        db["cohort_members"].create({"cohort_id": int, "leaid": str}, pk=("cohort_id", "leaid"),
                                    foreign_keys=[("cohort_id", "cohorts"), ("leaid", "districts")])
        db["attribute_layers"].create(ATTRIBUTE_LAYERS, pk="layer_id", not_null={"name"})
        db["attribute_values"].create({"layer_id": int, "leaid": str, "column": str, "value": str},
                                      pk=("layer_id", "leaid", "column"),
                                      foreign_keys=[("layer_id", "attribute_layers"), ("leaid", "districts")])
        db["cohorts"].create_index(["name"], unique=True)
        db["attribute_layers"].create_index(["name"], unique=True)
        db["attribute_values"].create_index(["leaid"])

    def _create_mapping_table(self) -> None:
        """Saved column mappings; also made on the first save in a store built before they existed."""
        if "column_mappings" not in self.db.table_names():
            self.db["column_mappings"].create(COLUMN_MAPPINGS, pk="name", not_null={"signature", "mapping"})
            self.db["column_mappings"].create_index(["signature"])

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
        with self._write():
            self._put_pods(rows, links)
            self._bump_revision()

    # -- upload batches -------------------------------------------------------------------------

    def commit_upload(self, batch: dict, rows: list[dict], links: pd.DataFrame, rejected: list[dict]) -> int:
        """Write one upload atomically: the batch record (with the original file), every pod's
        previous state (for undo), the pods and their districts, and the rejected rows.

        `batch` has filename, sha256, file_bytes, sheet, uploaded_by, mapping, counts;
        `rejected` rows have row, row_values (dict) and errors (list of str). Returns the batch id.
        """
        with self._write():
            batch_id = self._insert_batch({**batch, "kind": "upload"})
            self._snapshot(batch_id, [r["pod_id"] for r in rows])
            self._put_pods([{**r, "batch_id": batch_id} for r in rows], links)
            if rejected:
                self.db["rejected_rows"].insert_all(
                    [{"batch_id": batch_id, "row": r["row"], "row_values": json.dumps(r["row_values"]),
                      "errors": json.dumps(r["errors"])} for r in rejected])
            self._bump_revision()
        return batch_id

    def undo_batch(self, batch_id: int, *, user: str) -> int:
        """Return every pod a batch touched to its state before it, as a new recorded batch.

        Refuses (StoreError) when the batch is unknown, already undone, an undo itself, or when a
        later batch changed one of the same pods (undo that one first), so no later work is lost.
        """
        with self._write():
            target = self.db.execute("select kind, undone_by, filename from upload_batches where batch_id = ?",
                                     [batch_id]).fetchone()
            if target is None:
                raise StoreError(f"no upload batch {batch_id}")
            kind, undone_by, filename = target
            if kind != "upload":
                raise StoreError(f"batch {batch_id} is an undo; it cannot itself be undone")
            if undone_by is not None:
                raise StoreError(f"batch {batch_id} was already undone by batch {undone_by}")
            history = self._frame("select pod_id, before, before_links from pod_history where batch_id = ?", [batch_id])
            later = self.db.execute(
                "select min(h.batch_id), h.pod_id from pod_history h join upload_batches b using (batch_id) "
                "where h.batch_id > ? and b.undone_by is null and b.kind = 'upload' and h.pod_id in "
                "(select pod_id from pod_history where batch_id = ?)", [batch_id, batch_id]).fetchone()
            if later and later[0] is not None:
                raise StoreError(f"pod {later[1]!r} was changed again by batch {later[0]}; undo batch {later[0]} first")
            ids = history["pod_id"].tolist()
            undo_id = self._insert_batch({"kind": "undo", "filename": filename, "uploaded_by": user, "undoes": batch_id,
                                          "counts": {"restored": int(history["before"].notna().sum()),
                                                     "removed": int(history["before"].isna().sum())}})
            self._snapshot(undo_id, ids)
            self._delete_pods(ids)
            restore = history[history["before"].notna()]
            if len(restore):
                self.db["pods"].insert_all([json.loads(v) for v in restore["before"]])
                links = [link for v in restore["before_links"] for link in json.loads(v or "[]")]
                if links:
                    self.db["pod_districts"].insert_all(links)
            self.db.execute("update upload_batches set undone_by = ? where batch_id = ?", [undo_id, batch_id])
            self._bump_revision()
        return undo_id

    def batches(self) -> pd.DataFrame:
        """Every upload and undo, newest first, without the stored file bytes."""
        frame = self._frame(
            "select batch_id, kind, filename, sha256, sheet, uploaded_by, uploaded_at, mapping, counts, undoes, "
            "undone_by, note from upload_batches order by batch_id desc")
        for col in ("mapping", "counts"):
            frame[col] = frame[col].map(lambda v: json.loads(v) if isinstance(v, str) and v else {})
        return frame

    def batch_file(self, batch_id: int) -> tuple[str, bytes]:
        row = self.db.execute("select filename, file_bytes from upload_batches where batch_id = ?", [batch_id]).fetchone()
        if row is None or row[1] is None:
            raise StoreError(f"no stored file for batch {batch_id}")
        return row[0], row[1]

    def rejected_rows(self, batch_id: int) -> list[dict]:
        """The rows a batch rejected, with their original cells and errors, in file order."""
        return [{"row": r, "row_values": json.loads(v), "errors": json.loads(e)} for r, v, e in self.db.execute(
            "select row, row_values, errors from rejected_rows where batch_id = ? order by row", [batch_id])]

    def pod_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("select pod_id from pods")}

    # -- write helpers ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self):
        """One write transaction, taking the write lock up front (BEGIN IMMEDIATE) so concurrent
        writers queue on the busy timeout instead of failing; rolled back on any error."""
        conn = self.db.conn
        if conn.in_transaction:
            conn.commit()
        conn.execute("begin immediate")
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        else:
            _test_pause_before_commit()
            conn.commit()

    def _insert_batch(self, batch: dict) -> int:
        record = {k: (json.dumps(v) if k in ("mapping", "counts") and not isinstance(v, str) else v)
                  for k, v in batch.items() if k in BATCHES}
        record["uploaded_at"] = _now()
        return int(self.db["upload_batches"].insert(record).last_pk)

    def _snapshot(self, batch_id: int, pod_ids: list[str]) -> None:
        """Record each pod's row and links as they are now, before `batch_id` changes them."""
        records = []
        for chunk in _chunks(list(dict.fromkeys(pod_ids)), 500):
            marks = ", ".join("?" * len(chunk))
            current = {r["pod_id"]: r for r in self.db.query(f"select * from pods where pod_id in ({marks})", chunk)}
            links: dict[str, list] = {}
            for r in self.db.query(f"select * from pod_districts where pod_id in ({marks})", chunk):
                links.setdefault(r["pod_id"], []).append(r)
            for pid in chunk:
                before = current.get(pid)
                records.append({"batch_id": batch_id, "pod_id": pid,
                                "before": json.dumps(before) if before else None,
                                "before_links": json.dumps(links.get(pid, [])) if before else None})
        if records:
            self.db["pod_history"].insert_all(records)

    def _put_pods(self, rows: list[dict], links: pd.DataFrame) -> None:
        rows = [{k: (json.dumps(v) if isinstance(v, (list, tuple)) else v) for k, v in r.items() if k in PODS}
                for r in rows]
        ids = [r["pod_id"] for r in rows]
        if rows:
            self.db["pods"].upsert_all(rows, pk="pod_id")
        for chunk in _chunks(ids, 500):
            self.db.execute(f"delete from pod_districts where pod_id in ({', '.join('?' * len(chunk))})", chunk)
        if len(links):
            self.db["pod_districts"].insert_all(_records(links[["pod_id", "leaid", "layer"]]))

    def _delete_pods(self, ids: list[str]) -> None:
        for chunk in _chunks(ids, 500):
            marks = ", ".join("?" * len(chunk))
            self.db.execute(f"delete from pod_districts where pod_id in ({marks})", chunk)
            self.db.execute(f"delete from pods where pod_id in ({marks})", chunk)

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
        where, params = _in_filters((("d.state_fips", state_fips), ("d.layer", layers), ("d.leaid", leaids)))
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
        where, params = _in_filters((("s.kind", kinds), ("s.state", states)))
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

    def assign_points(self, points: pd.DataFrame, *, id_col: str,
                      state_fips: Iterable[str] | None = None) -> pd.DataFrame:
        """Which district(s) each point (`id_col`, `lon`, `lat`) lies in: DataFrame[point_id, leaid, layer].

        `geo.assign_points_to_districts` on the store's full-resolution districts (of `state_fips`
        when given). A store method so that PostGIS can run the same join in the database.
        """
        from podgeo import geo  # pure functions; the store only hands them its districts

        if id_col not in points.columns:
            raise ValueError(f"points has no column {id_col!r} (columns: {list(points.columns)})")
        located = points.assign(lon=pd.to_numeric(points["lon"], errors="coerce"),
                                lat=pd.to_numeric(points["lat"], errors="coerce")).dropna(subset=["lon", "lat"])
        districts = self.districts(geometry="full", state_fips=state_fips) if len(located) else None
        if districts is None or districts.empty:
            return pd.DataFrame({"point_id": pd.Series(dtype=points[id_col].dtype),
                                 "leaid": pd.Series(dtype=object), "layer": pd.Series(dtype=object)})
        gdf = gpd.GeoDataFrame(located[[id_col]], geometry=gpd.points_from_xy(located["lon"], located["lat"]),
                               crs="EPSG:4326")
        return geo.assign_points_to_districts(gdf, districts, id_col=id_col)

    def demand_points(self, kind: str, state_fips: Iterable[str] | str | None = None) -> gpd.GeoDataFrame:
        """Demand points of one kind ('schools' or 'tracts') as EPSG:4326 points, optionally for some states.

        District interior points are not stored: `podgeo.demand.district_points` makes them from
        the districts table when asked.
        """
        if kind not in DEMAND_KINDS:
            raise ValueError(f"demand kind {kind!r} is not one of {list(DEMAND_KINDS)}")
        sql, params = "select * from demand_points where kind = ?", [kind]
        if state_fips is not None:
            values = [state_fips] if isinstance(state_fips, str) else list(state_fips)
            sql += f" and state_fips in ({', '.join('?' * len(values))})" if values else " and 0"
            params += values
        frame = self._frame(sql + " order by demand_id", params)
        if frame.empty:
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in DEMAND_POINTS})
        for column, kind_ in DEMAND_POINTS.items():
            if kind_ is float:  # NULL counts come back as None: NaN, so sums and weights work
                frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        return _points(frame)

    def provenance(self) -> pd.DataFrame:
        frame = self._frame("select * from provenance order by source_key")
        frame["unjoined_reasons"] = frame["unjoined_reasons"].map(lambda v: json.loads(v) if v else {})
        return frame

    def counts(self) -> dict[str, int]:
        """Row counts per table (for the CLI report and the tests)."""
        return {t: self.db[t].count for t in self.db.table_names()}

    def close(self) -> None:
        self.db.conn.close()

    # -- cohorts ------------------------------------------------------------------------------

    def create_cohort(self, name: str, leaids: Iterable[str], *, created_by: str | None = None,
                      source: str | None = None, note: str | None = None) -> int:
        """Save a named set of districts in one transaction; returns its id. StoreError when the name
        is empty or taken, there are no districts, or a LEAID is not in the store (naming it)."""
        name = " ".join(str(name or "").split())
        members = list(dict.fromkeys(str(v) for v in leaids))
        if not name:
            raise StoreError("a cohort needs a name")
        if not members:
            raise StoreError(f"cohort {name!r} has no districts")
        with self._write():
            if self.db.execute("select 1 from cohorts where name = ?", [name]).fetchone():
                raise StoreError(f"there is already a cohort named {name!r}; choose another name or delete it first")
            self._require_districts(members, f"cohort {name!r}")
            cohort_id = int(self.db["cohorts"].insert({"name": name, "created_by": created_by, "created_at": _now(),
                                                        "source": source, "note": note}).last_pk)
            self.db["cohort_members"].insert_all([{"cohort_id": cohort_id, "leaid": v} for v in members])
            self._bump_revision()
        return cohort_id

    def cohorts(self) -> pd.DataFrame:
        """Every cohort with its member count, newest first."""
        return self._frame(
            "select c.cohort_id, c.name, c.created_by, c.created_at, c.source, c.note, count(m.leaid) as members "
            "from cohorts c left join cohort_members m using (cohort_id) group by c.cohort_id "
            "order by c.cohort_id desc")

    def cohort_members(self, cohort_id: int) -> list[str]:
        """The LEAIDs of a cohort, sorted; StoreError for an unknown cohort."""
        if not self.db.execute("select 1 from cohorts where cohort_id = ?", [cohort_id]).fetchone():
            raise StoreError(f"no cohort {cohort_id}")
        return [r[0] for r in self.db.execute(
            "select leaid from cohort_members where cohort_id = ? order by leaid", [cohort_id])]

    def delete_cohort(self, cohort_id: int) -> None:
        with self._write():
            if not self.db.execute("select 1 from cohorts where cohort_id = ?", [cohort_id]).fetchone():
                raise StoreError(f"no cohort {cohort_id}")
            self.db.execute("delete from cohort_members where cohort_id = ?", [cohort_id])
            self.db.execute("delete from cohorts where cohort_id = ?", [cohort_id])
            self._bump_revision()

    # -- saved column mappings ------------------------------------------------------------------

    def save_column_mapping(self, name: str, mapping: dict, *, headers: Iterable[str],
                            saved_by: str | None = None) -> dict:
        """Save (or replace, by name) a confirmed {sheet column: pod field or None} mapping for sheets
        with these headers; returns it as `column_mapping` would. StoreError for a bad mapping."""
        record = contract.mapping_record(name, mapping, headers=headers, saved_by=saved_by)
        with self._write():
            self._create_mapping_table()
            self.db["column_mappings"].upsert(record, pk="name")
            self._bump_revision()
        return contract.mapping_out(record)

    def column_mapping(self, name: str) -> dict:
        """The mapping saved under `name` (name, signature, headers, mapping, saved_by, saved_at);
        StoreError naming the saved ones when there is none."""
        rows = self._mapping_rows("where name = ?", [" ".join(str(name or "").split())])
        if not rows:
            raise contract.unknown_mapping(name, [r["name"] for r in self._mapping_rows()])
        return rows[0]

    def find_column_mapping(self, signature: str) -> dict | None:
        """The newest mapping saved for sheets with this `header_signature`, or None."""
        rows = self._mapping_rows("where signature = ?", [signature])
        return rows[0] if rows else None

    def column_mappings(self) -> list[dict]:
        """Every saved mapping, newest first."""
        return self._mapping_rows()

    def _mapping_rows(self, where: str = "", params: list = ()) -> list[dict]:
        if "column_mappings" not in self.db.table_names():
            return []
        return [contract.mapping_out(r) for r in self.db.query(
            f"select * from column_mappings {where} order by saved_at desc, name", params)]

    # -- district attribute layers ---------------------------------------------------------------

    def save_attribute_layer(self, layer: dict, values: pd.DataFrame, *, replaces: int | None = None) -> int:
        """Write a layer and all its values in one transaction; returns the layer id.

        `layer` has name, filename, sha256, file_bytes, sheet, uploaded_by, key, columns (list of
        dicts), counts (dict), rejected (list of dicts); `values` has leaid, column, value (text).
        `replaces` keeps that layer's id (so shared links still work), bumps its version and swaps
        every value. StoreError when the name is taken by another layer or a LEAID is unknown.
        """
        record = {k: (json.dumps(v) if k in ("columns", "counts", "rejected") and not isinstance(v, str) else v)
                  for k, v in layer.items() if k in ATTRIBUTE_LAYERS and k not in ("layer_id", "version")}
        name = " ".join(str(record.get("name") or "").split())
        if not name:
            raise StoreError("an attribute layer needs a name")
        record.update(name=name, uploaded_at=_now())
        rows = _records(values[["leaid", "column", "value"]]) if len(values) else []
        with self._write():
            clash = self.db.execute("select layer_id from attribute_layers where name = ? and layer_id is not ?",
                                    [name, replaces]).fetchone()
            if clash:
                raise StoreError(f"there is already an attribute layer named {name!r} (layer {clash[0]}); "
                                 "replace that layer or choose another name")
            self._require_districts(sorted({r["leaid"] for r in rows}), f"attribute layer {name!r}")
            if replaces is None:
                layer_id = int(self.db["attribute_layers"].insert({**record, "version": 1}).last_pk)
            else:
                old = self.db.execute("select version from attribute_layers where layer_id = ?", [replaces]).fetchone()
                if old is None:
                    raise StoreError(f"no attribute layer {replaces} to replace")
                layer_id = int(replaces)
                self.db.execute("delete from attribute_values where layer_id = ?", [layer_id])
                self.db["attribute_layers"].update(layer_id, {**record, "version": int(old[0] or 1) + 1})
            if rows:
                self.db["attribute_values"].insert_all([{**r, "layer_id": layer_id} for r in rows], batch_size=5000)
            self._bump_revision()
        return layer_id

    def attribute_layers(self) -> pd.DataFrame:
        """Every attribute layer with its provenance (no file bytes), `columns`/`counts`/`rejected` decoded."""
        frame = self._frame(
            "select l.layer_id, l.name, l.filename, l.sha256, l.sheet, l.uploaded_by, l.uploaded_at, l.key, "
            "l.columns, l.counts, l.rejected, l.version, (select count(distinct leaid) from attribute_values v "
            "where v.layer_id = l.layer_id) as districts from attribute_layers l order by l.layer_id")
        for col, empty in (("columns", []), ("counts", {}), ("rejected", [])):
            frame[col] = frame[col].map(lambda v, e=empty: json.loads(v) if isinstance(v, str) and v else type(e)())
        return frame

    def attribute_values(self, *, layer_ids: Iterable[int] | None = None,
                         leaids: Iterable[str] | None = None) -> pd.DataFrame:
        """(layer_id, leaid, column, value) rows, values as stored text, for some layers and/or districts."""
        where, params = _in_filters((("layer_id", layer_ids), ("leaid", leaids)))
        return self._frame("select layer_id, leaid, column, value from attribute_values"
                           + (" where " + " and ".join(where) if where else "") + " order by layer_id, leaid, column",
                           params)

    def attribute_file(self, layer_id: int) -> tuple[str, bytes]:
        row = self.db.execute("select filename, file_bytes from attribute_layers where layer_id = ?",
                              [layer_id]).fetchone()
        if row is None or row[1] is None:
            raise StoreError(f"no stored file for attribute layer {layer_id}")
        return row[0], row[1]

    def delete_attribute_layer(self, layer_id: int) -> None:
        with self._write():
            if not self.db.execute("select 1 from attribute_layers where layer_id = ?", [layer_id]).fetchone():
                raise StoreError(f"no attribute layer {layer_id}")
            self.db.execute("delete from attribute_values where layer_id = ?", [layer_id])
            self.db.execute("delete from attribute_layers where layer_id = ?", [layer_id])
            self._bump_revision()

    def _require_districts(self, leaids: list[str], what: str) -> None:
        """StoreError naming up to five LEAIDs that are not districts in this store."""
        missing = []
        for chunk in _chunks(leaids, 500):
            known = {r[0] for r in self.db.execute(
                f"select leaid from districts where leaid in ({', '.join('?' * len(chunk))})", chunk)}
            missing += [v for v in chunk if v not in known]
        if missing:
            raise StoreError(f"{what}: {len(missing)} LEAID(s) are not districts in this store: "
                             + ", ".join(missing[:5]) + (" …" if len(missing) > 5 else ""))

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


def _empty_wal(path: Path) -> None:
    """Checkpoint the old store's write-ahead log so no stale WAL frames can attach to the new file."""
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(str(path), timeout=30)
        conn.execute("pragma wal_checkpoint(truncate)")
        conn.close()
    except sqlite3.DatabaseError:
        pass  # not a store we can read: it is replaced whole anyway


#: Test hook: seconds to hold a write transaction open just before COMMIT (announced on stderr) so
#: a test can SIGKILL a writer mid-commit. Unset, as in every real deployment, it does nothing.
TEST_PAUSE_ENV = "PODGEO_TEST_PAUSE_BEFORE_COMMIT"


def _test_pause_before_commit() -> None:
    seconds = os.environ.get(TEST_PAUSE_ENV)
    if seconds:
        import sys
        import time

        print(f"podgeo: test hook: holding the write transaction for {seconds} s", file=sys.stderr, flush=True)
        time.sleep(float(seconds))


def _in_filters(filters) -> tuple[list[str], list]:
    """SQL conditions `column in (?, ...)` for each (column, values) whose values are given;
    an empty list matches nothing ("0"), None means no condition."""
    where, params = [], []
    for column, values in filters:
        if values is not None:
            values = list(values)
            where.append(f"{column} in ({', '.join('?' * len(values))})" if values else "0")
            params += values
    return where, params


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]
