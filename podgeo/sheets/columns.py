"""Mapping a sheet's headers to pod fields: `suggest_mapping` over the scores `headers` gives each header.

Also the template's help text per column, which the reader uses to skip a filled-in template's help row.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Iterable, Mapping

from podgeo import vocab
from podgeo.sheets.headers import header_scores
from podgeo.sheets.model import TARGETS
from podgeo.sheets.values import VOCAB_COLUMNS


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


def _header_scores(header: str) -> dict[str, float]:
    """Candidate pod columns for a header with scores 0-100 (see `headers.header_scores`)."""
    return header_scores(header, _FIELD_NAMES)


#: The field names as synonyms of themselves ("fee_usd", "grade_range").
_FIELD_NAMES = {target: target for target in TARGETS}


_VOCAB_COLUMNS = VOCAB_COLUMNS


def _help_text(column: str, description: str) -> str:
    terms = _VOCAB_COLUMNS.get(column)
    if not terms:
        return description
    codes = " | ".join(t.code for t in terms)
    several = "; separate several with ;" if column in vocab.LIST_COLUMNS else ""
    return f"{description}. Allowed: {codes} (or their labels{several})"


_HELP = {name: _help_text(name, description) for name, description in vocab.POD_COLUMNS}


# -- mappings given by the user: --map "Column=field", a JSON or CSV mapping file ---------------

#: Words that mean "do not import this column" where a field name is expected.
_NOT_IMPORTED = {"", "-", "none", "null", "skip"}


def parse_map_option(text: str) -> tuple[str, str | None]:
    """'Column name=field' -> (column, field); 'Column name=' or '=none' means not imported.

    The last '=' splits, so a column whose name holds '=' still works ("a=b=name").
    """
    column, sep, target = str(text).rpartition("=")
    if not sep or not column.strip():
        raise ValueError(f"--map {text!r}: write it as \"Column name=field\", e.g. \"Site Name=name\"")
    return " ".join(column.split()), _field(target, f"--map {text!r}")


def read_mapping_file(data: bytes, filename: str) -> dict[str, str | None]:
    """A mapping file: JSON ({"Column": "field"} or [{"column": ..., "field": ...}]) or a two-column CSV."""
    from podgeo.sheets.model import SheetError

    text = data.decode("utf-8-sig", errors="replace")
    if filename.lower().endswith(".json") or text.lstrip().startswith(("{", "[")):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SheetError(f"{filename}: not valid JSON ({exc})") from None
        pairs = loaded.items() if isinstance(loaded, dict) else (
            (item.get("column"), item.get("field")) for item in loaded if isinstance(item, dict))
        if not isinstance(loaded, (dict, list)):
            raise SheetError(f"{filename}: expected {{\"Column\": \"field\"}} or a list of {{column, field}}")
    else:
        rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
        if rows and [c.strip().lower() for c in rows[0][:2]] == ["column", "field"]:
            rows = rows[1:]
        bad = next((i for i, r in enumerate(rows, start=1) if len(r) < 2 and r[0].strip()), None)
        if bad is not None and not all(len(r) == 1 for r in rows):
            raise SheetError(f"{filename}: line {bad} has no field; write column,field on each line")
        pairs = ((r[0], r[1] if len(r) > 1 else "") for r in rows)
    out: dict[str, str | None] = {}
    for column, target in pairs:
        if not isinstance(column, str) or not column.strip():
            raise SheetError(f"{filename}: a mapping entry has no column name ({column!r})")
        out[" ".join(column.split())] = _field(target if isinstance(target, str) or target is None else str(target),
                                               filename)
    if not out:
        raise SheetError(f"{filename}: the mapping file maps no column")
    return out


def resolve_mapping(columns: Iterable[str], given: Mapping[str, str | None], *, base: Mapping[str, str | None],
                    where: str) -> dict[str, str | None]:
    """`base` (a suggestion or a saved mapping) overridden by `given`, checked against the sheet's columns.

    A given column must be in the sheet (case and spacing aside); a field given to one column is
    taken from any other column `base` had given it to, so the two never clash.
    """
    from podgeo.sheets.model import SheetError

    columns = list(columns)
    by_key = {" ".join(c.split()).casefold(): c for c in columns}
    out = {c: base.get(c) for c in columns}
    for column, target in given.items():
        real = by_key.get(" ".join(column.split()).casefold())
        if real is None:
            close = [c for c in columns if column.casefold() in c.casefold() or c.casefold() in column.casefold()]
            raise SheetError(f"{where}: no column {column!r} in the sheet" +
                             (f" (did you mean {', '.join(repr(c) for c in close[:3])}?)" if close else
                              f"; its columns are: {', '.join(repr(c) for c in columns[:30])}"))
        if target:
            for other, had in out.items():
                if had == target and other != real:
                    out[other] = None
        out[real] = target
    return out


def _field(text: str | None, where: str) -> str | None:
    target = (text or "").strip()
    if target.lower() in _NOT_IMPORTED:
        return None
    if target not in TARGETS:
        raise ValueError(f"{where}: {target!r} is not a pod field; fields: {', '.join(TARGETS)}")
    return target
