"""The pod schema's controlled vocabularies: one place for codes, labels and synonyms.

Every module that shows, filters, validates or stores pods reads its allowed values here,
so a new operator type or support is added once.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process


@dataclass(frozen=True)
class Term:
    """One allowed value: the stored `code`, the `label` people read, and accepted `synonyms`."""

    code: str
    label: str
    synonyms: tuple[str, ...] = ()


OPERATOR_TYPES: tuple[Term, ...] = (
    Term("parent_led_pod", "Parent-led pod", ("parent pod", "family pod", "parent led", "parent-led")),
    Term("educator_led_pod", "Educator-led pod", ("teacher-led pod", "teacher pod", "educator led", "tutor pod")),
    Term("community_org_hub", "Community organization hub",
         ("community hub", "community organization", "cbo", "nonprofit hub", "community-based organization")),
    Term("district_hub", "School district hub", ("district hub", "school district", "district", "school hub")),
    Term("employer_pod", "Employer-sponsored pod", ("employer pod", "employer", "workplace pod", "employer sponsored")),
    Term("microschool_private", "Microschool or private provider",
         ("microschool", "micro-school", "private provider", "private", "for-profit")),
    Term("faith_based", "Faith-based", ("church", "faith based", "faith", "religious")),
    Term("other", "Other", ("unknown", "n/a")),
)

MODES: tuple[Term, ...] = (
    Term("in_person", "In person", ("in-person", "onsite", "on site", "face to face")),
    Term("virtual_support", "Virtual support", ("virtual", "online", "remote", "distance")),
    Term("hybrid", "Hybrid", ("blended", "mixed")),
)

COSTS: tuple[Term, ...] = (
    Term("free", "Free", ("no cost", "$0", "0", "none")),
    Term("sliding_scale", "Sliding scale", ("sliding", "income-based", "scholarship", "reduced")),
    Term("paid", "Paid", ("fee", "tuition", "fee-based")),
)

STATUSES: tuple[Term, ...] = (
    Term("planned", "Planned", ("pending", "proposed", "opening soon")),
    Term("active", "Active", ("open", "operating", "running")),
    Term("closed", "Closed", ("inactive", "ended", "shut", "merged")),
)

PRIORITY_GROUPS: tuple[Term, ...] = (
    Term("low_income", "Low-income", ("low income", "frl", "frpm", "poverty", "economically disadvantaged")),
    Term("english_learners", "English learners", ("el", "ell", "english learner", "emergent bilingual")),
    Term("disabilities", "Students with disabilities", ("swd", "iep", "special education", "disability")),
    Term("foster_youth", "Foster youth", ("foster",)),
    Term("homeless", "Homeless", ("unhoused", "mckinney-vento", "housing insecure")),
    Term("essential_workers", "Children of essential workers", ("essential workers", "essential worker", "frontline")),
)

SUPPORTS: tuple[Term, ...] = (
    Term("meals", "Meals", ("food", "lunch", "breakfast", "snacks")),
    Term("transport", "Transport", ("transportation", "bus", "rides")),
    Term("devices_internet", "Devices or internet", ("devices", "internet", "wifi", "wi-fi", "laptops", "hotspots")),
    Term("tutoring", "Tutoring", ("academic support", "homework help")),
    Term("social_emotional", "Social-emotional", ("sel", "social emotional", "counseling", "mental health")),
    Term("special_education", "Special-education services", ("sped", "special education services", "iep services")),
    Term("language_support", "Language support", ("esl", "ell support", "translation", "bilingual")),
)

#: Grades as stored: -1 = PK, 0 = K, 1..12.
GRADES: tuple[tuple[int, str], ...] = ((-1, "PK"), (0, "K")) + tuple((g, str(g)) for g in range(1, 13))

#: Every pod column in store order, with a short description (the upload template reuses it).
POD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("pod_id", "stable id: the same id in a later upload updates this pod"),
    ("name", "name of the pod or hub (required)"),
    ("operator_type", "who runs it: " + ", ".join(t.label for t in OPERATOR_TYPES)),
    ("operator_name", "organisation or family running it"),
    ("partner_leaid", "7-digit NCES LEAID of a partner school district"),
    ("mode", "in person, virtual support or hybrid"),
    ("grade_low", "lowest grade served: PK, K, 1-12"),
    ("grade_high", "highest grade served: PK, K, 1-12"),
    ("capacity", "seats (whole number)"),
    ("cost", "free, sliding scale or paid"),
    ("fee_usd", "monthly fee in US dollars, if any"),
    ("priority_groups", "groups served first, separated by ';'"),
    ("supports", "supports offered, separated by ';'"),
    ("languages", "languages of instruction or support, separated by ';'"),
    ("status", "planned, active or closed"),
    ("opened_on", "date opened, YYYY-MM-DD"),
    ("closed_on", "date closed, YYYY-MM-DD"),
    ("address", "street address"),
    ("city", "city"),
    ("state", "2-letter state"),
    ("zip", "ZIP code"),
    ("lat", "latitude, WGS84 decimal degrees"),
    ("lon", "longitude, WGS84 decimal degrees"),
    ("source", "where this record came from"),
    ("last_verified", "date the record was last checked, YYYY-MM-DD"),
    ("notes", "free text"),
)

#: Columns holding several codes, stored as JSON lists.
LIST_COLUMNS = ("priority_groups", "supports", "languages")


def labels(terms: tuple[Term, ...]) -> dict[str, str]:
    """Map code -> label, for display and legends."""
    return {t.code: t.label for t in terms}


def normalise(value: str, terms: tuple[Term, ...]) -> str | None:
    """Return the code that `value` names (code, label or synonym), or None.

    Matching ignores case, accents, hyphens and punctuation, plurals and a trailing "pod", "hub",
    "program" or "site", so "Parent-Led Pods", "parent led" and "Parent-led pod" are one term.
    """
    key = value_key(value)
    return _lookup(terms).get(key) if key else None


def value_key(value: str) -> str:
    """The form values are compared in: folded words, singular, without a trailing generic noun."""
    text = unicodedata.normalize("NFKD", str(value).casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = [singular(w) for w in re.sub(r"[\W_]+", " ", text.replace("&", " and ")).split()]
    while len(words) > 1 and words[-1] in _TRAILING:
        words.pop()
    return " ".join(words)


def suggest(value: str, terms: tuple[Term, ...], *, cutoff: float = 88) -> str | None:
    """The code whose name `value` most resembles (a typo, a longer phrase), or None when none is close."""
    key = value_key(value)
    if not key:
        return None
    table = _lookup(terms)
    best = process.extractOne(key, list(table), scorer=fuzz.WRatio, score_cutoff=cutoff)
    return table[best[0]] if best else None


_TRAILING = frozenset(("pod", "hub", "program", "programme", "site", "center", "centre", "option", "model"))


def singular(word: str) -> str:
    """A plural English or Spanish word made singular by its ending ("groups", "services", "cupos"); others kept."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=None)
def _lookup(terms: tuple[Term, ...]) -> dict[str, str]:
    """value_key of every code, label and synonym -> code; a key two terms share is left out (ambiguous)."""
    table: dict[str, str] = {}
    shared: set[str] = set()
    for term in terms:
        for name in (term.code, term.label, *term.synonyms):
            key = value_key(name)
            if table.get(key, term.code) != term.code:
                shared.add(key)
            table.setdefault(key, term.code)
    for key in shared:
        del table[key]
    return table


def grade_code(value: str) -> int | None:
    """Parse a grade ('PK', 'TK', 'K', 'KG', '1'..'12', '1st', 'Grade 3') to its stored integer."""
    key = str(value).strip().upper().replace("GRADE", "").strip()
    if key in {"PK", "PRE-K", "PREK", "TK", "P"}:
        return -1
    if key in {"K", "KG", "KINDER", "KINDERGARTEN", "0"}:
        return 0
    for suffix in ("ST", "ND", "RD", "TH"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
    if key.isascii() and key.isdigit() and 1 <= int(key) <= 12:
        return int(key)
    return None


def grade_label(code: int | None) -> str:
    """Stored grade integer -> 'PK', 'K', '1'..'12' (empty for None)."""
    return dict(GRADES).get(code, "") if code is not None else ""
