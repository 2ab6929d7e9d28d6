"""The PostGIS store: `SqliteStore`'s methods on one PostgreSQL database that every app replica shares.

Chosen by a `postgresql://` URL in PODGEO_DB or `--db` (see `podgeo.store.open_store`). The tables
live in one schema (`podgeo`, or `?schema=name` in the URL) and mirror `store.py`'s column maps, so
both stores return the same frames. Why it is built the way it is:

- a build fills a fresh schema and swaps it in by renaming schemas in one transaction: readers see
  the old store or the new one, never half of one;
- every write takes a transaction-scoped advisory lock on the store first (SQLite's BEGIN
  IMMEDIATE): uploads from several replicas queue and all land, ids stay max+1 as in SQLite, and
  undo's "a later batch touched this pod" check cannot race;
- every write bumps `meta.revision`, which the app's caches key on, so an upload through one
  replica shows in the others on their next rerun;
- points are placed in districts by the database (`ST_Covers` on a GiST index) with the same rules
  as `geo.assign_points_to_districts`;
- plain psycopg 3 with COPY and no ORM: the schema already lives in `store.py`'s column maps, and
  COPY is the fastest bulk path into PostgreSQL (geopandas' `to_postgis` would add SQLAlchemy and
  GeoAlchemy2 for a slower INSERT path). Text columns use the "C" collation so ordering is
  byte order, as in SQLite.
"""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import re
import secrets
import threading
from typing import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from podgeo import store_contract as contract
from podgeo.store_contract import COLUMN_MAPPINGS
from podgeo.store import (ATTRIBUTE_LAYERS, BATCHES, COHORTS, DEMAND_KINDS, DEMAND_POINTS, DISTRICTS,
                          MEASURE_CATALOG, PLACE_DISTRICTS, PODS, PROVENANCE, SCHEMA_VERSION, SITES, STATES,
                          StoreError, _now, _points, _records, _test_pause_before_commit, _to_geo,
                          default_path, describe_location)

DEFAULT_SCHEMA = "podgeo"
#: Connections each app process keeps per store; a loader holds one only while its query runs.
POOL_SIZE = int(os.environ.get("PODGEO_PG_POOL_SIZE", "8"))
CONNECT_TIMEOUT = int(os.environ.get("PODGEO_PG_CONNECT_TIMEOUT", "5"))
#: (table, column) pairs that are PostGIS geometries; every other bytes column is bytea.
GEOMETRY = {("states", "display"), ("districts", "geometry"), ("districts", "display")}
_PG_TYPES = {str: 'text collate "C"', int: "bigint", float: "double precision", bytes: "bytea"}
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")


class PostgisStore:
    """A podgeo store in one PostgreSQL + PostGIS schema. Cheap to open: connections come from a
    per-process pool and are held only for the length of one query or one write transaction."""

    def __init__(self, url: str | None = None, *, must_exist: bool = True):
        self.url = str(url or default_path())
        self.conninfo, self.schema = parse_url(self.url)
        self.path = describe_location(self.url)  # for messages: never shows the password
        self._postgis_schema = _check_server(self.conninfo, self.url)
        self._pool = _pool(self.conninfo, self.schema, self._postgis_schema)
        self._own: psycopg.Connection | None = None  # the build's single connection
        self._tx: psycopg.Connection | None = None  # the open write transaction, if any
        self._columns_cache: dict[str, list[tuple[str, str]]] = {}
        self._schema_oid: int | None = None
        if must_exist:
            self._check_version()

    # -- build --------------------------------------------------------------------------------

    @classmethod
    def build_atomically(cls, url: str, write: "callable") -> str:
        """Create a fresh store in a staging schema, let `write(store)` fill it, then swap it in
        with one transaction. A failure anywhere leaves the existing store exactly as it was.

        The new store's revision continues from the old one's, so app caches keyed on it can never
        mistake the new store for the old."""
        conninfo, schema = parse_url(url)
        postgis = _check_server(conninfo, url)
        staging = f"{schema}__build_{secrets.token_hex(4)}"
        conn = _connect(conninfo, url)
        try:
            conn.execute("select pg_advisory_lock(%s)", [_lock_key(staging)])  # "this build is alive"
            _refuse_foreign_schema(conn, schema, postgis, url)
            _drop_abandoned(conn, schema)
            conn.execute(sql.SQL("create schema {}").format(sql.Identifier(staging)))
            _set_search_path(conn, staging, postgis)
            store = cls._on_connection(url, staging, conn, postgis)
            try:
                store.create_schema()
                write(store)
                store.set_meta(schema_version=SCHEMA_VERSION, built_at=_now(), revision=1)
                for table in store._tables():
                    conn.execute(sql.SQL("analyze {}").format(sql.Identifier(staging, table)))
                _swap_in(conn, staging, schema)
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(staging)))
                raise
        finally:
            conn.close()
        return url

    def create_schema(self) -> None:
        """The same tables, keys and indexes as `SqliteStore.create_schema`, plus a GiST index on
        the full district geometry for the point-in-district joins."""
        with self._conn() as conn:
            for table, spec in _table_specs().items():
                conn.execute(_create_table_sql(table, **spec))
            for table, columns, unique in _INDEXES:
                conn.execute(sql.SQL("create {}index on {} ({})").format(
                    sql.SQL("unique " if unique else ""), sql.Identifier(table),
                    sql.SQL(", ").join(map(sql.Identifier, columns))))
            conn.execute("create index on districts using gist (geometry)")
        self._columns_cache.clear()

    def write_frame(self, table: str, frame: pd.DataFrame, *, alter: bool = False) -> int:
        """Insert a (Geo)DataFrame's rows with COPY; geometry becomes PostGIS geometry, NaN becomes
        NULL. A table that does not exist yet is created (and, with `alter`, missing columns are
        added) with the column types sqlite-utils would pick, so both stores read back the same."""
        if not len(frame):
            return 0
        with self._conn() as conn:
            existing = self._table_columns(conn, table)
            geo_cols = [c for c in frame.columns if isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
            if not existing or alter:
                self._add_columns(conn, table, frame, existing, geo_cols)
            _copy(conn, table, list(frame.columns), _frame_rows(frame), self._table_columns(conn, table))
        return len(frame)

    def write_provenance(self, rows: Iterable[dict]) -> None:
        rows = [{**r, "unjoined_reasons": json.dumps(r.get("unjoined_reasons") or {}), "loaded_at": _now()}
                for r in rows]
        with self._conn() as conn:
            _upsert(conn, "provenance", rows, ["source_key"], self._table_columns(conn, "provenance"))

    def upsert_pods(self, rows: list[dict], links: pd.DataFrame) -> None:
        """Insert or update pods by `pod_id` and replace their district links, in one transaction."""
        with self._write() as conn:
            self._put_pods(conn, rows, links)
            _bump_revision(conn)

    # -- upload batches -------------------------------------------------------------------------

    def commit_upload(self, batch: dict, rows: list[dict], links: pd.DataFrame, rejected: list[dict]) -> int:
        """Write one upload atomically, as `SqliteStore.commit_upload`; returns the batch id."""
        with self._write() as conn:
            batch_id = self._insert_batch(conn, {**batch, "kind": "upload"})
            self._snapshot(conn, batch_id, [r["pod_id"] for r in rows])
            self._put_pods(conn, [{**r, "batch_id": batch_id} for r in rows], links)
            if rejected:
                _copy(conn, "rejected_rows", ["batch_id", "row", "row_values", "errors"],
                      [[batch_id, r["row"], json.dumps(r["row_values"]), json.dumps(r["errors"])] for r in rejected],
                      self._table_columns(conn, "rejected_rows"))
            _bump_revision(conn)
        return batch_id

    def undo_batch(self, batch_id: int, *, user: str) -> int:
        """Return every pod a batch touched to its state before it, as a new recorded batch; the
        same refusals (StoreError) as `SqliteStore.undo_batch`."""
        with self._write() as conn:
            target = conn.execute("select kind, undone_by, filename from upload_batches where batch_id = %s",
                                  [batch_id]).fetchone()
            if target is None:
                raise StoreError(f"no upload batch {batch_id}")
            kind, undone_by, filename = target
            if kind != "upload":
                raise StoreError(f"batch {batch_id} is an undo; it cannot itself be undone")
            if undone_by is not None:
                raise StoreError(f"batch {batch_id} was already undone by batch {undone_by}")
            history = self._frame('select pod_id, "before", before_links from pod_history where batch_id = %s',
                                  [batch_id])
            later = conn.execute(
                "select h.batch_id, h.pod_id from pod_history h join upload_batches b using (batch_id) "
                "where h.batch_id > %s and b.undone_by is null and b.kind = 'upload' and h.pod_id in "
                "(select pod_id from pod_history where batch_id = %s) order by h.batch_id, h.pod_id limit 1",
                [batch_id, batch_id]).fetchone()
            if later:
                raise StoreError(f"pod {later[1]!r} was changed again by batch {later[0]}; undo batch {later[0]} first")
            ids = history["pod_id"].tolist()
            undo_id = self._insert_batch(conn, {
                "kind": "undo", "filename": filename, "uploaded_by": user, "undoes": batch_id,
                "counts": {"restored": int(history["before"].notna().sum()),
                           "removed": int(history["before"].isna().sum())}})
            self._snapshot(conn, undo_id, ids)
            conn.execute("delete from pod_districts where pod_id = any(%s)", [ids])
            conn.execute("delete from pods where pod_id = any(%s)", [ids])
            restore = history[history["before"].notna()]
            if len(restore):
                pods = [json.loads(v) for v in restore["before"]]
                columns = list(dict.fromkeys(k for p in pods for k in p))
                _copy(conn, "pods", columns, [[p.get(c) for c in columns] for p in pods],
                      self._table_columns(conn, "pods"))
                links = [link for v in restore["before_links"] for link in json.loads(v or "[]")]
                if links:
                    _copy(conn, "pod_districts", list(_PLACE_KEYS), [[r[c] for c in _PLACE_KEYS] for r in links],
                          self._table_columns(conn, "pod_districts"))
            conn.execute("update upload_batches set undone_by = %s where batch_id = %s", [undo_id, batch_id])
            _bump_revision(conn)
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
        row = self._one("select filename, file_bytes from upload_batches where batch_id = %s", [batch_id])
        if row is None or row[1] is None:
            raise StoreError(f"no stored file for batch {batch_id}")
        return row[0], bytes(row[1])

    def rejected_rows(self, batch_id: int) -> list[dict]:
        """The rows a batch rejected, with their original cells and errors, in file order."""
        return [{"row": r, "row_values": json.loads(v), "errors": json.loads(e)} for r, v, e in self._all(
            'select "row", row_values, errors from rejected_rows where batch_id = %s order by "row"', [batch_id])]

    def pod_ids(self) -> set[str]:
        return {r[0] for r in self._all("select pod_id from pods")}

    def set_meta(self, **values) -> None:
        with self._conn() as conn:
            _upsert(conn, "meta", [{"key": k, "value": json.dumps(v)} for k, v in values.items()], ["key"],
                    self._table_columns(conn, "meta"))

    # -- spatial joins in the database -----------------------------------------------------------

    def assign_points(self, points: pd.DataFrame, *, id_col: str,
                      state_fips: Iterable[str] | None = None) -> pd.DataFrame:
        """Which district(s) each point (`id_col`, `lon`, `lat`) lies in: DataFrame[point_id, leaid, layer].

        The same answer as `geo.assign_points_to_districts` on the store's districts (of
        `state_fips` when given), computed by PostGIS: `ST_Covers` on the GiST-indexed full
        geometry, one district per tiling (unified + elementary, secondary), on a shared boundary
        the district whose interior holds the point (`ST_ContainsProperly`) and then the lowest
        LEAID; filler areas (LEAID ending 99997) are not districts; points without coordinates
        get no row."""
        if id_col not in points.columns:
            raise ValueError(f"points has no column {id_col!r} (columns: {list(points.columns)})")
        lon = pd.to_numeric(points["lon"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(points["lat"], errors="coerce").to_numpy(dtype=float)
        ids = points[id_col].to_numpy()
        keep = np.flatnonzero(~np.isnan(lon) & ~np.isnan(lat))
        fips = None if state_fips is None else [str(v) for v in state_fips]
        points_sql = ("select ord, st_setsrid(st_makepoint(lon, lat), 4326) as geom "
                      "from unnest(%s::bigint[], %s::float8[], %s::float8[]) as t(ord, lon, lat)")
        params = [keep.tolist(), lon[keep].tolist(), lat[keep].tolist(), fips, fips]
        if not len(keep):
            rows = []
        elif len(keep) <= _FEW_POINTS:  # each point probes the districts' GiST index
            rows = self._all(_ASSIGN_SQL.format(pairs=f"({points_sql}) p join districts d on st_covers(d.geometry, p.geom)"),
                             params)
        else:  # each district probes an index on the points: one polygon after another, so PostGIS
            with self._conn() as conn, conn.transaction():  # prepares each polygon once, not per point
                conn.execute("set local jit = off")
                conn.execute("drop table if exists _podgeo_points")
                conn.execute("create temp table _podgeo_points (ord bigint, geom geometry(Point, 4326)) on commit drop")
                conn.execute(f"insert into _podgeo_points {points_sql}", params[:3])
                conn.execute("create index on _podgeo_points using gist (geom)")
                conn.execute("analyze _podgeo_points")
                rows = conn.execute(_ASSIGN_SQL.format(pairs=(
                    "districts d cross join lateral (select ord, geom from _podgeo_points p "
                    "where st_covers(d.geometry, p.geom) offset 0) p")), [fips, fips]).fetchall()
        order = np.array([r[0] for r in rows], dtype=np.int64)
        return pd.DataFrame({"point_id": pd.Series(ids[order], dtype=points[id_col].dtype),
                             "leaid": pd.Series([r[1] for r in rows], dtype=object),
                             "layer": pd.Series([r[2] for r in rows], dtype=object)})

    # -- reads --------------------------------------------------------------------------------

    def meta(self) -> dict:
        return {k: json.loads(v) for k, v in self._all("select key, value from meta")}

    def revision(self) -> int:
        """A number every write bumps: cached loaders in every replica key on it."""
        row = self._one("select value from meta where key = 'revision'")
        return int(json.loads(row[0])) if row else 0

    def state_list(self) -> pd.DataFrame:
        """States that have districts in the store, with district counts and boundary vintage."""
        return self._frame(
            "select s.state_fips, s.state, s.state_name, count(d.leaid) as districts, max(d.vintage) as vintage "
            "from states s join districts d on d.state_fips = s.state_fips group by s.state_fips order by s.state")

    def states(self, *, geometry: bool = True) -> gpd.GeoDataFrame | pd.DataFrame:
        """Every state row in the store (display geometry when asked)."""
        cols = "state_fips, state, state_name" + (", st_asbinary(display) as display" if geometry else "")
        frame = self._frame(f"select {cols} from states order by state")
        return _to_geo(frame, "display") if geometry else frame

    def districts(self, *, state_fips: Iterable[str] | None = None, layers: Iterable[str] | None = None,
                  geometry: str | None = "display", include_filler: bool = False,
                  leaids: Iterable[str] | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
        """Districts with every measure joined. `geometry` is 'display', 'full' or None."""
        where, params = _in_filters((("d.state_fips", state_fips), ("d.layer", layers), ("d.leaid", leaids)))
        if not include_filler:
            where.append("d.is_filler = 0")
        geom = {"display": ", st_asbinary(d.display) as geom", "full": ", st_asbinary(d.geometry) as geom",
                None: ""}[geometry]
        query = (f"select d.leaid, d.name, d.state_fips, d.state, d.layer, d.aland, d.awater, d.vintage, "
                 f"d.is_filler, d.lon, d.lat, m.*{geom} from districts d left join district_measures m "
                 f"on m.leaid = d.leaid" + (" where " + " and ".join(where) if where else "") + " order by d.leaid")
        frame = self._frame(query, params)
        frame = frame.loc[:, ~frame.columns.duplicated()]
        return _to_geo(frame, "geom") if geometry else frame

    def measure_catalog(self) -> pd.DataFrame:
        return self._frame(f"select {self._select_list('measure_catalog')} from measure_catalog order by _row")

    def sites(self, *, kinds: Iterable[str] | None = None, states: Iterable[str] | None = None) -> gpd.GeoDataFrame:
        """Candidate hub sites (libraries, schools) as points, with the LEAIDs they fall in."""
        where, params = _in_filters((("s.kind", kinds), ("s.state", states)))
        query = (f"select {self._select_list('sites', 's')}, (select string_agg(leaid, ';' order by leaid) "
                 "from site_districts sd where sd.site_id = s.site_id) as leaids from sites s"
                 + (" where " + " and ".join(where) if where else "") + " order by s.site_id")
        return _points(self._frame(query, params))

    def pods(self) -> gpd.GeoDataFrame:
        """Every pod with its list columns decoded and the LEAIDs it falls in."""
        frame = self._frame(
            f"select {self._select_list('pods', 'p')}, (select string_agg(leaid, ';' order by leaid) "
            "from pod_districts pd where pd.pod_id = p.pod_id) as leaids from pods p order by p.name, p.pod_id")
        for col in ("priority_groups", "supports", "languages"):
            frame[col] = frame[col].map(lambda v: json.loads(v) if isinstance(v, str) and v else [])
        return _points(frame)

    def place_districts(self, kind: str) -> pd.DataFrame:
        """(id, leaid, layer) for 'pods' or 'sites': which districts each point falls in."""
        table, key = {"pods": ("pod_districts", "pod_id"), "sites": ("site_districts", "site_id")}[kind]
        return self._frame(f"select {key}, leaid, layer from {table} order by {key}, leaid")

    def demand_points(self, kind: str, state_fips: Iterable[str] | str | None = None) -> gpd.GeoDataFrame:
        """Demand points of one kind ('schools' or 'tracts') as EPSG:4326 points, optionally for some states."""
        if kind not in DEMAND_KINDS:
            raise ValueError(f"demand kind {kind!r} is not one of {list(DEMAND_KINDS)}")
        query, params = f"select {self._select_list('demand_points')} from demand_points where kind = %s", [kind]
        if state_fips is not None:
            values = [state_fips] if isinstance(state_fips, str) else list(state_fips)
            query += " and state_fips = any(%s)"
            params.append(values)
        frame = self._frame(query + " order by demand_id", params)
        if frame.empty:
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in DEMAND_POINTS})
        for column, kind_ in DEMAND_POINTS.items():
            if kind_ is float:  # NULL counts come back as None: NaN, so sums and weights work
                frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        return _points(frame)

    def provenance(self) -> pd.DataFrame:
        frame = self._frame(f"select {self._select_list('provenance')} from provenance order by source_key")
        frame["unjoined_reasons"] = frame["unjoined_reasons"].map(lambda v: json.loads(v) if v else {})
        return frame

    def counts(self) -> dict[str, int]:
        """Row counts per table (for the CLI report and the tests)."""
        tables = self._tables()
        if not tables:
            return {}
        query = sql.SQL(" union all ").join(
            sql.SQL("select {}, count(*) from {}").format(sql.Literal(t), sql.Identifier(t)) for t in tables)
        counts = dict(self._all(query))
        return {t: int(counts[t]) for t in tables}

    def close(self) -> None:
        """Nothing to release for a pooled store (no connection is held between calls)."""
        if self._own is not None:
            self._own.close()
            self._own = None

    # -- cohorts ------------------------------------------------------------------------------

    def create_cohort(self, name: str, leaids: Iterable[str], *, created_by: str | None = None,
                      source: str | None = None, note: str | None = None) -> int:
        """Save a named set of districts in one transaction; the same refusals as SqliteStore."""
        name = " ".join(str(name or "").split())
        members = list(dict.fromkeys(str(v) for v in leaids))
        if not name:
            raise StoreError("a cohort needs a name")
        if not members:
            raise StoreError(f"cohort {name!r} has no districts")
        with self._write() as conn:
            if conn.execute("select 1 from cohorts where name = %s", [name]).fetchone():
                raise StoreError(f"there is already a cohort named {name!r}; choose another name or delete it first")
            self._require_districts(conn, members, f"cohort {name!r}")
            cohort_id = _insert_with_next_id(conn, "cohorts", "cohort_id", {
                "name": name, "created_by": created_by, "created_at": _now(), "source": source, "note": note})
            _copy(conn, "cohort_members", ["cohort_id", "leaid"], [[cohort_id, v] for v in members],
                  self._table_columns(conn, "cohort_members"))
            _bump_revision(conn)
        return cohort_id

    def cohorts(self) -> pd.DataFrame:
        """Every cohort with its member count, newest first."""
        return self._frame(
            "select c.cohort_id, c.name, c.created_by, c.created_at, c.source, c.note, count(m.leaid) as members "
            "from cohorts c left join cohort_members m using (cohort_id) group by c.cohort_id "
            "order by c.cohort_id desc")

    def cohort_members(self, cohort_id: int) -> list[str]:
        """The LEAIDs of a cohort, sorted; StoreError for an unknown cohort."""
        if not self._one("select 1 from cohorts where cohort_id = %s", [cohort_id]):
            raise StoreError(f"no cohort {cohort_id}")
        return [r[0] for r in self._all(
            "select leaid from cohort_members where cohort_id = %s order by leaid", [cohort_id])]

    def delete_cohort(self, cohort_id: int) -> None:
        with self._write() as conn:
            if not conn.execute("select 1 from cohorts where cohort_id = %s", [cohort_id]).fetchone():
                raise StoreError(f"no cohort {cohort_id}")
            conn.execute("delete from cohort_members where cohort_id = %s", [cohort_id])
            conn.execute("delete from cohorts where cohort_id = %s", [cohort_id])
            _bump_revision(conn)

    # -- saved column mappings ------------------------------------------------------------------

    def save_column_mapping(self, name: str, mapping: dict, *, headers: Iterable[str],
                            saved_by: str | None = None) -> dict:
        """Save (or replace, by name) a confirmed mapping, as `SqliteStore.save_column_mapping`."""
        record = contract.mapping_record(name, mapping, headers=headers, saved_by=saved_by)
        with self._write() as conn:
            if not self._has_table(conn, "column_mappings"):  # a store built before saved mappings
                conn.execute(_create_table_sql("column_mappings", **_table_specs()["column_mappings"]))
                conn.execute("create index on column_mappings (signature)")
                self._columns_cache.pop("column_mappings", None)
                _COLUMNS.pop((self.conninfo, self._schema_oid, "column_mappings"), None)
            _upsert(conn, "column_mappings", [record], ["name"], self._table_columns(conn, "column_mappings"))
            _bump_revision(conn)
        return contract.mapping_out(record)

    def column_mapping(self, name: str) -> dict:
        """The mapping saved under `name`; StoreError naming the saved ones when there is none."""
        rows = self._mapping_rows("where name = %s", [" ".join(str(name or "").split())])
        if not rows:
            raise contract.unknown_mapping(name, [r["name"] for r in self._mapping_rows()])
        return rows[0]

    def find_column_mapping(self, signature: str) -> dict | None:
        """The newest mapping saved for sheets with this `header_signature`, or None."""
        rows = self._mapping_rows("where signature = %s", [signature])
        return rows[0] if rows else None

    def column_mappings(self) -> list[dict]:
        """Every saved mapping, newest first."""
        return self._mapping_rows()

    def _mapping_rows(self, where: str = "", params: list = ()) -> list[dict]:
        def read(conn):
            if not self._has_table(conn, "column_mappings"):
                return []
            with conn.cursor(row_factory=dict_row) as cur:
                return cur.execute(f"select * from column_mappings {where} order by saved_at desc, name",
                                   params).fetchall()

        return [contract.mapping_out(r) for r in self._read(read)]

    def _has_table(self, conn, table: str) -> bool:
        return conn.execute("select to_regclass(%s)", [f'"{self.schema}"."{table}"']).fetchone()[0] is not None

    # -- district attribute layers ---------------------------------------------------------------

    def save_attribute_layer(self, layer: dict, values: pd.DataFrame, *, replaces: int | None = None) -> int:
        """Write a layer and all its values in one transaction; returns the layer id (see SqliteStore)."""
        record = {k: (json.dumps(v) if k in ("columns", "counts", "rejected") and not isinstance(v, str) else v)
                  for k, v in layer.items() if k in ATTRIBUTE_LAYERS and k not in ("layer_id", "version")}
        name = " ".join(str(record.get("name") or "").split())
        if not name:
            raise StoreError("an attribute layer needs a name")
        record.update(name=name, uploaded_at=_now())
        rows = _records(values[["leaid", "column", "value"]]) if len(values) else []
        with self._write() as conn:
            clash = conn.execute("select layer_id from attribute_layers where name = %s and layer_id is distinct "
                                 "from %s", [name, replaces]).fetchone()
            if clash:
                raise StoreError(f"there is already an attribute layer named {name!r} (layer {clash[0]}); "
                                 "replace that layer or choose another name")
            self._require_districts(conn, sorted({r["leaid"] for r in rows}), f"attribute layer {name!r}")
            if replaces is None:
                layer_id = _insert_with_next_id(conn, "attribute_layers", "layer_id", {**record, "version": 1})
            else:
                old = conn.execute("select version from attribute_layers where layer_id = %s", [replaces]).fetchone()
                if old is None:
                    raise StoreError(f"no attribute layer {replaces} to replace")
                layer_id = int(replaces)
                conn.execute("delete from attribute_values where layer_id = %s", [layer_id])
                update = {**record, "version": int(old[0] or 1) + 1}
                conn.execute(sql.SQL("update attribute_layers set {} where layer_id = {}").format(
                    sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder()) for k in update),
                    sql.Placeholder()), [*update.values(), layer_id])
            if rows:
                _copy(conn, "attribute_values", ["layer_id", "leaid", "column", "value"],
                      [[layer_id, r["leaid"], r["column"], r["value"]] for r in rows],
                      self._table_columns(conn, "attribute_values"))
            _bump_revision(conn)
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
        return self._frame('select layer_id, leaid, "column", value from attribute_values'
                           + (" where " + " and ".join(where) if where else "")
                           + ' order by layer_id, leaid, "column"', params)

    def attribute_file(self, layer_id: int) -> tuple[str, bytes]:
        row = self._one("select filename, file_bytes from attribute_layers where layer_id = %s", [layer_id])
        if row is None or row[1] is None:
            raise StoreError(f"no stored file for attribute layer {layer_id}")
        return row[0], bytes(row[1])

    def delete_attribute_layer(self, layer_id: int) -> None:
        with self._write() as conn:
            if not conn.execute("select 1 from attribute_layers where layer_id = %s", [layer_id]).fetchone():
                raise StoreError(f"no attribute layer {layer_id}")
            conn.execute("delete from attribute_values where layer_id = %s", [layer_id])
            conn.execute("delete from attribute_layers where layer_id = %s", [layer_id])
            _bump_revision(conn)

    # -- write helpers ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self):
        """One write transaction that first takes the store's advisory lock, so writers from every
        replica queue (as SQLite's BEGIN IMMEDIATE) instead of interleaving; rolled back on any error."""
        with self._conn() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", [_lock_key(self.schema)])
            self._tx = conn
            try:
                yield conn
                _test_pause_before_commit()
            finally:
                self._tx = None

    def _insert_batch(self, conn, batch: dict) -> int:
        record = {k: (json.dumps(v) if k in ("mapping", "counts") and not isinstance(v, str) else v)
                  for k, v in batch.items() if k in BATCHES}
        record["uploaded_at"] = _now()
        return _insert_with_next_id(conn, "upload_batches", "batch_id", record)

    def _snapshot(self, conn, batch_id: int, pod_ids: list[str]) -> None:
        """Record each pod's row and links as they are now, before `batch_id` changes them."""
        ids = list(dict.fromkeys(pod_ids))
        if not ids:
            return
        with conn.cursor(row_factory=dict_row) as cur:
            current = {r["pod_id"]: r for r in cur.execute(
                f"select {self._select_list('pods')} from pods where pod_id = any(%s)", [ids])}
            links: dict[str, list] = {}
            for r in cur.execute("select pod_id, leaid, layer from pod_districts where pod_id = any(%s) "
                                 "order by pod_id, leaid", [ids]):
                links.setdefault(r["pod_id"], []).append(r)
        records = [[batch_id, pid, json.dumps(current[pid]) if pid in current else None,
                    json.dumps(links.get(pid, [])) if pid in current else None] for pid in ids]
        _copy(conn, "pod_history", ["batch_id", "pod_id", "before", "before_links"], records,
              self._table_columns(conn, "pod_history"))

    def _put_pods(self, conn, rows: list[dict], links: pd.DataFrame) -> None:
        rows = [{k: (json.dumps(v) if isinstance(v, (list, tuple)) else v) for k, v in r.items() if k in PODS}
                for r in rows]
        rows = list({r["pod_id"]: r for r in rows}.values())  # one row per pod: the last one wins
        if rows:
            _upsert(conn, "pods", rows, ["pod_id"], self._table_columns(conn, "pods"))
            conn.execute("delete from pod_districts where pod_id = any(%s)", [[r["pod_id"] for r in rows]])
        if len(links):
            _copy(conn, "pod_districts", list(_PLACE_KEYS), _frame_rows(links[list(_PLACE_KEYS)]),
                  self._table_columns(conn, "pod_districts"))

    def _require_districts(self, conn, leaids: list[str], what: str) -> None:
        """StoreError naming up to five LEAIDs that are not districts in this store."""
        known = {r[0] for r in conn.execute("select leaid from districts where leaid = any(%s)", [list(leaids)])}
        missing = [v for v in leaids if v not in known]
        if missing:
            raise StoreError(f"{what}: {len(missing)} LEAID(s) are not districts in this store: "
                             + ", ".join(missing[:5]) + (" …" if len(missing) > 5 else ""))

    def _add_columns(self, conn, table: str, frame: pd.DataFrame, existing: list, geo_cols: list[str]) -> None:
        """Create `table`, or add the frame's missing columns, typed as sqlite-utils would type them."""
        have = {name for name, _ in existing}
        records = _records(frame.drop(columns=geo_cols))
        suggested = _suggest_types(records)
        types = {c: ("geometry(Geometry,4326)" if c in geo_cols else _PG_TYPES.get(suggested.get(c, str), "text"))
                 for c in frame.columns if c not in have}
        if not types:
            return
        if not existing:
            conn.execute(sql.SQL("create table {} ({})").format(sql.Identifier(table), sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in types.items())))
        else:
            for c, t in types.items():
                conn.execute(sql.SQL("alter table {} add column {} {}").format(
                    sql.Identifier(table), sql.Identifier(c), sql.SQL(t)))
        self._columns_cache.pop(table, None)
        _COLUMNS.pop((self.conninfo, self._schema_oid, table), None)

    # -- helpers ------------------------------------------------------------------------------

    @classmethod
    def _on_connection(cls, url: str, schema: str, conn: psycopg.Connection, postgis: str) -> "PostgisStore":
        """A store that uses one given connection (the build's, on its staging schema)."""
        store = cls.__new__(cls)
        store.url, store.conninfo, store.schema = url, parse_url(url)[0], schema
        store.path, store._postgis_schema = describe_location(url), postgis
        store._pool, store._own, store._tx, store._columns_cache, store._schema_oid = None, conn, None, {}, None
        return store

    @contextlib.contextmanager
    def _conn(self):
        if self._tx is not None:
            yield self._tx
        elif self._own is not None:
            yield self._own
        else:
            try:
                conn = self._pool.getconn()
            except PoolTimeout as exc:
                raise StoreError(f"no connection to the PostGIS store {self.path} within {self._pool.timeout:.0f} s: "
                                 f"is the server up and accepting connections? ({exc})") from exc
            try:
                yield conn
            finally:
                self._pool.putconn(conn)

    def _frame(self, query, params=()) -> pd.DataFrame:
        def read(conn):
            with conn.cursor(binary=True) as cur:
                cur.execute(query, params)
                return pd.DataFrame.from_records(cur.fetchall(), columns=[c.name for c in cur.description])

        return self._read(read)

    def _all(self, query, params=()) -> list[tuple]:
        return self._read(lambda conn: conn.execute(query, params).fetchall())

    def _one(self, query, params=()) -> tuple | None:
        return self._read(lambda conn: conn.execute(query, params).fetchone())

    def _read(self, fn):
        """Run a read; if the pooled connection had died (the server restarted, an idle connection
        was cut), refresh the pool and run it once more instead of failing the page."""
        used = None
        try:
            with self._conn() as conn:
                used = conn
                return fn(conn)
        except psycopg.OperationalError:
            if self._pool is None or self._tx is not None or used is None or not used.closed:
                raise
        self._pool.check()
        with self._conn() as conn:
            return fn(conn)

    def _tables(self) -> list[str]:
        """The store's tables in creation order."""
        return [r[0] for r in self._all(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind in ('r', 'p') order by c.oid", [self.schema])]

    def _table_columns(self, conn, table: str) -> list[tuple[str, str]]:
        """[(column, kind)] of a table in order, kind one of int/float/text/bytes/geometry/other.

        Kept per process for a checked store (keyed by its schema's oid, which a rebuild changes),
        so opening a store for one query costs one round trip for the check and one for the query."""
        key = (self.conninfo, self._schema_oid, table)
        if self._schema_oid is not None and key in _COLUMNS:
            return _COLUMNS[key]
        if table not in self._columns_cache:
            rows = conn.execute(
                "select a.attname, t.typname from pg_attribute a join pg_type t on t.oid = a.atttypid "
                "where a.attrelid = to_regclass(%s) and a.attnum > 0 and not a.attisdropped order by a.attnum",
                [f'"{self.schema}"."{table}"']).fetchall()
            kinds = {"int8": "int", "int4": "int", "int2": "int", "float8": "float", "float4": "float",
                     "text": "text", "varchar": "text", "bytea": "bytes", "geometry": "geometry"}
            columns = [(name, kinds.get(typ, "other")) for name, typ in rows]
            if not columns:
                return []
            self._columns_cache[table] = columns
            if self._schema_oid is not None:
                _COLUMNS[key] = columns
        return self._columns_cache[table]

    def _select_list(self, table: str, alias: str | None = None) -> str:
        """`select *` without podgeo's own bookkeeping columns (names starting with an underscore)."""
        with self._conn() as conn:
            columns = [c for c, _ in self._table_columns(conn, table) if not c.startswith("_")]
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + sql.Identifier(c).as_string() for c in columns)

    def _check_version(self) -> None:
        """One round trip: the store's schema version, and its schema's oid for the column cache."""
        query = sql.SQL("select (select oid from pg_namespace where nspname = %s), value from {} "
                        "where key = 'schema_version'").format(sql.Identifier(self.schema, "meta"))
        try:
            row = self._one(query, [self.schema])
        except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
            raise StoreError(f"no podgeo store in schema {self.schema!r} of {self.path}: build it with "
                             f"`python -m podgeo build --db 'postgresql://…'` (the same URL as PODGEO_DB)") from exc
        self._schema_oid = int(row[0]) if row else None
        version = json.loads(row[1]) if row else None
        if version != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has store schema {version}, this podgeo reads {SCHEMA_VERSION}: "
                             "rebuild it with `python -m podgeo build --db …`")


# -- connection strings, pools and server checks -------------------------------------------------------

def parse_url(url: str) -> tuple[str, str]:
    """(libpq connection string, schema) from a `postgresql://` URL; `?schema=` is podgeo's own
    parameter and is taken out. StoreError when the URL cannot be used."""
    parts = urlsplit(str(url))
    if parts.scheme not in ("postgresql", "postgres"):
        raise StoreError(f"{describe_location(url)} is not a PostgreSQL URL: use postgresql://user:password@host:5432/dbname")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), DEFAULT_SCHEMA)
    if not _SCHEMA_NAME.match(schema):
        raise StoreError(f"schema {schema!r} in {describe_location(url)}: use lower-case letters, digits and "
                         "underscores (at most 40), starting with a letter")
    conninfo = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "schema"])))
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
        psycopg.conninfo.conninfo_to_dict(conninfo)
    except (ValueError, psycopg.Error) as exc:
        raise StoreError(f"{describe_location(url)} is not a valid PostgreSQL URL ({_first_line(exc)}): "
                         "use postgresql://user:password@host:5432/dbname") from exc
    return conninfo, schema


def close_pools() -> None:
    """Close this process's connection pools (tests, benchmarks, and before dropping a database)."""
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
        _SERVERS.clear()
        _COLUMNS.clear()
    for pool in pools:
        pool.close()


_POOLS: dict[tuple, ConnectionPool] = {}
_SERVERS: dict[tuple, str] = {}  # (conninfo, pid) -> the schema PostGIS is installed in
_COLUMNS: dict[tuple, list] = {}  # (conninfo, schema oid, table) -> [(column, kind)]
_LOCK = threading.Lock()
atexit.register(close_pools)

_PLACE_KEYS = ("pod_id", *PLACE_DISTRICTS)

#: Up to this many points are joined one by one against the districts' index; more go in a temp table.
_FEW_POINTS = 1000
#: One row per point and tiling; ties on a shared boundary go to the interior, then the lowest LEAID.
_ASSIGN_SQL = """
select distinct on (ord, tiling) ord, leaid, layer from (
  select p.ord, d.leaid, d.layer, st_containsproperly(d.geometry, p.geom) as inside,
         case lower(d.layer) when 'unified' then 'base' when 'elementary' then 'base' else lower(d.layer) end
           collate "C" as tiling
  from {pairs}
  where right(d.leaid, 5) <> '99997' and (%s::text[] is null or d.state_fips = any(%s::text[]))
) pairs
order by ord, tiling, inside desc, leaid
"""


def _pool(conninfo: str, schema: str, postgis_schema: str) -> ConnectionPool:
    key = (conninfo, schema, os.getpid())
    with _LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = ConnectionPool(
                conninfo, min_size=1, max_size=max(POOL_SIZE, 1), open=True, name=f"podgeo-{schema}",
                kwargs={"autocommit": True, "prepare_threshold": None, "connect_timeout": CONNECT_TIMEOUT,
                        "application_name": "podgeo"},
                configure=lambda conn: _set_search_path(conn, schema, postgis_schema))
            _POOLS[key] = pool
    return pool


def _check_server(conninfo: str, url: str) -> str:
    """Connect once per process to say clearly what is wrong (bad URL, server down, no PostGIS)
    before a pool starts retrying in the background; returns the schema PostGIS lives in."""
    key = (conninfo, os.getpid())
    if key in _SERVERS:
        return _SERVERS[key]
    conn = _connect(conninfo, url)
    try:
        row = conn.execute("select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace "
                           "where e.extname = 'postgis'").fetchone()
    finally:
        conn.close()
    if row is None:
        db = psycopg.conninfo.conninfo_to_dict(conninfo).get("dbname", "the database")
        raise StoreError(f"{describe_location(url)}: database {db!r} has no PostGIS. As a database owner run "
                         f"`psql -d {db} -c 'CREATE EXTENSION postgis'` (Debian: apt-get install "
                         "postgresql-15-postgis-3 first), or point PODGEO_DB at a PostGIS database")
    _SERVERS[key] = row[0]
    return row[0]


def _connect(conninfo: str, url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(conninfo, autocommit=True, prepare_threshold=None, connect_timeout=CONNECT_TIMEOUT,
                               application_name="podgeo")
    except psycopg.OperationalError as exc:
        text = str(exc)
        if "does not exist" in text and "database" in text:
            hint = "create the database (createdb NAME; then CREATE EXTENSION postgis in it) or fix its name"
        elif "authentication" in text or "password" in text:
            hint = "check the user name and password in the URL"
        else:
            hint = "start the server or fix the host and port in the URL (scripts/start-postgis.sh starts a local one)"
        raise StoreError(f"cannot connect to the PostGIS store {describe_location(url)}: {_first_line(exc)}; "
                         f"{hint}") from exc
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the PostGIS store {describe_location(url)}: {_first_line(exc)}") from exc


def _set_search_path(conn: psycopg.Connection, schema: str, postgis_schema: str) -> None:
    conn.execute(sql.SQL("set search_path to {}, {}").format(sql.Identifier(schema), sql.Identifier(postgis_schema)))


def _lock_key(schema: str) -> int:
    """The advisory-lock key of a store: a stable signed 64-bit hash of its schema name."""
    return int.from_bytes(hashlib.sha256(f"podgeo:{schema}".encode()).digest()[:8], "big", signed=True)


def _swap_in(conn: psycopg.Connection, staging: str, schema: str) -> None:
    """Rename the built schema into place, and drop the old one, in one transaction. Writers wait
    on the store's lock; readers' statements that are running finish on the old tables."""
    old = f"{schema}__old_{secrets.token_hex(4)}"
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", [_lock_key(schema)])
        exists = conn.execute("select 1 from pg_namespace where nspname = %s", [schema]).fetchone()
        if exists:
            previous = conn.execute("select to_regclass(%s)", [f'"{schema}".meta']).fetchone()[0]
            if previous is not None:
                row = conn.execute(sql.SQL("select value from {} where key = 'revision'").format(
                    sql.Identifier(schema, "meta"))).fetchone()
                if row:
                    conn.execute(sql.SQL("update {} set value = %s where key = 'revision'").format(
                        sql.Identifier(staging, "meta")), [json.dumps(int(json.loads(row[0])) + 1)])
            conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(schema), sql.Identifier(old)))
        conn.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(staging), sql.Identifier(schema)))
        if exists:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(old)))


def _drop_abandoned(conn: psycopg.Connection, schema: str) -> None:
    """Drop staging schemas that builds killed mid-way left behind (no live build holds their lock)."""
    prefix = f"{schema}__build_"
    for (name,) in conn.execute("select nspname from pg_namespace where left(nspname, %s) = %s",
                                [len(prefix), prefix]).fetchall():
        if conn.execute("select pg_try_advisory_lock(%s)", [_lock_key(name)]).fetchone()[0]:
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(name)))
            conn.execute("select pg_advisory_unlock(%s)", [_lock_key(name)])


def _refuse_foreign_schema(conn: psycopg.Connection, schema: str, postgis_schema: str, url: str) -> None:
    """A build replaces the whole schema: never one that holds anything but a podgeo store."""
    exists = conn.execute("select 1 from pg_namespace where nspname = %s", [schema]).fetchone()
    is_store = conn.execute("select to_regclass(%s)", [f'"{schema}".meta']).fetchone()[0] is not None
    if schema in ("public", postgis_schema) or (exists and not is_store):
        raise StoreError(f"schema {schema!r} in {describe_location(url)} holds other data, and a build replaces "
                         "its schema whole: pick a schema of its own with ?schema=podgeo in the URL")


# -- schema --------------------------------------------------------------------------------------------

def _table_specs() -> dict[str, dict]:
    """`SqliteStore.create_schema` as data: columns (name -> python type), primary key, NOT NULLs,
    foreign keys; `ordered` tables keep insertion order in a hidden `_row` column (SQLite's rowid)."""
    return {
        "meta": dict(columns={"key": str, "value": str}, pk=("key",)),
        "states": dict(columns=STATES, pk=("state_fips",)),
        "districts": dict(columns=DISTRICTS, pk=("leaid",), not_null={"name", "state_fips", "layer"}),
        "district_measures": dict(columns={"leaid": str}, pk=("leaid",), fks={"leaid": "districts"}),
        "measure_catalog": dict(columns=MEASURE_CATALOG, pk=("key",), ordered=True),
        "sites": dict(columns=SITES, pk=("site_id",)),
        "site_districts": dict(columns={"site_id": str, **PLACE_DISTRICTS}, pk=("site_id", "leaid")),
        "pods": dict(columns=PODS, pk=("pod_id",), not_null={"name"}),
        "pod_districts": dict(columns={"pod_id": str, **PLACE_DISTRICTS}, pk=("pod_id", "leaid")),
        "provenance": dict(columns=PROVENANCE, pk=("source_key",)),
        "upload_batches": dict(columns=BATCHES, pk=("batch_id",)),
        "pod_history": dict(columns={"batch_id": int, "pod_id": str, "before": str, "before_links": str},
                            pk=("batch_id", "pod_id")),
        "rejected_rows": dict(columns={"batch_id": int, "row": int, "row_values": str, "errors": str},
                              pk=("batch_id", "row")),
        "demand_points": dict(columns=DEMAND_POINTS, pk=("kind", "demand_id")),
        "cohorts": dict(columns=COHORTS, pk=("cohort_id",), not_null={"name"}),
        "cohort_members": dict(columns={"cohort_id": int, "leaid": str}, pk=("cohort_id", "leaid"),
                               fks={"cohort_id": "cohorts", "leaid": "districts"}),
        "attribute_layers": dict(columns=ATTRIBUTE_LAYERS, pk=("layer_id",), not_null={"name"}),
        "attribute_values": dict(columns={"layer_id": int, "leaid": str, "column": str, "value": str},
                                 pk=("layer_id", "leaid", "column"),
                                 fks={"layer_id": "attribute_layers", "leaid": "districts"}),
        "column_mappings": dict(columns=COLUMN_MAPPINGS, pk=("name",), not_null={"signature", "mapping"}),
    }


_INDEXES = [("districts", ("state_fips", "layer"), False), ("demand_points", ("kind", "state_fips"), False),
            ("site_districts", ("leaid",), False), ("pod_districts", ("leaid",), False),
            ("sites", ("kind", "state"), False), ("cohorts", ("name",), True), ("attribute_layers", ("name",), True),
            ("attribute_values", ("leaid",), False), ("column_mappings", ("signature",), False)]


def _create_table_sql(table: str, *, columns: dict, pk: tuple, not_null: set = frozenset(), fks: dict | None = None,
                      ordered: bool = False) -> sql.Composed:
    parts = []
    for name, kind in columns.items():
        pg_type = "geometry(Geometry,4326)" if (table, name) in GEOMETRY else _PG_TYPES[kind]
        parts.append(sql.SQL("{} {}{}").format(sql.Identifier(name), sql.SQL(pg_type),
                                                sql.SQL(" not null" if name in not_null else "")))
    if ordered:
        parts.append(sql.SQL("_row bigint generated always as identity"))
    parts.append(sql.SQL("primary key ({})").format(sql.SQL(", ").join(map(sql.Identifier, pk))))
    for column, target in (fks or {}).items():
        parts.append(sql.SQL("foreign key ({}) references {}").format(sql.Identifier(column), sql.Identifier(target)))
    return sql.SQL("create table {} ({})").format(sql.Identifier(table), sql.SQL(", ").join(parts))


# -- rows in and out ---------------------------------------------------------------------------------

def _frame_rows(frame: pd.DataFrame) -> list[list]:
    """A frame's rows as lists for COPY: geometry as WKB, NaN as None (as `store._records`)."""
    return [list(r.values()) for r in _records(frame)]


def _copy(conn, table: str, columns: list[str], rows: Iterable[list], table_columns: list[tuple[str, str]], *,
          quoted: bool = False) -> None:
    """COPY rows in, each value made what its column takes (SQLite's type affinity, by hand)."""
    kinds = dict(table_columns)
    unknown = [c for c in columns if c not in kinds]
    if unknown:
        raise StoreError(f"table {table} has no column(s) {unknown}")
    convert = [_CONVERT[kinds[c]] for c in columns]
    native = [_NATIVE[kinds[c]] for c in columns]  # values already of the column's type go as they are
    query = sql.SQL("copy {} ({}) from stdin").format(sql.SQL(table) if quoted else sql.Identifier(table),
                                                     sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor() as cur, cur.copy(query) as copy:
        for row in rows:
            copy.write_row([v if v is None or type(v) in t else f(v) for t, f, v in zip(native, convert, row)])


def _upsert(conn, table: str, rows: list[dict], key: list[str], table_columns: list[tuple[str, str]]) -> None:
    """Insert rows, replacing the columns they give on rows whose key exists (sqlite-utils' upsert)."""
    if not rows:
        return
    columns = list(dict.fromkeys(k for r in rows for k in r))
    temp = sql.Identifier(f"_in_{table}")
    rest = [c for c in columns if c not in key]
    action = sql.SQL("do update set {}").format(sql.SQL(", ").join(
        sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in rest)) if rest else sql.SQL("do nothing")
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    with conn.transaction():  # a savepoint inside a write; its own transaction otherwise
        conn.execute(sql.SQL("create temp table if not exists {} (like {}) on commit drop").format(
            temp, sql.Identifier(table)))
        conn.execute(sql.SQL("truncate {}").format(temp))
        _copy(conn, temp.as_string(), columns, ([r.get(c) for c in columns] for r in rows), table_columns,
              quoted=True)
        conn.execute(sql.SQL("insert into {} ({}) select {} from {} on conflict ({}) {}").format(
            sql.Identifier(table), names, names, temp, sql.SQL(", ").join(map(sql.Identifier, key)), action))
        conn.execute(sql.SQL("truncate {}").format(temp))


def _insert_with_next_id(conn, table: str, pk: str, record: dict) -> int:
    """Insert with id = max + 1, as SQLite gives an INTEGER PRIMARY KEY (callers hold the write lock)."""
    next_id = conn.execute(sql.SQL("select coalesce(max({}), 0) + 1 from {}").format(
        sql.Identifier(pk), sql.Identifier(table))).fetchone()[0]
    record = {pk: int(next_id), **record}
    conn.execute(sql.SQL("insert into {} ({}) values ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, record)),
        sql.SQL(", ").join(sql.Placeholder() * len(record))), [_plain(v) for v in record.values()])
    return int(next_id)


def _bump_revision(conn) -> None:
    conn.execute("insert into meta (key, value) values ('revision', '1') on conflict (key) do update "
                 "set value = (meta.value::bigint + 1)::text")


def _in_filters(filters) -> tuple[list[str], list]:
    where, params = [], []
    for column, values in filters:
        if values is not None:
            where.append(f"{column} = any(%s)")
            params.append(list(values))
    return where, params


def _suggest_types(records: list[dict]) -> dict[str, type]:
    from sqlite_utils.utils import suggest_column_types

    return suggest_column_types(records)


def _plain(value):
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _to_int(value):
    value = _plain(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_text(value):
    value = _plain(value)
    return value if isinstance(value, str) else (value.decode("utf-8") if isinstance(value, bytes) else str(value))


def _to_geometry(value):
    """Hex EWKB with SRID 4326, what a geometry(…, 4326) column takes in COPY."""
    geom = value if isinstance(value, shapely.Geometry) else shapely.from_wkb(value)
    return shapely.to_wkb(shapely.set_srid(geom, 4326), hex=True, include_srid=True, output_dimension=2)


_CONVERT = {"int": _to_int, "float": lambda v: float(_plain(v)), "text": _to_text,
            "bytes": lambda v: bytes(v) if not isinstance(v, str) else v.encode("utf-8"),
            "geometry": _to_geometry, "other": _plain}
_NATIVE = {"int": (int,), "float": (float,), "text": (str,), "bytes": (bytes,), "geometry": (), "other": ()}


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
