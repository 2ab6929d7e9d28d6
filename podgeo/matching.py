"""District names (with or without a state) and LEAIDs -> districts, tolerant of typos.

Pure: frames in, frames out. Used by the profile page's search box, by cohorts created from a
sheet, and by attribute layers keyed by name + state. A name is only *matched* when one district
clearly wins; when several fit about as well (the same name in two states, or three "Jefferson
Elementary School District"s in California) it is *ambiguous* and the candidates go back to the
user to settle, and nothing is guessed for a name that fits nothing (*unmatched*).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd
from rapidfuzz import fuzz, process

#: Scores are rapidfuzz WRatio (0-100) on normalised names; below CUTOFF a district is no candidate.
CUTOFF = 85.0
#: The best candidate must beat the runner-up by this much to count as a match.
MARGIN = 5.0
LEAID_RE = re.compile(r"^\d{7}$")

_WORDS = {"usd": "unified", "esd": "elementary", "elem": "elementary", "hsd": "high", "uhsd": "union high",
          "jt": "joint", "co": "county", "cnty": "county", "twp": "township", "isd": "independent",
          "cisd": "consolidated independent", "cusd": "community unified", "ccsd": "community consolidated",
          "csd": "community", "&": "and", "st": "saint", "mt": "mount", "ft": "fort"}
_DROP = {"school", "schools", "district", "districts", "sd", "the", "of", "public", "no", "number", "dist"}
_LEAID_HEADERS = {"leaid", "lea id", "nces id", "nces leaid", "nces district id", "district id", "geoid",
                  "nces lea id", "agency id", "ncesdist"}
_NAME_HEADERS = {"district", "district name", "name", "lea name", "school district", "agency name", "lea"}
_STATE_HEADERS = {"state", "st", "state code", "state abbr", "state abbreviation", "state name", "postal code"}


@dataclass(frozen=True)
class Matches:
    """`match_districts` output. `matched`: row, name, state, leaid, district_name, score.
    `ambiguous`: row, name, state, candidates (a frame: leaid, name, state, layer, score).
    `unmatched`: row, name, state, reason."""

    matched: pd.DataFrame
    ambiguous: pd.DataFrame
    unmatched: pd.DataFrame

    @property
    def counts(self) -> dict[str, int]:
        return {"matched": len(self.matched), "ambiguous": len(self.ambiguous), "unmatched": len(self.unmatched)}


def match_districts(names_states: Iterable[tuple[str, str | None]] | pd.DataFrame, districts: pd.DataFrame, *,
                    states: pd.DataFrame | None = None, rows: Sequence[int] | None = None,
                    cutoff: float = CUTOFF, margin: float = MARGIN) -> Matches:
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
        verdict, found = _verdict(index.candidates(name, code, cutoff=cutoff), margin)
        if verdict == "matched":
            best = found.iloc[0]
            matched.append({**base, "leaid": best["leaid"], "district_name": best["name"],
                            "district_state": best["state"], "score": float(best["score"])})
        elif verdict == "ambiguous":
            ambiguous.append({**base, "candidates": found[_OUT].head(10).reset_index(drop=True)})
        else:
            where = f" in {code}" if code else ""
            unmatched.append({**base, "reason": f"no district{where} has a name like '{name}'"})
    return Matches(
        pd.DataFrame(matched, columns=["row", "name", "state", "leaid", "district_name", "district_state", "score"]),
        pd.DataFrame(ambiguous, columns=["row", "name", "state", "candidates"]),
        pd.DataFrame(unmatched, columns=["row", "name", "state", "reason"]))


def search(query: str, districts: pd.DataFrame, *, limit: int = 10, cutoff: float = 60.0) -> pd.DataFrame:
    """Districts whose name looks like `query`, best first (leaid, name, state, layer, score).

    `query` may be a LEAID ("0622710"), a name ("Los Angeles Unified"), or a name with a state
    after a comma ("Lincoln Elementary, IL"). Typos cost a few points, not the match.
    """
    text = _text(query)
    if not text:
        return _empty_candidates()
    index = _index(districts, None)
    if LEAID_RE.match(text.zfill(7) if text.isdigit() and len(text) == 6 else text):
        return index.by_leaid(text.zfill(7))[_OUT]
    name, _, state = text.rpartition(",")
    code = index.state_code(state.strip()) if name else None
    if code is None:
        name = text
    return index.candidates(name, code, cutoff=cutoff)[_OUT].head(limit).reset_index(drop=True)


def normalize_name(name: str) -> str:
    """A district name reduced to the words that tell districts apart: lower case, no accents or
    punctuation, common abbreviations spelt out (USD -> unified), 'school district' dropped."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii").lower()
    text = text.replace("&", " & ")
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
    """Parsed names per district, built once per call (plain lists, one small frame per answer) so
    a sheet of names matches quickly even against every district in the country."""

    def __init__(self, districts: pd.DataFrame, states: pd.DataFrame | None):
        self.leaids = [str(v) for v in districts["leaid"]]
        self.names = [str(v) for v in districts["name"]]
        self.states = [str(v) for v in districts["state"]]
        self.layers = [str(v) for v in districts["layer"]] if "layer" in districts else [""] * len(self.leaids)
        parsed = [_parse(n) for n in self.names]
        self.norms, self.cores, self.types, self.nums = (list(col) for col in zip(*parsed)) if parsed else ([],) * 4
        self.by_core: dict[str, list[int]] = {}
        self.by_state: dict[str | None, list[int]] = {None: list(range(len(self.leaids)))}
        for i, (core, state) in enumerate(zip(self.cores, self.states)):
            self.by_core.setdefault(core, []).append(i)
            self.by_state.setdefault(state, []).append(i)
        self.pool_cores = {state: [self.cores[i] for i in idx] for state, idx in self.by_state.items()}
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
        return self._frame([(i, 100.0, 2, True) for i, v in enumerate(self.leaids) if v == leaid])

    def candidates(self, name: str, state: str | None, *, cutoff: float) -> pd.DataFrame:
        """Candidates best first, with `kind`: 2 same normalised name, 1 same place and every
        type word and number of the query, 0 a fuzzy match (score = place 80 %, type words 20 %)."""
        leaid = clean_leaid(name)
        if leaid is not None:
            hit = self.by_leaid(leaid)
            return hit if state is None else hit[hit["state"] == state].reset_index(drop=True)
        norm, core, types, nums = _parse(name)
        pool = self.by_state.get(state, [])
        if not core or not pool:
            return self._frame([])
        full = [i for i in self.by_core.get(core, []) if (state is None or self.states[i] == state)
                and types <= self.types[i] and nums <= self.nums[i]]
        rows = [(i, 100.0, 2 if self.norms[i] == norm else 1, self.types[i] == types) for i in full]
        taken = set(full)
        for _, score, j in process.extract(core, self.pool_cores[state], scorer=fuzz.WRatio, limit=50,
                                           score_cutoff=max(cutoff - 20, 0)):
            i = pool[j]
            total = round(0.8 * score + 0.2 * _type_score(types, self.types[i]), 1)
            if i not in taken and total >= cutoff:
                rows.append((i, total, 0, self.types[i] == types))
        rows.sort(key=lambda r: (-r[2], -r[1], self.states[r[0]], self.names[r[0]], self.leaids[r[0]]))
        return self._frame(rows)

    def _frame(self, rows: list[tuple[int, float, int, bool]]) -> pd.DataFrame:
        if not rows:
            return _empty_candidates().assign(kind=pd.Series(dtype=int), same_types=pd.Series(dtype=bool))
        return pd.DataFrame({"leaid": [self.leaids[r[0]] for r in rows], "name": [self.names[r[0]] for r in rows],
                             "state": [self.states[r[0]] for r in rows], "layer": [self.layers[r[0]] for r in rows],
                             "score": [r[1] for r in rows], "kind": [r[2] for r in rows],
                             "same_types": [r[3] for r in rows]})


_OUT = ["leaid", "name", "state", "layer", "score"]
_TYPE_WORDS = {"unified", "elementary", "union", "high", "joint", "city", "county", "community", "consolidated",
               "independent", "township", "regional", "central", "secondary", "parish", "borough", "reorganized",
               "special", "free", "common", "cooperative", "exempted", "village", "local"}


def _parse(name: str) -> tuple[str, str, frozenset, frozenset]:
    """(normalised name, place words, type words, numbers); a misspelt type word ('unifed') counts."""
    norm = normalize_name(name)
    place, types, nums = [], set(), set()
    for word in norm.split():
        if word.isdigit():
            nums.add(word.lstrip("0") or "0")
            continue
        if word not in _TYPE_WORDS and len(word) >= 5:
            near = process.extractOne(word, _TYPE_WORDS, scorer=fuzz.ratio, score_cutoff=85)
            word = near[0] if near else word
        (types.add(word) if word in _TYPE_WORDS else place.append(word))
    if not place:  # "Central Union Elementary": every word a type word, so they are the place too
        place = [w for w in norm.split() if not w.isdigit()]
    return norm, " ".join(place), frozenset(types), frozenset(nums)


def _type_score(asked: frozenset, has: frozenset) -> float:
    return 100.0 if not asked else 100.0 * len(asked & has) / len(asked)


def _verdict(found: pd.DataFrame, margin: float) -> tuple[str, pd.DataFrame]:
    """("matched" | "ambiguous" | "unmatched", the candidates that decide it, best first).

    Several districts with the query's place, type words and numbers are ambiguous, unless one
    has exactly the query's name and the others only add type words (San Francisco Unified is not
    South San Francisco Unified; Lincoln Elementary is ambiguous with Lincoln Elementary 156).
    """
    if found.empty:
        return "unmatched", found
    full = found[found["kind"] >= 1]
    if len(full) == 1:
        return "matched", full
    if len(full) > 1:
        exact = full[full["kind"] == 2]
        rivals = full[(full["kind"] == 1) & full["same_types"]]
        if len(exact) == 1 and rivals.empty:
            return "matched", exact
        return "ambiguous", full
    if len(found) == 1 or float(found["score"].iloc[0]) - float(found["score"].iloc[1]) >= margin:
        return "matched", found
    top = float(found["score"].iloc[0])
    return "ambiguous", found[found["score"] >= top - 2 * margin]


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
                         "score": pd.Series(dtype=float)})


def _text(value) -> str:
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return " ".join(str(value).split())

