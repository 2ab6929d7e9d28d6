"""What both store backends share and no database decides: the schema as data, rows in and out,
validation of what callers hand in, and revision bookkeeping.

`store.SqliteStore` and `store_pg.PostgisStore` import this module and hold only their SQL, so
the two cannot drift on what a column is called, what a method refuses, or how a JSON column
comes back. Nothing here opens a connection.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Iterable, Mapping


class StoreError(RuntimeError):
    """The store is missing, from another version, or cannot be written; the message says which."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
