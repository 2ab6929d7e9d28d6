"""Pods into the store: a validated sheet's rows, geocoded, placed in their districts, committed.

Shared by the build (the illustrative sample), the upload page and `python -m podgeo import`,
so all three take the same path: `sheets` validates, `geocode` fills missing coordinates,
`geo` places, `store` writes one atomic, undoable batch.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import geopandas as gpd
import pandas as pd

from podgeo import directory, gcpause, geo, geocode, sheets, vocab
from podgeo.sheets import columns, judge
from podgeo.store import REPO, SqliteStore, header_signature

TEMPLATE_DIR = REPO / "data"


@dataclass
class UploadPlan:
    """What an upload would do, before anything is written: the preview the user approves."""

    filename: str
    data: bytes
    raw: sheets.RawSheet
    validation: sheets.Validation
    fixed: tuple[sheets.Fix, ...] = ()  # offered fixes the user accepted (already in `raw`)
    mapping_source: str = "suggested from the headers"  # or "given", "saved mapping 'X'"
    values: tuple[judge.ValueIssue, ...] = ()  # the value table: distinct values that fit no term
    fixed_values: tuple[judge.ValueIssue, ...] = ()  # value-table suggestions accepted (applied to every row)
    sha256: str = field(init=False)

    def __post_init__(self):
        self.sha256 = hashlib.sha256(self.data).hexdigest()

    @property
    def counts(self) -> dict[str, int]:
        return {**self.validation.counts, "fixed": len(self.fixed)}

    @property
    def committable(self) -> bool:
        return bool(self.validation.valid)

    def preview(self, limit: int | None = None) -> pd.DataFrame:
        """Valid rows as people read them: labelled columns, codes spelt out, blanks (not None) for missing,
        with the action each will take and whether it needs geocoding; the first `limit` rows if given."""
        rows = []
        for v in self.validation.valid[:limit]:
            fields = directory.detail(pd.Series({k: v.pod[k] for k in sheets.POD_FIELDS}, dtype=object))
            rows.append({"Row": v.row, "Action": "new" if v.action == "insert" else "update",
                         "Geocode": "yes" if v.needs_geocode else "", **dict(zip(fields["field"], fields["value"]))})
        return pd.DataFrame(rows)

    def rejected(self, limit: int | None = None) -> pd.DataFrame:
        """Rejected rows: the row number, every error, then the file's own cells (its headers kept as they are)."""
        return pd.DataFrame([{"Row": r.row, "Errors": r.error_text, **_file_cells(r.values)}
                             for r in self.validation.rejected[:limit]])


def _file_cells(values: dict) -> dict:
    """A rejected row's cells keyed by the file's headers; a header that clashes with Row/Errors is marked."""
    return {(f"{k} (file)" if k in ("Row", "Errors") else k): v for k, v in values.items()}


@gcpause.paused
def plan_upload(store: SqliteStore, data: bytes, filename: str, *, sheet: str | None = None,
                mapping: Mapping[str, str | None] | None = None, state: str | None = None,
                max_bytes: int = sheets.MAX_BYTES, accept_fixes: bool = False,
                raw: sheets.RawSheet | None = None, encoding: str | None = None,
                overrides: Mapping[str, str | None] | None = None,
                saved: str | None = None, values: Mapping[str, Mapping[str, str | None]] | None = None,
                keep: Iterable[str] = ()) -> UploadPlan:
    """Read and validate an upload against the store's pods (existing ids become updates).

    The mapping is `mapping` when given (the page's edited table); else the mapping saved as
    `saved`, else one saved for sheets with these headers (the same partner's last upload), else
    the suggestion from the headers; `overrides` ({column: field}, from --map or a mapping file)
    then wins over it. `values` and `keep` are the value table's choices and the unfit columns to
    keep anyway (see `sheets.validate`). `accept_fixes` applies every fix validation offers
    (swapped lat/lon, longitude sign, the value table's suggested terms) and validates again.
    `raw` skips re-reading when the caller already read `data`; `encoding` forces a CSV's text
    encoding. Raises SheetError (naming the file) when the file as a whole cannot be used.
    """
    if raw is None:
        raw = sheets.read_sheet(data, filename, sheet=sheet, max_bytes=max_bytes, encoding=encoding)
    chosen, source = choose_mapping(store, raw, mapping=mapping, overrides=overrides, saved=saved)
    keep = set(keep) | {f for f in (overrides or {}).values() if f}  # a column the user mapped by name is kept
    existing = store.pod_ids()
    values = {f: dict(v) for f, v in (values or {}).items()}
    validation = sheets.validate(raw, chosen, existing_ids=existing, state=state, values=values, keep=keep)
    issues = judge.value_table(raw, chosen)
    fixed: tuple[sheets.Fix, ...] = ()
    fixed_values: tuple[judge.ValueIssue, ...] = ()
    if accept_fixes:
        unfit = {j.field for j in validation.judged}  # its values are not terms: suggestions would reject rows
        fixed_values = tuple(i for i in issues if i.suggestion and i.field not in unfit
                             and i.value not in values.get(i.field, {}))
        for field_name, chosen_values in judge.suggested_values(fixed_values).items():
            values[field_name] = {**chosen_values, **values.get(field_name, {})}
        if fixed_values:
            validation = sheets.validate(raw, chosen, existing_ids=existing, state=state, values=values, keep=keep)
        if validation.fixes:
            fixed = validation.fixes
            raw = sheets.apply_fixes(raw, fixed)
            validation = sheets.validate(raw, chosen, existing_ids=existing, state=state, values=values, keep=keep)
    return UploadPlan(filename, data, raw, validation, fixed, source, issues, fixed_values)


def choose_mapping(store, raw: sheets.RawSheet, *, mapping: Mapping[str, str | None] | None = None,
                   overrides: Mapping[str, str | None] | None = None,
                   saved: str | None = None) -> tuple[dict[str, str | None], str]:
    """The mapping an upload uses and where it came from (see `plan_upload`); SheetError/StoreError name misfits."""
    if mapping is not None:
        base, source = dict(mapping), "given"
    elif saved:
        record = store.column_mapping(saved)
        base = columns.resolve_mapping(raw.columns, record["mapping"], base={}, where=f"saved mapping {saved!r}")
        source = f"saved mapping {record['name']!r}"
    else:
        record = remembered_mapping(store, raw.columns)
        if record:
            base = columns.resolve_mapping(raw.columns, record["mapping"], base={}, where=f"saved mapping "
                                           f"{record['name']!r}")
            source = f"saved mapping {record['name']!r} (same headers as this sheet)"
        else:
            base, source = sheets.suggest_mapping(raw.columns), "suggested from the headers"
    if overrides:
        base = columns.resolve_mapping(raw.columns, overrides, base=base, where="the mapping given")
        source += ", with the columns given"
    return base, source


def remembered_mapping(store, headers: Iterable[str]) -> dict | None:
    """The mapping last confirmed for sheets with these headers (order, case and spacing aside), or None."""
    try:
        signature = header_signature(headers)
    except ValueError:
        return None
    return store.find_column_mapping(signature)


def remember_mapping(store, plan: UploadPlan, *, name: str | None = None, user: str | None = None) -> dict:
    """Save the mapping `plan` used under `name` for this partner's next upload (found again by its headers)."""
    # by default the file's name and its headers' signature: two partners' "pods.csv" stay two mappings
    name = name or f"{plan.filename.rsplit('.', 1)[0]} ({header_signature(plan.raw.columns)[:8]})"
    return store.save_column_mapping(name, plan.validation.mapping, headers=plan.raw.columns, saved_by=user)


def mapping_lines(plan: UploadPlan) -> list[str]:
    """The mapping used, one line a column, for the command line: 'Column' -> field (or not imported)."""
    judged = {j.column for j in plan.validation.judged}
    width = min(40, max((len(c) for c in plan.raw.columns), default=0) + 2)
    out = [f"mapping ({plan.mapping_source}):"]
    for column in plan.raw.columns:
        target = plan.validation.mapping.get(column)
        shown = target or ("not imported (few values fit)" if column in judged else "not imported")
        out.append(f"  {repr(column):{width}} -> {shown}")
    return out


def fix_lines(plan: UploadPlan) -> list[str]:
    """What --accept-fixes changed, one line each: terms replaced in every row with them, then each row's fix."""
    out = []
    for issue in plan.fixed_values:
        out.append(f"fixed {issue.field.replace('_', ' ')}: '{issue.value}' -> '{issue.suggestion_label}' "
                   f"in {issue.rows:,} row(s) of column '{issue.column}'")
    for fix in plan.fixed:
        changes = "; ".join(f"{column} = {text}" for column, text in fix.changes)
        out.append(f"fixed row {fix.row} ({fix.rule.replace('_', ' ')}): {changes}")
    return out


def value_lines(plan: UploadPlan, limit: int = 20) -> list[str]:
    """The value table for the command line: each distinct value that fits no term once, with its suggestion."""
    accepted = {(i.field, i.value) for i in plan.fixed_values}
    issues = [i for i in plan.values if (i.field, i.value) not in accepted]
    out = [f"value '{i.value}' in column '{i.column}' ({i.rows:,} row(s)) fits no {i.field.replace('_', ' ')} term"
           + (f"; suggested: '{i.suggestion_label}' (--accept-fixes applies it)" if i.suggestion else "")
           for i in issues[:limit]]
    if len(issues) > limit:
        out.append(f"... and {len(issues) - limit:,} more values that fit no term")
    return out


def value_table(plan: UploadPlan) -> pd.DataFrame:
    """The value table as the page shows it: one row per distinct value that fits no term, with its suggestion
    and an editable `choice` (the suggestion to start with; blank leaves the value out of those rows)."""
    return pd.DataFrame([{"field": i.field, "column": i.column, "value": i.value, "rows": i.rows,
                          "suggestion": i.suggestion_label or None, "choice": i.suggestion_label or None}
                         for i in plan.values], columns=["field", "column", "value", "rows", "suggestion", "choice"])


def values_from_table(table: pd.DataFrame) -> dict[str, dict[str, str | None]]:
    """The edited value table back to choices for `plan_upload(values=...)`: a label or code per value, blank = empty.

    A choice that names no term is refused with the field, the value and the allowed labels.
    """
    out: dict[str, dict[str, str | None]] = {}
    for field_name, value, choice in zip(table["field"], table["value"], table["choice"]):
        if not isinstance(choice, str) or not choice.strip():
            out.setdefault(field_name, {})[value] = None
            continue
        terms = judge.VOCAB_COLUMNS[field_name]
        code = vocab.normalise(choice, terms)
        if code is None:
            raise ValueError(f"{field_name} value {value!r}: {choice!r} is not one of "
                             f"{', '.join(t.label for t in terms)}")
        out.setdefault(field_name, {})[value] = code
    return out


@gcpause.paused
def commit_upload(store: SqliteStore, plan: UploadPlan, *, user: str, geocoder_url: str | None = None,
                  use_geocoder: bool = True, progress: Callable[[int, int], None] | None = None) -> int:
    """Geocode the rows that need it, place every pod, and write the batch in one transaction.

    Rows the geocoder cannot place (or when it cannot be reached) are kept as "not geocoded",
    linked to their partner district when the sheet names one. Never drops a row. Returns the
    new batch id; raises SheetError when the plan has no valid row.
    """
    if not plan.committable:
        raise sheets.SheetError(f"{plan.filename}: no valid row to commit ({plan.counts['rejected']} rejected)")
    # Column by column, never a dict per row: a 100,000-row plan's pods as dicts took ~100 MB.
    table = plan.validation.pod_columns()
    table["geocode_status"] = ["provided" if lat is not None else "no_location" for lat in table["lat"]]
    _geocode(table, use_geocoder=use_geocoder, url=geocoder_url, progress=progress)
    table["illustrative"] = [0] * len(table["pod_id"])
    state_fips = _state_fips_for(store, table["state"])
    points = pd.DataFrame({"pod_id": table["pod_id"], "lon": table["lon"], "lat": table["lat"]})
    links = store.assign_points(points, id_col="pod_id", state_fips=state_fips).rename(columns={"point_id": "pod_id"})
    districts = store.districts(geometry=None, state_fips=state_fips)
    links = pd.concat([links, _partner_links(table, links, districts)], ignore_index=True)
    counts = {**plan.counts, "geocoded": sum(s == "match" for s in table["geocode_status"]),
              "not_geocoded": sum(lat is None for lat in table["lat"]),
              "placed": int(links["pod_id"].nunique()) if len(links) else 0}
    batch = {"filename": plan.filename, "sha256": plan.sha256, "file_bytes": plan.data, "sheet": plan.raw.sheet,
             "uploaded_by": user, "mapping": plan.validation.mapping, "counts": counts}
    rejected = [{"row": r.row, "row_values": r.values, "errors": [str(e) for e in r.errors]}
                for r in plan.validation.rejected]
    return store.commit_upload(batch, table, links, rejected)


def _geocode(table: dict[str, list], *, use_geocoder: bool, url: str | None, progress) -> None:
    """Fill lat/lon and geocode_status in `table` for the rows with an address and no coordinates."""
    address, lat, lon = table["address"], table["lat"], table["lon"]
    todo = [i for i, (a, y, x) in enumerate(zip(address, lat, lon)) if a and (y is None or x is None)]
    rows = [{k: table[k][i] for k in ("pod_id", "address", "city", "state", "zip", "lat", "lon", "geocode_status")}
            for i in todo]
    wanted = geocode.geocode_requests(rows)
    if not wanted:
        return
    if use_geocoder:
        results = geocode.geocode_batch(wanted, url=url, progress=progress)
    else:
        results = {r[0]: geocode.GeocodeResult(r[0], "not_geocoded", message="geocoder not used") for r in wanted}
    for i, row in zip(todo, geocode.apply_geocodes(rows, results)):
        for key in ("lat", "lon", "geocode_status"):
            table[key][i] = row[key]


@functools.lru_cache(maxsize=None)
def field_label(target: str | None) -> str:
    """A pod field (or the grade-range target) as people read it, for the mapping picker: 'capacity' -> 'Seats'."""
    if not target:
        return "— not imported"
    if target == sheets.GRADE_RANGE:
        return "Grades (a range such as K-5)"
    fields = directory.detail(pd.Series({target: None}, dtype=object))
    return str(fields["field"].iloc[0]) if len(fields) else target


def encoding_table(data: bytes, raw: sheets.RawSheet) -> pd.DataFrame:
    """For an unsure encoding guess: the file's first non-ASCII lines as each choice reads them."""
    rows = []
    for codec in raw.encoding_choices:
        text = data.decode(codec, errors="replace")
        rows.append({"encoding": codec, "the file reads as": " | ".join(sheets.sample_lines(text, 3))})
    return pd.DataFrame(rows, columns=["encoding", "the file reads as"])


def mapping_table(raw: sheets.RawSheet, mapping: Mapping[str, str | None] | None = None) -> pd.DataFrame:
    """The mapping as the page edits it: one row per file column, an example value, the pod field (or None)."""
    mapping = sheets.suggest_mapping(raw.columns) if mapping is None else mapping
    examples = []
    for i, _ in enumerate(raw.columns):
        examples.append(next((row[i] for row in raw.rows if i < len(row) and row[i].strip()), "")[:60])
    return pd.DataFrame({"column": list(raw.columns), "example": examples,
                         "pod field": [mapping.get(c) or None for c in raw.columns]})


def mapping_from_table(table: pd.DataFrame) -> dict[str, str | None]:
    """The edited mapping table back to {file column: pod field or None}; blanks mean "not imported"."""
    out = {}
    for column, target in zip(table["column"], table["pod field"]):
        out[str(column)] = target if isinstance(target, str) and target else None
    return out


def file_key(data: bytes, sheet: str | None = None) -> str:
    """Short id of an uploaded file (and sheet), so widgets made for one file start afresh for the next."""
    return hashlib.sha256(data + b"\0" + (sheet or "").encode()).hexdigest()[:12]


def fixes_table(fixes) -> pd.DataFrame:
    """The offered fixes as rows the user can read before accepting them."""
    return pd.DataFrame([{"row": f.row, "fix": f.message,
                          "set": "; ".join(f"{column} = {text}" for column, text in f.changes)} for f in fixes],
                        columns=["row", "fix", "set"])


def batch_summary(store: SqliteStore, batch_id: int) -> str:
    """One sentence on what a committed batch did, for the page and the command line."""
    c = store.batches().set_index("batch_id").loc[batch_id, "counts"]
    return (f"Committed batch {batch_id}: {c.get('inserts', 0):,} new and {c.get('updates', 0):,} updated pods, "
            f"{c.get('placed', 0):,} placed in districts, {c.get('not_geocoded', 0):,} without coordinates, "
            f"{c.get('rejected', 0):,} rejected rows kept with their errors.")


def history(batches: pd.DataFrame) -> pd.DataFrame:
    """One display row per batch (from `store.batches()`): who, when, what, counts and undo links."""
    def count(key):
        return batches["counts"].map(lambda c: c.get(key)).astype("Int64")

    out = pd.DataFrame({
        "batch": batches["batch_id"].astype("Int64"), "kind": batches["kind"], "file": batches["filename"],
        "by": batches["uploaded_by"], "at": batches["uploaded_at"],
        "rows": count("rows"), "valid": count("valid"), "rejected": count("rejected"),
        "new": count("inserts"), "updated": count("updates"), "placed": count("placed"),
        "not_geocoded": count("not_geocoded"), "restored": count("restored"), "removed": count("removed"),
        "undoes": batches["undoes"].astype("Int64"), "undone_by": batches["undone_by"].astype("Int64")})
    return out.reset_index(drop=True)


def template_file(fmt: str) -> tuple[str, bytes]:
    """The upload template shipped in data/ (CSV or XLSX), made fresh if the file is missing."""
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"format {fmt!r}: use 'csv' or 'xlsx'")
    path = TEMPLATE_DIR / f"pods_template.{fmt}"
    if path.exists():
        return path.name, path.read_bytes()
    return path.name, sheets.template_csv() if fmt == "csv" else sheets.template_xlsx()


_HISTORY_LABELS = {"batch": "Batch", "kind": "Kind", "file": "File", "by": "By", "at": "When", "rows": "Rows",
                   "valid": "Valid", "rejected": "Rejected", "new": "New", "updated": "Updated", "placed": "Placed",
                   "not_geocoded": "Not geocoded", "restored": "Restored", "removed": "Removed",
                   "undoes": "Undoes batch", "undone_by": "Undone by batch"}


def history_display(batches: pd.DataFrame, *, staff: bool) -> pd.DataFrame:
    """`history()` as the page shows it: labelled columns, "—" where a count does not apply, and who
    uploaded or undid each batch only for staff (names are not for every viewer)."""
    table = history(batches)
    if not staff:
        table = table.drop(columns=["by"])
    for column in table.columns:
        if str(table[column].dtype) == "Int64":
            table[column] = [f"{int(v):,}" if pd.notna(v) else "—" for v in table[column]]
        else:
            table[column] = ["—" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
                             for v in table[column]]
    return table.rename(columns=_HISTORY_LABELS)


def batch_label(row: pd.Series) -> str:
    """A `history()` row as one line for a picker."""
    return f"#{row['batch']} · {row['kind']} · {row['file']} · {row['at']} · {row['by']}"


def can_undo(batches: pd.DataFrame, batch_id: int) -> bool:
    """Whether the undo button should be offered: an upload not yet undone (the store decides the rest)."""
    row = batches.set_index("batch_id").loc[batch_id]
    return row["kind"] == "upload" and pd.isna(row["undone_by"])


def rejected_file(store: SqliteStore, batch_id: int, fmt: str = "csv") -> tuple[str, bytes]:
    """A committed batch's rejected rows as a sheet to fix and upload again: (file name, bytes).

    Same columns (the file's own, then `errors`) and formula escaping as the preview's download.
    """
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"format {fmt!r}: use 'csv' or 'xlsx'")
    batch = store.batches().set_index("batch_id")
    if batch_id not in batch.index:
        raise ValueError(f"no upload batch {batch_id}")
    rows = store.rejected_rows(batch_id)
    columns = list(batch.loc[batch_id, "mapping"] or {})
    for r in rows:
        columns += [c for c in r["row_values"] if c not in columns]
    rejected = tuple(sheets.RejectedRow(r["row"], r["row_values"], tuple(r["errors"])) for r in rows)
    validation = sheets.Validation(str(batch.loc[batch_id, "filename"]), None, tuple(columns), {}, (), rejected)
    stem = Path(str(batch.loc[batch_id, "filename"])).stem
    data = sheets.rejected_to_csv(validation) if fmt == "csv" else sheets.rejected_to_xlsx(validation)
    return f"{stem}.batch{batch_id}.rejected.{fmt}", data


def read_file(path: Path, max_bytes: int = sheets.MAX_BYTES) -> bytes:
    """A sheet's bytes from disk, refusing one over the upload limit before reading it into memory."""
    size = path.stat().st_size
    if size > max_bytes:
        raise sheets.SheetError(f"{path.name}: the file is {size / 2**20:.1f} MB; the upload limit is "
                                f"{max_bytes / 2**20:.1f} MB")
    return path.read_bytes()


def load_file(store: SqliteStore, path: Path, districts: gpd.GeoDataFrame, *, source: str,
              illustrative: bool = True) -> sheets.Validation:
    """Validate a pods sheet the project ships and write it; raises SheetError if any row is rejected.

    Used by the build for the sample, which must be clean: a rejected row is a bug in the file.
    """
    raw = sheets.read_sheet(read_file(path), path.name)
    result = sheets.validate(raw, sheets.suggest_mapping(raw.columns))
    if result.rejected:
        first = result.rejected[0].errors[0]
        raise sheets.SheetError(f"{path.name}: {len(result.rejected)} row(s) rejected; first: {first}")
    rows = [{**v.pod, "illustrative": int(illustrative),
             "geocode_status": "provided" if v.pod.get("lat") is not None else "no_location"} for v in result.valid]
    store.upsert_pods(rows, place(rows, districts))
    return result


def place(rows: list[dict], districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """(pod_id, leaid, layer) for every pod with coordinates: one district per tiling layer."""
    frame = pd.DataFrame(rows, columns=["pod_id", "lon", "lat"])
    located = frame.dropna(subset=["lon", "lat"])
    if located.empty or districts.empty:
        return pd.DataFrame(columns=["pod_id", "leaid", "layer"])
    points = gpd.GeoDataFrame(located, geometry=gpd.points_from_xy(located["lon"], located["lat"]), crs="EPSG:4326")
    return geo.assign_points_to_districts(points, districts, id_col="pod_id").rename(columns={"point_id": "pod_id"})


def _state_fips_for(store: SqliteStore, states: Iterable[str | None]) -> list[str] | None:
    """FIPS codes of the states the rows name, whose districts pods are placed in (None: every state,
    when a row names none). The store places them: PostGIS in the database, SQLite with GeoPandas."""
    states = set(states)
    known = store.state_list()
    fips = dict(zip(known["state"], known["state_fips"]))
    if None in states or "" in states:
        return None
    return [fips[s] for s in states if s in fips]


def _partner_links(table: dict[str, list], links: pd.DataFrame, districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """Pods with no location keep the partner district the sheet names, so they still count there."""
    layer_of = dict(zip(districts["leaid"], districts["layer"]))
    placed = set(links["pod_id"]) if len(links) else set()
    extra = [{"pod_id": pod_id, "leaid": leaid, "layer": layer_of[leaid]}
             for pod_id, lat, leaid in zip(table["pod_id"], table["lat"], table["partner_leaid"])
             if pod_id not in placed and lat is None and leaid in layer_of]
    return pd.DataFrame(extra, columns=["pod_id", "leaid", "layer"])
