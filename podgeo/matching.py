"""District names (with or without a state) and LEAIDs -> districts, precision first.

Pure: frames in, frames out. Used by the profile page's search box, by cohorts created from a
sheet, and by attribute layers keyed by name + state. A name is *matched* only when one district
has the same place words (spelling slips within a word forgiven, "school district" and
abbreviations set aside) and every type word and number the name gives; each match says its score
and why. Two districts that fit as well (the same name in two states, three "Jefferson Elementary
School District"s in California), or one that fits only with a different type word, are
*ambiguous*: the candidates go back to the user. A name with a word no district's name explains
("Academy of Warren", "Alpine County Office of Education", a charter network, a state commission)
is *unmatched*: it is never matched to whichever district's name is closest.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd
from rapidfuzz import fuzz, process

#: Two words count as the same word up to a spelling slip when both have at least SLIP_LENGTH
#: letters, the same first letter and a rapidfuzz ratio of at least SLIP_RATIO ("fransisco" ~
#: "francisco": 88.9). Words run together ("Southside") are not the same as words apart ("South
#: Side"): Arkansas has districts of both names.
SLIP_RATIO = 85.0
SLIP_LENGTH = 5
#: only districts whose place words are this close (ratio, 0-100) are checked word by word
CUTOFF = 75.0
LEAID_RE = re.compile(r"^\d{7}$")

_WORDS = {"usd": "unified", "esd": "elementary", "elem": "elementary", "hsd": "high", "uhsd": "union high",
          "jt": "joint", "co": "county", "cnty": "county", "twp": "township", "isd": "independent",
          "cisd": "consolidated independent", "cusd": "community unified", "ccsd": "community consolidated",
          "csd": "community", "&": "and", "st": "saint", "mt": "mount", "ft": "fort", "sch": "school",
          "schs": "schools", "pub": "public", "sd": "school district", "reg": "regional", "cons": "consolidated",
          "boro": "borough", "msd": "municipal", "twsp": "township", "chsd": "community high",
          "unit": "unified"}  # Illinois' "Community Unit School District" is its CUSD, as unified elsewhere
_DROP = {"school", "schools", "district", "districts", "sd", "the", "of", "no", "number", "dist", "and"}
#: words that name an agency that is not a geographic district, for the reason an unmatched row gets
_NOT_DISTRICT = {"charter", "academy", "academies", "commission", "department", "juvenile", "justice", "military",
                 "federal", "base", "cs", "inc", "foundation", "office", "education", "prep", "preparatory",
                 "college", "virtual", "online", "cyber", "institute", "center", "services", "cooperative",
                 "coop", "collaborative", "consortium", "boces", "agency", "corrections", "campus", "montessori",
                 "leadership", "intermediate", "unit", "service", "educational", "network", "llc"}
_LEAID_HEADERS = {"leaid", "lea id", "nces id", "nces leaid", "nces district id", "district id", "geoid",
                  "nces lea id", "agency id", "ncesdist"}
_NAME_HEADERS = {"district", "district name", "name", "lea name", "school district", "agency name", "lea"}
_STATE_HEADERS = {"state", "st", "state code", "state abbr", "state abbreviation", "state name", "postal code"}


@dataclass(frozen=True)
class Matches:
    """`match_districts` output. `matched`: row, name, state, leaid, district_name, district_state,
    score, why. `ambiguous`: row, name, state, candidates (a frame: leaid, name, state, layer,
    score, why). `unmatched`: row, name, state, reason."""

    matched: pd.DataFrame
    ambiguous: pd.DataFrame
    unmatched: pd.DataFrame

    @property
    def counts(self) -> dict[str, int]:
        return {"matched": len(self.matched), "ambiguous": len(self.ambiguous), "unmatched": len(self.unmatched)}


def match_districts(names_states: Iterable[tuple[str, str | None]] | pd.DataFrame, districts: pd.DataFrame, *,
                    states: pd.DataFrame | None = None, rows: Sequence[int] | None = None) -> Matches:
    """Match each (district name, state) to one district of `districts` (leaid, name, state, layer).

    A name that is itself a 7-digit LEAID matches that district. The state may be a postal code,
    a FIPS code or a name (looked up in `states`: state, state_fips, state_name) or empty, in
    which case every state is searched and a name found in two states is ambiguous. `rows`
    numbers the inputs as the user sees them (sheet rows); default 1, 2, ...
    """
    pairs = _pairs(names_states)
    rows = list(rows) if rows is not None else list(range(1, len(pairs) + 1))
    if len(rows) != len(pairs):
        raise ValueError(f"rows has {len(rows)} numbers for {len(pairs)} names")
    index = _index(districts, states)
    matched, ambiguous, unmatched = [], [], []
    for row, (name, state) in zip(rows, pairs):
        name, state_text = _text(name), _text(state)
        base = {"row": row, "name": name, "state": state_text}
        code = index.state_code(state_text) if state_text else None
        if state_text and code is None:
            unmatched.append({**base, "reason": f"'{state_text}' is not a state in the store"})
            continue
        if not name:
            unmatched.append({**base, "reason": "no district name"})
            continue
        verdict, found = _verdict_rows(index.candidate_rows(name, code))  # plain rows: no frame per name
        if verdict == "matched":
            i, score, _, why, _ = found[0]
            matched.append({**base, "leaid": index.leaids[i], "district_name": index.names[i],
                            "district_state": index.states[i], "score": float(score), "why": why})
        elif verdict == "ambiguous":
            ambiguous.append({**base, "candidates": index._frame(found[:10])[_OUT]})
        else:
            unmatched.append({**base, "reason": _unmatched_reason(name, code)})
    return Matches(
        pd.DataFrame(matched, columns=["row", "name", "state", "leaid", "district_name", "district_state", "score",
                                       "why"]),
        pd.DataFrame(ambiguous, columns=["row", "name", "state", "candidates"]),
        pd.DataFrame(unmatched, columns=["row", "name", "state", "reason"]))


@dataclass(frozen=True)
class Search:
    """`search` output: `candidates` best first (leaid, name, state, layer, score, why) and `pick`,
    the LEAID to open without asking (one district clearly named), else None: the user chooses."""

    candidates: pd.DataFrame
    pick: str | None


def search(query: str, districts: pd.DataFrame, *, limit: int = 10) -> Search:
    """Districts a search box's `query` may mean, best first, and whether one is clearly meant.

    `query` may be a LEAID ("0622710"), a name ("Los Angeles Unified"), the start of one
    ("oakland"), or a name with a state after a comma ("Lincoln Elementary, IL"). Districts that
    fit the name come first (as in `match_districts`), then those whose name holds every word
    typed. Nothing is offered for words no district's name holds ("zzzz nonsense").
    """
    text = _text(query)
    if not text:
        return Search(_empty_candidates(), None)
    index = _index(districts, None)
    leaid = clean_leaid(text)
    if leaid is not None:
        hit = index.by_leaid(leaid)[_OUT]
        return Search(hit, leaid if len(hit) else None)
    name, _, state = text.rpartition(",")
    code = index.state_code(state.strip()) if name else None
    if code is None:
        name = text
    found = index.candidates(name, code)
    verdict, decided = _verdict(found)
    more = index.containing(name, code, exclude=set(found["leaid"]))
    out = pd.concat([found[found["kind"] >= 0], more]) if len(more) else found[found["kind"] >= 0]
    pick = decided["leaid"].iloc[0] if verdict == "matched" else None
    return Search(out[_OUT].head(limit).reset_index(drop=True), pick)


def members_named(name: str, districts: pd.DataFrame, *, state: str | None = None) -> pd.DataFrame:
    """Every district (or agency) whose name holds each word of `name`, for a charter network made
    of one LEA per campus ("Mastery" -> the Mastery campuses in PA and Mastery Schools of Camden,
    NJ): leaid, name, state, layer, score, why. The user keeps the ones that belong together."""
    text = _text(name)
    if not text:
        return _empty_candidates()
    index = _index(districts, None)
    code = index.state_code(state) if state else None
    return index.containing(text, code, exclude=set(), limit=None)[_OUT].reset_index(drop=True)


def normalize_name(name: str) -> str:
    """A district name reduced to the words that tell districts apart: lower case, no accents or
    punctuation, common abbreviations spelt out (USD -> unified), 'school district' dropped."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("&", " & ").replace("s/d", " school district ").replace("board of education", " ")
    text = re.sub(r"\(\d{4,6}\)", " ", text)  # Arizona's ELSI names end in the state's entity number "(4397)"
    words = re.sub(r"[^a-z0-9&]+", " ", text).split()
    out = []
    for word in words:
        word = _WORDS.get(word, word)
        out.extend(w for w in word.split() if w not in _DROP)
    return " ".join(out)


def key_columns(columns: Iterable[str]) -> dict[str, str | None]:
    """Which sheet columns hold the LEAID, the district name and the state (None when absent).

    Headers are compared without case, punctuation or spacing, so 'LEA ID', 'leaid' and 'NCES ID'
    all count as the LEAID column.
    """
    found: dict[str, str | None] = {"leaid": None, "name": None, "state": None}
    for column in columns:
        key = " ".join(re.sub(r"[^a-z0-9]+", " ", str(column).lower()).split())
        for role, headers in (("leaid", _LEAID_HEADERS), ("name", _NAME_HEADERS), ("state", _STATE_HEADERS)):
            if found[role] is None and key in headers:
                found[role] = column
                break
    return found


def clean_leaid(text: str) -> str | None:
    """A 7-digit LEAID from a cell, restoring the leading zero a spreadsheet drops ('622710'); else None."""
    value = _text(text)
    if value.endswith(".0") and value[:-2].isdigit():
        value = value[:-2]
    if value.isdigit() and len(value) == 6:
        value = value.zfill(7)
    return value if LEAID_RE.match(value) else None


# ---------------------------------------------------------------------------------------------


def _index(districts: pd.DataFrame, states: pd.DataFrame | None) -> "_Index":
    """The parsed index of these districts, reused while their ids, names and states are unchanged
    (parsing every district in the country takes about half a second; a search box asks often)."""
    for col in ("leaid", "name", "state"):
        if col not in districts.columns:
            raise ValueError(f"districts has no column {col!r} (columns: {list(districts.columns)})")
    key = (len(districts), int(pd.util.hash_pandas_object(
        pd.DataFrame(districts[["leaid", "name", "state"]]).astype(str), index=False).sum()),
        None if states is None else int(pd.util.hash_pandas_object(pd.DataFrame(states).astype(str), index=False).sum()))
    cached = _INDEXES.get(key)
    if cached is None:
        cached = _INDEXES[key] = _Index(districts, states)
        while len(_INDEXES) > 4:
            _INDEXES.pop(next(iter(_INDEXES)))
    return cached


_INDEXES: dict[tuple, "_Index"] = {}


class _Index:
    """Parsed names per district, built once (plain lists, one small frame per answer) so a sheet
    of names matches quickly even against every district and agency in the country."""

    def __init__(self, districts: pd.DataFrame, states: pd.DataFrame | None):
        self.leaids = [str(v) for v in districts["leaid"]]
        self.names = [str(v) for v in districts["name"]]
        self.states = [str(v) for v in districts["state"]]
        self.layers = [str(v) for v in districts["layer"]] if "layer" in districts else [""] * len(self.leaids)
        parsed = [_parse(n) for n in self.names]
        self.norms, self.cores, self.types, self.nums = (list(col) for col in zip(*parsed)) if parsed else ([],) * 4
        self.words = [tuple(c.split()) for c in self.cores]
        self.by_core: dict[str, list[int]] = {}
        self.by_state: dict[str | None, list[int]] = {None: list(range(len(self.leaids)))}
        self.by_word: dict[str, set[int]] = {}
        self.by_leaid_text: dict[str, list[int]] = {}
        for i, leaid in enumerate(self.leaids):
            self.by_leaid_text.setdefault(leaid, []).append(i)
        for i, (core, state) in enumerate(zip(self.cores, self.states)):
            self.by_core.setdefault(core, []).append(i)
            self.by_state.setdefault(state, []).append(i)
            for word in set(self.norms[i].split()):
                self.by_word.setdefault(word, set()).add(i)
        self.pool_cores = {state: [self.cores[i] for i in idx] for state, idx in self.by_state.items()}
        self.vocabulary = list(self.by_word)
        self.lookup = {s.upper(): s for s in set(self.states)}
        if "state_fips" in districts:
            self.lookup.update({str(f): s for f, s in zip(districts["state_fips"], districts["state"])})
        if states is not None and len(states):
            for row in states.itertuples():
                if row.state in self.lookup.values():
                    self.lookup[str(row.state_name).upper()] = row.state
                    self.lookup[str(row.state_fips)] = row.state

    def state_code(self, text: str) -> str | None:
        text = _text(text)
        return self.lookup.get(text.upper()) or self.lookup.get(text.zfill(2) if text.isdigit() else text)

    def by_leaid(self, leaid: str) -> pd.DataFrame:
        return self._frame(self._leaid_rows(leaid))

    def _leaid_rows(self, leaid: str, state: str | None = None) -> list[tuple[int, float, int, str, bool]]:
        return [(i, 100.0, 3, f"LEAID {leaid}", True) for i in self.by_leaid_text.get(leaid, ())
                if state is None or self.states[i] == state]

    def candidates(self, name: str, state: str | None) -> pd.DataFrame:
        """Districts whose place words are the query's (up to spelling slips), best first, with
        `kind` (3 same normalised name, 2 same place words and the query's type words and numbers,
        1 the same up to spelling, 0 same place but another type word or number: never matched
        without asking), `score` (ratio of the normalised names) and `why`."""
        return self._frame(self.candidate_rows(name, state))

    def candidate_rows(self, name: str, state: str | None) -> list[tuple[int, float, int, str, bool]]:
        """`candidates` as (district index, score, kind, why, same type words) tuples, best first:
        what a sheet of names is matched on, without building a frame for each name."""
        leaid = clean_leaid(name)
        if leaid is not None:
            return self._leaid_rows(leaid, state)
        norm, core, types, nums = _parse(name)
        pool = self.by_state.get(state, [])
        if not core or not pool:
            return []
        words = tuple(core.split())
        seen: dict[int, tuple[str, str]] = {}
        for i in self.by_core.get(core, []):
            seen.setdefault(i, ("same", ""))
        for _, _, j in process.extract(core, self.pool_cores[state], scorer=fuzz.ratio, limit=20, score_cutoff=CUTOFF):
            i = pool[j]
            if i not in seen:
                slips = _same_words(words, self.words[i])
                if slips is not None:
                    seen[i] = ("slip", slips)
        rows = []
        for i, (how, slips) in seen.items():
            if state is not None and self.states[i] != state:
                continue
            score, same = round(fuzz.ratio(norm, self.norms[i]), 1), types == self.types[i]
            fits = types <= self.types[i] and nums <= self.nums[i]
            if fits and not types and not self.types[i] <= _CIVIL:  # a bare place does not say which district
                rows.append((i, score, 0, f"same place ('{self.cores[i]}'); the name gives no type word, the "
                                          f"district's adds {', '.join(repr(w) for w in sorted(self.types[i]))}",
                             same))
            elif not fits:
                missing = sorted(types - self.types[i]) + sorted(nums - self.nums[i])
                rows.append((i, score, 0, f"same place ('{self.cores[i]}'), but its name has no "
                                          f"{', '.join(repr(w) for w in missing)}", same))
            elif how == "slip":
                rows.append((i, score, 1, f"same place up to spelling ({slips})" + _extra(types, nums, self, i), same))
            elif self.norms[i] == norm:
                rows.append((i, score, 3, "same name once 'school district' and abbreviations are set aside", same))
            else:
                rows.append((i, score, 2, f"same place ('{self.cores[i]}')" + _extra(types, nums, self, i), same))
        rows.sort(key=lambda r: (-r[2], -r[1], self.states[r[0]], self.names[r[0]], self.leaids[r[0]]))
        return rows

    def containing(self, name: str, state: str | None, *, exclude: set[str], limit: int | None = 20) -> pd.DataFrame:
        """Districts whose name holds every word of `name` (the last may be the start of a word,
        as typed in a search box), best first; kind -1."""
        typed = normalize_name(name).split()
        if not typed:
            return self._frame([])
        sets = []
        for k, word in enumerate(typed):
            hits = set(self.by_word.get(word, set()))
            if k == len(typed) - 1 and len(word) >= 3:
                for other in self.vocabulary:
                    if other.startswith(word):
                        hits |= self.by_word[other]
            if not hits and len(word) >= SLIP_LENGTH:
                for other, _, _ in process.extract(word, self.vocabulary, scorer=fuzz.ratio, limit=5,
                                                   score_cutoff=SLIP_RATIO):
                    hits |= self.by_word[other]
            sets.append(hits)
        found = set.intersection(*sets)
        norm = " ".join(typed)
        rows = [(i, round(fuzz.ratio(norm, self.norms[i]), 1), -1, "its name holds every word typed", False)
                for i in found if (state is None or self.states[i] == state) and self.leaids[i] not in exclude]
        rows.sort(key=lambda r: (-r[1], self.states[r[0]], self.names[r[0]], self.leaids[r[0]]))
        return self._frame(rows if limit is None else rows[:limit])

    def _frame(self, rows: list[tuple[int, float, int, str, bool]]) -> pd.DataFrame:
        if not rows:
            return _empty_candidates().assign(kind=pd.Series(dtype=int), same_types=pd.Series(dtype=bool))
        return pd.DataFrame({"leaid": [self.leaids[r[0]] for r in rows], "name": [self.names[r[0]] for r in rows],
                             "state": [self.states[r[0]] for r in rows], "layer": [self.layers[r[0]] for r in rows],
                             "score": [r[1] for r in rows], "why": [r[3] for r in rows],
                             "kind": [r[2] for r in rows], "same_types": [r[4] for r in rows]})


_OUT = ["leaid", "name", "state", "layer", "score", "why"]
#: a bare place name may mean the one district named after the place's civil unit ("Avalon" is
#: "Avalon Borough School District") when no other district of the state has that place
_CIVIL = frozenset({"borough", "township", "city", "town", "village"})
_TYPE_WORDS = {"unified", "elementary", "union", "high", "joint", "city", "county", "community", "consolidated",
               "independent", "township", "regional", "central", "secondary", "parish", "borough", "reorganized",
               "special", "free", "common", "cooperative", "exempted", "village", "local", "area", "public", "town",
               "municipal"}


def _parse(name: str) -> tuple[str, str, frozenset, frozenset]:
    """(normalised name, place words, type words, numbers); a misspelt type word ('unifed') counts."""
    norm = normalize_name(name)
    place, types, nums = [], set(), set()
    for word in norm.split():
        if word.isdigit():
            nums.add(word.lstrip("0") or "0")
            continue
        if word not in _TYPE_WORDS and len(word) >= 5:
            near = process.extractOne(word, _TYPE_WORDS, scorer=fuzz.ratio, score_cutoff=SLIP_RATIO)
            word = near[0] if near else word
        (types.add(word) if word in _TYPE_WORDS else place.append(word))
    if not place:  # "Central Union Elementary": every word a type word, so they are the place too
        place = [w for w in norm.split() if not w.isdigit()]
    return norm, " ".join(place), frozenset(types), frozenset(nums)


def _same_words(asked: tuple[str, ...], has: tuple[str, ...]) -> str | None:
    """The spelling slips that make two lists of place words the same words in the same order
    ("'fransisco' ~ 'francisco'"), or None when a word of either has no counterpart."""
    if len(asked) != len(has):
        return None
    slips = []
    for a, b in zip(asked, has):
        if a == b:
            continue
        if min(len(a), len(b)) < SLIP_LENGTH or a[0] != b[0] or fuzz.ratio(a, b) < SLIP_RATIO:
            return None  # a slip keeps the first letter: Berryville is not Perryville
        slips.append(f"'{a}' ~ '{b}'")
    return ", ".join(slips) or None


def _extra(types: frozenset, nums: frozenset, index: "_Index", i: int) -> str:
    extra = sorted(index.types[i] - types) + sorted(index.nums[i] - nums)
    return f"; its name adds {', '.join(repr(w) for w in extra)}" if extra else ""


def _verdict(found: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """("matched" | "ambiguous" | "unmatched", the candidates that decide it, best first).

    The best kind decides. One district of it is a match, except that an exact name with rivals
    of the same type words is ambiguous (Lincoln Elementary, CA and Lincoln Elementary 156, IL).
    Several of the best kind, or only districts of another type (kind 0), ask.
    """
    found = found[found["kind"] >= 0]
    if found.empty:
        return "unmatched", found
    top = int(found["kind"].max())
    best = found[found["kind"] == top]
    if top == 0:
        return "ambiguous", found
    if len(best) == 1:
        rivals = found[(found["kind"] == 2) & found["same_types"]] if top == 3 else found.iloc[0:0]
        if len(rivals):
            return "ambiguous", pd.concat([best, rivals])
        return "matched", best
    return "ambiguous", best


def _verdict_rows(rows: list[tuple[int, float, int, str, bool]]) -> tuple[str, list[tuple]]:
    """`_verdict` on `_Index.candidate_rows` (index, score, kind, why, same type words): the same rules, no frames."""
    found = [r for r in rows if r[2] >= 0]
    if not found:
        return "unmatched", found
    top = max(r[2] for r in found)
    best = [r for r in found if r[2] == top]
    if top == 0:
        return "ambiguous", found
    if len(best) == 1:
        rivals = [r for r in found if r[2] == 2 and r[4]] if top == 3 else []
        if rivals:
            return "ambiguous", best + rivals
        return "matched", best
    return "ambiguous", best


def _unmatched_reason(name: str, state: str | None) -> str:
    where = f" in {state}" if state else ""
    marks = sorted(set(normalize_name(name).split()) & _NOT_DISTRICT)
    if marks:
        return (f"no district{where} has a name like '{name}' ({', '.join(repr(w) for w in marks)}: it may name a "
                "charter school, a network or another agency that is not a geographic district; give its LEAID "
                "if the store has it)")
    return f"no district{where} has a name like '{name}'"


def _pairs(names_states) -> list[tuple[object, object]]:
    if isinstance(names_states, pd.DataFrame):
        cols = list(names_states.columns)
        if len(cols) < 1:
            raise ValueError("names_states has no columns")
        name_col = "name" if "name" in cols else cols[0]
        state_col = "state" if "state" in cols else (cols[1] if len(cols) > 1 else None)
        states = names_states[state_col] if state_col else [None] * len(names_states)
        return list(zip(names_states[name_col], states))
    out = []
    for item in names_states:
        if isinstance(item, str):
            out.append((item, None))
        else:
            name, state = (tuple(item) + (None,))[:2]
            out.append((name, state))
    return out


def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame({"leaid": pd.Series(dtype=object), "name": pd.Series(dtype=object),
                         "state": pd.Series(dtype=object), "layer": pd.Series(dtype=object),
                         "score": pd.Series(dtype=float), "why": pd.Series(dtype=object)})


def _text(value) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return " ".join(str(value).split())

