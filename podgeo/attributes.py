"""District attribute layers: a staff sheet of district facts (keyed by LEAID, or name + state)
turned into typed columns that can shade the map, filter districts and appear in profiles.

Pure: a `sheets.RawSheet` and the districts frame in, a `LayerPlan` out (what would be written,
and every rejected row with its errors) — no database, no streamlit. Types are inferred
(`infer_types`) and then confirmed or changed by the user before `plan_layer` validates every
cell against them; the store writes a plan's values in one transaction. Values are stored as
canonical text ("12.5", "3", "yes", "2020-09-01") and typed again on the way out (`wide`).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Mapping

import numpy as np
import pandas as pd

from podgeo import matching, sheets

_MATCHED = ("row", "name", "state", "leaid", "district_name", "district_state", "score", "why")
TYPES = {"number": "Number", "whole": "Whole number", "yes_no": "Yes / no", "date": "Date",
         "category": "Category", "text": "Text"}
#: types a map can shade by (numbers in classes, the rest as categories)
SHADABLE = ("number", "whole", "category", "yes_no")
NUMERIC = ("number", "whole")
#: a column with more distinct values than this is text, not a category
MAX_CATEGORIES = 20
MAX_TEXT = 500
#: a type is inferred when at least this share of a column's filled cells fit it
FIT_SHARE = 0.8
#: prefix of attribute columns joined onto a districts frame: "attr:<layer_id>:<column key>"
PREFIX = "attr"
_YES = {"yes", "y", "true"}
_NO = {"no", "n", "false"}
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%d %B %Y", "%B %d, %Y", "%b %d, %Y")


@dataclass(frozen=True)
class Column:
    """One attribute: `key` (stable, URL-safe), `label` (the sheet's header), `type` (a TYPES code)."""

    key: str
    label: str
    type: str

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "type": self.type}


@dataclass(frozen=True)
class LayerPlan:
    """What saving a layer would write: typed values per district, and the rows rejected (with why)."""

    name: str
    filename: str
    sha256: str
    data: bytes
    sheet: str | None
    key: str  # "leaid" or "name + state"
    columns: tuple[Column, ...]
    values: pd.DataFrame  # leaid, column, value (canonical text)
    rejected: tuple[sheets.RejectedRow, ...]
    ambiguous: pd.DataFrame  # row, name, state, candidates: names fitting several districts (settled or not)
    rows: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: rows found by district name: row, name, state, leaid, district_name, district_state, score, why
    matched: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(_MATCHED)))

    @property
    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "districts": int(self.values["leaid"].nunique()) if len(self.values) else 0,
                "values": len(self.values), "rejected": len(self.rejected), "columns": len(self.columns)}

    @property
    def committable(self) -> bool:
        return bool(self.name.strip()) and bool(self.columns) and self.counts["districts"] > 0

    def record(self, user: str) -> dict:
        """The layer row for `SqliteStore.save_attribute_layer` (provenance: file, sha256, who)."""
        return {"name": self.name, "filename": self.filename, "sha256": self.sha256, "file_bytes": self.data,
                "sheet": self.sheet, "uploaded_by": user, "key": self.key,
                "columns": [c.as_dict() for c in self.columns], "counts": self.counts,
                "rejected": [{"row": r.row, "values": r.values, "errors": [str(e) for e in r.errors]}
                             for r in self.rejected]}

    def rejected_table(self) -> pd.DataFrame:
        return pd.DataFrame([{"row": r.row, "errors": r.error_text, **r.values} for r in self.rejected])

    def preview(self, districts: pd.DataFrame) -> pd.DataFrame:
        """The values as they would be stored: one row per district, a column per attribute (sheet headers)."""
        if self.values.empty:
            return pd.DataFrame(columns=["leaid", "district", *(c.label for c in self.columns)])
        table = self.values.pivot(index="leaid", columns="column", values="value")
        table = table.reindex(columns=[c.key for c in self.columns])
        table = table.rename(columns={c.key: c.label for c in self.columns})
        names = dict(zip(districts["leaid"], districts["name"]))
        table.insert(0, "district", [names.get(v, "") for v in table.index])
        table.columns.name = None
        return table.reset_index()


def plan_layer(raw: sheets.RawSheet, districts: pd.DataFrame, *, name: str, data: bytes = b"",
               types: Mapping[str, str] | None = None, keys: Mapping[str, str | None] | None = None,
               states: pd.DataFrame | None = None, settled: Mapping[int, str] | None = None) -> LayerPlan:
    """Validate a sheet as an attribute layer named `name`.

    `keys` says which columns hold the LEAID or the district name and state (default: found from
    the headers, `matching.key_columns`); every other column is an attribute of type `types[col]`
    (default: inferred; "skip" leaves a column out). `settled` maps a sheet row to the LEAID the
    user chose for an ambiguous name. A row is rejected, with every error named by row and
    column, when its district cannot be found (or is given twice) or a value does not fit its type.
    """
    sheets.check_district_sheet(raw)
    keys = dict(keys) if keys is not None else matching.key_columns(raw.columns)
    if not keys.get("leaid") and not keys.get("name"):
        raise sheets.SheetError(f"{raw.filename}: no column holds the district: name one 'LEAID', or give "
                                "'District name' and 'State' columns")
    key_cols = {c for c in keys.values() if c}
    attr_cols = [c for c in raw.columns if c not in key_cols]
    chosen = {**infer_types(raw, attr_cols), **{k: v for k, v in (types or {}).items() if k in attr_cols}}
    bad = {c: t for c, t in chosen.items() if t not in TYPES and t != "skip"}
    if bad:
        raise ValueError(f"unknown type(s) {bad}; use one of {list(TYPES)} or 'skip'")
    columns = _columns([c for c in attr_cols if chosen[c] != "skip"], chosen)
    if not columns:
        raise sheets.SheetError(f"{raw.filename}: no attribute columns besides the district key")
    leaids, key_errors, ambiguous, matched = _resolve(raw, districts, keys, states, settled or {})
    values, rejected, first = [], [], {}
    for number, cells in raw.records():
        errors = list(key_errors.get(number, []))
        leaid = leaids.get(number)
        if leaid is not None and leaid in first:
            column = keys.get("leaid") or keys.get("name")
            errors.append(sheets.RowError(number, column, cells[column], "duplicate",
                                          f"same district ({leaid}) as row {first[leaid]}; only the first is kept"))
        row_values = []
        for col in columns:
            text = _clean(cells[col.label])
            if not text:
                continue
            try:
                row_values.append({"leaid": leaid, "column": col.key, "value": _parse(text, col.type)})
            except ValueError as exc:
                errors.append(sheets.RowError(number, col.label, text, col.type, str(exc)))
        if errors:
            rejected.append(sheets.RejectedRow(number, dict(cells), tuple(errors)))
            continue
        first[leaid] = number
        values += row_values
    notes = list(raw.notes)
    if keys.get("leaid"):
        key = "leaid"
    else:
        key = "name + state"
        notes.append(f"districts found by name ({keys['name']}) and state ({keys.get('state') or 'any state'})")
    frame = pd.DataFrame(values, columns=["leaid", "column", "value"])
    return LayerPlan(" ".join(str(name or "").split()), raw.filename, hashlib.sha256(data).hexdigest(), data,
                     raw.sheet, key, tuple(columns), frame, tuple(rejected), ambiguous, len(raw.rows), tuple(notes),
                     matched)


def infer_types(raw: sheets.RawSheet, columns: list[str] | None = None) -> dict[str, str]:
    """A TYPES code per column from its filled cells: yes/no, whole number, number, date, then
    category (at most MAX_CATEGORIES distinct short values), else text. The user confirms."""
    sheets.check_district_sheet(raw)
    out = {}
    for col in columns if columns is not None else raw.columns:
        i = raw.columns.index(col)
        cells = [_clean(r[i]) for r in raw.rows]
        out[col] = _infer([c for c in cells if c and not c.startswith("=")])
    return out


def wide(layers: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """One row per district (`leaid`), one typed column per attribute, named `column_id(...)`:
    numbers as floats, yes/no, dates and categories as text."""
    if values.empty:
        return pd.DataFrame({"leaid": pd.Series(dtype=object)})
    types = {column_id(row.layer_id, c["key"]): c["type"] for row in layers.itertuples() for c in row.columns}
    frame = values.assign(id=[column_id(lid, key) for lid, key in zip(values["layer_id"], values["column"])])
    table = frame.pivot(index="leaid", columns="id", values="value")
    for col in table.columns:
        if types.get(col) in NUMERIC:
            table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
        else:
            table[col] = table[col].astype(object).where(table[col].notna(), None)
    table.columns.name = None
    return table.reset_index()


def catalog(layers: pd.DataFrame) -> pd.DataFrame:
    """Every attribute column of every layer: id, layer_id, layer, key, label, type, shadable."""
    rows = [{"id": column_id(row.layer_id, c["key"]), "layer_id": row.layer_id, "layer": row.name, "key": c["key"],
             "label": f"{c['label']} ({row.name})", "type": c["type"], "shadable": c["type"] in SHADABLE}
            for row in layers.itertuples() for c in row.columns]
    return pd.DataFrame(rows, columns=["id", "layer_id", "layer", "key", "label", "type", "shadable"])


def column_id(layer_id, key: str) -> str:
    """The name an attribute column gets when joined onto districts (and in URLs): attr:3:recovery_stage."""
    return f"{PREFIX}:{int(layer_id)}:{key}"


def join(districts: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """`districts` with the attribute columns of `wide(...)` added (missing where a layer has no row)."""
    if table.empty or len(table.columns) <= 1:
        return districts.copy()
    return districts.merge(table, on="leaid", how="left")


def filter_districts(districts: pd.DataFrame, column: str, value: str) -> pd.DataFrame:
    """The districts whose attribute `column` equals `value` (compared as text: '3' matches 3.0)."""
    if column not in districts.columns:
        known = [c for c in districts.columns if str(c).startswith(PREFIX)]
        raise ValueError(f"no attribute column {column!r} (known: {known})")
    return districts[districts[column].map(_as_text) == str(value)].copy()


def filter_values(districts: pd.DataFrame, column: str) -> list[str]:
    """The distinct values of an attribute column as text, in order (numbers numerically)."""
    series = districts[column].dropna() if column in districts.columns else pd.Series(dtype=object)
    if pd.api.types.is_numeric_dtype(series):
        return [_as_text(v) for v in sorted(series.unique())]
    return sorted({_as_text(v) for v in series})


def profile_rows(leaid: str, layers: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """A district's attribute values, one row each: layer, attribute, value, type, file, uploaded."""
    mine = values[values["leaid"] == leaid]
    labels = {(row.layer_id, c["key"]): (c["label"], c["type"]) for row in layers.itertuples() for c in row.columns}
    meta = layers.set_index("layer_id") if len(layers) else layers
    rows = []
    for v in mine.itertuples():
        label, kind = labels.get((v.layer_id, v.column), (v.column, "text"))
        layer = meta.loc[v.layer_id]
        rows.append({"layer": layer["name"], "attribute": label, "value": v.value, "type": TYPES.get(kind, kind),
                     "file": layer["filename"], "uploaded": f"{layer['uploaded_at']} by {layer['uploaded_by']}"})
    return pd.DataFrame(rows, columns=["layer", "attribute", "value", "type", "file", "uploaded"])


def layer_table(layers: pd.DataFrame) -> pd.DataFrame:
    """The layers for a provenance table: name, columns with types, districts, file, sha256, who, when."""
    return pd.DataFrame({
        "layer": layers["name"], "version": layers["version"],
        "columns": layers["columns"].map(lambda cols: ", ".join(f"{c['label']} ({TYPES.get(c['type'], c['type'])})"
                                                                for c in cols)),
        "districts": layers["districts"], "rejected rows": layers["rejected"].map(len),
        "file": layers["filename"], "sha256": layers["sha256"].map(lambda s: (s or "")[:12]),
        "uploaded by": layers["uploaded_by"], "uploaded at": layers["uploaded_at"]})


# ---------------------------------------------------------------------------------------------


def _resolve(raw, districts, keys, states, settled):
    """Row -> LEAID, row -> [RowError], the ambiguous names (for the user to settle) and the rows
    matched by name (with score and why, for the user to check)."""
    known = set(districts["leaid"].astype(str))
    leaids, errors = {}, {}
    if keys.get("leaid"):
        col = keys["leaid"]
        for number, cells in raw.records():
            leaid = matching.clean_leaid(cells[col])
            if leaid is None:
                errors[number] = [sheets.RowError(number, col, cells[col], "leaid", "not a 7-digit NCES LEAID")]
            elif leaid not in known:
                errors[number] = [sheets.RowError(number, col, cells[col], "unknown_district",
                                                  f"no district with LEAID {leaid} in the store")]
            else:
                leaids[number] = leaid
        return leaids, errors, pd.DataFrame(columns=["row", "name", "state", "candidates"]), pd.DataFrame(
            columns=list(_MATCHED))
    name_col, state_col = keys["name"], keys.get("state")
    records = list(raw.records())
    found = matching.match_districts([(c[name_col], c[state_col] if state_col else None) for _, c in records],
                                     districts, states=states, rows=[n for n, _ in records])
    leaids.update(dict(zip(found.matched["row"], found.matched["leaid"])))
    for r in found.unmatched.itertuples():
        errors[r.row] = [sheets.RowError(r.row, name_col, r.name, "unmatched", r.reason)]
    for r in found.ambiguous.itertuples():
        choice = settled.get(r.row)
        if choice in set(r.candidates["leaid"]):
            leaids[r.row] = choice
        else:
            options = "; ".join(f"{c.leaid} {c.name} ({c.state})" for c in r.candidates.head(5).itertuples())
            errors[r.row] = [sheets.RowError(r.row, name_col, r.name, "ambiguous",
                                             f"'{r.name}' fits {len(r.candidates)} districts ({options}): "
                                             "choose one, or give the LEAID")]
    return leaids, errors, found.ambiguous, found.matched


def _columns(labels: list[str], types: Mapping[str, str]) -> list[Column]:
    out, seen = [], set()
    for i, label in enumerate(labels):
        base = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40] or f"column_{i + 1}"
        key, n = base, 2
        while key in seen:
            key, n = f"{base}_{n}", n + 1
        seen.add(key)
        out.append(Column(key, label, types[label]))
    return out


def _infer(cells: list[str]) -> str:
    """The most specific type most cells (FIT_SHARE) fit, so a few bad cells become row errors
    naming them instead of silently turning the column into text."""
    if not cells:
        return "text"
    n = len(cells)
    if sum(c.lower() in _YES | _NO for c in cells) >= FIT_SHARE * n:
        return "yes_no"
    numbers = [v for v in (_number(c) for c in cells) if v is not None]
    if len(numbers) >= FIT_SHARE * n:
        return "whole" if all(float(v).is_integer() for v in numbers) else "number"
    if sum(_fits(c, "date") for c in cells) >= FIT_SHARE * n:
        return "date"
    if len(set(cells)) <= MAX_CATEGORIES and max(len(c) for c in cells) <= 60:
        return "category"
    return "text"


def _fits(text: str, kind: str) -> bool:
    try:
        _parse(text, kind)
        return True
    except ValueError:
        return False


def _parse(text: str, kind: str) -> str:
    """Canonical text for one cell of a column of type `kind`; ValueError saying what is wrong."""
    if text.startswith("="):
        raise ValueError("formulas are not evaluated: type the value itself")
    if kind in NUMERIC:
        number = _number(text)
        if number is None:
            raise ValueError(f"'{_short(text)}' is not a number")
        if kind == "whole":
            if not float(number).is_integer():
                raise ValueError(f"'{_short(text)}' is not a whole number")
            return str(int(number))
        return repr(float(number))
    if kind == "yes_no":
        low = text.lower()
        if low in _YES:
            return "yes"
        if low in _NO:
            return "no"
        raise ValueError(f"'{_short(text)}' is not yes or no")
    if kind == "date":
        return _date(text).isoformat()
    if len(text) > MAX_TEXT:
        raise ValueError(f"text is too long ({len(text):,} characters; at most {MAX_TEXT})")
    return text


def _number(text: str) -> float | None:
    t = text.replace(",", "").replace("$", "").strip()
    t = t[:-1].strip() if t.endswith("%") else t
    try:
        value = float(t)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _date(text: str) -> date:
    t = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?", t):
        t = t[:10]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"'{_short(text)}' is not a date (use YYYY-MM-DD)")


def _clean(text) -> str:
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", " ".join(str(text or "").split()))


def _as_text(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
