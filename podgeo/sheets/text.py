"""Small text and number helpers shared by reading, mapping and validating (no sheet knowledge)."""
from __future__ import annotations

import re
import unicodedata

from podgeo.cells import unescape


def _number_text(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _parse_float(text: str, *, thousands: bool = False, decimal_comma: bool = False) -> float | None:
    t = text.strip()
    if thousands and _THOUSANDS.fullmatch(t):
        t = t.replace(",", "")
    elif (thousands or decimal_comma) and _DECIMAL_COMMA.fullmatch(t):
        t = t.replace(",", ".")
    if not _FLOAT.fullmatch(t):
        return None
    value = float(t)
    return value if value == value and abs(value) != float("inf") else None


# compiled once: each cell of a number column is parsed (a module-level re call looks its pattern up each time)
_THOUSANDS = re.compile(r"[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")
_DECIMAL_COMMA = re.compile(r"[-+]?[0-9]+,[0-9]+")
_FLOAT = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


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


def _key(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _ascii(text).lower()).split())


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: str) -> str:
    return " ".join(_CONTROL.sub("", str(text)).split())


_unescape = unescape


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
