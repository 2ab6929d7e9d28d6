"""Mapping a sheet's headers to pod fields: header synonyms, the fuzzy scorer and `suggest_mapping`.

Also the template's help text per column, which the reader uses to skip a filled-in template's help row.
"""
from __future__ import annotations

import functools
import re
from typing import Iterable

from rapidfuzz import fuzz, process

from podgeo import vocab
from podgeo.sheets.model import GRADE_RANGE, TARGETS
from podgeo.sheets.text import _ascii


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


_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "pod_id": ("id", "site id", "hub id", "pod code", "record id", "unique id", "podid"),
    "name": ("name", "site name", "pod name", "hub name", "site", "pod", "hub", "program name", "program",
             "location name", "school", "school name", "library", "library name", "libname", "facility name",
             "center name", "learning pod", "learning hub"),
    "operator_type": ("operator type", "program type", "type", "pod type", "hub type", "provider type", "site type",
                      "operator category", "model", "pod model"),
    "operator_name": ("operator", "organization", "organisation", "organization name", "organisation name",
                      "provider", "provider name", "run by", "sponsor", "host", "host organization", "agency",
                      "operated by", "lead organization"),
    "partner_leaid": ("leaid", "lea id", "nces id", "district id", "nces district id", "partner district id",
                      "partner district leaid", "district leaid", "partner lea"),
    "mode": ("delivery mode", "format", "modality", "instruction mode", "learning mode", "delivery", "setting",
             "in person or virtual"),
    "grade_low": ("lowest grade", "low grade", "min grade", "from grade", "grade from", "start grade", "grade min",
                  "first grade served", "grade lo"),
    "grade_high": ("highest grade", "high grade", "max grade", "to grade", "grade to", "end grade", "grade max",
                   "last grade served", "grade hi"),
    GRADE_RANGE: ("grades", "grade range", "grade levels", "grade level", "grade span", "grades served",
                  "grade band", "grade", "grades offered"),
    "capacity": ("seats", "slots", "spots", "enrollment capacity", "max students", "number of seats", "seat count",
                 "max enrollment", "student capacity", "total seats", "seats available"),
    "cost": ("cost type", "price type", "pricing", "affordability", "cost to families", "fee type", "payment"),
    "fee_usd": ("fee", "fees", "monthly fee", "fee per month", "price", "tuition", "fee usd", "cost per month",
                "monthly cost", "fee amount", "monthly tuition"),
    "priority_groups": ("priority", "priority group", "populations served", "groups served", "target population",
                        "priority populations", "target groups", "serves"),
    "supports": ("support", "services", "services offered", "supports offered", "wraparound services",
                 "wraparound supports", "amenities"),
    "languages": ("language", "languages spoken", "language of instruction", "languages offered",
                  "languages supported"),
    "status": ("status type", "site status", "operating status", "open status", "current status"),
    "opened_on": ("opened", "open date", "date opened", "opening date", "start date", "launch date",
                  "opened date", "date open"),
    "closed_on": ("closed date", "close date", "date closed", "closing date", "end date"),
    "address": ("street", "street address", "address 1", "address line 1", "addr", "location address",
                "site address", "physical address", "address1", "street 1", "location"),
    "city": ("town", "municipality", "city town", "city name"),
    "state": ("st", "state code", "stabr", "state abbreviation", "state abbr", "state name", "state postal"),
    "zip": ("zip code", "zipcode", "postal code", "postcode", "zip5", "postal"),
    "lat": ("latitude", "y", "lat dd", "latitude dd", "lat wgs84", "latitude wgs84", "y coordinate"),
    "lon": ("long", "lng", "longitude", "x", "longitud", "lon dd", "longitude dd", "lon wgs84", "longitude wgs84",
            "x coordinate"),
    "source": ("data source", "record source", "reported by", "source of record"),
    "last_verified": ("verified", "verified on", "date verified", "last checked", "last updated", "updated",
                      "last update", "updated on", "as of", "date checked", "last verified on"),
    "notes": ("note", "comments", "comment", "remarks", "description", "details", "additional information"),
}


@functools.lru_cache(maxsize=1)
def _synonyms() -> dict[str, str]:
    """Normalised header text -> target, from the column names and `_HEADER_SYNONYMS`."""
    table: dict[str, str] = {}
    for target in TARGETS:
        table[_norm_header(target)] = target
    for name, description in vocab.POD_COLUMNS:
        table.setdefault(_norm_header(name), name)
    for target, names in _HEADER_SYNONYMS.items():
        for synonym in names:
            table.setdefault(_norm_header(synonym), target)
    return table


def _norm_header(text: str) -> str:
    """Lower-case words of a header: camelCase split, brackets and punctuation dropped."""
    text = str(text)
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", text)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = _ascii(text).lower().replace("#", " number ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return " ".join(w for w in text.split() if w not in {"optional", "required"})


_FUZZY_CUTOFF = 85


def _header_scores(header: str) -> dict[str, float]:
    """Candidate pod columns for a header with scores 0-100: 100 for an exact synonym, else fuzzy.

    Fuzzy score = the better of rapidfuzz's ratio and token_sort_ratio against synonyms of 4+
    characters, each run natively over every synonym (a Python scorer cost ~1 ms a header, which
    a wide hostile sheet multiplies into minutes).
    """
    key = _norm_header(header)
    if not key:
        return {}
    synonyms = _synonyms()
    if key in synonyms:
        return {synonyms[key]: 100.0}
    if len(key) < 4:
        return {}
    best: dict[str, float] = {}
    for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
        for synonym, score, _ in process.extract(key, _fuzzy_choices(), scorer=scorer, score_cutoff=_FUZZY_CUTOFF,
                                                 limit=10):
            best[synonym] = max(best.get(synonym, 0.0), score)
    scores: dict[str, float] = {}
    for synonym, score in sorted(best.items(), key=lambda kv: -kv[1])[:10]:
        target = synonyms[synonym]
        scores[target] = max(scores.get(target, 0.0), min(score, 99.0))
    return scores


@functools.lru_cache(maxsize=1)
def _fuzzy_choices() -> tuple[str, ...]:
    """Synonyms long enough to match fuzzily (shorter ones, such as 'st' or 'x', only match exactly)."""
    return tuple(s for s in _synonyms() if len(s) >= 4)


_VOCAB_COLUMNS = {
    "operator_type": vocab.OPERATOR_TYPES,
    "mode": vocab.MODES,
    "cost": vocab.COSTS,
    "status": vocab.STATUSES,
    "priority_groups": vocab.PRIORITY_GROUPS,
    "supports": vocab.SUPPORTS,
}


def _help_text(column: str, description: str) -> str:
    terms = _VOCAB_COLUMNS.get(column)
    if not terms:
        return description
    codes = " | ".join(t.code for t in terms)
    several = "; separate several with ;" if column in vocab.LIST_COLUMNS else ""
    return f"{description}. Allowed: {codes} (or their labels{several})"


_HELP = {name: _help_text(name, description) for name, description in vocab.POD_COLUMNS}
