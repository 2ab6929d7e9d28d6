"""How well `matching.match_districts` names districts, measured on lists whose answer is known by LEAID.

The NCES ELSI agency list (every agency: regular districts, charters, state and federal agencies)
is matched by name + state against the Census district names; each agency's own LEAID says
whether a match is right. Precision first: `wrong` (a match to another district) must stay 0.
One case is counted apart: a district whose ELSI LEAID is not in the Census list but whose name
is the Census name of another LEAID (Illinois renumbered some districts after 2016) is `renumbered`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from podgeo import matching, sources

OUTCOMES = ("right", "wrong", "renumbered", "ambiguous, answer offered", "ambiguous, answer not offered",
            "unmatched, in the list", "unmatched, not a district in the list")


def read_elsi_agencies(path: Path, states: pd.DataFrame, only: list[str] | None = None) -> pd.DataFrame:
    """Every agency in an ELSI export (`sources.read_elsi`): leaid, name, state (postal code, from
    the LEAID's FIPS prefix and `states`: state, state_fips), agency_type, enrollment."""
    raw = sources.read_elsi(path)
    postal = dict(zip(states["state_fips"], states["state"]))
    out = pd.DataFrame({"leaid": raw["leaid"], "name": raw["elsi_name"].str.strip(),
                        "state": raw["leaid"].str[:2].map(postal), "agency_type": raw["agency_type"].str.strip(),
                        "enrollment": raw["enrollment"]}).reset_index(drop=True)
    return out if only is None else out[out["state"].isin(only)].reset_index(drop=True)


def evaluate(agencies: pd.DataFrame, districts: pd.DataFrame, states: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per agency (leaid, name, state, agency_type) with `outcome` (one of OUTCOMES),
    `matched_leaid`, `matched_name`, `score` and `why`."""
    found = matching.match_districts(list(zip(agencies["name"], agencies["state"])), districts, states=states)
    known = set(districts["leaid"].astype(str))
    norms = dict(zip(districts["leaid"].astype(str), districts["name"].map(matching.normalize_name)))
    truth = dict(zip(range(1, len(agencies) + 1), agencies["leaid"]))
    rows: dict[int, dict] = {}
    for r in found.matched.itertuples():
        answer = truth[r.row]
        if r.leaid == answer:
            outcome = "right"
        elif answer not in known and norms[r.leaid] == matching.normalize_name(r.name):
            outcome = "renumbered"
        else:
            outcome = "wrong"
        rows[r.row] = {"outcome": outcome, "matched_leaid": r.leaid, "matched_name": r.district_name,
                       "score": r.score, "why": r.why}
    for r in found.ambiguous.itertuples():
        offered = truth[r.row] in set(r.candidates["leaid"])
        rows[r.row] = {"outcome": "ambiguous, answer offered" if offered else "ambiguous, answer not offered",
                       "why": "; ".join(f"{c.name} ({c.leaid})" for c in r.candidates.head(3).itertuples())}
    for r in found.unmatched.itertuples():
        inside = truth[r.row] in known
        rows[r.row] = {"outcome": "unmatched, in the list" if inside else "unmatched, not a district in the list",
                       "why": r.reason}
    detail = pd.DataFrame([rows[i] for i in range(1, len(agencies) + 1)],
                          columns=["outcome", "matched_leaid", "matched_name", "score", "why"])
    return pd.concat([agencies.reset_index(drop=True), detail], axis=1)


def figures(result: pd.DataFrame) -> pd.DataFrame:
    """Counts of each outcome per state and in total (columns in OUTCOMES order)."""
    table = pd.crosstab(result["state"], result["outcome"]).reindex(columns=list(OUTCOMES), fill_value=0)
    table.loc["total"] = table.sum()
    table.columns.name = None
    return table


def census_names(path: Path, states: pd.DataFrame, only: list[str] | None = None) -> pd.DataFrame:
    """leaid, name, state, state_fips, layer of the Census districts in a boundary file (no geometry);
    `states` (state, state_fips) gives the postal codes; `only` keeps these postal codes."""
    import pyogrio

    raw = pyogrio.read_dataframe(path, read_geometry=False, columns=["GEOID", "NAME", "STATEFP", "SDTYPE"])
    out = pd.DataFrame({"leaid": raw["GEOID"].astype(str), "name": raw["NAME"].astype(str),
                        "state_fips": raw["STATEFP"].astype(str), "layer": raw["SDTYPE"].astype(str)})
    out["state"] = out["state_fips"].map(dict(zip(states["state_fips"], states["state"])))
    out = out[~out["leaid"].str.endswith("99997")]
    return out if only is None else out[out["state"].isin(only)].reset_index(drop=True)


def read_states(path: Path) -> pd.DataFrame:
    """state, state_fips, state_name from a Census state boundary file (no geometry)."""
    import pyogrio

    raw = pyogrio.read_dataframe(path, read_geometry=False, columns=["STATEFP", "STUSPS", "NAME"])
    return pd.DataFrame({"state": raw["STUSPS"], "state_fips": raw["STATEFP"], "state_name": raw["NAME"]})
