"""Spreadsheet in -> validated pod rows + row-level errors, before anything is written.

Pure: bytes in, frozen dataclasses out; no database, no streamlit, no network. The upload page
reads a sheet (`read_sheet`), shows the suggested column mapping (`suggest_mapping`) for the user
to change, validates (`validate`), offers the `fixes` it found (`apply_fixes`, then validate
again), and hands `Validation.valid` to the store. Every rejected row keeps its original values
and its errors so nothing is silently dropped; `rejected_to_csv` gives them back to fix and
re-upload.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
import unicodedata
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Iterable, Iterator, Mapping

from rapidfuzz import fuzz, process

from podgeo import vocab
from podgeo.exports import safe_cell

MAX_BYTES = 25 * 2**20
#: xlsx guard: total uncompressed size, and the largest compression ratio of any sizeable member.
MAX_UNCOMPRESSED = 100 * 2**20
MAX_RATIO = 100
MAX_ZIP_MEMBERS = 5_000
#: Pseudo-target for a "K-5" style column that fills grade_low and grade_high.
GRADE_RANGE = "grade_range"
POD_FIELDS: tuple[str, ...] = tuple(name for name, _ in vocab.POD_COLUMNS)
TARGETS: tuple[str, ...] = POD_FIELDS + (GRADE_RANGE,)

# Rule names carried by RowError.rule (the UI may group or translate by them).
RULES = {
    "required": "a name is required",
    "formula": "formulas are not evaluated: type the value itself",
    "number": "must be a number",
    "coordinates_incomplete": "latitude and longitude go together",
    "range": "latitude must be -90..90 and longitude -180..180",
    "swapped_coordinates": "latitude and longitude look swapped",
    "longitude_sign": "longitude in the US is negative (west)",
    "outside_us": "the point is outside the United States",
    "outside_state": "the point is outside the row's state",
    "location": "needs coordinates or a street address",
    "vocabulary": "not one of the allowed values",
    "grade": "not a grade (PK, K, 1-12)",
    "grade_order": "lowest grade is above highest grade",
    "whole_number": "must be a whole number of 0 or more",
    "negative": "must be 0 or more",
    "date": "not a date",
    "date_order": "closed before it opened",
    "state": "not a US state",
    "zip": "not a ZIP code",
    "leaid": "not a 7-digit NCES LEAID",
    "too_long": "text is too long",
    "duplicate": "same pod appears earlier in this file",
}

_TEXT_LIMITS = {"name": 200, "operator_name": 200, "address": 300, "city": 100, "source": 500, "notes": 5000,
                "pod_id": 64}


class SheetError(ValueError):
    """The file as a whole cannot be used; the message names the file and what was wrong."""


@dataclass(frozen=True)
class RawSheet:
    """A sheet as read: header names and every data cell as text, with row numbers as the user sees them."""

    filename: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_numbers: tuple[int, ...]
    header_row: int
    sheet: str | None = None
    sheet_names: tuple[str, ...] = ()
    encoding: str | None = None
    delimiter: str | None = None
    notes: tuple[str, ...] = ()
    skipped_rows: tuple[int, ...] = ()

    def records(self) -> Iterator[tuple[int, dict[str, str]]]:
        """(row number, {column: text}) for every data row."""
        for number, cells in zip(self.row_numbers, self.rows):
            yield number, dict(zip(self.columns, cells))


@dataclass(frozen=True)
class RowError:
    """One broken rule: `row` as numbered in the file, `column` as named in the file."""

    row: int
    column: str
    value: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Fix:
    """A correction the user may accept: set these cells (file column -> new text) in one row."""

    row: int
    changes: tuple[tuple[str, str], ...]
    rule: str
    message: str


@dataclass(frozen=True)
class ValidRow:
    """A row that passed: `pod` has every POD_COLUMNS key, in order, with normalised values."""

    row: int
    pod: dict
    action: str  # "insert" or "update" (pod_id already in existing_ids)
    needs_geocode: bool = False


@dataclass(frozen=True)
class RejectedRow:
    """A row that failed: its original cells (file column -> text) and every rule it broke."""

    row: int
    values: dict
    errors: tuple[RowError, ...]

    @property
    def error_text(self) -> str:
        return "; ".join(str(e) for e in self.errors)


@dataclass(frozen=True)
class Validation:
    """Everything the upload page shows and the store commits, for one sheet and one mapping."""

    filename: str
    sheet: str | None
    columns: tuple[str, ...]
    mapping: dict
    valid: tuple[ValidRow, ...]
    rejected: tuple[RejectedRow, ...]
    fixes: tuple[Fix, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rejected for e in r.errors]

    @property
    def pods(self) -> list[dict]:
        return [v.pod for v in self.valid]

    @property
    def inserts(self) -> list[str]:
        return [v.pod["pod_id"] for v in self.valid if v.action == "insert"]

    @property
    def updates(self) -> list[str]:
        return [v.pod["pod_id"] for v in self.valid if v.action == "update"]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": len(self.valid) + len(self.rejected),
            "valid": len(self.valid),
            "rejected": len(self.rejected),
            "inserts": len(self.inserts),
            "updates": len(self.updates),
            "needs_geocode": sum(v.needs_geocode for v in self.valid),
            "errors": len(self.errors),
            "fixes": len(self.fixes),
        }


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------


def read_sheet(data: bytes, filename: str, *, sheet: str | None = None, max_bytes: int = MAX_BYTES,
               max_uncompressed: int = MAX_UNCOMPRESSED) -> RawSheet:
    """Read a CSV/TSV or .xlsx upload into text cells, finding the header row; never evaluates formulas."""
    name = filename or "upload"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SheetError(f"{name}: expected the file's bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise SheetError(f"{name}: the file is {_size(len(data))}; the upload limit is {_size(max_bytes)}")
    if not data.strip():
        raise SheetError(f"{name}: the file is empty")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, name, sheet, max_uncompressed)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SheetError(f"{name}: old-style Excel (.xls) files are not read; save it as .xlsx or CSV")
    if name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raise SheetError(f"{name}: the name says Excel but the content is not an .xlsx workbook")
    return _read_csv(data, name)


def suggest_mapping(columns: Iterable[str]) -> dict[str, str | None]:
    """Best pod column (or GRADE_RANGE) for each file column, None when nothing fits well.

    Exact synonyms win over fuzzy matches, and each pod column is given to at most one file
    column (the best-scoring one), so the user only has to correct the odd miss.
    """
    columns = list(columns)
    pairs = []
    for index, column in enumerate(columns):
        for target, score in _header_scores(column).items():
            pairs.append((-score, index, target))
    pairs.sort()
    mapping: dict[str, str | None] = {c: None for c in columns}
    taken: set[str] = set()
    for _, index, target in pairs:
        column = columns[index]
        if mapping[column] is None and target not in taken:
            mapping[column] = target
            taken.add(target)
    return mapping


def validate(raw: RawSheet, mapping: Mapping[str, str | None], *, existing_ids: Iterable[str] = frozenset(),
             state: str | None = None) -> Validation:
    """Check every row against the pod rules; split into valid rows (inserts/updates) and rejected rows.

    `state` is the upload's default state for rows that name none. Rows with an address and no
    coordinates are valid and marked `needs_geocode`. A row's pod_id is taken from the sheet or
    made from its name, address and state, so uploading the same file again updates, not duplicates.
    """
    plan = _plan(raw, mapping)
    default_state = None
    if state:
        default_state = _state_code(state)
        if default_state is None:
            raise ValueError(f"unknown state {state!r}: use a 2-letter code such as 'CA'")
    existing = set(existing_ids)
    first_seen: dict[str, int] = {}
    valid: list[ValidRow] = []
    rejected: list[RejectedRow] = []
    fixes: list[Fix] = []
    for number, cells in raw.records():
        pod, errors, row_fixes, needs_geocode = _check_row(number, cells, plan, default_state)
        if not errors:
            pod_id = pod["pod_id"]
            if pod_id in first_seen:
                id_column = plan.source.get("pod_id")
                if id_column and cells[id_column].strip():
                    column, how = id_column, "pod_id"
                else:
                    column, how = plan.source["name"], "name, address and state"
                errors.append(RowError(number, column, cells[column], "duplicate",
                                       f"same {how} as row {first_seen[pod_id]}; only the first is kept"))
            else:
                first_seen[pod_id] = number
        if errors:
            rejected.append(RejectedRow(number, dict(cells), tuple(errors)))
            fixes.extend(row_fixes)
            continue
        action = "update" if pod["pod_id"] in existing else "insert"
        valid.append(ValidRow(number, pod, action, needs_geocode))
    notes = list(raw.notes)
    unmapped = [c for c in raw.columns if not mapping.get(c)]
    if unmapped:
        notes.append(f"not imported (no pod column chosen): {', '.join(unmapped)}")
    return Validation(raw.filename, raw.sheet, raw.columns, dict(mapping), tuple(valid), tuple(rejected),
                      tuple(fixes), tuple(notes))


def apply_fixes(raw: RawSheet, fixes: Iterable[Fix]) -> RawSheet:
    """A copy of `raw` with the accepted fixes written into its cells; validate it again afterwards."""
    index = {number: i for i, number in enumerate(raw.row_numbers)}
    positions = {c: i for i, c in enumerate(raw.columns)}
    rows = [list(r) for r in raw.rows]
    for fix in fixes:
        if fix.row not in index:
            raise ValueError(f"fix for row {fix.row}: no such row in {raw.filename}")
        for column, text in fix.changes:
            if column not in positions:
                raise ValueError(f"fix for row {fix.row}: no column {column!r} in {raw.filename}")
            rows[index[fix.row]][positions[column]] = text
    return replace(raw, rows=tuple(tuple(r) for r in rows))


def rejected_to_csv(validation: Validation) -> bytes:
    """The rejected rows (original values + an `errors` column) as UTF-8 CSV, safe to open in Excel."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in _rejected_table(validation):
        writer.writerow([_safe_cell(v) for v in line])
    return out.getvalue().encode("utf-8-sig")


def rejected_to_xlsx(validation: Validation) -> bytes:
    """The rejected rows as an .xlsx workbook; same columns and escaping as `rejected_to_csv`."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "rejected rows"
    for line in _rejected_table(validation):
        ws.append([_xlsx_text(_safe_cell(v)) for v in line])
    ws.freeze_panes = "A2"
    return _save(wb)


def template_csv() -> bytes:
    """Upload template: the header row, then one help row (description and allowed values) that uploads skip."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(POD_FIELDS)
    writer.writerow([_safe_cell(_HELP[c]) for c in POD_FIELDS])
    return out.getvalue().encode("utf-8-sig")


def template_xlsx() -> bytes:
    """Upload template as .xlsx: sheet 'pods' (header + help row, drop-downs) and sheet 'allowed values'."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "pods"
    ws.append(list(POD_FIELDS))
    ws.append([_xlsx_text(_safe_cell(_HELP[c])) for c in POD_FIELDS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for cell in ws[2]:
        cell.font = Font(italic=True, color="666666")
    ws.freeze_panes = "A3"
    for i, column in enumerate(POD_FIELDS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(column) + 4))

    allowed = wb.create_sheet("allowed values")
    allowed.append(["column", "code", "label", "also accepted"])
    for cell in allowed[1]:
        cell.font = Font(bold=True)
    ranges = {}
    for column, terms in _VOCAB_COLUMNS.items():
        start = allowed.max_row + 1
        for term in terms:
            allowed.append([column, term.code, term.label, "; ".join(term.synonyms)])
        ranges[column] = f"'allowed values'!$C${start}:$C${allowed.max_row}"
    for code, label in vocab.GRADES:
        allowed.append(["grade_low / grade_high", label, label, "TK, Pre-K, KG, 1st, Grade 3" if code < 1 else ""])
    for width, letter in zip((22, 22, 34, 60), "ABCD"):
        allowed.column_dimensions[letter].width = width
    for column in ("operator_type", "mode", "cost", "status"):
        letter = get_column_letter(POD_FIELDS.index(column) + 1)
        dv = DataValidation(type="list", formula1=ranges[column], allow_blank=True, showErrorMessage=False)
        ws.add_data_validation(dv)
        dv.add(f"{letter}3:{letter}5000")
    return _save(wb)


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------


def _read_csv(data: bytes, name: str) -> RawSheet:
    text, encoding = _decode(data, name)
    if "\x00" in text:
        raise SheetError(f"{name}: contains NUL bytes, so it is not a text CSV; upload a CSV or .xlsx file")
    delimiter = _sniff_delimiter(text)
    try:
        records = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter),
                                                    start=1)]
    except csv.Error as exc:
        raise SheetError(f"{name}: not readable as CSV ({exc})") from None
    label = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
    return _build(name, records, merged=set(), sheet=None, sheet_names=(), encoding=encoding, delimiter=delimiter,
                  notes=[f"read as {encoding} text, {label}-separated"])


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """UTF-8 (with or without BOM), UTF-16 with BOM, then cp1252, then Latin-1 (which never fails)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise SheetError(f"{name}: starts like UTF-16 text but is not valid UTF-16") from None
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text, ("utf-8" if encoding == "utf-8-sig" else encoding)
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most rows of one consistent width (> 1)."""
    sample = text[:65536]
    lines = sample.splitlines()
    if len(text) > len(sample) and len(lines) > 1:
        lines = lines[:-1]  # the cut may split a line
    best = (-1, -1, 0)
    choice = ","
    for rank, delimiter in enumerate((",", ";", "\t", "|")):
        try:
            widths = [len(r) for r in csv.reader(lines[:200], delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        score = (count if width > 1 else 0, width, -rank)
        if score > best:
            best, choice = score, delimiter
    return choice


def _read_xlsx(data: bytes, name: str, sheet: str | None, max_uncompressed: int) -> RawSheet:
    _check_zip(data, name, max_uncompressed)
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # data_only=False: a formula cell reads as its formula text ("=..."), which validation
            # flags; nothing is ever evaluated and Excel's cached results are not trusted.
            wb = load_workbook(io.BytesIO(data), read_only=False, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many types on corrupt workbooks
        raise SheetError(f"{name}: could not be read as an Excel workbook ({type(exc).__name__}: {exc})") from None
    try:
        sheets = list(wb.worksheets)
        names = tuple(ws.title for ws in sheets)
        if not sheets:
            raise SheetError(f"{name}: the workbook has no worksheets")
        if sheet is not None:
            chosen = next((ws for ws in sheets if ws.title == sheet), None)
            if chosen is None:
                raise SheetError(f"{name}: no sheet named {sheet!r}; sheets: {', '.join(names)}")
            candidates = [chosen]
        else:
            candidates = [ws for ws in sheets if ws.sheet_state == "visible"] or sheets
        best = None
        for ws in candidates:
            records, merged = _xlsx_records(ws)
            score = _header_match_count(records)
            if best is None or score > best[0]:
                best = (score, ws.title, records, merged)
        _, title, records, merged = best
        notes = [f"read sheet '{title}'" + (f" of {len(names)}: {', '.join(names)}" if len(names) > 1 else "")]
        return _build(name, records, merged=merged, sheet=title, sheet_names=names, encoding=None, delimiter=None,
                      notes=notes)
    finally:
        wb.close()


def _check_zip(data: bytes, name: str, max_uncompressed: int) -> None:
    """Reject decompression bombs from the zip directory alone, before any member is inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise SheetError(f"{name}: not a valid .xlsx (zip) file ({exc})") from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise SheetError(f"{name}: the workbook has {len(infos)} parts; refusing more than {MAX_ZIP_MEMBERS}")
    total = sum(i.file_size for i in infos)
    if total > max_uncompressed:
        raise SheetError(f"{name}: the workbook unpacks to {_size(total)}, over the {_size(max_uncompressed)} "
                         "limit; split it or save as CSV")
    for info in infos:
        if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise SheetError(f"{name}: part {info.filename} is compressed {info.file_size // max(info.compress_size, 1)}"
                             f" to 1 (limit {MAX_RATIO} to 1); this looks like a zip bomb, not a spreadsheet")


def _xlsx_records(ws) -> tuple[list[tuple[int, list[str]]], set[int]]:
    """(row number, cell texts) for every row, and the rows that are one merged, multi-column cell."""
    records = []
    for row in ws.iter_rows():
        if not row:
            continue
        records.append((row[0].row, [_cell_text(c) for c in row]))
    merged = set()
    for rng in ws.merged_cells.ranges:
        if rng.max_col > rng.min_col:
            merged.update(range(rng.min_row, rng.max_row + 1))
    return records, merged


def _cell_text(cell) -> str:
    """A cell as the text the user sees; a formula stays its '=...' text so validation can flag it."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, (int, float)):
        text = _number_text(value)
        fmt = getattr(cell, "number_format", "") or ""
        if isinstance(value, int) or float(value).is_integer():
            if re.fullmatch(r"0{2,}", fmt) and text.isdigit():
                text = text.zfill(len(fmt))  # e.g. ZIP 02134 kept by the "00000" format
        return text
    text = getattr(value, "text", None)  # ArrayFormula and friends
    if isinstance(text, str):
        return text if text.startswith("=") else "=" + text
    return str(value)


def _number_text(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _build(name: str, records: list[tuple[int, list[str]]], *, merged: set[int], sheet, sheet_names, encoding,
           delimiter, notes: list[str]) -> RawSheet:
    """Find the header, name the columns, drop blank/title/help rows (recording which) and pad cells."""
    records = [(n, [c if isinstance(c, str) else str(c) for c in cells]) for n, cells in records]
    nonblank = [(n, cells) for n, cells in records if any(c.strip() for c in cells)]
    if not nonblank:
        raise SheetError(f"{name}: no data: every row is blank" + (f" in sheet '{sheet}'" if sheet else ""))
    h = _find_header(nonblank, merged)
    header_number, header = nonblank[h]
    last = max((i for i, c in enumerate(header) if c.strip()), default=-1)
    width = max([last + 1] + [_last_filled(cells) + 1 for _, cells in nonblank[h + 1:]])
    columns = _column_names(header[:width], width)
    skipped = [n for n, _ in nonblank[:h]]
    if skipped:
        notes.append(f"header found on row {header_number}; rows above it skipped: {_ranges(skipped)}")
    rows, numbers = [], []
    help_rows, merged_rows = [], []
    for number, cells in nonblank[h + 1:]:
        cells = (cells + [""] * width)[:width]
        if number in merged and sum(1 for c in cells if c.strip()) == 1:
            merged_rows.append(number)
            continue
        if _is_help_row(columns, cells):
            help_rows.append(number)
            continue
        rows.append(tuple(cells))
        numbers.append(number)
    if merged_rows:
        notes.append(f"merged title/section rows skipped: {_ranges(merged_rows)}")
    if help_rows:
        notes.append(f"template help row skipped: {_ranges(help_rows)}")
    formulas = sum(1 for r in rows for c in r if c.startswith("="))
    if formulas:
        notes.append(f"{formulas} cells hold formulas or start with '='; they are not evaluated and are "
                     "rejected where they feed a pod column")
    return RawSheet(name, tuple(columns), tuple(rows), tuple(numbers), header_number, sheet, tuple(sheet_names),
                    encoding, delimiter, tuple(notes), tuple(skipped + merged_rows + help_rows))


def _find_header(rows: list[tuple[int, list[str]]], merged: set[int]) -> int:
    """Index of the header: the first row naming >= 2 pod columns, else the first mostly-text wide row."""
    window = rows[:50]
    for i, (number, cells) in enumerate(window):
        if sum(1 for c in cells if c.strip() and _header_scores(c)) >= 2:
            return i
    widest = max(sum(1 for c in cells if c.strip()) for _, cells in window)
    for i, (number, cells) in enumerate(window):
        filled = [c for c in cells if c.strip()]
        if number in merged and len(filled) == 1:
            continue
        if len(filled) >= max(2, widest / 2) and all(_parse_float(c) is None for c in filled):
            return i
    return 0


def _header_match_count(records: list[tuple[int, list[str]]]) -> int:
    best = 0
    for _, cells in records[:50]:
        best = max(best, sum(1 for c in cells if c.strip() and _header_scores(c)))
    return best


def _column_names(header: list[str], width: int) -> list[str]:
    """Header texts, with blanks named by their column letter and repeats numbered, so names are unique."""
    names: list[str] = []
    seen: Counter = Counter()
    for i in range(width):
        text = " ".join(header[i].split()) if i < len(header) else ""
        base = text or f"Column {_letter(i)}"
        seen[base] += 1
        names.append(base if seen[base] == 1 else f"{base} ({seen[base]})")
    return names


def _is_help_row(columns: list[str], cells) -> bool:
    """True for the template's description row, so an upload of the filled-in template skips it."""
    filled = [(c, v.strip()) for c, v in zip(columns, cells) if v.strip()]
    return bool(filled) and all(_HELP.get(c) == v or _HELP.get(c) == v.lstrip("'") for c, v in filled)


def _last_filled(cells) -> int:
    return max((i for i, c in enumerate(cells) if c.strip()), default=-1)


def _letter(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _ranges(numbers: list[int]) -> str:
    numbers = sorted(numbers)
    parts, start, prev = [], numbers[0], numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


# ---------------------------------------------------------------------------------------------
# mapping
# ---------------------------------------------------------------------------------------------

_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "pod_id": ("id", "site id", "hub id", "pod code", "record id", "unique id", "podid"),
    "name": ("name", "site name", "pod name", "hub name", "site", "pod", "hub", "program name", "program",
             "location name", "school", "school name", "library", "library name", "libname", "facility name",
             "center name", "learning pod", "learning hub"),
    "operator_type": ("operator type", "program type", "type", "pod type", "hub type", "provider type", "site type",
                      "operator category", "model", "pod model"),
    "operator_name": ("operator", "organization", "organisation", "organization name", "organisation name",
                      "provider", "provider name", "run by", "sponsor", "host", "host organization", "agency",
                      "operated by", "lead organization"),
    "partner_leaid": ("leaid", "lea id", "nces id", "district id", "nces district id", "partner district id",
                      "partner district leaid", "district leaid", "partner lea"),
    "mode": ("delivery mode", "format", "modality", "instruction mode", "learning mode", "delivery", "setting",
             "in person or virtual"),
    "grade_low": ("lowest grade", "low grade", "min grade", "from grade", "grade from", "start grade", "grade min",
                  "first grade served", "grade lo"),
    "grade_high": ("highest grade", "high grade", "max grade", "to grade", "grade to", "end grade", "grade max",
                   "last grade served", "grade hi"),
    GRADE_RANGE: ("grades", "grade range", "grade levels", "grade level", "grade span", "grades served",
                  "grade band", "grade", "grades offered"),
    "capacity": ("seats", "slots", "spots", "enrollment capacity", "max students", "number of seats", "seat count",
                 "max enrollment", "student capacity", "total seats", "seats available"),
    "cost": ("cost type", "price type", "pricing", "affordability", "cost to families", "fee type", "payment"),
    "fee_usd": ("fee", "fees", "monthly fee", "fee per month", "price", "tuition", "fee usd", "cost per month",
                "monthly cost", "fee amount", "monthly tuition"),
    "priority_groups": ("priority", "priority group", "populations served", "groups served", "target population",
                        "priority populations", "target groups", "serves"),
    "supports": ("support", "services", "services offered", "supports offered", "wraparound services",
                 "wraparound supports", "amenities"),
    "languages": ("language", "languages spoken", "language of instruction", "languages offered",
                  "languages supported"),
    "status": ("status type", "site status", "operating status", "open status", "current status"),
    "opened_on": ("opened", "open date", "date opened", "opening date", "start date", "launch date",
                  "opened date", "date open"),
    "closed_on": ("closed date", "close date", "date closed", "closing date", "end date"),
    "address": ("street", "street address", "address 1", "address line 1", "addr", "location address",
                "site address", "physical address", "address1", "street 1", "location"),
    "city": ("town", "municipality", "city town", "city name"),
    "state": ("st", "state code", "stabr", "state abbreviation", "state abbr", "state name", "state postal"),
    "zip": ("zip code", "zipcode", "postal code", "postcode", "zip5", "postal"),
    "lat": ("latitude", "y", "lat dd", "latitude dd", "lat wgs84", "latitude wgs84", "y coordinate"),
    "lon": ("long", "lng", "longitude", "x", "longitud", "lon dd", "longitude dd", "lon wgs84", "longitude wgs84",
            "x coordinate"),
    "source": ("data source", "record source", "reported by", "source of record"),
    "last_verified": ("verified", "verified on", "date verified", "last checked", "last updated", "updated",
                      "last update", "updated on", "as of", "date checked", "last verified on"),
    "notes": ("note", "comments", "comment", "remarks", "description", "details", "additional information"),
}


@functools.lru_cache(maxsize=1)
def _synonyms() -> dict[str, str]:
    """Normalised header text -> target, from the column names and `_HEADER_SYNONYMS`."""
    table: dict[str, str] = {}
    for target in TARGETS:
        table[_norm_header(target)] = target
    for name, description in vocab.POD_COLUMNS:
        table.setdefault(_norm_header(name), name)
    for target, names in _HEADER_SYNONYMS.items():
        for synonym in names:
            table.setdefault(_norm_header(synonym), target)
    return table


def _norm_header(text: str) -> str:
    """Lower-case words of a header: camelCase split, brackets and punctuation dropped."""
    text = str(text)
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", text)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = _ascii(text).lower().replace("#", " number ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(w for w in text.split() if w not in {"optional", "required"})


_FUZZY_CUTOFF = 85


def _header_scores(header: str) -> dict[str, float]:
    """Candidate pod columns for a header with scores 0-100: 100 for an exact synonym, else fuzzy."""
    key = _norm_header(header)
    if not key:
        return {}
    synonyms = _synonyms()
    if key in synonyms:
        return {synonyms[key]: 100.0}
    if len(key) < 4:
        return {}
    scores: dict[str, float] = {}
    for synonym, score, _ in process.extract(key, list(synonyms), scorer=_header_scorer, score_cutoff=_FUZZY_CUTOFF,
                                             limit=10):
        target = synonyms[synonym]
        scores[target] = max(scores.get(target, 0.0), min(score, 99.0))
    return scores


def _header_scorer(a: str, b: str, **kwargs) -> float:
    if len(b) < 4:
        return 0.0
    return max(fuzz.ratio(a, b, **kwargs), fuzz.token_sort_ratio(a, b, **kwargs))


# ---------------------------------------------------------------------------------------------
# validating
# ---------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    source: dict[str, str]  # target -> file column
    hemisphere: dict[str, int] = field(default_factory=dict)  # "lat"/"lon" -> -1 when the header says S/W


def _plan(raw: RawSheet, mapping: Mapping[str, str | None]) -> _Plan:
    """Check the mapping names real columns and targets, once each, and that name and a location exist."""
    if not isinstance(raw, RawSheet):
        raise TypeError("validate() needs the RawSheet from read_sheet()")
    source: dict[str, str] = {}
    for column, target in mapping.items():
        if not target:
            continue
        if column not in raw.columns:
            raise SheetError(f"{raw.filename}: the mapping names column {column!r}, which is not in the sheet")
        if target not in TARGETS:
            raise SheetError(f"{raw.filename}: column {column!r} is mapped to {target!r}, which is not a pod column")
        if target in source:
            raise SheetError(f"{raw.filename}: columns {source[target]!r} and {column!r} are both mapped to "
                             f"{target!r}; choose one")
        source[target] = column
    if "name" not in source:
        raise SheetError(f"{raw.filename}: no column is mapped to 'name', which every pod needs")
    if ("lat" in source) != ("lon" in source):
        have, missing = ("lat", "lon") if "lat" in source else ("lon", "lat")
        raise SheetError(f"{raw.filename}: a column is mapped to '{have}' but none to '{missing}'")
    if "lat" not in source and "address" not in source:
        raise SheetError(f"{raw.filename}: map columns to 'lat' and 'lon', or to 'address' (to geocode)")
    hemisphere = {}
    if "lat" in source and re.search(r"\(\s*s\s*\)|\bsouth\b", source["lat"], re.I):
        hemisphere["lat"] = -1
    if "lon" in source and re.search(r"\(\s*w\s*\)|\bwest\b", source["lon"], re.I):
        hemisphere["lon"] = -1
    return _Plan(source, hemisphere)


class _Invalid(Exception):
    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.fix: dict[str, str] | None = None


def _check_row(number: int, cells: dict[str, str], plan: _Plan, default_state: str | None):
    """Validate one row: (pod dict, errors, fixes, needs_geocode)."""
    pod: dict = {name: ([] if name in vocab.LIST_COLUMNS else None) for name in POD_FIELDS}
    errors: list[RowError] = []
    fixes: list[Fix] = []
    src = plan.source

    def fail(target: str, exc: _Invalid, value: str) -> None:
        column = src.get(target, "")
        errors.append(RowError(number, column, value, exc.rule, exc.message))
        if exc.fix:
            fixes.append(Fix(number, tuple(exc.fix.items()), exc.rule, exc.message))

    values: dict[str, str] = {}
    for target, column in src.items():
        original = cells.get(column, "")
        text = _unescape(_clean(original))
        values[target] = text
        if text.startswith("="):
            errors.append(RowError(number, column, original, "formula",
                                   f"'{_short(text)}' is a formula; formulas are not evaluated, type the value"))
            values[target] = ""
            continue
        if not text:
            continue
        try:
            if target == GRADE_RANGE:
                continue
            pod[target] = _PARSERS[target](text, column)
        except _Invalid as exc:
            fail(target, exc, original)

    if not values.get("name") and not any(e.column == src["name"] for e in errors):
        errors.append(RowError(number, src["name"], cells.get(src["name"], ""), "required", "a name is required"))

    # grades: explicit low/high columns win over a range column
    if values.get(GRADE_RANGE):
        try:
            low, high = _parse_grade_range(values[GRADE_RANGE])
            pod["grade_low"] = pod["grade_low"] if values.get("grade_low") else low
            pod["grade_high"] = pod["grade_high"] if values.get("grade_high") else high
        except _Invalid as exc:
            fail(GRADE_RANGE, exc, cells[src[GRADE_RANGE]])
    if pod["grade_low"] is not None and pod["grade_high"] is not None and pod["grade_low"] > pod["grade_high"]:
        target = "grade_low" if values.get("grade_low") else GRADE_RANGE
        column = src.get(target, "")
        errors.append(RowError(number, column, cells.get(column, ""), "grade_order",
                               f"lowest grade {vocab.grade_label(pod['grade_low'])} is above highest grade "
                               f"{vocab.grade_label(pod['grade_high'])}"))
    if pod["opened_on"] and pod["closed_on"] and pod["closed_on"] < pod["opened_on"]:
        errors.append(RowError(number, src["closed_on"], cells[src["closed_on"]], "date_order",
                               f"closed on {pod['closed_on']}, before it opened on {pod['opened_on']}"))

    if not pod["state"] and not values.get("state") and default_state:
        pod["state"] = default_state

    # coordinates
    lat, lon = pod["lat"], pod["lon"]
    lat_bad = any(e.column == src.get("lat") for e in errors if "lat" in src)
    lon_bad = any(e.column == src.get("lon") for e in errors if "lon" in src)
    if not lat_bad and not lon_bad and (lat is None) != (lon is None):
        have, missing = ("lat", "lon") if lat is not None else ("lon", "lat")
        errors.append(RowError(number, src[missing], cells.get(src[missing], ""), "coordinates_incomplete",
                               f"{'latitude' if have == 'lat' else 'longitude'} is given but "
                               f"{'longitude' if have == 'lat' else 'latitude'} is empty"))
    elif lat is not None and lon is not None:
        # a header such as "Longitude (W)" means positive numbers are west
        lat = -lat if plan.hemisphere.get("lat") and lat > 0 else lat
        lon = -lon if plan.hemisphere.get("lon") and lon > 0 else lon
        state_known = pod["state"] if not any(e.column == src.get("state") for e in errors) else None
        try:
            _check_point(lat, lon, state_known, src["lat"], src["lon"])
            pod["lat"], pod["lon"] = round(lat, 6), round(lon, 6)
        except _Invalid as exc:
            fail("lat", exc, cells[src["lat"]])
    has_coords = pod["lat"] is not None and pod["lon"] is not None
    needs_geocode = False
    if not has_coords and not lat_bad and not lon_bad and not any(e.rule == "coordinates_incomplete" for e in errors):
        if values.get("address") and not any(e.column == src.get("address") for e in errors):
            needs_geocode = True
        elif not any(e.column in (src.get("lat"), src.get("lon")) for e in errors):
            column = src.get("address") or src.get("lat")
            errors.append(RowError(number, column, cells.get(column, ""), "location",
                                   "no coordinates and no street address, so the pod cannot be placed"))
    pod["pod_id"] = pod["pod_id"] or _make_id(pod)
    return pod, errors, fixes, needs_geocode


def _check_point(lat: float, lon: float, state: str | None, lat_col: str, lon_col: str) -> None:
    """Raise _Invalid unless (lat, lon) is in the US and in `state`; offer a swap/sign fix when one lands there."""
    if _inside(lat, lon, state):
        return
    where = f" in {state}" if state else " in the US"
    for new_lat, new_lon, rule, what in ((lon, lat, "swapped_coordinates", "latitude and longitude look swapped"),
                                         (lat, -lon, "longitude_sign", "the longitude's sign looks wrong"),
                                         (lon, -lat, "swapped_coordinates",
                                          "latitude and longitude look swapped, and the longitude's sign wrong")):
        if (new_lat, new_lon) != (lat, lon) and _inside(new_lat, new_lon, state):
            exc = _Invalid(rule, f"{what}: ({_fmt(lat)}, {_fmt(lon)}) is not{where}, ({_fmt(new_lat)}, "
                                 f"{_fmt(new_lon)}) is; accept the fix or correct the file")
            exc.fix = {lat_col: _fmt(new_lat), lon_col: _fmt(new_lon)}
            raise exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _Invalid("range", f"({_fmt(lat)}, {_fmt(lon)}) is not a position: latitude must be -90..90 and "
                                "longitude -180..180")
    if not _inside(lat, lon, None):
        raise _Invalid("outside_us", f"({_fmt(lat)}, {_fmt(lon)}) is outside the United States")
    raise _Invalid("outside_state", f"({_fmt(lat)}, {_fmt(lon)}) is outside {_STATE_NAMES[state]} ({state})")


def _inside(lat: float, lon: float, state: str | None) -> bool:
    boxes = _STATE_BOXES[state] if state else _ALL_BOXES
    return any(w <= lon <= e and s <= lat <= n for w, s, e, n in boxes)


def _fmt(x: float) -> str:
    return _number_text(round(x, 6))


def _make_id(pod: dict) -> str:
    """Deterministic id from normalised name + address + state (or rounded coordinates without an address)."""
    if pod["address"]:
        where = _key(pod["address"])
    elif pod["lat"] is not None and pod["lon"] is not None:
        where = f"{pod['lat']:.4f},{pod['lon']:.4f}"
    else:
        where = ""
    key = "|".join([_key(pod["name"] or ""), where, (pod["state"] or "").upper()])
    return "pod-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _ascii(text).lower()).split())


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    return " ".join(_CONTROL.sub("", str(text)).split())


def _unescape(text: str) -> str:
    """Undo the quote `_safe_cell` adds on export, so a fixed rejected-rows file re-uploads cleanly."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# -- per-column parsers: text (non-empty, cleaned) -> stored value, or raise _Invalid ------------


def _text(target: str):
    def parse(text: str, column: str):
        limit = _TEXT_LIMITS.get(target, 1000)
        if len(text) > limit:
            raise _Invalid("too_long", f"{len(text)} characters; at most {limit}")
        return text
    return parse


def _term(terms: tuple[vocab.Term, ...], target: str):
    def parse(text: str, column: str):
        code = vocab.normalise(text, terms)
        if code is None:
            raise _vocab_error(text, terms, target, column)
        return code
    return parse


def _vocab_error(text: str, terms: tuple[vocab.Term, ...], target: str, column: str, whole: str | None = None):
    allowed = ", ".join(t.label for t in terms)
    exc = _Invalid("vocabulary", f"'{_short(text)}' is not an allowed {target.replace('_', ' ')}; allowed: {allowed}")
    names = {n: t for t in terms for n in (t.label.lower(), t.code.replace("_", " "), *t.synonyms)}
    best = process.extractOne(text.lower(), list(names), scorer=fuzz.WRatio, score_cutoff=88)
    if best:
        term = names[best[0]]
        exc.message += f" (did you mean '{term.label}'?)"
        exc.fix = {column: (whole or text).replace(text, term.label)}
    return exc


def _term_list(terms: tuple[vocab.Term, ...], target: str):
    def parse(text: str, column: str):
        codes = []
        for part in _split_list(text):
            code = vocab.normalise(part, terms)
            if code is None:
                raise _vocab_error(part, terms, target, column, whole=text)
            if code not in codes:
                codes.append(code)
        return codes
    return parse


def _languages(text: str, column: str) -> list[str]:
    out: list[str] = []
    for part in _split_list(text):
        word = part[:1].upper() + part[1:] if part.islower() else part
        if len(word) > 60:
            raise _Invalid("too_long", f"language '{_short(word)}' is longer than 60 characters")
        if word.lower() not in {w.lower() for w in out}:
            out.append(word)
    return out


def _split_list(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;,|]", text) if p.strip()]


def _grade(text: str, column: str) -> int:
    code = _grade_code(text)
    if code is None:
        raise _Invalid("grade", f"'{_short(text)}' is not a grade; use PK, K or 1-12")
    return code


def _grade_code(text: str) -> int | None:
    """vocab.grade_code, but None for digit-like characters int() refuses (e.g. superscript '²')."""
    try:
        return vocab.grade_code(text)
    except ValueError:
        return None


def _parse_grade_range(text: str) -> tuple[int, int]:
    """'K-5', 'PK–8', 'Grades 6 to 8', 'K, 1, 2', '9th-12th', 'K' -> (low, high) as stored integers."""
    key = text.upper()
    key = re.sub(r"\bPRE[\s-]?K(INDERGARTEN)?\b|\bTK\b|\bTRANSITIONAL\s+K(INDERGARTEN)?\b", "PK", key)
    key = re.sub(r"\bGRADES?\b|\bGR\.?", " ", key)
    parts = [p for p in re.split(r"\s*(?:-|–|—|\bTO\b|\bTHROUGH\b|\bTHRU\b|,|;|/|&|\bAND\b)\s*", key) if p.strip()]
    codes = [_grade_code(p) for p in parts]
    if not parts or any(c is None for c in codes):
        raise _Invalid("grade", f"'{_short(text)}' is not a grade range; use e.g. K-5, PK-8 or 9-12")
    return codes[0], codes[-1]


def _capacity(text: str, column: str) -> int:
    number = _parse_float(text, thousands=True)
    if number is None or not number.is_integer() or number < 0:
        raise _Invalid("whole_number", f"'{_short(text)}' is not a whole number of seats (0 or more)")
    return int(number)


def _fee(text: str, column: str) -> float:
    cleaned = re.sub(r"^(US)?\$\s*|\s*(USD|/\s*(mo|month))$", "", text, flags=re.I)
    number = _parse_float(cleaned, thousands=True)
    if number is None:
        raise _Invalid("number", f"'{_short(text)}' is not an amount in dollars")
    if number < 0:
        raise _Invalid("negative", f"fee {text} is negative")
    return round(number, 2)


def _coordinate(axis: str):
    def parse(text: str, column: str) -> float:
        value = _parse_degrees(text)
        if value is None:
            raise _Invalid("number", f"'{_short(text)}' is not a {'latitude' if axis == 'lat' else 'longitude'} "
                                     "in decimal degrees")
        return value
    return parse


def _parse_degrees(text: str) -> float | None:
    """Decimal degrees, allowing a degree sign, a hemisphere letter, a decimal comma, or deg-min-sec."""
    t = text.strip().upper().replace("−", "-").replace("°", " ").replace("’", "'").replace("”", '"')
    hemisphere = None
    m = re.fullmatch(r"([NSEW])\s*(.+)|(.+?)\s*([NSEW])", t)
    if m:
        hemisphere = m.group(1) or m.group(4)
        t = (m.group(2) or m.group(3)).strip()
    value = _parse_float(t, decimal_comma=True)
    if value is None:
        dms = re.fullmatch(r"(-?[0-9]+(?:\.[0-9]+)?)\s+([0-9]+(?:\.[0-9]+)?)\s*'?\s*(?:([0-9]+(?:\.[0-9]+)?)\s*(?:\"|'')?)?", t)
        if not dms or float(dms.group(2)) >= 60 or float(dms.group(3) or 0) >= 60:
            return None
        degrees = float(dms.group(1))
        value = abs(degrees) + float(dms.group(2)) / 60 + float(dms.group(3) or 0) / 3600
        value = -value if t.startswith("-") else value
    if hemisphere is not None:
        if value < 0:
            return None  # "-37 S" is ambiguous
        value = -value if hemisphere in "SW" else value
    return value


def _parse_float(text: str, *, thousands: bool = False, decimal_comma: bool = False) -> float | None:
    t = text.strip()
    if thousands and re.fullmatch(r"[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?", t):
        t = t.replace(",", "")
    elif (thousands or decimal_comma) and re.fullmatch(r"[-+]?[0-9]+,[0-9]+", t):
        t = t.replace(",", ".")
    if not re.fullmatch(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", t):
        return None
    value = float(t)
    return value if value == value and abs(value) != float("inf") else None


def _date(text: str, column: str) -> str:
    parsed = _parse_date(text)
    if parsed is None:
        raise _Invalid("date", f"'{_short(text)}' is not a date; use YYYY-MM-DD (e.g. 2020-09-08)")
    return parsed.isoformat()


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m-%d-%y",
                 "%d/%m/%Y", "%d.%m.%Y", "%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y", "%d-%b-%Y", "%d-%b-%y",
                 "%b %Y", "%B %Y", "%Y%m%d")


def _parse_date(text: str) -> date | None:
    """ISO, US M/D/Y (D/M/Y when the day is > 12), month names, YYYYMMDD, Excel serials; time parts ignored."""
    t = text.strip()
    t = re.sub(r"[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(AM|PM|am|pm)?(Z|[+-][0-9]{2}:?[0-9]{2})?$", "", t).strip()
    t = re.sub(r"([0-9])(st|nd|rd|th)\b", r"\1", t).replace(",", " ")
    t = " ".join(t.split())
    number = _parse_float(t) if re.fullmatch(r"[0-9]+(\.[0-9]+)?", t) and len(t.split(".")[0]) == 5 else None
    if number is not None:
        return date(1899, 12, 30) + timedelta(days=int(number))  # Excel serial (1900 system)
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(t, fmt).date()
        except ValueError:
            continue
        if 1800 <= parsed.year <= 2100:
            return parsed
    return None


def _state(text: str, column: str) -> str:
    code = _state_code(text)
    if code is None:
        raise _Invalid("state", f"'{_short(text)}' is not a US state; use the 2-letter code, e.g. CA")
    return code


def _state_code(text: str) -> str | None:
    key = _key(text)
    if key.upper() in _STATE_NAMES:
        return key.upper()
    return _STATE_BY_NAME.get(key)


def _zip(text: str, column: str) -> str:
    t = text.strip()
    if re.fullmatch(r"[0-9]{3,4}", t):
        t = t.zfill(5)  # leading zeros lost in Excel
    elif re.fullmatch(r"[0-9]{9}", t):
        t = f"{t[:5]}-{t[5:]}"
    elif re.fullmatch(r"[0-9]{5}\.0", t):
        t = t[:5]
    t = re.sub(r"^([0-9]{5})\s*-?\s*([0-9]{4})$", r"\1-\2", t)
    if not re.fullmatch(r"[0-9]{5}(-[0-9]{4})?", t):
        raise _Invalid("zip", f"'{_short(text)}' is not a ZIP code (5 digits, or ZIP+4)")
    return t


def _leaid(text: str, column: str) -> str:
    t = text.strip()
    if re.fullmatch(r"[0-9]{6}(\.0)?", t):
        t = t[:6].zfill(7)  # leading zero lost in Excel
    if not re.fullmatch(r"[0-9]{7}", t):
        raise _Invalid("leaid", f"'{_short(text)}' is not a 7-digit NCES LEAID (e.g. 0691051)")
    return t


_PARSERS = {
    "pod_id": _text("pod_id"),
    "name": _text("name"),
    "operator_type": _term(vocab.OPERATOR_TYPES, "operator_type"),
    "operator_name": _text("operator_name"),
    "partner_leaid": _leaid,
    "mode": _term(vocab.MODES, "mode"),
    "grade_low": _grade,
    "grade_high": _grade,
    "capacity": _capacity,
    "cost": _term(vocab.COSTS, "cost"),
    "fee_usd": _fee,
    "priority_groups": _term_list(vocab.PRIORITY_GROUPS, "priority_groups"),
    "supports": _term_list(vocab.SUPPORTS, "supports"),
    "languages": _languages,
    "status": _term(vocab.STATUSES, "status"),
    "opened_on": _date,
    "closed_on": _date,
    "address": _text("address"),
    "city": _text("city"),
    "state": _state,
    "zip": _zip,
    "lat": _coordinate("lat"),
    "lon": _coordinate("lon"),
    "source": _text("source"),
    "last_verified": _date,
    "notes": _text("notes"),
}

_VOCAB_COLUMNS = {
    "operator_type": vocab.OPERATOR_TYPES,
    "mode": vocab.MODES,
    "cost": vocab.COSTS,
    "status": vocab.STATUSES,
    "priority_groups": vocab.PRIORITY_GROUPS,
    "supports": vocab.SUPPORTS,
}


def _help_text(column: str, description: str) -> str:
    terms = _VOCAB_COLUMNS.get(column)
    if not terms:
        return description
    codes = " | ".join(t.code for t in terms)
    several = "; separate several with ;" if column in vocab.LIST_COLUMNS else ""
    return f"{description}. Allowed: {codes} (or their labels{several})"


_HELP = {name: _help_text(name, description) for name, description in vocab.POD_COLUMNS}


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------


def _rejected_table(validation: Validation) -> Iterator[list[str]]:
    yield [*validation.columns, "errors"]
    for rejected in validation.rejected:
        yield [*(rejected.values.get(c, "") for c in validation.columns), rejected.error_text]


_safe_cell = safe_cell  # one rule for every file podgeo writes


_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_text(text: str) -> str:
    """openpyxl refuses control characters and would store '='-text as a formula; strings stay strings."""
    return _ILLEGAL_XLSX.sub("", text)


def _save(wb) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# states: code -> (name, bounding boxes as (west, south, east, north) in lon/lat degrees)
# Boxes are the Census 2018 cartographic state outlines' extents padded by about 0.15 degrees
# (tests/test_sheets.py checks them against cb_2018_us_state_20m); Alaska has two boxes because
# the Aleutians cross 180 degrees. Territories are included since pods and libraries exist there.
# ---------------------------------------------------------------------------------------------

_STATES: dict[str, tuple[str, tuple[tuple[float, float, float, float], ...]]] = {
    "AK": ("Alaska", ((-179.33, 51.06, -129.83, 71.51), (172.3, 51.18, 180.0, 53.16),)),
    "AL": ("Alabama", ((-88.62, 30.07, -84.74, 35.16),)),
    "AR": ("Arkansas", ((-94.77, 32.85, -89.49, 36.65),)),
    "AZ": ("Arizona", ((-114.97, 31.18, -108.89, 37.16),)),
    "CA": ("California", ((-124.56, 32.38, -113.98, 42.16),)),
    "CO": ("Colorado", ((-109.22, 36.84, -101.89, 41.16),)),
    "CT": ("Connecticut", ((-73.88, 40.83, -71.63, 42.2),)),
    "DC": ("District of Columbia", ((-77.27, 38.64, -76.75, 39.15),)),
    "DE": ("Delaware", ((-75.94, 38.3, -74.89, 39.99),)),
    "FL": ("Florida", ((-87.79, 24.34, -79.88, 31.16),)),
    "GA": ("Georgia", ((-85.76, 30.21, -80.69, 35.16),)),
    "HI": ("Hawaii", ((-160.4, 18.76, -154.66, 22.39),)),
    "IA": ("Iowa", ((-96.78, 40.22, -89.99, 43.66),)),
    "ID": ("Idaho", ((-117.4, 41.83, -110.89, 49.16),)),
    "IL": ("Illinois", ((-91.67, 36.83, -87.34, 42.66),)),
    "IN": ("Indiana", ((-88.22, 37.61, -84.63, 41.92),)),
    "KS": ("Kansas", ((-102.21, 36.84, -94.44, 40.16),)),
    "KY": ("Kentucky", ((-89.73, 36.34, -81.81, 39.3),)),
    "LA": ("Louisiana", ((-94.2, 28.78, -88.86, 33.17),)),
    "MA": ("Massachusetts", ((-73.66, 41.08, -69.77, 43.04),)),
    "MD": ("Maryland", ((-79.64, 37.76, -74.89, 39.88),)),
    "ME": ("Maine", ((-71.24, 42.9, -66.79, 47.61),)),
    "MI": ("Michigan", ((-90.57, 41.54, -82.26, 48.37),)),
    "MN": ("Minnesota", ((-97.38, 43.34, -89.33, 49.54),)),
    "MO": ("Missouri", ((-95.92, 35.84, -88.94, 40.77),)),
    "MS": ("Mississippi", ((-91.8, 30.03, -87.94, 35.15),)),
    "MT": ("Montana", ((-116.2, 44.23, -103.88, 49.16),)),
    "NC": ("North Carolina", ((-84.48, 33.7, -75.3, 36.74),)),
    "ND": ("North Dakota", ((-104.2, 45.78, -96.4, 49.16),)),
    "NE": ("Nebraska", ((-104.21, 39.84, -95.15, 43.16),)),
    "NH": ("New Hampshire", ((-72.71, 42.54, -70.55, 45.46),)),
    "NJ": ("New Jersey", ((-75.71, 38.77, -73.74, 41.51),)),
    "NM": ("New Mexico", ((-109.21, 31.18, -102.85, 37.16),)),
    "NV": ("Nevada", ((-120.16, 34.85, -113.88, 42.16),)),
    "NY": ("New York", ((-79.92, 40.35, -71.7, 45.17),)),
    "OH": ("Ohio", ((-84.98, 38.25, -80.36, 42.13),)),
    "OK": ("Oklahoma", ((-103.16, 33.47, -94.28, 37.16),)),
    "OR": ("Oregon", ((-124.71, 41.84, -116.31, 46.42),)),
    "PA": ("Pennsylvania", ((-80.67, 39.57, -74.54, 42.42),)),
    "PR": ("Puerto Rico", ((-68.11, 17.76, -65.07, 18.67),)),
    "RI": ("Rhode Island", ((-72.02, 40.99, -70.97, 42.17),)),
    "SC": ("South Carolina", ((-83.51, 31.88, -78.39, 35.36),)),
    "SD": ("South Dakota", ((-104.21, 42.33, -96.28, 46.1),)),
    "TN": ("Tennessee", ((-90.46, 34.83, -81.49, 36.83),)),
    "TX": ("Texas", ((-106.79, 25.69, -93.38, 36.66),)),
    "UT": ("Utah", ((-114.21, 36.84, -108.89, 42.16),)),
    "VA": ("Virginia", ((-83.83, 36.39, -75.09, 39.62),)),
    "VT": ("Vermont", ((-73.59, 42.57, -71.34, 45.17),)),
    "WA": ("Washington", ((-124.88, 45.39, -116.76, 49.16),)),
    "WI": ("Wisconsin", ((-93.04, 42.34, -86.65, 47.21),)),
    "WV": ("West Virginia", ((-82.78, 37.05, -77.56, 40.79),)),
    "WY": ("Wyoming", ((-111.21, 40.84, -103.9, 45.16),)),
    "VI": ("U.S. Virgin Islands", ((-65.15, 17.6, -64.5, 18.5),)),
    "GU": ("Guam", ((144.55, 13.15, 145.05, 13.75),)),
    "MP": ("Northern Mariana Islands", ((144.8, 14.05, 146.15, 20.65),)),
    "AS": ("American Samoa", ((-171.15, -14.65, -168.05, -10.95),)),
}
_STATE_NAMES = {code: name for code, (name, _) in _STATES.items()}
_STATE_BOXES = {code: boxes for code, (_, boxes) in _STATES.items()}
_STATE_BY_NAME = {_key(name): code for code, name in _STATE_NAMES.items()}
_STATE_BY_NAME.update({"washington dc": "DC", "washington d c": "DC", "d c": "DC", "virgin islands": "VI",
                       "us virgin islands": "VI", "northern marianas": "MP", "commonwealth of puerto rico": "PR"})
_ALL_BOXES = tuple(box for boxes in _STATE_BOXES.values() for box in boxes)
