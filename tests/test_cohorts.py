"""Cohorts: side-by-side and total figures against hand sums, stored cohorts, members read from sheets."""
from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from podgeo import cohorts, sheets
from podgeo.store import SqliteStore, StoreError

#: hand-built: E1 and E2 tile an area, S1 is the secondary district over both, U1 is unified elsewhere
MEMBERS = pd.DataFrame([
    ("E1", "Elm Elementary", "CA", "elementary", 400, 1000, 100),
    ("E2", "Oak Elementary", "CA", "elementary", 300, 600, 150),
    ("S1", "Ridge Union High", "CA", "secondary", 500, 1600, 250),
    ("U1", "Lake Unified", "NV", "unified", 900, 2000, np.nan),
], columns=["leaid", "name", "state", "layer", "enrollment", "children_5_17", "children_poverty"])
PODS = pd.DataFrame({"pod_id": ["a", "b", "c", "d", "x"], "capacity": [10, 20, np.nan, 40, 99]})
#: pod a lies in E1 and (as every point there) in S1; b in E2 and S1; c and d in U1; x in no member
LINKS = pd.DataFrame({"pod_id": ["a", "a", "b", "b", "c", "d", "x"],
                      "leaid": ["E1", "S1", "E2", "S1", "U1", "U1", "Z9"]})


def test_side_by_side_and_total_against_hand_sums():
    table = cohorts.summary(MEMBERS, PODS, LINKS).set_index("name")
    assert list(table.columns) == list(cohorts.COLUMNS)[:1] + list(cohorts.COLUMNS)[2:]
    e1, s1, u1, total = (table.loc[n] for n in ("Elm Elementary", "Ridge Union High", "Lake Unified",
                                                  "Total (4 districts)"))
    assert (e1["pods"], e1["seats"], e1["seats_per_1000"]) == (1, 10.0, 10.0)
    assert (s1["pods"], s1["seats"], s1["seats_per_1000"]) == (2, 30.0, 30 / 1600 * 1000)
    assert (u1["pods"], u1["seats"], u1["pods_unknown_capacity"]) == (2, 40.0, 1)
    assert math.isnan(u1["pct_poverty"]) and e1["pct_poverty"] == 10.0
    # enrolment adds over every member; children only over E1 + E2 + U1 (S1 overlays E1 and E2)
    assert total["enrollment"] == 400 + 300 + 500 + 900
    assert total["children_5_17"] == 1000 + 600 + 2000
    assert total["children_poverty"] == 100 + 150  # U1 has none: not counted as 0 children in poverty
    # each pod once (a and b also lie in S1); x is in no member
    assert (total["pods"], total["seats"], total["pods_unknown_capacity"]) == (4, 70.0, 1)
    assert total["seats_per_1000"] == pytest.approx(70 / 3600 * 1000)
    assert total["state"] == "CA, NV" and total["leaid"] == ""


def test_adding_a_secondary_member_never_changes_the_children_total():
    without = cohorts.summary(MEMBERS[MEMBERS["leaid"] != "S1"], PODS, LINKS).iloc[-1]
    with_s1 = cohorts.summary(MEMBERS, PODS, LINKS).iloc[-1]
    assert without["children_5_17"] == with_s1["children_5_17"]
    assert without["pods"] == with_s1["pods"] and without["enrollment"] + 500 == with_s1["enrollment"]


def test_notes_say_what_adds_up():
    notes = cohorts.notes(MEMBERS)
    assert notes[0] == ("Students enrolled: all 4 districts. Children and children in poverty: the 3 unified and "
                        "elementary districts only.")
    assert notes[1].startswith("1 secondary district(s) overlay elementary districts")


def test_members_missing_a_column_are_refused():
    with pytest.raises(ValueError, match="members has no column 'enrollment'"):
        cohorts.summary(MEMBERS.drop(columns="enrollment"), PODS, LINKS)


@pytest.fixture
def store(fixture_store, tmp_path):
    path = tmp_path / "s.db"
    shutil.copy(fixture_store, path)
    s = SqliteStore(path)
    yield s
    s.close()


def test_create_list_members_and_delete(store):
    rev = store.revision()
    cohort_id = store.create_cohort("  East Bay  ", ["0628050", "0604740", "0628050"], created_by="ana",
                                    source="picked")
    assert store.revision() == rev + 1
    assert store.cohort_members(cohort_id) == ["0604740", "0628050"]
    assert store.cohorts()[["cohort_id", "name", "created_by", "source", "members"]].values.tolist() == [
        [cohort_id, "East Bay", "ana", "picked", 2]]
    store.delete_cohort(cohort_id)
    assert store.cohorts().empty and store.revision() == rev + 2
    with pytest.raises(StoreError, match=f"no cohort {cohort_id}"):
        store.cohort_members(cohort_id)


@pytest.mark.parametrize("name, leaids, message", [
    ("", ["0628050"], "a cohort needs a name"),
    ("Empty", [], "has no districts"),
    ("Bad", ["0628050", "0699999"], "1 LEAID\\(s\\) are not districts in this store: 0699999"),
    ("Taken", ["0628050"], "already a cohort named 'Taken'"),
])
def test_refused_cohorts_leave_the_store_unchanged(store, name, leaids, message):
    store.create_cohort("Taken", ["0634410"])
    before = (store.revision(), store.cohorts().to_dict("records"))
    with pytest.raises(StoreError, match=message):
        store.create_cohort(name, leaids)
    assert (store.revision(), store.cohorts().to_dict("records")) == before


def test_members_from_a_sheet_of_leaids_or_names(store):
    districts = store.districts(geometry=None)
    by_id = cohorts.from_sheet(sheets.read_sheet(b"NCES ID,Note\n0628050,a\n604740,b\n0699999,c\nabc,d\n", "ids.csv"),
                               districts)
    assert by_id.leaids == ("0628050", "0604740") and by_id.ambiguous.empty
    assert by_id.errors == ("row 4, column 'NCES ID': no district with LEAID 0699999 in the store",
                            "row 5, column 'NCES ID': 'abc' is not a 7-digit NCES LEAID")
    by_name = cohorts.from_sheet(sheets.read_sheet(
        b"District name,State\nOakland Unified,CA\nSan Fransisco Unified,CA\nAtlantis,CA\n", "names.csv"), districts)
    assert by_name.leaids == ("0628050", "0634410")
    assert by_name.errors == ("row 4, column 'District name': no district in CA has a name like 'Atlantis'",)
    one_column = cohorts.from_sheet(sheets.read_sheet(b"members\nBerkeley Unified\nPiedmont City Unified\n", "m.csv"),
                                    districts)
    assert one_column.leaids == ("0604740", "0630330")


def test_real_california_cohort(ca_real_store, tmp_path):
    """A cohort of real districts named in a sheet: LA and Fresno matched, 'Jefferson Elementary' left to settle."""
    path = tmp_path / "ca.db"
    shutil.copy(ca_real_store, path)
    store = SqliteStore(path)
    try:
        districts = store.districts(geometry=None)
        found = cohorts.from_sheet(sheets.read_sheet(
            b"District,State\nLos Angeles Unified,CA\nFresno Unified,CA\nJefferson Elementary,CA\n", "c.csv"),
            districts)
        assert found.leaids == ("0622710", "0614550") and list(found.ambiguous["row"]) == [4]
        cohort_id = store.create_cohort("Big two", found.leaids)
        members = districts[districts["leaid"].isin(store.cohort_members(cohort_id))]
        table = cohorts.summary(members, store.pods(), store.place_districts("pods"))
    finally:
        store.close()
    la, fresno = (members.set_index("leaid").loc[v] for v in ("0622710", "0614550"))
    total = table.iloc[-1]
    assert total["children_5_17"] == la["children_5_17"] + fresno["children_5_17"]
    assert total["enrollment"] == pd.to_numeric(la["enrollment"]) + pd.to_numeric(fresno["enrollment"])
