"""Per-column parsers: one cleaned, non-empty cell text -> the stored value, or `_Invalid` saying why not."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Mapping

from podgeo import vocab
from podgeo.sheets.model import _TEXT_LIMITS
from podgeo.sheets.states import _state_code
from podgeo.sheets.text import _parse_float, _short


class _Invalid(Exception):
    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.fix: dict[str, str] | None = None


# -- per-column parsers: text (non-empty, cleaned) -> stored value, or raise _Invalid ------------


def _text(target: str):
    def parse(text: str, column: str):
        limit = _TEXT_LIMITS.get(target, 1000)
        if len(text) > limit:
            raise _Invalid("too_long", f"{len(text)} characters; at most {limit}")
        return text
    return parse


def _term(terms: tuple[vocab.Term, ...], target: str, chosen: Mapping[str, str | None] | None = None):
    """A one-term parser; `chosen` maps a value the user decided on (value table) to a code, or None: left empty."""
    def parse(text: str, column: str):
        code = vocab.normalise(text, terms)
        if code is None and chosen and text in chosen:
            return chosen[text] or None
        if code is None:
            raise _vocab_error(text, terms, target, column)
        return code
    return parse


def _vocab_error(text: str, terms: tuple[vocab.Term, ...], target: str, column: str, whole: str | None = None):
    allowed = ", ".join(t.label for t in terms)
    exc = _Invalid("vocabulary", f"'{_short(text)}' is not an allowed {target.replace('_', ' ')}; allowed: {allowed}")
    code = vocab.suggest(text, terms)
    if code:
        label = vocab.labels(terms)[code]
        exc.message += f" (did you mean '{label}'?)"
        exc.fix = {column: (whole or text).replace(text, label)}
    return exc


def _term_list(terms: tuple[vocab.Term, ...], target: str, chosen: Mapping[str, str | None] | None = None):
    def parse(text: str, column: str):
        codes = []
        for part in _split_list(text):
            code = vocab.normalise(part, terms)
            if code is None and chosen and part in chosen:
                code = chosen[part] or None
                if code is None:
                    continue
            if code is None:
                raise _vocab_error(part, terms, target, column, whole=text)
            if code not in codes:
                codes.append(code)
        return codes
    return parse


#: Columns whose values are terms of a vocabulary.
VOCAB_COLUMNS = {
    "operator_type": vocab.OPERATOR_TYPES,
    "mode": vocab.MODES,
    "cost": vocab.COSTS,
    "status": vocab.STATUSES,
    "priority_groups": vocab.PRIORITY_GROUPS,
    "supports": vocab.SUPPORTS,
}


def parser(target: str, chosen: Mapping[str, str | None] | None = None):
    """The parser for `target`; for a vocabulary column with `chosen` values, one that applies those choices."""
    if chosen and target in VOCAB_COLUMNS:
        make = _term_list if target in vocab.LIST_COLUMNS else _term
        return make(VOCAB_COLUMNS[target], target, chosen)
    return _PARSERS[target]


def split_list(text: str) -> list[str]:
    """The parts of a list cell ("meals; transport")."""
    return _split_list(text)


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


#: Largest capacity and monthly fee accepted: far above any pod or hub, far below what SQLite's
#: 64-bit integers and the preview's Arrow columns hold (1e19 used to overflow at commit).
MAX_CAPACITY = 100_000
MAX_FEE_USD = 100_000


def _capacity(text: str, column: str) -> int:
    number = _parse_float(text, thousands=True)
    if number is None or not number.is_integer() or number < 0:
        raise _Invalid("whole_number", f"'{_short(text)}' is not a whole number of seats (0 or more)")
    if number > MAX_CAPACITY:
        raise _Invalid("out_of_range", f"{_short(text)} seats is outside the allowed range 0 to {MAX_CAPACITY:,}")
    return int(number)


def _fee(text: str, column: str) -> float:
    cleaned = re.sub(r"^(US)?\$\s*|\s*(USD|/\s*(mo|month))$", "", text, flags=re.I)
    number = _parse_float(cleaned, thousands=True)
    if number is None:
        raise _Invalid("number", f"'{_short(text)}' is not an amount in dollars")
    if number < 0:
        raise _Invalid("negative", f"fee {text} is negative")
    if number > MAX_FEE_USD:
        raise _Invalid("out_of_range", f"fee {_short(text)} is outside the allowed range $0 to ${MAX_FEE_USD:,} a month")
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
    m = _HEMISPHERE.fullmatch(t) if t[:1] in _NSEW or t[-1:] in _NSEW else None  # it needs one at an end
    if m:
        hemisphere = m.group(1) or m.group(4)
        t = (m.group(2) or m.group(3)).strip()
    value = _parse_float(t, decimal_comma=True)
    if value is None:
        dms = _DMS.fullmatch(t)
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


_NSEW = frozenset("NSEW")
_HEMISPHERE = re.compile(r"([NSEW])\s*(.+)|(.+?)\s*([NSEW])")
_DMS = re.compile(r"(-?[0-9]+(?:\.[0-9]+)?)\s+([0-9]+(?:\.[0-9]+)?)\s*'?\s*(?:([0-9]+(?:\.[0-9]+)?)\s*(?:\"|'')?)?")


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


def _zip(text: str, column: str) -> str:
    t = text.strip()
    if _ZIP_SHORT.fullmatch(t):
        t = t.zfill(5)  # leading zeros lost in Excel
    elif _ZIP_NINE.fullmatch(t):
        t = f"{t[:5]}-{t[5:]}"
    elif _ZIP_FLOAT.fullmatch(t):
        t = t[:5]
    if _ZIP.fullmatch(t):  # the usual cell: already a ZIP, which the ZIP+4 spacing below leaves as it is
        return t
    t = _ZIP_SPACED.sub(r"\1-\2", t)
    if not _ZIP.fullmatch(t):
        raise _Invalid("zip", f"'{_short(text)}' is not a ZIP code (5 digits, or ZIP+4)")
    return t


_ZIP_SHORT, _ZIP_NINE, _ZIP_FLOAT = re.compile(r"[0-9]{3,4}"), re.compile(r"[0-9]{9}"), re.compile(r"[0-9]{5}\.0")
_ZIP_SPACED = re.compile(r"^([0-9]{5})\s*-?\s*([0-9]{4})$")
_ZIP = re.compile(r"[0-9]{5}(-[0-9]{4})?")


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
