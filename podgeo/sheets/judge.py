"""A column as a whole, before its rows: each distinct cell parsed once, the value table, and unfit columns.

Partners' sheets repeat values (a type, a state, a city on thousands of rows), so each distinct
cell text is cleaned and parsed once per column and the result shared by every row holding it.
The same pass gives the value table (each distinct value that fits no allowed term, once, with
its suggestion and how many rows hold it; one choice applies to all of them) and the judgement
of an optional column whose header said one thing and whose values say another (free text such
as "families, anyone, call for details" under a "Who we serve" header mapped to priority groups):
said once, and the column left out instead of rejecting every row.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from typing import Mapping, NamedTuple

from podgeo import vocab
from podgeo.sheets.model import GRADE_RANGE, RawSheet
from podgeo.sheets.text import _clean, _short, _unescape
from podgeo.sheets.values import VOCAB_COLUMNS, _Invalid, _parse_grade_range, parser, split_list

#: Fields judged as a whole: optional ones with a rule beyond "text". Name and location are not:
#: without them a row cannot be a pod, so their errors stay row errors.
JUDGED = frozenset(("operator_type", "partner_leaid", "mode", "grade_low", "grade_high", GRADE_RANGE, "capacity",
                    "cost", "fee_usd", "priority_groups", "supports", "status", "opened_on", "closed_on", "zip",
                    "last_verified"))
#: A judged column is left out when fewer than this share of its filled cells fit, over at least MIN_FILLED.
MIN_FIT = 0.5
MIN_FILLED = 5


class Cell(NamedTuple):
    """One distinct cell text of a column: as in the file, cleaned, and parsed (value, or the error).

    `value` is None when `text` is empty, a formula or in error. Compared and hashed by identity (rows
    holding one text share one Cell; a value may be a list). A named tuple: a column's distinct cells
    (165,000 in a 100,000-row sheet) were made 4x slower as a frozen dataclass.
    """

    original: str
    text: str
    value: object = None
    error: _Invalid | None = None

    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__


@dataclass(frozen=True)
class ValueIssue:
    """A distinct value of a vocabulary column that fits no allowed term: one row of the value table."""

    field: str
    column: str
    value: str
    rows: int
    suggestion: str | None  # a code, or None when nothing is close

    @property
    def suggestion_label(self) -> str:
        return vocab.labels(VOCAB_COLUMNS[self.field]).get(self.suggestion, "") if self.suggestion else ""


@dataclass(frozen=True)
class ColumnJudgement:
    """An optional column most of whose filled cells do not fit the field it was mapped to."""

    field: str
    column: str
    filled: int
    fitting: int

    @property
    def message(self) -> str:
        return (f"column '{_short(self.column)}' was mapped to {self.field.replace('_', ' ')}, but only "
                f"{self.fitting:,} of its {self.filled:,} filled cells fit, so it was not imported; map its values "
                "(value table) to keep it, or choose another field")


def parse_column(raw: RawSheet, column: str, target: str,
                 chosen: Mapping[str, str | None] | None = None) -> list[Cell]:
    """Every row's cell of `column` parsed for `target`, aligned with `raw.rows`; equal texts share one Cell."""
    index = raw.columns.index(column)
    parse = _parse_grade_range_cell if target == GRADE_RANGE else parser(target, chosen)
    if min(map(len, raw.rows), default=index + 1) > index:  # every row reaches the column (as read: padded)
        texts = list(map(itemgetter(index), raw.rows))
    else:
        texts = [row[index] if index < len(row) else "" for row in raw.rows]
    cells = {original: _parse_cell(original, column, parse) for original in dict.fromkeys(texts)}
    return list(map(cells.__getitem__, texts))


def judge(field: str, column: str, cells: list[Cell]) -> ColumnJudgement | None:
    """The judgement of one parsed column, or None when it fits well enough (or is not judged)."""
    if field not in JUDGED:
        return None
    filled = fitting = 0
    for cell, count in _counts(cells):
        if cell.text and not cell.text.startswith("="):
            filled += count
            fitting += count * (cell.error is None)
    if filled >= MIN_FILLED and fitting < MIN_FIT * filled:
        return ColumnJudgement(field, column, filled, fitting)
    return None


def judge_columns(raw: RawSheet, mapping: Mapping[str, str | None],
                  values: Mapping[str, Mapping[str, str | None]] | None = None) -> tuple[ColumnJudgement, ...]:
    """Judgements of every mapped column (a field with value choices in `values` is kept: the user decided)."""
    values = values or {}
    out = []
    for column, field in mapping.items():
        if field and field in JUDGED and field not in values and column in raw.columns:
            judgement = judge(field, column, parse_column(raw, column, field))
            if judgement:
                out.append(judgement)
    return tuple(out)


def value_table(raw: RawSheet, mapping: Mapping[str, str | None]) -> tuple[ValueIssue, ...]:
    """Each distinct value of a vocabulary column that fits no term, once, with a suggestion and its row count.

    For list columns (priority groups, supports) the value is one part of a cell. Most rows first.
    """
    out = []
    for column, field in mapping.items():
        if field not in VOCAB_COLUMNS or column not in raw.columns:
            continue
        terms = VOCAB_COLUMNS[field]
        counts: Counter = Counter()
        for cell, count in _counts(parse_column(raw, column, field)):
            if cell.error is None or cell.error.rule != "vocabulary":
                continue
            parts = split_list(cell.text) if field in vocab.LIST_COLUMNS else [cell.text]
            for part in dict.fromkeys(parts):
                if vocab.normalise(part, terms) is None:
                    counts[part] += count
        out.extend(ValueIssue(field, column, value, rows, vocab.suggest(value, terms))
                   for value, rows in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return tuple(out)


def suggested_values(issues) -> dict[str, dict[str, str]]:
    """The value table's suggestions as choices for `validate(values=...)`: what --accept-fixes applies."""
    out: dict[str, dict[str, str]] = {}
    for issue in issues:
        if issue.suggestion:
            out.setdefault(issue.field, {})[issue.value] = issue.suggestion
    return out


def _counts(cells: list[Cell]) -> list[tuple[Cell, int]]:
    """(distinct Cell, rows holding it): the shared Cell objects counted by identity."""
    return list(Counter(cells).items())


def _parse_cell(original: str, column: str, parse) -> Cell:
    # printable text has no control characters for _clean to drop: only its spaces to fold
    text = _unescape(" ".join(original.split()) if original.isprintable() else _clean(original))
    if not text or text.startswith("="):
        return Cell(original, text)
    try:
        return Cell(original, text, parse(text, column))
    except _Invalid as exc:
        return Cell(original, text, None, exc)


def _parse_grade_range_cell(text: str, column: str) -> tuple[int, int]:
    return _parse_grade_range(text)
