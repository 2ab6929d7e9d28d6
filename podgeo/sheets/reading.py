"""Reading files: CSV/TSV or .xlsx bytes -> `RawSheet` (text cells, header found, blank/title/help rows dropped).

Guards run before any parsing (size, zip bomb); formulas are never evaluated.
"""
from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections import Counter
from datetime import date, datetime, time, timedelta

from podgeo.sheets.columns import _HELP, _header_scores
from podgeo.sheets.model import MAX_BYTES, MAX_RATIO, MAX_UNCOMPRESSED, MAX_ZIP_MEMBERS, RawSheet, SheetError
from podgeo.sheets.text import _letter, _number_text, _parse_float, _ranges, _size


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
