"""The SQLite store (sqlite-utils): the embedded default, one file, readers never blocking the writer.

Geometry is kept as WKB in EPSG:4326: `geometry` at full resolution for spatial joins, `display`
simplified and rounded for maps (made at build time so no page simplifies on a rerun). What does
not depend on the database (the schema, rows in and out, validation, revision bookkeeping, and
every query both databases speak alike) is `store_contract.StoreContract`; this module holds
SQLite's connection, write lock and bulk writes. `store_pg.PostgisStore` is the same contract on
PostGIS for several app replicas on one database; `open_store` picks one from a path or a URL.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlite_utils

from podgeo.store_contract import (  # noqa: F401 - the store's public names, for callers of podgeo.store
    ATTRIBUTE_LAYERS, BATCHES, COHORTS, COLUMN_MAPPINGS, DEFAULT_DB, DEMAND_KINDS, DEMAND_POINTS, DISTRICTS, INDEXES,
    MEASURE_CATALOG, PLACE_DISTRICTS, PODS, PROVENANCE, REPO, SCHEMA_VERSION, SITES, STATES, TABLES, TEST_PAUSE_ENV,
    StoreContract, StoreError, column_types, default_path, describe_location, header_signature, is_postgres_url, now,
    quote, records, rows, store_location, test_pause_before_commit)


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


def _postgis():
    """podgeo.store_pg, imported only when a postgresql:// store is asked for (psycopg is optional)."""
    try:
        from podgeo import store_pg
    except ImportError as exc:
        raise StoreError(f"a postgresql:// store needs psycopg ({exc}): pip install -r requirements.txt") from exc
    return store_pg


class SqliteStore(StoreContract):
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
            # a private temporary file until the rename: no fsync per commit and no rollback journal on
            # disk while it fills (a failed or killed build throws the file away); one fsync at the end
            store.db.execute("pragma synchronous = off")
            store.db.execute("pragma journal_mode = memory")
            store.create_schema()
            write(store)
            store.set_meta(schema_version=SCHEMA_VERSION, built_at=now(), revision=1)
            store.db.conn.commit()
            store.db.execute("pragma journal_mode = wal")  # readers never block the one writer
            store.close()
            _fsync(tmp_path)
            _empty_wal(final)
            os.replace(tmp_path, final)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
        return final

    def create_schema(self) -> None:
        """Every table of `store_contract.TABLES`, with its keys and indexes."""
        for table in TABLES:
            self._create_table(table)

    def _create_table(self, table: str) -> None:
        spec = TABLES[table]
        pk = spec["pk"][0] if len(spec["pk"]) == 1 else spec["pk"]
        self.db[table].create(spec["columns"], pk=pk, not_null=spec.get("not_null"),
                              foreign_keys=[(c, t) for c, t in (spec.get("fks") or {}).items()])
        for name, columns, unique in INDEXES:
            if name == table:
                self.db[table].create_index(list(columns), unique=unique)

    def write_frame(self, table: str, frame: pd.DataFrame, *, alter: bool = False) -> int:
        """Insert a (Geo)DataFrame's rows; geometry columns become WKB, NaN becomes NULL.

        The rows go through one `executemany` (no dict per row, no commit per chunk); a new table,
        or with `alter` the missing columns, are made first, typed from the frame's dtypes."""
        if not len(frame):
            return 0
        types = column_types(frame)
        if not self.db[table].exists():
            self.db[table].create(types)
        elif alter:
            have = set(self.db[table].columns_dict)
            for column, kind in types.items():
                if column not in have:
                    self.db[table].add_column(column, kind)
        names = ", ".join(f"[{c}]" for c in frame.columns)
        with self.db.conn:
            self.db.conn.executemany(f"insert into [{table}] ({names}) values ({', '.join('?' * frame.shape[1])})",
                                     rows(frame))
        return len(frame)

    # -- spatial joins ---------------------------------------------------------------------------

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

    def counts(self) -> dict[str, int]:
        """Row counts per table (for the CLI report and the tests)."""
        return {t: self.db[t].count for t in self.db.table_names()}

    def close(self) -> None:
        self.db.conn.close()

    # -- SQLite's SQL ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self):
        """One write transaction, taking the write lock up front (BEGIN IMMEDIATE) so concurrent
        writers queue on the busy timeout instead of failing; rolled back on any error."""
        conn = self.db.conn
        if conn.in_transaction:
            conn.commit()
        conn.execute("begin immediate")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        else:
            test_pause_before_commit()
            conn.commit()

    def _q(self, query: str) -> str:
        return query

    def _frame(self, query, params=()) -> pd.DataFrame:
        cursor = self.db.execute(query, params)
        columns = [c[0] for c in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)

    def _all(self, query, params=()) -> list[tuple]:
        return self.db.execute(query, params).fetchall()

    def _one(self, query, params=()) -> tuple | None:
        return self.db.execute(query, params).fetchone()

    def _dicts(self, query, params=()) -> list[dict]:
        return list(self.db.query(query, params))

    def _execute(self, query, params=()) -> None:
        self.db.execute(query, params)

    def _insert_batch(self, batch: dict) -> int:
        """As the contract's, but the file's bytes go in through SQLite's incremental blob I/O, into a zeroblob
        in the row's last column: bound as a parameter, SQLite built the whole row in memory (a 100,000-row
        sheet's 21 MB file raised the commit's peak by ~35 MB)."""
        data = batch.get("file_bytes")
        if not data:
            return super()._insert_batch(batch)
        batch_id = super()._insert_batch({**batch, "file_bytes": None})
        self.db.conn.execute("update upload_batches set file_bytes = zeroblob(?) where batch_id = ?",
                             [len(data), batch_id])
        (rowid,) = self.db.conn.execute("select rowid from upload_batches where batch_id = ?", [batch_id]).fetchone()
        view = memoryview(data)
        with self.db.conn.blobopen("upload_batches", "file_bytes", rowid) as blob:
            for start in range(0, len(view), 2**20):
                blob.write(view[start:start + 2**20])
        return batch_id

    def _insert_rows(self, table: str, columns: list[str], rows) -> None:
        if not self.db[table].exists():  # sqlite-utils makes a table the build has not made
            self.db[table].insert_all((dict(zip(columns, r)) for r in rows), batch_size=2000)
            return
        self.db.conn.executemany(f"insert into {quote(table)} ({', '.join(map(quote, columns))}) "
                                 f"values ({', '.join('?' * len(columns))})", map(_plain_row, rows))

    def _insert_columns(self, table: str, columns: list[str], data: list[list]) -> None:
        """As `_insert_rows`, with each column's types checked at once (not a Python call per row)."""
        if not self.db[table].exists():
            return super()._insert_columns(table, columns, data)
        self.db.conn.executemany(f"insert into {quote(table)} ({', '.join(map(quote, columns))}) "
                                 f"values ({', '.join('?' * len(columns))})", zip(*map(_plain_column, data)))

    def _upsert_values(self, table: str, columns: list[str], values: Iterable[list], key: list[str]) -> None:
        """One executemany `insert ... on conflict do update`: no Python work per row beyond its values
        (sqlite-utils' upsert_all spent ~6 s of a 100,000-pod commit building statements)."""
        if not self.db[table].exists():  # as in _insert_rows
            self.db[table].upsert_all([dict(zip(columns, v)) for v in values], pk=key[0] if len(key) == 1 else tuple(key))
            return
        self.db.conn.executemany(self._upsert_sql(table, columns, key), map(_plain_row, values))

    def _upsert_columns(self, table: str, columns: list[str], data: list[list], key: list[str]) -> None:
        """As `_upsert_values`, with each column's types checked at once (not a Python call per row)."""
        if not self.db[table].exists():
            return super()._upsert_columns(table, columns, data, key)
        self.db.conn.executemany(self._upsert_sql(table, columns, key), zip(*map(_plain_column, data)))

    @staticmethod
    def _upsert_sql(table: str, columns: list[str], key: list[str]) -> str:
        rest = [c for c in columns if c not in key]
        action = f"do update set {', '.join(f'{quote(c)} = excluded.{quote(c)}' for c in rest)}" if rest else "do nothing"
        return (f"insert into {quote(table)} ({', '.join(map(quote, columns))}) values ({', '.join('?' * len(columns))}) "
                f"on conflict ({', '.join(map(quote, key))}) {action}")

    def _in(self, column: str, values: list) -> tuple[str, list]:
        return f"{column} in ({', '.join('?' * len(values))})", list(values)

    def _geom(self, column: str) -> str:
        return column

    def _leaid_list(self, table: str, key: str, alias: str) -> str:
        return (f"(select group_concat(leaid, ';') from (select leaid from {table} x where x.{key} = {alias}.{key} "
                "order by leaid))")

    def _columns(self, table: str, alias: str | None = None) -> str:
        return f"{alias}.*" if alias else "*"

    def _column_names(self, table: str) -> list[str]:
        return list(self.db[table].columns_dict)

    def _has_table(self, table: str) -> bool:
        return self.db[table].exists()

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


def _fsync(path: Path) -> None:
    """Flush a finished file to disk before it is renamed into place."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


_SQLITE_NATIVE = frozenset({str, int, float, bytes, type(None)})


def _plain_row(row) -> list | tuple:
    """A row's values as sqlite3 binds them; only a row holding something else (JSON-able, numpy,
    dates) is copied, with sqlite-utils' conversions, so the usual row costs one type check per value."""
    if _SQLITE_NATIVE.issuperset(map(type, row)):
        return row
    return list(map(_plain_value, row))


def _plain_column(values: list) -> list:
    """`_plain_row` for one column's values: the usual column is checked in one C-level pass and kept."""
    if _SQLITE_NATIVE.issuperset(map(type, values)):
        return values
    return list(map(_plain_value, values))


def _plain_value(v):
    if type(v) in _SQLITE_NATIVE:
        return v
    return sqlite_utils.db.jsonify_if_needed(v.item() if isinstance(v, np.generic) else v)
