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
    found = matching.search("lincoln elementary, IL", DISTRICTS)
    assert list(found.candidates["leaid"]) == ["1722980", "1708100"] and found.pick is None  # two: the user chooses
    assert matching.search("0634410", DISTRICTS).candidates["name"].tolist() == ["San Francisco Unified School District"]
    assert matching.search("0634410", DISTRICTS).pick == "0634410"
    sf = matching.search("san francisco unified", DISTRICTS)
    assert sf.pick == "0634410" and sf.candidates["leaid"].iloc[0] == "0634410"
    assert matching.search("san fran", DISTRICTS).candidates["leaid"].tolist() == ["0634410", "0637530"]
    assert matching.search("   ", DISTRICTS).candidates.empty


def test_search_finds_nothing_for_nonsense_and_asks_between_states():
    """Issue 11 item 6: "zzzz nonsense" opened a Michigan district; "Clark County" opened Kentucky's."""
    districts = pd.concat([DISTRICTS, pd.DataFrame([
        ("2101200", "Clark County School District", "KY", "21", "unified"),
        ("3200060", "Clark County School District", "NV", "32", "unified"),
        ("0100720", "Clarke County School District", "AL", "01", "unified")], columns=DISTRICTS.columns)])
    nonsense = matching.search("zzzz nonsense", districts)
    assert nonsense.candidates.empty and nonsense.pick is None
    clark = matching.search("Clark County", districts)
    assert clark.pick is None and clark.candidates["state"].tolist()[:2] == ["KY", "NV"]
    assert matching.search("Clark County, NV", districts).pick == "3200060"


def test_agencies_that_are_not_districts_are_never_matched_to_the_closest_name():
    """Issue 15: a state's charter commission, base schools, juvenile justice, a charter network, a county office."""
    districts = pd.concat([DISTRICTS, pd.DataFrame([
        ("4800001", "Academy Independent School District", "TX", "48", "unified"),
        ("2603030", "Warren Consolidated Schools", "MI", "26", "unified"),
        ("0601770", "Alpine County Unified School District", "CA", "06", "unified"),
        ("4218990", "Philadelphia City School District", "PA", "42", "unified")], columns=DISTRICTS.columns)])
    rows = [("A+ Academy", "TX"), ("Academy of Warren", "MI"), ("Alpine County Office of Education", "CA"),
            ("State Charter Schools Commission", "CA"), ("Department of Juvenile Justice", "CA"),
            ("DoDEA Schools on Military Bases", "CA"), ("Mastery Charter Schools", "PA"), ("Academy ISD", "TX")]
    found = matching.match_districts(rows, districts)
    assert found.matched[["name", "leaid"]].values.tolist() == [["Academy ISD", "4800001"]]
    assert found.matched["why"].iloc[0] == "same name once 'school district' and abbreviations are set aside"
    assert found.ambiguous.empty and len(found.unmatched) == 7
    assert "not a geographic district" in found.unmatched.set_index("name").loc["Academy of Warren", "reason"]


def test_a_match_says_its_score_and_why():
    found = matching.match_districts([("San Fransisco Unified", "CA"), ("Lincoln Elementary 156", "IL")], DISTRICTS)
    assert found.matched[["leaid", "why"]].values.tolist() == [
        ["0634410", "same place up to spelling ('fransisco' ~ 'francisco')"],
        ["1708100", "same name once 'school district' and abbreviations are set aside"]]
    assert 80 < found.matched["score"].iloc[0] < 100 and found.matched["score"].iloc[1] == 100


def test_members_named_finds_every_lea_of_a_network():
    districts = pd.DataFrame([("4200144", "MASTERY CS-THOMAS CAMPUS", "PA", "42", "no boundary"),
                              ("4200145", "MASTERY CS-SHOEMAKER CAMPUS", "PA", "42", "no boundary"),
                              ("3400772", "MASTERY SCHOOLS OF CAMDEN INC.", "NJ", "34", "unified"),
                              ("4218990", "Philadelphia City School District", "PA", "42", "unified")],
                             columns=DISTRICTS.columns)
    assert sorted(matching.members_named("Mastery Schools", districts)["leaid"]) == ["3400772", "4200144", "4200145"]
    assert matching.members_named("Mastery", districts, state="PA")["leaid"].tolist() == ["4200144", "4200145"]


def test_elsi_agency_names_against_census_names_make_no_wrong_match(shared_data):
    """Real lists: every ELSI agency of six states (regular districts, charters, state and federal
    agencies) matched by name against the 2016 Census names; the answer is each agency's LEAID."""
    from podgeo import matching_eval

    wanted = ["TX", "PA", "NJ", "MA", "KY", "NV"]
    states = matching_eval.read_states(shared_data / "states" / "cb_2018_us_state_20m.shp")
    census = matching_eval.census_names(
        shared_data / "school_districts" / "us_2016" / "us_school_districts_2016_simplified.geojson", states, wanted)
    agencies = matching_eval.read_elsi_agencies(shared_data / "demographics" / "nces_elsi_districts_2020_21.csv",
                                                states, wanted)
    result = matching_eval.evaluate(agencies, census, states)
    totals = matching_eval.figures(result).loc["total"]
    assert totals["wrong"] == 0, result[result["outcome"] == "wrong"].to_string()
    in_census = agencies["leaid"].isin(set(census["leaid"]))
    # most districts that are in the Census list are found, and no charter (type 7) is matched at all
    assert totals["right"] >= 0.85 * in_census.sum()
    charters = result[result["agency_type"].str.startswith("7-")]
    assert len(charters) > 500 and not charters["outcome"].isin(["right", "wrong", "renumbered"]).any()


def test_a_sheet_of_names_is_decided_as_each_name_alone_would_be(shared_data):
    """match_districts decides on plain candidate rows (no frame per name, ~9x faster); the reference is
    the candidates frame and `_verdict` the search box uses, name by name, with and without a state."""
    from podgeo import matching_eval

    wanted = ["NJ", "NV", "AZ"]
    states = matching_eval.read_states(shared_data / "states" / "cb_2018_us_state_20m.shp")
    census = matching_eval.census_names(
        shared_data / "school_districts" / "us_2016" / "us_school_districts_2016_simplified.geojson", states, wanted)
    agencies = matching_eval.read_elsi_agencies(shared_data / "demographics" / "nces_elsi_districts_2020_21.csv",
                                                states, wanted)
    pairs = list(zip(agencies["name"], agencies["state"])) + [(n, None) for n in agencies["name"][::4]]
    pairs += [("3400772", "NJ"), ("3400772", "NV"), ("not a district at all", "NJ")]
    found = matching.match_districts(pairs, census, states=states)
    index = matching._index(census, states)
    outcome: dict[int, tuple] = {}
    for row, (name, state) in enumerate(pairs, start=1):
        verdict, frame = matching._verdict(index.candidates(name, index.state_code(state) if state else None))
        outcome[row] = (verdict, tuple(frame["leaid"].head(10)), tuple(frame["why"].head(10)))
    got = {r.row: ("matched", (r.leaid,), (r.why,)) for r in found.matched.itertuples()}
    got |= {r.row: ("ambiguous", tuple(r.candidates["leaid"]), tuple(r.candidates["why"]))
            for r in found.ambiguous.itertuples()}
    got |= {r.row: ("unmatched", (), ()) for r in found.unmatched.itertuples()}
    expected = {row: (v, ids[:1], whys[:1]) if v == "matched" else (v, ids, whys) for row, (v, ids, whys) in
                outcome.items()}
    assert got == expected
    assert {v for v, _, _ in got.values()} == {"matched", "ambiguous", "unmatched"}
    assert found.counts["matched"] > 500 and found.counts["ambiguous"] > 100


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
    # a bare place name ("Berkly") does not say which district: the one candidate is offered, not taken
    assert _settled(found) == {("Oakland Unified", "CA"): "0628050", ("Berkly", "California"): ["0604740"],
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
