"""Formula-safe spreadsheet cells: one rule for every file podgeo writes, and its inverse for files read back.

Below `exports`, `attributes` and `sheets` (it imports nothing of podgeo), so none of them needs another
to defuse a cell.
"""
from __future__ import annotations

import re

FORMULA_PREFIXES = tuple("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")


def safe_cell(value) -> str:
    """Defuse spreadsheet formula injection: text starting with = + - @ (or tab/CR) gets a leading
    quote. A plain number such as -122.25 is left alone: it is no formula, and a quote would turn
    a longitude into text."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def unescape(text: str) -> str:
    """Undo the quote `safe_cell` adds on export, so a fixed rejected-rows file re-uploads cleanly."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text
