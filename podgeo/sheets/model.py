"""The shapes every sheet step passes along: the raw sheet as read, row errors, fixes and the validation.

Frozen dataclasses and the constants they are checked against; no reading or parsing here, so every
other part of `podgeo.sheets` can import this without pulling in the others.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, NamedTuple

from podgeo import vocab

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
    "out_of_range": "a number outside the allowed range",
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


@dataclass(frozen=True)
class Limits:
    """What a sheet may hold, checked before and while its rows are read (never after building them all).

    Rows count every line of the sheet, header included; `columns` is the widest row; `cells` is
    rows x columns as the sheet is padded to a grid; `cell_chars` is Excel's own cell limit.
    """

    rows: int = 200_000
    columns: int = 500
    cells: int = 4_000_000
    cell_chars: int = 32_767
    shared_strings: int = 1_000_000  # an .xlsx's table of distinct texts (100,000 rows x 10 text columns)


LIMITS = Limits()
#: rows a district sheet (cohort members, an attribute layer) may have: each district once, and some to spare
MAX_DISTRICT_ROWS = 20_000


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
    encoding_choices: tuple[str, ...] = ()  # CSV only: set when the encoding guess is unsure; ask the user

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


_POD_ID = POD_FIELDS.index("pod_id")


class ValidRow(NamedTuple):
    """A row that passed: its pod's normalised values, one per POD_FIELDS key in order (list columns as tuples).

    Held as tuples, not a dict: a 100,000-row plan holds one per valid row (a dict took ~830 bytes a
    row, the tuple ~250), and a named tuple is made 5x faster than a frozen dataclass (0.3 s for
    100,000). `pod` gives the dict, a new one each time.
    """

    row: int
    values: tuple
    action: str  # "insert" or "update" (pod_id already in existing_ids)
    needs_geocode: bool = False

    @property
    def pod(self) -> dict:
        """Every POD_COLUMNS key, in order, with normalised values (list columns as lists)."""
        pod = dict(zip(POD_FIELDS, self.values))
        for name in vocab.LIST_COLUMNS:
            pod[name] = list(pod[name])
        return pod

    @property
    def pod_id(self) -> str:
        return self.values[_POD_ID]


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
    judged: tuple = ()  # judge.ColumnJudgement: optional columns left out because few of their values fit

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rejected for e in r.errors]

    @property
    def pods(self) -> list[dict]:
        return [v.pod for v in self.valid]

    def pod_columns(self) -> dict[str, list]:
        """The valid rows' pods column by column ({POD_FIELDS key: values}; list columns hold tuples), without
        a dict per row: what the commit writes."""
        columns = list(zip(*(v.values for v in self.valid))) or [()] * len(POD_FIELDS)
        return {name: list(values) for name, values in zip(POD_FIELDS, columns)}

    @property
    def inserts(self) -> list[str]:
        return [v.pod_id for v in self.valid if v.action == "insert"]

    @property
    def updates(self) -> list[str]:
        return [v.pod_id for v in self.valid if v.action == "update"]

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
