"""Mapping a sheet's headers to pod fields: `suggest_mapping` over the scores `headers` gives each header.

Also the template's help text per column, which the reader uses to skip a filled-in template's help row.
"""
from __future__ import annotations

from typing import Iterable

from podgeo import vocab
from podgeo.sheets import headers
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
    return headers.header_scores(header, _FIELD_NAMES)


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
