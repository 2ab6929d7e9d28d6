"""Pod filters: one hashable value object shared by the map, the directory, coverage and the URL.

`PodFilter` is frozen so cached loaders can key on it; `to_query`/`from_query` round-trip it
through `st.query_params` so a copied link reopens the same selection. Unknown codes in a URL
are dropped rather than trusted.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

import pandas as pd

from podgeo import vocab

_MULTI = {
    "operator_types": vocab.OPERATOR_TYPES,
    "modes": vocab.MODES,
    "costs": vocab.COSTS,
    "statuses": vocab.STATUSES,
    "priority_groups": vocab.PRIORITY_GROUPS,
    "supports": vocab.SUPPORTS,
}
#: pod column each multi-choice filter reads
_COLUMN = {"operator_types": "operator_type", "modes": "mode", "costs": "cost", "statuses": "status",
           "priority_groups": "priority_groups", "supports": "supports"}
GRADE_MIN, GRADE_MAX = -1, 12
#: the "open on" dates a link or the date picker may ask for (pods of the 2020-21 school year and after)
AS_OF_MIN, AS_OF_MAX = date(2019, 1, 1), date(2030, 12, 31)
#: the URL parameter of each filter field
PARAMS = (*_MULTI, "grades", "as_of")


@dataclass(frozen=True)
class PodFilter:
    """Which pods to show. Empty tuples mean "any"; `as_of` keeps pods open on that date
    (opened on or before it, not closed by it, not merely planned)."""

    operator_types: tuple[str, ...] = ()
    modes: tuple[str, ...] = ()
    costs: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    priority_groups: tuple[str, ...] = ()  # a pod matches if it serves any of them
    supports: tuple[str, ...] = ()  # a pod matches if it offers any of them
    grade_low: int = GRADE_MIN
    grade_high: int = GRADE_MAX  # pods whose grade range overlaps [grade_low, grade_high]
    as_of: date | None = None

    def __post_init__(self):
        for name, terms in _MULTI.items():
            allowed = {t.code for t in terms}
            bad = [v for v in getattr(self, name) if v not in allowed]
            if bad:
                raise ValueError(f"{name}: unknown value(s) {bad}; allowed: {sorted(allowed)}")
        if not GRADE_MIN <= self.grade_low <= self.grade_high <= GRADE_MAX:
            raise ValueError(f"grades must satisfy PK <= low <= high <= 12, not {self.grade_low}..{self.grade_high}")

    @property
    def is_default(self) -> bool:
        return self == PodFilter()

    def to_query(self) -> dict[str, str]:
        """Non-default fields as URL parameters (`?modes=in_person,hybrid&as_of=2020-11-01`)."""
        out = {}
        for name in _MULTI:
            if getattr(self, name):
                out[name] = ",".join(getattr(self, name))
        if (self.grade_low, self.grade_high) != (GRADE_MIN, GRADE_MAX):
            out["grades"] = f"{vocab.grade_label(self.grade_low)}-{vocab.grade_label(self.grade_high)}"
        if self.as_of:
            out["as_of"] = self.as_of.isoformat()
        return out

    @classmethod
    def from_query(cls, params: dict) -> "PodFilter":
        """Rebuild from URL parameters, ignoring anything malformed or unknown."""
        return cls.from_query_checked(params)[0]

    @classmethod
    def from_query_checked(cls, params: dict) -> tuple["PodFilter", dict[str, str]]:
        """(filter, problems): the filter a URL asks for, and {param: why} for every value dropped
        (unknown codes, a grade range that is not one, a date that is not a date or lies outside
        AS_OF_MIN..AS_OF_MAX), so a page can say what it ignored rather than fail."""
        kwargs: dict = {}
        problems: dict[str, str] = {}
        for name, terms in _MULTI.items():
            allowed = {t.code for t in terms}
            raw = [v for v in str(params.get(name, "") or "").split(",") if v]
            kwargs[name] = tuple(dict.fromkeys(v for v in raw if v in allowed))
            unknown = [v for v in raw if v not in allowed]
            if unknown:
                problems[name] = f"unknown value(s) {', '.join(unknown)}"
        grades = str(params.get("grades", "") or "")
        if grades:
            low, _, high = grades.partition("-")
            lo, hi = vocab.grade_code(low), vocab.grade_code(high)
            if lo is not None and hi is not None and lo <= hi:
                kwargs["grade_low"], kwargs["grade_high"] = lo, hi
            else:
                problems["grades"] = "not a grade range such as K-5 or PK-12"
        raw_date = str(params.get("as_of", "") or "")
        if raw_date:
            try:
                day = date.fromisoformat(raw_date)
            except ValueError:
                problems["as_of"] = "not a date (YYYY-MM-DD)"
            else:
                if AS_OF_MIN <= day <= AS_OF_MAX:
                    kwargs["as_of"] = day
                else:
                    problems["as_of"] = f"outside {AS_OF_MIN.isoformat()} to {AS_OF_MAX.isoformat()}"
        return cls(**kwargs), problems


def apply(pods: pd.DataFrame, f: PodFilter) -> pd.DataFrame:
    """The pods `f` keeps (a new frame; the input is not changed)."""
    keep = pd.Series(True, index=pods.index)
    for name in ("operator_types", "modes", "costs", "statuses"):
        chosen = getattr(f, name)
        if chosen:
            keep &= pods[_COLUMN[name]].isin(chosen)
    for name in ("priority_groups", "supports"):
        chosen = set(getattr(f, name))
        if chosen:
            keep &= pods[_COLUMN[name]].map(lambda codes: bool(chosen & set(codes or ())))
    if (f.grade_low, f.grade_high) != (GRADE_MIN, GRADE_MAX):
        low = pd.to_numeric(pods["grade_low"], errors="coerce").fillna(GRADE_MIN)
        high = pd.to_numeric(pods["grade_high"], errors="coerce").fillna(GRADE_MAX)
        keep &= (low <= f.grade_high) & (high >= f.grade_low)
    if f.as_of is not None:
        day = f.as_of.isoformat()
        opened = pods["opened_on"].fillna("")
        closed = pods["closed_on"].fillna("")
        # no opening date: open from the start unless still planned; no closing date: still open
        keep &= ((opened == "") | (opened <= day)) & ((closed == "") | (closed > day)) & (pods["status"] != "planned")
    return pods[keep].copy()


def describe(f: PodFilter) -> str:
    """One line saying what the filter keeps, for captions and download notes."""
    if f.is_default:
        return "all pods"
    parts = []
    for name, terms in _MULTI.items():
        chosen = getattr(f, name)
        if chosen:
            names = vocab.labels(terms)
            parts.append(f"{name.replace('_', ' ')}: {', '.join(names[c] for c in chosen)}")
    if (f.grade_low, f.grade_high) != (GRADE_MIN, GRADE_MAX):
        parts.append(f"grades {vocab.grade_label(f.grade_low)}-{vocab.grade_label(f.grade_high)}")
    if f.as_of:
        parts.append(f"open on {f.as_of.isoformat()}")
    return "; ".join(parts)


FIELDS = tuple(fld.name for fld in fields(PodFilter))
