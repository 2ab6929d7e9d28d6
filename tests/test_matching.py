"""District name matching: typos forgiven, the same name in two states (or three times in one) never guessed."""
from __future__ import annotations

import pandas as pd
import pytest

from podgeo import matching
from podgeo.store import SqliteStore

#: hand-built: the real names and LEAIDs of a few California and Illinois districts
DISTRICTS = pd.DataFrame([
    ("0621660", "Lincoln Elementary School District", "CA", "06", "elementary"),
    ("0621690", "Lincoln Unified School District", "CA", "06", "unified"),
    ("1708100", "Lincoln Elementary School District 156", "IL", "17", "elementary"),
    ("1722980", "Lincoln Elementary School District 27", "IL", "17", "elementary"),
    ("0634410", "San Francisco Unified School District", "CA", "06", "unified"),
    ("0637530", "South San Francisco Unified School District", "CA", "06", "unified"),
    ("0618810", "Jefferson Elementary School District", "CA", "06", "elementary"),
    ("0618840", "Jefferson Elementary School District", "CA", "06", "elementary"),
    ("1709930", "Chicago Public School District 299", "IL", "17", "unified"),
], columns=["leaid", "name", "state", "state_fips", "layer"])
STATES = pd.DataFrame({"state": ["CA", "IL"], "state_fips": ["06", "17"], "state_name": ["California", "Illinois"]})


def _settled(matches: matching.Matches) -> dict:
    """name -> leaid (matched), list of candidate LEAIDs (ambiguous) or 'unmatched'."""
    out = {(r.name, r.state): r.leaid for r in matches.matched.itertuples()}
    out.update({(r.name, r.state): sorted(r.candidates["leaid"]) for r in matches.ambiguous.itertuples()})
    out.update({(r.name, r.state): "unmatched" for r in matches.unmatched.itertuples()})
    return out


def test_same_name_in_two_states_is_ambiguous_until_a_state_is_given():
    found = matching.match_districts([("Lincoln Elementary", None), ("Lincoln Elementary", "CA"),
                                      ("Lincoln Elementary", "Illinois"), ("Lincoln Elementary 156", "IL")],
                                     DISTRICTS, states=STATES)
    assert _settled(found) == {
        ("Lincoln Elementary", ""): ["0621660", "1708100", "1722980"],
        ("Lincoln Elementary", "CA"): "0621660",
        ("Lincoln Elementary", "Illinois"): ["1708100", "1722980"],
        ("Lincoln Elementary 156", "IL"): "1708100",
    }
    assert found.counts == {"matched": 2, "ambiguous": 2, "unmatched": 0}


def test_the_same_name_twice_in_one_state_is_ambiguous():
    found = matching.match_districts([("Jefferson Elementary School District", "CA")], DISTRICTS)
    assert _settled(found) == {("Jefferson Elementary School District", "CA"): ["0618810", "0618840"]}


def test_an_exact_name_beats_a_longer_name_containing_it():
    found = matching.match_districts([("San Francisco Unified", "CA"), ("South San Francisco USD", "06")], DISTRICTS)
    assert _settled(found) == {("San Francisco Unified", "CA"): "0634410", ("South San Francisco USD", "06"): "0637530"}


def test_typos_abbreviations_and_leaids_match():
    found = matching.match_districts([("San Fransisco Unifed", None), ("Chicago Public Schools", "IL"),
                                      ("634410", None), ("Lincon Unified", "CA")], DISTRICTS)
    assert _settled(found) == {("San Fransisco Unifed", ""): "0634410", ("Chicago Public Schools", "IL"): "1709930",
                               ("634410", ""): "0634410", ("Lincon Unified", "CA"): "0621690"}


def test_unknown_names_and_states_are_unmatched_with_a_reason():
    found = matching.match_districts([("Nowhere Unified", "CA"), ("Lincoln Elementary", "ZZ"), ("", "CA")],
                                     DISTRICTS, rows=[5, 6, 7])
    assert list(found.unmatched["row"]) == [5, 6, 7]
    assert list(found.unmatched["reason"]) == ["no district in CA has a name like 'Nowhere Unified'",
                                               "'ZZ' is not a state in the store", "no district name"]


def test_search_ranks_best_first_and_reads_a_state_after_a_comma():
    assert list(matching.search("lincoln elementary, IL", DISTRICTS)["leaid"]) == ["1708100", "1722980"]
    assert matching.search("0634410", DISTRICTS)["name"].tolist() == ["San Francisco Unified School District"]
    assert matching.search("san francisco", DISTRICTS)["leaid"].iloc[0] == "0634410"
    assert matching.search("   ", DISTRICTS).empty


def test_normalize_and_key_columns():
    assert matching.normalize_name("Los Angeles Unified School District") == "los angeles unified"
    assert matching.normalize_name("Austin ISD") == matching.normalize_name("Austin Independent School District")
    assert matching.key_columns(["LEA ID", "District Name", "St", "Minutes"]) == {
        "leaid": "LEA ID", "name": "District Name", "state": "St"}
    assert matching.clean_leaid("622710") == "0622710" and matching.clean_leaid("0622710.0") == "0622710"
    assert matching.clean_leaid("62271") is None and matching.clean_leaid("abc") is None


def test_fixture_store_names(fixture_store):
    store = SqliteStore(fixture_store)
    try:
        districts, states = store.districts(geometry=None), store.states(geometry=False)
    finally:
        store.close()
    found = matching.match_districts([("Oakland Unified", "CA"), ("Berkly", "California"),
                                      ("Jefferson Union High", None),
                                      ("Jefferson Elementary", "CA")], districts, states=states)
    assert _settled(found) == {("Oakland Unified", "CA"): "0628050", ("Berkly", "California"): "0604740",
                               ("Jefferson Union High", ""): "0618930", ("Jefferson Elementary", "CA"): "0618870"}


def test_real_california_names(ca_real_store):
    """All 979 real California districts: a typed name finds its district, a repeated name is not guessed."""
    store = SqliteStore(ca_real_store)
    try:
        districts = store.districts(geometry=None)
    finally:
        store.close()
    found = matching.match_districts([("Los Angeles Unified", "CA"), ("Los Angelos Unifed", None),
                                      ("Fresno Unified", None), ("San Diego USD", "CA"), ("Lincoln", "CA"),
                                      ("Jefferson Elementary", "CA"), ("Lincoln Elementary", "CA")], districts)
    assert _settled(found) == {
        ("Los Angeles Unified", "CA"): "0622710", ("Los Angelos Unifed", ""): "0622710",
        ("Fresno Unified", ""): "0614550", ("San Diego USD", "CA"): "0634320",
        ("Lincoln", "CA"): ["0621660", "0621690"],  # Lincoln Elementary and Lincoln Unified
        ("Jefferson Elementary", "CA"): ["0618810", "0618840", "0618870"],  # three districts share the name
        ("Lincoln Elementary", "CA"): "0621660",
    }


@pytest.mark.parametrize("bad", [pd.DataFrame({"leaid": ["1"]}), pd.DataFrame({"name": ["x"], "state": ["CA"]})])
def test_districts_without_the_needed_columns_are_refused(bad):
    with pytest.raises(ValueError, match="districts has no column"):
        matching.match_districts([("x", None)], bad)
