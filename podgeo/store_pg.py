"""The PostGIS store: the store contract (`store_contract.StoreContract`) on one PostgreSQL database that every app
replica shares; this module holds only PostgreSQL's SQL.

Chosen by a `postgresql://` URL in PODGEO_DB or `--db` (see `podgeo.store.open_store`). The tables
live in one schema (`podgeo`, or `?schema=name` in the URL) and are made from `store_contract.TABLES`, so
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
- plain psycopg 3 with COPY and no ORM: the schema already lives in `store_contract.TABLES`, and
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

from podgeo.store_contract import (INDEXES, SCHEMA_VERSION, TABLES,
                                   StoreContract, StoreError, column_types, default_path, describe_location, now,
                                   records,
                                   test_pause_before_commit)

DEFAULT_SCHEMA = "podgeo"
#: Connections each app process keeps per store; a loader holds one only while its query runs.
POOL_SIZE = int(os.environ.get("PODGEO_PG_POOL_SIZE", "8"))
CONNECT_TIMEOUT = int(os.environ.get("PODGEO_PG_CONNECT_TIMEOUT", "5"))
#: (table, column) pairs that are PostGIS geometries; every other bytes column is bytea.
GEOMETRY = {("states", "display"), ("districts", "geometry"), ("districts", "display"), ("districts", "national")}
_PG_TYPES = {str: 'text collate "C"', int: "bigint", float: "double precision", bytes: "bytea"}
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")


class PostgisStore(StoreContract):
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
                store.set_meta(schema_version=SCHEMA_VERSION, built_at=now(), revision=1)
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
        for table in TABLES:
            self._create_table(table)
        with self._conn() as conn:
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

    # -- PostgreSQL's SQL -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self):
        """One write transaction that first takes the store's advisory lock, so writers from every
        replica queue (as SQLite's BEGIN IMMEDIATE) instead of interleaving; rolled back on any error."""
        with self._conn() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", [_lock_key(self.schema)])
            self._tx = conn
            try:
                yield conn
                test_pause_before_commit()
            finally:
                self._tx = None

    def _q(self, query: str) -> str:
        return query.replace("?", "%s")

    def _dicts(self, query, params=()) -> list[dict]:
        def read(conn):
            with conn.cursor(row_factory=dict_row) as cur:
                return cur.execute(query, params).fetchall()

        return self._read(read)

    def _execute(self, query, params=()) -> None:
        with self._conn() as conn:
            conn.execute(query, params)

    def _insert_rows(self, table: str, columns: list[str], rows) -> None:
        with self._conn() as conn:
            _copy(conn, table, columns, rows, self._table_columns(conn, table))

    def _upsert_rows(self, table: str, rows: list[dict], key: list[str]) -> None:
        with self._conn() as conn:
            _upsert(conn, table, rows, key, self._table_columns(conn, table))

    def _in(self, column: str, values: list) -> tuple[str, list]:
        return f"{column} = any(%s)", [list(values)]

    def _geom(self, column: str) -> str:
        return f"st_asbinary({column})"

    def _leaid_list(self, table: str, key: str, alias: str) -> str:
        return f"(select string_agg(leaid, ';' order by leaid) from {table} x where x.{key} = {alias}.{key})"

    def _columns(self, table: str, alias: str | None = None) -> str:
        """`select *` without podgeo's own bookkeeping columns (names starting with an underscore)."""
        with self._conn() as conn:
            columns = [c for c, _ in self._table_columns(conn, table) if not c.startswith("_")]
        prefix = f"{alias}." if alias else ""
        return ", ".join(prefix + sql.Identifier(c).as_string() for c in columns)

    _INSERTION_ORDER = "_row"

    def _column_names(self, table: str) -> list[str]:
        with self._conn() as conn:
            return [c for c, _ in self._table_columns(conn, table) if not c.startswith("_")]

    def _has_table(self, table: str) -> bool:
        return self._one("select to_regclass(%s)", [f'"{self.schema}"."{table}"'])[0] is not None

    def _create_table(self, table: str) -> None:
        with self._conn() as conn:
            conn.execute(_create_table_sql(table, **TABLES[table]))
            for name, columns, unique in INDEXES:
                if name == table:
                    conn.execute(sql.SQL("create {}index on {} ({})").format(
                        sql.SQL("unique " if unique else ""), sql.Identifier(table),
                        sql.SQL(", ").join(map(sql.Identifier, columns))))
        self._columns_cache.pop(table, None)
        _COLUMNS.pop((self.conninfo, self._schema_oid, table), None)

    def _add_columns(self, conn, table: str, frame: pd.DataFrame, existing: list, geo_cols: list[str]) -> None:
        """Create `table`, or add the frame's missing columns, typed as the SQLite store types them."""
        have = {name for name, _ in existing}
        suggested = column_types(frame)
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
    """A frame's rows as lists for COPY: geometry as WKB, NaN as None (as `store_contract.records`)."""
    return [list(r.values()) for r in records(frame)]


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
