"""Reading files: CSV/TSV or .xlsx bytes -> `RawSheet` (text cells, header found, blank/title/help rows dropped).

Every sheet reader (pods upload, cohort and attribute sheets, the CLI) comes through here, so the
guards live here: size and zip bombs before parsing; an .xlsx sheet's declared dimension before
its rows; rows, columns, grid cells and cell length (`Limits`) while rows stream in, stopping at
the first breach, so no file can make the reader build more than the limits allow. A CSV quote
that never closes and swallows lines that look like rows rejects the file, naming the line where
it opened. Formulas are never evaluated.
"""
from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from itertools import chain

from podgeo.sheets.columns import _HELP, _header_scores
from podgeo.sheets.encoding import decode
from podgeo.sheets.model import (LIMITS, MAX_BYTES, MAX_DISTRICT_ROWS, MAX_RATIO, MAX_UNCOMPRESSED, MAX_ZIP_MEMBERS,
                                 Limits, RawSheet, SheetError)
from podgeo.sheets.text import _letter, _number_text, _parse_float, _ranges, _size


def read_sheet(data: bytes, filename: str, *, sheet: str | None = None, max_bytes: int = MAX_BYTES,
               max_uncompressed: int = MAX_UNCOMPRESSED, encoding: str | None = None,
               limits: Limits = LIMITS) -> RawSheet:
    """Read a CSV/TSV or .xlsx upload into text cells, finding the header row; never evaluates formulas.

    `encoding` forces a CSV's text encoding (else it is detected; `RawSheet.encoding_choices` is
    set when the guess is unsure). Raises SheetError, naming the file, for anything over `limits`.
    """
    name = filename or "upload"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SheetError(f"{name}: expected the file's bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_bytes:
        raise SheetError(f"{name}: the file is {_size(len(data))}; the upload limit is {_size(max_bytes)}")
    if not data or data.isspace():  # what `not data.strip()` says, without copying the file
        raise SheetError(f"{name}: the file is empty")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, name, sheet, max_uncompressed, limits)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SheetError(f"{name}: old-style Excel (.xls) files are not read; save it as .xlsx or CSV")
    if name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raise SheetError(f"{name}: the name says Excel but the content is not an .xlsx workbook")
    return _read_csv(data, name, encoding, limits)


def check_district_sheet(raw: RawSheet) -> None:
    """Refuse a cohort or attribute sheet with more rows than there are districts, before matching its names
    (fuzzy name matching costs ~5 ms a row: 200,000 rows would hold a page for a quarter of an hour)."""
    if len(raw.rows) > MAX_DISTRICT_ROWS:
        raise SheetError(f"{raw.filename}: {len(raw.rows):,} rows; a district sheet may have at most "
                         f"{MAX_DISTRICT_ROWS:,} (the US has about 19,000 school districts)")


def _read_csv(data: bytes, name: str, encoding: str | None, limits: Limits) -> RawSheet:
    decoded = decode(data, name, encoding)
    text = decoded.text
    if "\x00" in text:
        raise SheetError(f"{name}: contains NUL bytes, so it is not a text CSV; upload a CSV or .xlsx file")
    lines = max(text.count("\n"), text.count("\r"))
    if lines > 2 * limits.rows:  # a row may span lines (quoted line breaks), but not on average two
        raise SheetError(f"{name}: {lines:,} lines; a sheet may have at most {limits.rows:,} rows: split the file")
    delimiter = _sniff_delimiter(text)
    records = _csv_records(text, name, delimiter, limits)
    label = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
    raw = _build(name, records, merged=set(), sheet=None, sheet_names=(), encoding=decoded.encoding,
                 delimiter=delimiter, may_hold_formulas="=" in text, notes=[f"read as {decoded.encoding} text, {label}-separated", *decoded.notes])
    return replace(raw, encoding_choices=decoded.choices)


def _csv_records(text: str, name: str, delimiter: str, limits: Limits) -> list[tuple[int, tuple[str, ...]]]:
    """(row number, cells) for every CSV row, refusing at the first row over a limit or swallowed by a quote.

    Cells come as tuples, which `_build` keeps as the sheet's rows (a list per row as well took ~38 MB
    more for 100,000 rows)."""
    reader = csv.reader(_lines(text), delimiter=delimiter)
    records: list[tuple[int, tuple[str, ...]]] = []
    # equal cells share one str, as each row is read: a partner sheet repeats its states, cities, types
    # and codes down every column (the IMLS outlets: 646,686 cells, 156,930 distinct), and 100,000
    # rows x 36 columns of separate strs took ~200 MB
    shared: dict[str, str] = {}
    share = shared.setdefault
    keep = records.append
    width = header_width = 0
    end = 0  # the physical line the previous row ended on
    max_rows, max_columns, max_cells = limits.rows, limits.columns, limits.cells
    try:
        for number, row in enumerate(reader, start=1):
            start, end = end + 1, reader.line_num
            if number > max_rows:
                raise SheetError(f"{name}: more than {limits.rows:,} rows (stopped at line {start:,}); "
                                 "split the file")
            if len(row) > max_columns:
                raise SheetError(f"{name}: row {number:,} has {len(row):,} columns; a sheet may have at most "
                                 f"{limits.columns:,}")
            if len(row) > width:
                width = len(row)
            if number * width > max_cells:
                raise SheetError(f"{name}: {number:,} rows x {width:,} columns is over the {limits.cells:,}-cell "
                                 "limit; split the file or drop unused columns")
            # a cell over the length limit is looked for among the distinct texts at the end (`_long_cell`)
            if end > start:  # ... but here before the quote check, which comes after it
                _long_cell(name, [(number, row)], limits)
                _check_quotes(name, row, number, start, delimiter, header_width or len(row))
            if not header_width and any(c.strip() for c in row):
                header_width = len(row)
            keep((number, tuple(map(share, row, row))))
    except csv.Error as exc:
        _long_cell(name, records, limits, shared)  # an earlier row's long cell is said first, as it was met first
        number = len(records) + 1
        raise SheetError(f"{name}: row {number:,} (from line {end + 1:,}) is not readable as CSV ({exc}); a quote "
                         "(\") that opens there and never closes does this") from None
    except SheetError:
        _long_cell(name, records, limits, shared)
        raise
    _long_cell(name, records, limits, shared)
    return records


def _long_cell(name: str, records, limits: Limits, shared: dict | None = None) -> None:
    """Refuse the first row of `records` holding a cell over `limits.cell_chars` characters. `shared`: every
    distinct text of the rows, which answer "none" at once (a row at a time, the check cost 3.6 million len()s)."""
    if shared is not None and max(map(len, shared), default=0) <= limits.cell_chars:
        return
    for number, row in records:
        if row and max(map(len, row)) > limits.cell_chars:
            i = next(i for i, cell in enumerate(row) if len(cell) > limits.cell_chars)
            raise SheetError(f"{name}: row {number:,}, column {_letter(i)} holds {len(row[i]):,} characters; "
                             f"a cell may hold at most {limits.cell_chars:,}")


#: characters of text handed to one StringIO (see `_lines`)
_CHUNK = 2**20


def _lines(text: str):
    """The text's lines as `io.StringIO(text, newline="")` gives them (each ends after CR, LF or CRLF), a
    megabyte at a time: one StringIO holds 4 bytes a character, 84 MB for a 21 MB sheet. Each piece ends
    just after an LF (or, where no LF follows, a CR), so no CRLF is cut in two and every line is the
    one the whole text would give. The pieces' lines are chained in C (a generator resumed per line cost
    0.04 s for 100,000 rows)."""
    return chain.from_iterable(_pieces(text))


def _pieces(text: str):
    """`_lines`' pieces, each a StringIO of whole lines."""
    start = 0
    while start < len(text):
        end = text.find("\n", start + _CHUNK)
        if end < 0:  # no LF from here on: a CR ends a line (old Mac files) and cannot be half a CRLF
            end = text.find("\r", start + _CHUNK)
        end = len(text) if end < 0 else end + 1
        yield io.StringIO(text[start:end], newline="")
        start = end


def _check_quotes(name: str, row: list[str], number: int, start: int, delimiter: str, width: int) -> None:
    """Refuse a quoted cell that runs over line ends and holds lines that look like rows of this sheet."""
    for i, cell in enumerate(row):
        inner = _LINE_BREAK.split(cell)
        if len(inner) == 1:
            continue
        rowlike = [line for line in inner[1:]
                   if len(next(csv.reader([line], delimiter=delimiter), [])) >= max(2, width - 1)]
        if rowlike:
            opened = start + sum(len(_LINE_BREAK.findall(c)) for c in row[:i])
            preview = rowlike[0] if len(rowlike[0]) <= 60 else rowlike[0][:59] + "…"
            raise SheetError(f"{name}: the quote (\") that opens on line {opened:,} (row {number:,}, column "
                             f"{_letter(i)}) runs over {len(inner) - 1:,} line end(s) and swallows {len(rowlike):,} "
                             f"line(s) that look like rows, starting {preview!r}; close the quote or remove it")


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


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


def _read_xlsx(data: bytes, name: str, sheet: str | None, max_uncompressed: int, limits: Limits) -> RawSheet:
    _check_zip(data, name, max_uncompressed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = _open_workbook(data, name, limits)
    except SheetError:
        raise
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
        for ws in candidates:
            _check_dimension(ws, name, limits)
        best = None
        for ws in candidates:  # the sheet with the best header, judged on its first rows only
            score = _header_match_count(_xlsx_records(ws, name, limits, head=50)[0]) if len(candidates) > 1 else 0
            if best is None or score > best[0]:
                best = (score, ws)
        ws = best[1]
        title = ws.title
        records, merged = _xlsx_records(ws, name, limits)
        notes = [f"read sheet '{title}'" + (f" of {len(names)}: {', '.join(names)}" if len(names) > 1 else "")]
        return _build(name, records, merged=merged, sheet=title, sheet_names=names, encoding=None, delimiter=None,
                      notes=notes)
    finally:
        wb.close()


def _open_workbook(data: bytes, name: str, limits: Limits):
    """openpyxl's read-only workbook, with the shared-string table counted before it is read, then read
    fast: openpyxl's own reader spent 123 s and 420 MB on 2.5 million strings in a 6.5 MB file.

    read_only: rows stream from the XML, so nothing builds a grid; data_only=False: a formula cell
    reads as its formula text ("=..."), which validation flags; nothing is evaluated.
    """
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS

    class _Reader(ExcelReader):
        refusal: SheetError | None = None

        def read_strings(self):
            part = self.package.find(SHARED_STRINGS)
            try:
                self.shared_strings = [] if part is None else _shared_strings(self.archive, part.PartName[1:], name,
                                                                             limits)
            except SheetError as exc:  # read() rewraps every ValueError: keep ours to raise as it is
                self.refusal = exc
                raise

    reader = _Reader(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    try:
        reader.read()
    except ValueError:
        if reader.refusal is not None:
            raise reader.refusal from None
        raise
    return reader.wb


_SI = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")


def _shared_strings(archive, path: str, name: str, limits: Limits) -> list[str]:
    """The workbook's shared strings as openpyxl reads them (plain and rich runs joined, no phonetic
    guides), refusing more than `limits.shared_strings` from a count of the raw XML first."""
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    count, tail = 0, b""
    with archive.open(path) as src:
        while chunk := src.read(1 << 20):
            buf = tail + chunk
            cut = max(len(buf) - 32, 0)  # a tag starting in the last bytes is counted with the next chunk
            count += sum(1 for m in _SI.finditer(buf) if m.start() < cut)
            tail = buf[cut:]
            if count > limits.shared_strings:
                raise SheetError(f"{name}: the workbook holds more than {limits.shared_strings:,} distinct texts "
                                 "(shared strings); split it or save it as CSV")
    count += len(_SI.findall(tail))
    if count > limits.shared_strings:
        raise SheetError(f"{name}: the workbook holds more than {limits.shared_strings:,} distinct texts "
                         "(shared strings); split it or save it as CSV")
    si, t, r = (f"{{{SHEET_MAIN_NS}}}{tag}" for tag in ("si", "t", "r"))
    strings = []
    with archive.open(path) as src:
        for _, node in iterparse(src):
            if node.tag != si:
                continue
            parts = [child.text or "" for child in node if child.tag == t]
            parts += [g.text or "" for run in node if run.tag == r for g in run if g.tag == t]
            strings.append("".join(parts).replace("x005F_", ""))
            node.clear()
    return strings


def _check_dimension(ws, name: str, limits: Limits) -> None:
    """Refuse a sheet whose declared used range (<dimension ref>) is over the limits, before reading a row."""
    rows, columns = ws.max_row or 0, ws.max_column or 0
    where = f"{name}: sheet '{ws.title}' declares {rows:,} rows x {columns:,} columns"
    if rows > limits.rows:
        raise SheetError(f"{where}; a sheet may have at most {limits.rows:,} rows: delete the empty rows below the "
                         "data, or save it as CSV")
    if columns > limits.columns:
        raise SheetError(f"{where}; a sheet may have at most {limits.columns:,} columns: delete the empty columns "
                         "right of the data, or save it as CSV")
    if rows * columns > limits.cells:
        raise SheetError(f"{where}, over the {limits.cells:,}-cell limit; split it or drop unused columns")


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


def _xlsx_records(ws, name: str, limits: Limits, head: int | None = None) -> tuple[list[tuple[int, list[str]]],
                                                                                   set[int]]:
    """(row number, cell texts) for every row as stored (the first `head` rows if given), and the rows that
    are one merged, multi-column cell.

    Streams the sheet's XML with openpyxl's own parser and checks each row before keeping it, since
    the declared dimension may be missing or wrong: a row out of order, a row number over the
    limit, a column over the limit or a cell over the length limit stops the read.
    """
    from openpyxl.cell.read_only import ReadOnlyCell
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._reader import WorkSheetParser
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse  # defusedxml's when installed

    row_tag, merge_tag = f"{{{SHEET_MAIN_NS}}}row", f"{{{SHEET_MAIN_NS}}}mergeCell"
    wb = ws.parent
    where = f"{name}: sheet '{ws.title}'"
    records: list[tuple[int, list[str]]] = []
    refs: list[str] = []
    width = last = 0
    try:
        with ws._get_source() as src:
            parser = WorkSheetParser(src, ws._shared_strings, data_only=wb.data_only, epoch=wb.epoch,
                                     date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
            # rows and merged ranges only, each element cleared once read: openpyxl's own parse() would
            # also build every other part (a million merged ranges took 60 s and 650 MB)
            for _, element in iterparse(src):
                if element.tag == merge_tag:
                    refs.append(str(element.get("ref")))
                    element.clear()
                    if len(refs) > MAX_MERGED:
                        raise SheetError(f"{where} has more than {MAX_MERGED:,} merged cell ranges; unmerge them "
                                         "or save it as CSV")
                    continue
                if element.tag != row_tag:
                    continue
                number, cells = parser.parse_row(element)
                element.clear()
                if number > limits.rows:
                    raise SheetError(f"{where} has a row numbered {number:,}; a sheet may have at most "
                                     f"{limits.rows:,} rows")
                if number <= last:
                    raise SheetError(f"{where} stores row {number:,} after row {last:,}; the file is damaged")
                last = number
                if not cells:
                    continue
                row_width = max(c["column"] for c in cells)
                if row_width > limits.columns:
                    raise SheetError(f"{where}, row {number:,} has a cell in column {_letter(row_width - 1)} "
                                     f"({row_width:,}); a sheet may have at most {limits.columns:,} columns")
                width = max(width, row_width)
                if number * width > limits.cells:
                    raise SheetError(f"{where}: {number:,} rows x {width:,} columns is over the {limits.cells:,}-cell "
                                     "limit; split it or drop unused columns")
                texts = [""] * row_width
                for c in cells:
                    text = _cell_text(ReadOnlyCell(ws, **c))
                    if len(text) > limits.cell_chars:
                        raise SheetError(f"{where}, cell {_letter(c['column'] - 1)}{number} holds {len(text):,} "
                                         f"characters; a cell may hold at most {limits.cell_chars:,}")
                    texts[c["column"] - 1] = text
                records.append((number, texts))
                if head is not None and len(records) >= head:
                    break
    except SheetError:
        raise
    except Exception as exc:  # a damaged part: openpyxl and the XML parser raise many types
        raise SheetError(f"{where} could not be read ({type(exc).__name__}: {exc})") from None
    merged = set()
    for ref in refs:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
        except (TypeError, ValueError):
            continue
        if max_col > min_col and min_row <= last:
            merged.update(range(min_row, min(max_row, last) + 1))
    return records, merged


#: merged ranges a sheet may have (title and section rows; a real sheet has a handful)
MAX_MERGED = 10_000


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
           delimiter, notes: list[str], may_hold_formulas: bool = True) -> RawSheet:
    """Find the header, name the columns, drop blank/title/help rows (recording which) and pad cells."""
    nonblank = [(n, cells) for n, cells in records if _filled(cells)]
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
        if len(cells) != width:
            cells = (tuple(cells) + ("",) * width)[:width]
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
    # a CSV without "=" anywhere holds no formula: its 3.6 million cells need not be looked at
    formulas = sum(1 for c in chain.from_iterable(rows) if c[:1] == "=") if may_hold_formulas else 0
    if formulas:
        notes.append(f"{formulas} cells hold formulas or start with '='; they are not evaluated and are "
                     "rejected where they feed a pod column")
    return RawSheet(name, tuple(columns), tuple(rows), tuple(numbers), header_number, sheet, tuple(sheet_names),
                    encoding, delimiter, tuple(notes), tuple(skipped + merged_rows + help_rows))


def _find_header(rows: list[tuple[int, list[str]]], merged: set[int]) -> int:
    """Index of the header: the first row naming >= 2 pod columns, else the first mostly-text wide row."""
    window = _header_window(rows)
    for i, (number, cells) in enumerate(window):
        if _header_matches(cells, stop=2) >= 2:
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
    for _, cells in _header_window(records):
        best = max(best, _header_matches(cells))
    return best


#: the header is looked for in the first 50 rows, but in no more cells than this (a 500-column sheet: 10 rows)
_HEADER_CELLS = 5_000


def _header_window(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """The rows the header may be on: the first 50, fewer when the sheet is wide (fuzzy scoring costs per cell)."""
    window, cells = [], 0
    for row in rows[:50]:
        cells += len(row[1])
        if window and cells > _HEADER_CELLS:
            break
        window.append(row)
    return window


def _header_matches(cells: list[str], stop: int | None = None) -> int:
    """How many cells name a pod column (stopping at `stop`); numbers and long texts are no header."""
    found = 0
    for c in cells:
        if c.strip() and len(c) <= _HEADER_CHARS and _parse_float(c) is None and _header_scores(c):
            found += 1
            if found == stop:
                break
    return found


_HEADER_CHARS = 200


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


def _filled(cells) -> bool:
    """Whether any cell holds more than whitespace (the first cell answers for most rows)."""
    first = cells[0] if cells else ""
    return bool(first) and not first.isspace() or bool("".join(cells).strip())


def _is_help_row(columns: list[str], cells) -> bool:
    """True for the template's description row, so an upload of the filled-in template skips it."""
    first = cells[0] if cells else ""
    if first and not first.isspace():  # the first cell is the first filled one: most rows
        first = first.strip()
    else:
        first = next((v.strip() for v in cells if v and not v.isspace()), "")
    if first not in _HELP_TEXTS and first.lstrip("'") not in _HELP_TEXTS:
        return False  # the quick answer for every data row
    filled = [(c, v.strip()) for c, v in zip(columns, cells) if v.strip()]
    return bool(filled) and all(_HELP.get(c) == v or _HELP.get(c) == v.lstrip("'") for c, v in filled)


_HELP_TEXTS = frozenset(_HELP.values())


def _last_filled(cells) -> int:
    for i in range(len(cells) - 1, -1, -1):
        if cells[i] and not cells[i].isspace():
            return i
    return -1
