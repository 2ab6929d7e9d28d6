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


def test_a_network_group_is_counted_once_with_a_subtotal():
    """Issue 14: a group of LEAs (here E1 and U1) beside a district picked on its own; E1 is also picked."""
    table = cohorts.summary(pd.concat([MEMBERS, MEMBERS.iloc[[0]]]), PODS, LINKS, {"Net": ("E1", "U1")})
    rows = table.set_index("name")
    assert list(table["name"])[-2:] == ["Net (group of 2 LEAs)", "Total (4 districts)"]  # E1 listed twice, once here
    net = rows.loc["Net (group of 2 LEAs)"]
    assert (net["enrollment"], net["children_5_17"], net["pods"], net["seats"]) == (400 + 900, 1000 + 2000, 3, 50.0)
    assert rows.loc["Total (4 districts)", "enrollment"] == 400 + 300 + 500 + 900
    assert rows.loc["Elm Elementary", "group"] == "Net" and rows.loc["Oak Elementary", "group"] == ""


def test_pods_of_an_agency_without_a_boundary_are_not_known_not_zero():
    charter = pd.DataFrame([("C1", "Ridge Charter", "CA", "charter", 250, np.nan, np.nan, 0)],
                           columns=[*MEMBERS.columns, "has_boundary"])
    members = pd.concat([MEMBERS.assign(has_boundary=1), charter], ignore_index=True)
    table = cohorts.summary(members, PODS, LINKS, {"Ridge": ("C1",)}).set_index("name")
    assert math.isnan(table.loc["Ridge Charter", "pods"]) and math.isnan(table.loc["Ridge (group of 1 LEAs)", "seats"])
    total = table.loc["Total (5 districts)"]
    assert (total["pods"], total["seats"], total["enrollment"]) == (4, 70.0, 2100 + 250)  # the 4 bounded members' pods
    assert cohorts.display(table.reset_index()).set_index("District").loc["Ridge Charter", "Pods"] == "not known"


def test_display_gives_every_figure_its_unit_and_never_shows_unknown_as_zero():
    """Issue 11 item 11: figures showed "10.7952" with no % and "51790" with no separators."""
    shown = cohorts.display(cohorts.summary(MEMBERS, PODS, LINKS)).set_index("District")
    lake = shown.loc["Lake Unified"]
    assert (lake["Students enrolled"], lake["Children 5-17"], lake["Children in poverty"]) == (
        "900 students", "2,000 children", "not known")
    assert lake["% children in poverty"] == "not known" and lake["Seats per 1,000 children"] == "20.00 per 1,000 children"
    assert shown.loc["Elm Elementary", "% children in poverty"] == "10.0 %"
    assert shown.loc["Total (4 districts)", "Students enrolled"] == "2,100 students"


def test_the_link_holds_a_cohort_and_garbage_is_left_out_with_a_notice():
    known = ["0628050", "0634410", "4200144"]
    link = cohorts.from_link("0628050, 634410,abc,0699999,0628050", "Net:4200144.0634410;oops;X:9", known)
    assert link.members == ("0628050", "0634410", "4200144")
    assert link.groups == {"Net": ("4200144", "0634410")}
    assert link.notices == ("1 part(s) of the link are not 7-digit LEAIDs and were left out: 'abc'",
                            "1 LEAID(s) in the link are not districts in this store: 0699999",
                            "a group in the link could not be read and was left out: 'oops'",
                            "a group in the link could not be read and was left out: 'X:9'")
    assert link.query() == {"members": "0628050,0634410,4200144", "groups": "Net:4200144.0634410"}
    grown = link.add(["0634410", "0628050"], group="A:b;c")
    assert grown.members == link.members and grown.groups["A b c"] == ("0634410", "0628050")
    assert cohorts.from_link(**dict(zip(("members", "groups"), (grown.query()["members"], grown.query()["groups"]))),
                             known=known).groups == grown.groups
    assert link.remove("4200144").groups == {"Net": ("0634410",)}
    assert cohorts.from_link(None, None, known) == cohorts.LinkCohort()
    many = cohorts.from_link(",".join(f"{i:07d}" for i in range(600)), None, [f"{i:07d}" for i in range(600)])
    assert len(many.members) == cohorts.MAX_MEMBERS and "only the first 500" in many.notices[-1]


def test_the_cohort_map_outlines_the_states_and_skips_members_without_a_boundary():
    import geopandas as gpd
    from shapely.geometry import box

    members = gpd.GeoDataFrame({"leaid": ["0600001", "3200001", "4200144"], "name": ["A", "B", "Charter"],
                                "state": ["CA", "NV", "PA"], "layer": ["unified", "unified", "charter"]},
                               geometry=[box(-120, 37, -119, 38), box(-116, 36, -115, 37), None], crs="EPSG:4326")
    states = gpd.GeoDataFrame({"state": ["CA", "NV", "OR"]}, geometry=[box(-124, 32, -114, 42), box(-120, 35, -114, 42),
                                                                        box(-124, 42, -116, 46)], crs="EPSG:4326")
    html = cohorts.members_map(members, states, tiles=None).get_root().render()
    assert html.count('"state": "CA"') == 1 and html.count('"state": "NV"') == 1 and '"state": "OR"' not in html
    assert "Cohort members" in html and "Charter" not in html
    assert cohorts.members_map(members.iloc[[2]], states, tiles=None) is None


def test_strategy_lab_charter_networks_by_name(shared_data):
    """Issue 14: The Learning Accelerator's Strategy Lab cohort holds Mastery Schools (PA and NJ) and
    Phoenix Charter Academy (MA), charter networks of one LEA per campus, found by name in the real
    ELSI agency list (as the store holds them once every agency is kept)."""
    from podgeo import matching, matching_eval

    states = matching_eval.read_states(shared_data / "states" / "cb_2018_us_state_20m.shp")
    agencies = matching_eval.read_elsi_agencies(shared_data / "demographics" / "nces_elsi_districts_2020_21.csv", states)
    table = agencies.assign(layer="charter", children_5_17=np.nan, children_poverty=np.nan)
    mastery = matching.members_named("Mastery Schools", table)
    mastery = mastery[mastery["state"].isin(["PA", "NJ"])]
    phoenix = matching.members_named("Phoenix Charter Academy", table, state="MA")
    assert set(mastery["state"]) == {"PA", "NJ"} and len(mastery) >= 14
    assert sorted(phoenix["leaid"]) == ["2500090", "2500555", "2500590"]
    link = cohorts.LinkCohort().add(list(mastery["leaid"]), group="Mastery Schools").add(
        list(phoenix["leaid"]), group="Phoenix Charter Academy")
    assert link.groups["Mastery Schools"] and len(link.members) == len(mastery) + 3
    members = table[table["leaid"].isin(link.members)]
    total = cohorts.summary(members, pd.DataFrame({"pod_id": [], "capacity": []}),
                            pd.DataFrame({"pod_id": [], "leaid": []}), link.groups).iloc[-1]
    assert total["name"] == f"Total ({len(link.members)} districts)" and total["state"] == "MA, NJ, PA"
    # each LEA once: the enrolment of the distinct LEAIDs, Mastery Schools of Camden's 2,737 among them
    assert total["enrollment"] == agencies.drop_duplicates("leaid").set_index("leaid").loc[
        list(link.members), "enrollment"].sum() and 2737 in set(members["enrollment"])
    assert math.isnan(total["children_5_17"])  # no boundaries: children not known, not 0
