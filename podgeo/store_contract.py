"""What both store backends share and no database decides: where a store lives, the schema as
data, rows in and out, validation of what callers hand in, revision bookkeeping, and every method
whose SQL both databases speak alike.

`store.SqliteStore` and `store_pg.PostgisStore` subclass `StoreContract` and hold only their SQL:
the connection, the write lock, bulk writes, and the few expressions the two dialects spell
differently (`_q`, `_in`, `_geom`, `_leaid_list`, `_columns`). So the two cannot drift on what a
column is called, what a method refuses, or how a JSON column comes back. Nothing here opens a
connection, and this module imports neither backend.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping

import geopandas as gpd
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DB = REPO / "data" / "podgeo.db"
SCHEMA_VERSION = 4  # 4: cohorts and district attribute layers


class StoreError(RuntimeError):
    """The store is missing, from another version, or cannot be written; the message says which."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- where a store lives ----------------------------------------------------------------------------

def default_path() -> Path | str:
    """`PODGEO_DB` if set, else data/podgeo.db in the repo (a postgresql:// URL stays text)."""
    return store_location(os.environ.get("PODGEO_DB") or DEFAULT_DB)


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


# -- the schema ----------------------------------------------------------------------------------------

# Column types per table; the build and the pods writers rely on these names.
DISTRICTS = {"leaid": str, "name": str, "state_fips": str, "state": str, "layer": str, "aland": float,
             "awater": float, "vintage": int, "is_filler": int, "lon": float, "lat": float,
             "geometry": bytes, "display": bytes, "national": bytes}
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
              "loaded_at": str, "status": str, "note": str}
#: provenance `status`: the file was read; or it was absent, held no rows, or could not be read and
#: another file stood in for it: the build went on without that layer (and says so; --strict refuses).
PROVENANCE_STATUS = ("loaded", "absent", "empty", "fallback")
#: `file_bytes` last: SQLite then writes the file in place of a zeroblob without building the whole row
#: in memory (see SqliteStore._insert_batch); a store built before keeps its order and works the same.
BATCHES = {"batch_id": int, "kind": str, "filename": str, "sha256": str, "sheet": str, "uploaded_by": str,
           "uploaded_at": str, "mapping": str, "counts": str, "undoes": int, "undone_by": int, "note": str,
           "file_bytes": bytes}
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
#: A confirmed sheet-column -> pod-field mapping, saved under a name so the same partner's next
#: sheet (same headers: same `signature`) maps itself, and the CLI can use it by name.
COLUMN_MAPPINGS = {"name": str, "signature": str, "headers": str, "mapping": str, "saved_by": str,
                   "saved_at": str}

#: Every table: columns (name -> python type), primary key, NOT NULLs, foreign keys; `ordered`
#: tables are read back in insertion order (SQLite's rowid, a hidden `_row` column in PostGIS).
TABLES: dict[str, dict] = {
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
#: (table, columns, unique) secondary indexes.
INDEXES = [("districts", ("state_fips", "layer"), False), ("demand_points", ("kind", "state_fips"), False),
           ("site_districts", ("leaid",), False), ("pod_districts", ("leaid",), False),
           ("sites", ("kind", "state"), False), ("cohorts", ("name",), True), ("attribute_layers", ("name",), True),
           ("attribute_values", ("leaid",), False), ("column_mappings", ("signature",), False)]
PLACE_KEYS = ("pod_id", *PLACE_DISTRICTS)
_DISTRICT_READ = "d.leaid, d.name, d.state_fips, d.state, d.layer, d.aland, d.awater, d.vintage, d.is_filler, d.lon, d.lat"


# -- rows in and out -------------------------------------------------------------------------------

def records(frame: pd.DataFrame) -> list[dict]:
    """A (Geo)DataFrame's rows as dicts to write: geometry columns as WKB, NaN as None."""
    columns = list(frame.columns)
    return [dict(zip(columns, row)) for row in rows(frame)]


def rows(frame: pd.DataFrame) -> list[tuple]:
    """A (Geo)DataFrame's rows as tuples of plain Python values, in column order: geometry as WKB,
    NaN/NA as None (the bulk-write path: no dict per row)."""
    out = pd.DataFrame({
        i: (shapely.to_wkb(frame.iloc[:, i].values, output_dimension=2)
            if isinstance(frame.iloc[:, i].dtype, gpd.array.GeometryDtype) else frame.iloc[:, i].to_numpy())
        for i in range(frame.shape[1])}, index=range(len(frame)))
    out = out.astype(object).where(out.notna(), None)
    return list(out.itertuples(index=False, name=None))


def column_types(frame: pd.DataFrame) -> dict[str, type]:
    """The type each column of a frame is stored as (int, float, str or bytes), from its dtype, so
    both backends create a written frame's new columns alike without looking at every value."""
    out = {}
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, gpd.array.GeometryDtype):
            out[column] = bytes
        elif pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_integer_dtype(series.dtype):
            out[column] = int
        elif pd.api.types.is_float_dtype(series.dtype):
            out[column] = float
        else:
            kind = pd.api.types.infer_dtype(series, skipna=True)
            out[column] = {"integer": int, "boolean": int, "floating": float, "mixed-integer-float": float,
                           "bytes": bytes}.get(kind, str)
    return out


def to_geo(frame: pd.DataFrame, column: str) -> gpd.GeoDataFrame:
    """A frame read with a WKB column as a GeoDataFrame in EPSG:4326 (NULL WKB: an empty geometry slot)."""
    geoms = shapely.from_wkb(frame[column].to_numpy()) if len(frame) else []
    return gpd.GeoDataFrame(frame.drop(columns=[column]), geometry=gpd.GeoSeries(geoms, crs="EPSG:4326").values,
                            crs="EPSG:4326")


def points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    lon = pd.to_numeric(frame.get("lon"), errors="coerce")
    lat = pd.to_numeric(frame.get("lat"), errors="coerce")
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def json_column(frame: pd.DataFrame, column: str, empty) -> None:
    """Decode a JSON text column in place; NULL or '' becomes a fresh `empty` ({} or [])."""
    frame[column] = frame[column].map(lambda v: json.loads(v) if isinstance(v, str) and v else type(empty)())


def _json_lists(values: list) -> list:
    """A column's lists and tuples as JSON text; the same list (a sheet's usual ["English"]) encoded once."""
    if set(map(type, values)) == {tuple}:  # a sheet's list columns (`Validation.pod_columns`): each distinct once
        texts = {v: json.dumps(v) for v in set(values)}
        return list(map(texts.__getitem__, values))
    seen: dict[tuple, str] = {}
    out = []
    for v in values:
        if isinstance(v, (list, tuple)):
            key = tuple(v)
            text = seen.get(key)
            if text is None:
                text = seen[key] = json.dumps(v)
            v = text
        out.append(v)
    return out


def chunks(items: list, size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def one_name(value) -> str:
    """A name as stored: surrounding and repeated whitespace folded."""
    return " ".join(str(value or "").split())


def quote(name: str) -> str:
    """An SQL identifier both dialects read the same way."""
    return '"' + name.replace('"', '""') + '"'


#: Test hook: seconds to hold a write transaction open just before COMMIT (announced on stderr) so
#: a test can SIGKILL a writer mid-commit. Unset, as in every real deployment, it does nothing.
TEST_PAUSE_ENV = "PODGEO_TEST_PAUSE_BEFORE_COMMIT"


def test_pause_before_commit() -> None:
    seconds = os.environ.get(TEST_PAUSE_ENV)
    if seconds:
        print(f"podgeo: test hook: holding the write transaction for {seconds} s", file=sys.stderr, flush=True)
        time.sleep(float(seconds))


test_pause_before_commit.__test__ = False  # not a pytest test despite its name


# -- saved column mappings ------------------------------------------------------------------------

#: A confirmed sheet-column -> pod-field mapping, saved under a name so the same partner's next
#: sheet (same headers: same `signature`) maps itself, and the CLI can use it by name.
COLUMN_MAPPINGS = {"name": str, "signature": str, "headers": str, "mapping": str, "saved_by": str,
                   "saved_at": str}


def header_signature(headers: Iterable) -> str:
    """A sheet's header row as a short key: the same headers in any order, case or spacing give the
    same signature (a partner who moves a column still gets their mapping back)."""
    names = sorted({" ".join(str(h).split()).casefold() for h in headers if h is not None and str(h).strip()})
    if not names:
        raise ValueError("a header signature needs at least one non-empty column name")
    return hashlib.sha256(json.dumps(names, ensure_ascii=False).encode("utf-8")).hexdigest()[:20]


def mapping_record(name: str, mapping: Mapping, *, headers: Iterable, saved_by: str | None) -> dict:
    """The row to store for a mapping, after checking it: a name, a {column: field or None} dict
    whose columns are all in `headers`. StoreError names what is wrong."""
    name = " ".join(str(name or "").split())
    if not name:
        raise StoreError("a saved column mapping needs a name")
    headers = [str(h) for h in headers if h is not None and str(h).strip()]
    if not isinstance(mapping, Mapping) or not mapping:
        raise StoreError(f"column mapping {name!r} is empty: it must map sheet columns to pod fields")
    clean = {}
    for column, field in mapping.items():
        if not isinstance(column, str) or not column.strip():
            raise StoreError(f"column mapping {name!r}: column names must be non-empty text, not {column!r}")
        if field is not None and (not isinstance(field, str) or not field.strip()):
            raise StoreError(f"column mapping {name!r}: column {column!r} maps to {field!r}; "
                             "use a field name, or None for a column that is not imported")
        clean[column] = field
    unknown = [c for c in clean if c not in headers]
    if unknown:
        raise StoreError(f"column mapping {name!r} names column(s) not in the headers: {unknown[:5]}")
    return {"name": name, "signature": header_signature(headers), "headers": json.dumps(headers, ensure_ascii=False),
            "mapping": json.dumps(clean, ensure_ascii=False), "saved_by": saved_by, "saved_at": now()}


def mapping_out(row: Mapping) -> dict:
    """A stored mapping row as callers get it: `headers` a list, `mapping` a dict."""
    return {"name": row["name"], "signature": row["signature"], "headers": json.loads(row["headers"] or "[]"),
            "mapping": json.loads(row["mapping"] or "{}"), "saved_by": row["saved_by"], "saved_at": row["saved_at"]}


def unknown_mapping(name: str, known: list[str]) -> StoreError:
    listed = ", ".join(repr(k) for k in known[:10]) if known else "none yet"
    return StoreError(f"no saved column mapping named {name!r} (saved: {listed})")


# -- the contract: every method whose SQL both databases speak alike -----------------------------------

def _actual_counts(counts: Mapping | None, pods: int, existing: int) -> dict:
    """A batch's counts with inserts/updates as committed; a plan that guessed otherwise is kept as `planned`."""
    counts = dict(counts or {})
    actual = {"inserts": pods - existing, "updates": existing}
    planned = {k: counts[k] for k in actual if k in counts}
    if planned and planned != actual:
        counts["planned"] = planned
    return {**counts, **actual}


class StoreContract:
    """The store's public methods, written once. A backend gives the SQL primitives below; shared
    queries are written with `?` placeholders and quoted identifiers, and pass through `_q`."""

    # primitives each backend implements ------------------------------------------------------

    def _q(self, query: str) -> str:
        """A portable query in the backend's placeholder style."""
        raise NotImplementedError

    def _frame(self, query, params=()) -> pd.DataFrame:
        raise NotImplementedError

    def _all(self, query, params=()) -> list[tuple]:
        raise NotImplementedError

    def _one(self, query, params=()) -> tuple | None:
        raise NotImplementedError

    def _dicts(self, query, params=()) -> list[dict]:
        """Rows as dicts of the driver's own values (ints stay ints: they go into JSON snapshots)."""
        raise NotImplementedError

    def _execute(self, query, params=()) -> None:
        """One statement (inside `_write` when it changes the store)."""
        raise NotImplementedError

    def _write(self) -> contextlib.AbstractContextManager:
        """One write transaction holding the store's write lock; rolled back on any error."""
        raise NotImplementedError

    def _insert_rows(self, table: str, columns: list[str], rows: Iterable[list]) -> None:
        raise NotImplementedError

    def _upsert_values(self, table: str, columns: list[str], values: Iterable[list], key: list[str]) -> None:
        """Insert rows of `columns`' values, replacing those columns on rows whose key exists."""
        raise NotImplementedError

    def _insert_columns(self, table: str, columns: list[str], data: list[list]) -> None:
        """`_insert_rows` from the values column by column (one list per column, all as long)."""
        self._insert_rows(table, columns, zip(*data))

    def _upsert_columns(self, table: str, columns: list[str], data: list[list], key: list[str]) -> None:
        """`_upsert_values` from the values column by column (one list per column, all as long)."""
        self._upsert_values(table, columns, zip(*data), key)

    def _upsert_rows(self, table: str, rows: list[dict], key: list[str]) -> None:
        """Insert rows, replacing the columns they give on rows whose key exists (a key a row lacks is None)."""
        if rows:
            columns = list(dict.fromkeys(k for r in rows for k in r))
            self._upsert_values(table, columns, ([r.get(c) for c in columns] for r in rows), key)

    def _in(self, column: str, values: list) -> tuple[str, list]:
        """(condition, params) for `column in values`, in the backend's style (values non-empty)."""
        raise NotImplementedError

    def _geom(self, column: str) -> str:
        """A select expression giving `column`'s geometry as WKB."""
        raise NotImplementedError

    def _leaid_list(self, table: str, key: str, alias: str) -> str:
        """A select expression: the LEAIDs a point (`alias`.`key`) falls in, ';'-joined and sorted."""
        raise NotImplementedError

    def _columns(self, table: str, alias: str | None = None) -> str:
        """A table's columns to select (podgeo's own bookkeeping columns left out)."""
        raise NotImplementedError

    def _column_names(self, table: str) -> list[str]:
        """The columns `table` has in this store (older stores lack some of TABLES')."""
        raise NotImplementedError

    def _has_table(self, table: str) -> bool:
        raise NotImplementedError

    def _create_table(self, table: str) -> None:
        """Create one table of TABLES with its indexes (the build; or, inside `_write`, a table that
        a store built by an older podgeo lacks, such as column_mappings)."""
        raise NotImplementedError

    #: the expression that orders an `ordered` table by insertion
    _INSERTION_ORDER = "rowid"

    # shared helpers ----------------------------------------------------------------------------

    def _in_filters(self, filters) -> tuple[list[str], list]:
        """Conditions for each (column, values) whose values are given; an empty list matches nothing."""
        where, params = [], []
        for column, values in filters:
            if values is not None:
                values = [values] if isinstance(values, str) else list(values)
                if not values:
                    where.append("1 = 0")
                    continue
                condition, more = self._in(column, values)
                where.append(condition)
                params += more
        return where, params

    @staticmethod
    def _where(conditions: list[str]) -> str:
        return (" where " + " and ".join(conditions)) if conditions else ""

    def _delete_in(self, table: str, column: str, values: list) -> None:
        for chunk in chunks(list(values)):
            condition, params = self._in(quote(column), chunk)
            self._execute(self._q(f"delete from {quote(table)} where {condition}"), params)

    def _insert_next(self, table: str, pk: str, record: dict) -> int:
        """Insert with id = max + 1, as SQLite gives an INTEGER PRIMARY KEY (callers hold the write lock)."""
        next_id = int(self._one(f"select coalesce(max({quote(pk)}), 0) + 1 from {quote(table)}")[0])
        record = {pk: next_id, **record}
        self._insert_rows(table, list(record), [list(record.values())])
        return next_id

    def _update(self, table: str, pk: str, pk_value, record: dict) -> None:
        sets = ", ".join(f"{quote(k)} = ?" for k in record)
        self._execute(self._q(f"update {quote(table)} set {sets} where {quote(pk)} = ?"), [*record.values(), pk_value])

    def _bump_revision(self) -> None:
        self._execute("insert into meta (key, value) values ('revision', '1') on conflict (key) do update "
                      "set value = cast(cast(meta.value as bigint) + 1 as text)")

    def _exists(self, table: str, column: str, value) -> bool:
        return self._one(self._q(f"select 1 from {quote(table)} where {quote(column)} = ?"), [value]) is not None

    def _delete_with_rows(self, table: str, rows_table: str, pk: str, value, missing: str) -> None:
        """Delete one record and the rows that belong to it, in one write; StoreError(`missing`) if absent."""
        with self._write():
            if not self._exists(table, pk, value):
                raise StoreError(missing)
            self._delete_in(rows_table, pk, [value])
            self._delete_in(table, pk, [value])
            self._bump_revision()

    def _present(self, table: str, column: str, values: list) -> set:
        """Which of `values` are already in `table`.`column` (inside a write: under the lock)."""
        found = set()
        for chunk in chunks(list(values)):
            condition, params = self._in(quote(column), chunk)
            query = self._q(f"select {quote(column)} from {quote(table)} where {condition}")
            found.update(r[0] for r in self._all(query, params))
        return found

    def _require_districts(self, leaids: list[str], what: str) -> None:
        """StoreError naming up to five LEAIDs that are not districts in this store."""
        missing = []
        for chunk in chunks(list(leaids)):
            condition, params = self._in("leaid", chunk)
            known = {r[0] for r in self._all(self._q(f"select leaid from districts where {condition}"), params)}
            missing += [v for v in chunk if v not in known]
        if missing:
            raise StoreError(f"{what}: {len(missing)} LEAID(s) are not districts in this store: "
                             + ", ".join(missing[:5]) + (" …" if len(missing) > 5 else ""))

    # writes ------------------------------------------------------------------------------------

    def write_provenance(self, rows: Iterable[dict]) -> None:
        rows = [{**r, "unjoined_reasons": json.dumps(r.get("unjoined_reasons") or {}), "loaded_at": now()}
                for r in rows]
        self._upsert_rows("provenance", rows, ["source_key"])

    def set_meta(self, **values) -> None:
        self._upsert_rows("meta", [{"key": k, "value": json.dumps(v)} for k, v in values.items()], ["key"])

    def upsert_pods(self, rows: list[dict], links: pd.DataFrame) -> None:
        """Insert or update pods by `pod_id` and replace their district links, in one transaction."""
        with self._write():
            self._put_pods(rows, links)
            self._bump_revision()

    def commit_upload(self, batch: dict, rows: list[dict] | Mapping[str, list], links: pd.DataFrame,
                      rejected: list[dict]) -> int:
        """Write one upload atomically: the batch record (with the original file), every pod's
        previous state (for undo), the pods and their districts, and the rejected rows.

        `batch` has filename, sha256, file_bytes, sheet, uploaded_by, mapping, counts; `rows` is a list of
        pod dicts or the pods column by column ({column: values}, as `Validation.pod_columns` gives);
        `rejected` rows have row, row_values (dict) and errors (list of str). Returns the batch id.
        The stored `inserts`/`updates` are what this transaction did, counted under the write lock
        (another upload may have landed since the plan was made; the plan's guess is then kept
        as `planned`), so two concurrent uploads of the same new pods never both report them new.
        """
        with self._write():
            ids = list(dict.fromkeys(rows["pod_id"] if isinstance(rows, Mapping) else (r["pod_id"] for r in rows)))
            present = self._present("pods", "pod_id", ids)
            counts = _actual_counts(batch.get("counts"), len(ids), len(present))
            batch_id = self._insert_batch({**batch, "counts": counts, "kind": "upload"})
            self._snapshot(batch_id, ids, present)
            self._put_pods(rows, links, batch_id=batch_id)
            if rejected:
                self._insert_rows("rejected_rows", ["batch_id", "row", "row_values", "errors"],
                                  [[batch_id, r["row"], json.dumps(r["row_values"]), json.dumps(r["errors"])]
                                   for r in rejected])
            self._bump_revision()
        return batch_id

    def undo_batch(self, batch_id: int, *, user: str) -> int:
        """Return every pod a batch touched to its state before it, as a new recorded batch.

        Refuses (StoreError) when the batch is unknown, already undone, an undo itself, or when a
        later batch changed one of the same pods (undo that one first), so no later work is lost.
        """
        with self._write():
            target = self._one(self._q("select kind, undone_by, filename from upload_batches where batch_id = ?"),
                               [batch_id])
            if target is None:
                raise StoreError(f"no upload batch {batch_id}")
            kind, undone_by, filename = target
            if kind != "upload":
                raise StoreError(f"batch {batch_id} is an undo; it cannot itself be undone")
            if undone_by is not None:
                raise StoreError(f"batch {batch_id} was already undone by batch {undone_by}")
            history = self._frame(self._q('select pod_id, "before", before_links from pod_history where batch_id = ?'),
                                  [batch_id])
            later = self._one(self._q(
                "select h.batch_id, h.pod_id from pod_history h join upload_batches b using (batch_id) "
                "where h.batch_id > ? and b.undone_by is null and b.kind = 'upload' and h.pod_id in "
                "(select pod_id from pod_history where batch_id = ?) order by h.batch_id, h.pod_id limit 1"),
                [batch_id, batch_id])
            if later:
                raise StoreError(f"pod {later[1]!r} was changed again by batch {later[0]}; undo batch {later[0]} first")
            ids = history["pod_id"].tolist()
            undo_id = self._insert_batch({"kind": "undo", "filename": filename, "uploaded_by": user, "undoes": batch_id,
                                          "counts": {"restored": int(history["before"].notna().sum()),
                                                     "removed": int(history["before"].isna().sum())}})
            self._snapshot(undo_id, ids)
            self._delete_in("pod_districts", "pod_id", ids)
            self._delete_in("pods", "pod_id", ids)
            restore = history[history["before"].notna()]
            if len(restore):
                pods = [json.loads(v) for v in restore["before"]]
                columns = list(dict.fromkeys(k for p in pods for k in p))
                self._insert_rows("pods", columns, [[p.get(c) for c in columns] for p in pods])
                links = [link for v in restore["before_links"] for link in json.loads(v or "[]")]
                if links:
                    self._insert_rows("pod_districts", list(PLACE_KEYS), [[r[c] for c in PLACE_KEYS] for r in links])
            self._execute(self._q("update upload_batches set undone_by = ? where batch_id = ?"), [undo_id, batch_id])
            self._bump_revision()
        return undo_id

    def _insert_batch(self, batch: dict) -> int:
        record = {k: (json.dumps(v) if k in ("mapping", "counts") and not isinstance(v, str) else v)
                  for k, v in batch.items() if k in BATCHES and k != "batch_id"}
        record["uploaded_at"] = now()
        return self._insert_next("upload_batches", "batch_id", record)

    def _snapshot(self, batch_id: int, pod_ids: list[str], present: set | None = None) -> None:
        """Record each pod's row and links as they are now, before `batch_id` changes them.

        `present`: the ids known to be in the store (under the same lock); the others are recorded as
        new without a query (an upload of 100,000 new pods spent ~0.2 s asking for each).
        """
        pod_ids = list(dict.fromkeys(pod_ids))
        current: dict[str, dict] = {}
        links: dict[str, list] = {}
        for chunk in chunks(pod_ids if present is None else [p for p in pod_ids if p in present]):
            condition, params = self._in("pod_id", chunk)
            current.update((r["pod_id"], r) for r in self._dicts(
                self._q(f"select {self._columns('pods')} from pods where {condition}"), params))
            for r in self._dicts(self._q(
                    f"select pod_id, leaid, layer from pod_districts where {condition} order by pod_id, leaid"), params):
                links.setdefault(r["pod_id"], []).append(r)
        if not pod_ids:
            return
        befores = [None] * len(pod_ids)
        before_links = [None] * len(pod_ids)
        if current:  # column by column: new pods (the usual upload) cost nothing here
            for i, pid in enumerate(pod_ids):
                before = current.get(pid)
                if before:
                    befores[i], before_links[i] = json.dumps(before), json.dumps(links.get(pid, []))
        self._insert_columns("pod_history", ["batch_id", "pod_id", "before", "before_links"],
                             [[batch_id] * len(pod_ids), pod_ids, befores, before_links])

    def _put_pods(self, pods: list[dict] | Mapping[str, list], links: pd.DataFrame, *,
                  batch_id: int | None = None) -> None:
        """Upsert the pods (their PODS keys; `batch_id` on every row when given) and replace their links.

        Values go as lists, one per row, without a dict per row (a 100,000-pod upload holds its rows once).
        """
        if isinstance(pods, Mapping):  # column by column already
            last = {pod_id: i for i, pod_id in enumerate(pods["pod_id"])}  # one row per pod: the last one wins
            keep = None if len(last) == len(pods["pod_id"]) else list(last.values())
            columns = [c for c in PODS if c in pods and not (batch_id is not None and c == "batch_id")]
            data = [pods[c] if keep is None else [pods[c][i] for i in keep] for c in columns]
            latest_ids = list(last)
        else:
            latest = list({r["pod_id"]: r for r in pods}.values())  # one row per pod: the last one wins
            given = set().union(*latest)
            columns = [c for c in PODS if c in given and not (batch_id is not None and c == "batch_id")]
            data = [[r.get(c) for r in latest] for c in columns]  # column by column: types checked in C
            latest_ids = [r["pod_id"] for r in latest]
        if latest_ids:
            data = [_json_lists(values) if {list, tuple} & set(map(type, values)) else values for values in data]
            if batch_id is not None:
                columns.append("batch_id")
                data.append([batch_id] * len(latest_ids))
            self._upsert_columns("pods", columns, data, ["pod_id"])
            self._delete_in("pod_districts", "pod_id", latest_ids)
        if len(links):
            self._insert_rows("pod_districts", list(PLACE_KEYS), rows(links[list(PLACE_KEYS)]))

    # upload batches ------------------------------------------------------------------------------

    def batches(self) -> pd.DataFrame:
        """Every upload and undo, newest first, without the stored file bytes."""
        frame = self._frame(
            "select batch_id, kind, filename, sha256, sheet, uploaded_by, uploaded_at, mapping, counts, undoes, "
            "undone_by, note from upload_batches order by batch_id desc")
        for col in ("mapping", "counts"):
            json_column(frame, col, {})
        return frame

    def batch_file(self, batch_id: int) -> tuple[str, bytes]:
        row = self._one(self._q("select filename, file_bytes from upload_batches where batch_id = ?"), [batch_id])
        if row is None or row[1] is None:
            raise StoreError(f"no stored file for batch {batch_id}")
        return row[0], bytes(row[1])

    def rejected_rows(self, batch_id: int) -> list[dict]:
        """The rows a batch rejected, with their original cells and errors, in file order."""
        return [{"row": r, "row_values": json.loads(v), "errors": json.loads(e)} for r, v, e in self._all(
            self._q('select "row", row_values, errors from rejected_rows where batch_id = ? order by "row"'),
            [batch_id])]

    def pod_ids(self) -> set[str]:
        return {r[0] for r in self._all("select pod_id from pods")}

    # reads -------------------------------------------------------------------------------------

    def meta(self) -> dict:
        return {k: json.loads(v) for k, v in self._all("select key, value from meta")}

    def revision(self) -> int:
        """A number every write bumps: cached loaders (in every app replica) key on it."""
        row = self._one("select value from meta where key = 'revision'")
        return int(json.loads(row[0])) if row else 0

    def state_list(self) -> pd.DataFrame:
        """States that have districts in the store: `districts` with a boundary polygon, `no_boundary`
        agencies without one (charters, service and state agencies), and the boundary vintage."""
        return self._frame(
            "select s.state_fips, s.state, s.state_name, count(d.geometry) as districts, "
            "count(d.leaid) - count(d.geometry) as no_boundary, max(d.vintage) as vintage "
            "from states s join districts d on d.state_fips = s.state_fips "
            "group by s.state_fips, s.state, s.state_name order by s.state")

    def states(self, *, geometry: bool = True) -> gpd.GeoDataFrame | pd.DataFrame:
        """Every state row in the store (display geometry when asked)."""
        cols = "state_fips, state, state_name" + (f", {self._geom('display')} as display" if geometry else "")
        frame = self._frame(f"select {cols} from states order by state")
        return to_geo(frame, "display") if geometry else frame

    def districts(self, *, state_fips: Iterable[str] | None = None, layers: Iterable[str] | None = None,
                  geometry: str | None = "display", include_filler: bool = False,
                  leaids: Iterable[str] | None = None, unbounded: bool | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
        """Districts with every measure joined and `has_boundary` (1/0). `geometry` is 'display'
        (300 m, 5 decimals), 'national' (2 km, 3 decimals, for a map of the whole nation), 'full' or None.

        Every agency ELSI lists is a row; those without a boundary polygon (charters, service and
        state agencies: `layer` from their agency type) have no geometry, area or interior point.
        `unbounded` says whether they come back: by default only when no geometry is asked for,
        so a map or spatial join never meets an empty geometry.
        """
        if geometry not in ("display", "national", "full", None):
            raise ValueError(f"geometry {geometry!r} is not one of 'display', 'national', 'full', None")
        if geometry == "national" and "national" not in self._column_names("districts"):
            return self._national_at_run_time(state_fips=state_fips, layers=layers, include_filler=include_filler,
                                              leaids=leaids, unbounded=unbounded)
        where, params = self._in_filters((("d.state_fips", state_fips), ("d.layer", layers), ("d.leaid", leaids)))
        if not include_filler:
            where.append("d.is_filler = 0")
        if not (geometry is None if unbounded is None else unbounded):
            where.append("d.geometry is not null")
        column = {"display": "d.display", "national": "d.national", "full": "d.geometry"}.get(geometry)
        geom = f", {self._geom(column)} as geom" if column else ""
        frame = self._frame(self._q(
            f"select {_DISTRICT_READ}, case when d.geometry is null then 0 else 1 end as has_boundary, m.*{geom} "
            "from districts d left join district_measures m on m.leaid = d.leaid" + self._where(where)
            + " order by d.leaid"), params)
        frame = frame.loc[:, ~frame.columns.duplicated()]
        return to_geo(frame, "geom") if geometry else frame

    def national_districts(self) -> gpd.GeoDataFrame:
        """Every unified + elementary district of the store with its national display geometry and
        measures: what a map of every district of the nation draws (`explore.national_district_view`)."""
        return self.districts(layers=["unified", "elementary"], geometry="national")

    def _national_at_run_time(self, **filters) -> gpd.GeoDataFrame:
        """`districts(geometry="national")` for a store built before the build made the `national`
        column: made now from the display geometry (`geo.national_geometry`, seconds nationally)."""
        from podgeo import geo  # pure functions; the store only hands them its districts

        return geo.national_geometry(self.districts(geometry="display", **filters))

    def measure_catalog(self) -> pd.DataFrame:
        return self._frame(f"select {self._columns('measure_catalog')} from measure_catalog "
                           f"order by {self._INSERTION_ORDER}")

    def sites(self, *, kinds: Iterable[str] | None = None, states: Iterable[str] | None = None) -> gpd.GeoDataFrame:
        """Candidate hub sites (libraries, schools) as points, with the LEAIDs they fall in."""
        where, params = self._in_filters((("s.kind", kinds), ("s.state", states)))
        query = (f"select {self._columns('sites', 's')}, {self._leaid_list('site_districts', 'site_id', 's')} "
                 "as leaids from sites s" + self._where(where) + " order by s.site_id")
        return points(self._frame(self._q(query), params))

    def pods(self) -> gpd.GeoDataFrame:
        """Every pod with its list columns decoded and the LEAIDs it falls in."""
        frame = self._frame(f"select {self._columns('pods', 'p')}, {self._leaid_list('pod_districts', 'pod_id', 'p')} "
                            "as leaids from pods p order by p.name, p.pod_id")
        for col in ("priority_groups", "supports", "languages"):
            json_column(frame, col, [])
        return points(frame)

    def place_districts(self, kind: str) -> pd.DataFrame:
        """(id, leaid, layer) for 'pods' or 'sites': which districts each point falls in."""
        if kind not in ("pods", "sites"):
            raise ValueError(f"place kind {kind!r} is not one of ['pods', 'sites']")
        table, key = {"pods": ("pod_districts", "pod_id"), "sites": ("site_districts", "site_id")}[kind]
        return self._frame(f"select {key}, leaid, layer from {table} order by {key}, leaid")

    def demand_points(self, kind: str, state_fips: Iterable[str] | str | None = None) -> gpd.GeoDataFrame:
        """Demand points of one kind ('schools' or 'tracts') as EPSG:4326 points, optionally for some states.

        District interior points are not stored: `podgeo.demand.district_points` makes them from
        the districts table when asked.
        """
        if kind not in DEMAND_KINDS:
            raise ValueError(f"demand kind {kind!r} is not one of {list(DEMAND_KINDS)}")
        where, params = self._in_filters((("state_fips", state_fips),))
        frame = self._frame(self._q(f"select {self._columns('demand_points')} from demand_points where kind = ?"
                                    + "".join(f" and {w}" for w in where) + " order by demand_id"), [kind, *params])
        if frame.empty:
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in DEMAND_POINTS})
        for column, kind_ in DEMAND_POINTS.items():
            if kind_ is float:  # NULL counts come back as None: NaN, so sums and weights work
                frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        return points(frame)

    def provenance(self) -> pd.DataFrame:
        frame = self._frame(f"select {self._columns('provenance')} from provenance order by source_key")
        frame["unjoined_reasons"] = frame["unjoined_reasons"].map(lambda v: json.loads(v) if v else {})
        return frame

    # cohorts ------------------------------------------------------------------------------------

    def create_cohort(self, name: str, leaids: Iterable[str], *, created_by: str | None = None,
                      source: str | None = None, note: str | None = None) -> int:
        """Save a named set of districts in one transaction; returns its id. StoreError when the name
        is empty or taken, there are no districts, or a LEAID is not in the store (naming it)."""
        name = one_name(name)
        members = list(dict.fromkeys(str(v) for v in leaids))
        if not name:
            raise StoreError("a cohort needs a name")
        if not members:
            raise StoreError(f"cohort {name!r} has no districts")
        with self._write():
            if self._exists("cohorts", "name", name):
                raise StoreError(f"there is already a cohort named {name!r}; choose another name or delete it first")
            self._require_districts(members, f"cohort {name!r}")
            cohort_id = self._insert_next("cohorts", "cohort_id", {"name": name, "created_by": created_by,
                                                                   "created_at": now(), "source": source, "note": note})
            self._insert_rows("cohort_members", ["cohort_id", "leaid"], [[cohort_id, v] for v in members])
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
        if not self._exists("cohorts", "cohort_id", cohort_id):
            raise StoreError(f"no cohort {cohort_id}")
        return [r[0] for r in self._all(self._q(
            "select leaid from cohort_members where cohort_id = ? order by leaid"), [cohort_id])]

    def delete_cohort(self, cohort_id: int) -> None:
        self._delete_with_rows("cohorts", "cohort_members", "cohort_id", cohort_id, f"no cohort {cohort_id}")

    # district attribute layers ----------------------------------------------------------------------

    def save_attribute_layer(self, layer: dict, values: pd.DataFrame, *, replaces: int | None = None) -> int:
        """Write a layer and all its values in one transaction; returns the layer id.

        `layer` has name, filename, sha256, file_bytes, sheet, uploaded_by, key, columns (list of
        dicts), counts (dict), rejected (list of dicts); `values` has leaid, column, value (text).
        `replaces` keeps that layer's id (so shared links still work), bumps its version and swaps
        every value. StoreError when the name is taken by another layer or a LEAID is unknown.
        """
        record = {k: (json.dumps(v) if k in ("columns", "counts", "rejected") and not isinstance(v, str) else v)
                  for k, v in layer.items() if k in ATTRIBUTE_LAYERS and k not in ("layer_id", "version")}
        name = one_name(record.get("name"))
        if not name:
            raise StoreError("an attribute layer needs a name")
        record.update(name=name, uploaded_at=now())
        rows = records(values[["leaid", "column", "value"]]) if len(values) else []
        with self._write():
            clash = self._one(self._q("select layer_id from attribute_layers where name = ? "
                                      "and layer_id is distinct from ?"), [name, replaces])
            if clash:
                raise StoreError(f"there is already an attribute layer named {name!r} (layer {clash[0]}); "
                                 "replace that layer or choose another name")
            self._require_districts(sorted({r["leaid"] for r in rows}), f"attribute layer {name!r}")
            if replaces is None:
                layer_id = self._insert_next("attribute_layers", "layer_id", {**record, "version": 1})
            else:
                old = self._one(self._q("select version from attribute_layers where layer_id = ?"), [replaces])
                if old is None:
                    raise StoreError(f"no attribute layer {replaces} to replace")
                layer_id = int(replaces)
                self._delete_in("attribute_values", "layer_id", [layer_id])
                self._update("attribute_layers", "layer_id", layer_id, {**record, "version": int(old[0] or 1) + 1})
            if rows:
                self._insert_rows("attribute_values", ["layer_id", "leaid", "column", "value"],
                                  [[layer_id, r["leaid"], r["column"], r["value"]] for r in rows])
            self._bump_revision()
        return layer_id

    def attribute_layers(self) -> pd.DataFrame:
        """Every attribute layer with its provenance (no file bytes), `columns`/`counts`/`rejected` decoded."""
        frame = self._frame(
            "select l.layer_id, l.name, l.filename, l.sha256, l.sheet, l.uploaded_by, l.uploaded_at, l.key, "
            "l.columns, l.counts, l.rejected, l.version, (select count(distinct leaid) from attribute_values v "
            "where v.layer_id = l.layer_id) as districts from attribute_layers l order by l.layer_id")
        for col, empty in (("columns", []), ("counts", {}), ("rejected", [])):
            json_column(frame, col, empty)
        return frame

    def attribute_values(self, *, layer_ids: Iterable[int] | None = None,
                         leaids: Iterable[str] | None = None) -> pd.DataFrame:
        """(layer_id, leaid, column, value) rows, values as stored text, for some layers and/or districts."""
        where, params = self._in_filters((("layer_id", layer_ids), ("leaid", leaids)))
        return self._frame(self._q('select layer_id, leaid, "column", value from attribute_values'
                                   + self._where(where) + ' order by layer_id, leaid, "column"'), params)

    def attribute_file(self, layer_id: int) -> tuple[str, bytes]:
        row = self._one(self._q("select filename, file_bytes from attribute_layers where layer_id = ?"), [layer_id])
        if row is None or row[1] is None:
            raise StoreError(f"no stored file for attribute layer {layer_id}")
        return row[0], bytes(row[1])

    def delete_attribute_layer(self, layer_id: int) -> None:
        self._delete_with_rows("attribute_layers", "attribute_values", "layer_id", layer_id,
                               f"no attribute layer {layer_id}")

    # saved column mappings ------------------------------------------------------------------------

    def save_column_mapping(self, name: str, mapping: dict, *, headers: Iterable[str],
                            saved_by: str | None = None) -> dict:
        """Save (or replace, by name) a confirmed {sheet column: pod field or None} mapping for sheets
        with these headers; returns it as `column_mapping` would. StoreError for a bad mapping."""
        record = mapping_record(name, mapping, headers=headers, saved_by=saved_by)
        with self._write():
            if not self._has_table("column_mappings"):  # a store built before saved mappings
                self._create_table("column_mappings")
            self._upsert_rows("column_mappings", [record], ["name"])
            self._bump_revision()
        return mapping_out(record)

    def column_mapping(self, name: str) -> dict:
        """The mapping saved under `name` (name, signature, headers, mapping, saved_by, saved_at);
        StoreError naming the saved ones when there is none."""
        rows = self._mapping_rows("where name = ?", [one_name(name)])
        if not rows:
            raise unknown_mapping(name, [r["name"] for r in self._mapping_rows()])
        return rows[0]

    def find_column_mapping(self, signature: str) -> dict | None:
        """The newest mapping saved for sheets with this `header_signature`, or None."""
        rows = self._mapping_rows("where signature = ?", [signature])
        return rows[0] if rows else None

    def column_mappings(self) -> list[dict]:
        """Every saved mapping, newest first."""
        return self._mapping_rows()

    def _mapping_rows(self, where: str = "", params: list = ()) -> list[dict]:
        if not self._has_table("column_mappings"):
            return []
        return [mapping_out(r) for r in self._dicts(self._q(
            f"select {', '.join(COLUMN_MAPPINGS)} from column_mappings {where} order by saved_at desc, name"), params)]
