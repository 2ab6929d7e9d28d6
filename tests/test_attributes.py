"""District attribute layers: type inference, row/column errors, name + state keys, replace and remove atomically."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from podgeo import attributes, sheets
from podgeo.store import SqliteStore, StoreError

SHEET = (b"LEAID,Instructional minutes per week,Learning mode,Seat-time waiver,Recovery stage,Plan adopted,Notes\n"
         b"0634410,1200,remote,yes,3,2020-08-01,Board vote in July; the plan went on the district website later\n"
         b"628050,\"1,100\",hybrid,no,2,9/1/2020,\n"
         b"0604740,900.5,in person,Y,5,2020-09-15,\n"
         b"0601770,1000,remote,no,4,2020-08-20,\n"
         b"0601860,950,hybrid,yes,1,2020-08-24,\n"
         b"9999999,1,remote,yes,1,2020-01-01,\n"
         b"0634410,1,remote,yes,1,2020-01-01,second row for SF\n"
         b"0604200,x,remote,maybe,two,someday,=HYPERLINK(\"http://evil\")\n")


@pytest.fixture
def fixture_districts(fixture_store):
    store = SqliteStore(fixture_store)
    try:
        return store.districts(geometry=None)
    finally:
        store.close()


@pytest.fixture
def db(fixture_store, tmp_path):
    path = tmp_path / "s.db"
    shutil.copy(fixture_store, path)
    return path


def _raw(data: bytes = SHEET, name: str = "policy.csv") -> sheets.RawSheet:
    return sheets.read_sheet(data, name)


def test_types_are_inferred_from_most_cells():
    assert attributes.infer_types(_raw()) == {
        "LEAID": "whole", "Instructional minutes per week": "number", "Learning mode": "category",
        "Seat-time waiver": "yes_no", "Recovery stage": "whole", "Plan adopted": "date", "Notes": "text"}


def test_plan_keeps_valid_rows_and_names_each_bad_cell(fixture_districts):
    plan = attributes.plan_layer(_raw(), fixture_districts, name="  Reopening  policy ", data=SHEET)
    assert plan.name == "Reopening policy" and plan.key == "leaid"
    assert [(c.key, c.type) for c in plan.columns] == [
        ("instructional_minutes_per_week", "number"), ("learning_mode", "category"), ("seat_time_waiver", "yes_no"),
        ("recovery_stage", "whole"), ("plan_adopted", "date"), ("notes", "text")]
    assert plan.counts == {"rows": 8, "districts": 5, "values": 26, "rejected": 3, "columns": 6}
    assert {r.row: r.error_text for r in plan.rejected} == {
        7: "row 7, column 'LEAID': no district with LEAID 9999999 in the store",
        8: "row 8, column 'LEAID': same district (0634410) as row 2; only the first is kept",
        9: "row 9, column 'Instructional minutes per week': 'x' is not a number; "
           "row 9, column 'Seat-time waiver': 'maybe' is not yes or no; "
           "row 9, column 'Recovery stage': 'two' is not a number; "
           "row 9, column 'Plan adopted': 'someday' is not a date (use YYYY-MM-DD); "
           "row 9, column 'Notes': formulas are not evaluated: type the value itself"}
    oakland = plan.values[plan.values["leaid"] == "0628050"].set_index("column")["value"].to_dict()
    assert oakland == {"instructional_minutes_per_week": "1100.0", "learning_mode": "hybrid",
                       "seat_time_waiver": "no", "recovery_stage": "2", "plan_adopted": "2020-09-01"}


def test_user_types_override_and_skip(fixture_districts):
    plan = attributes.plan_layer(_raw(), fixture_districts, name="p", types={
        "Recovery stage": "category", "Notes": "skip", "Plan adopted": "text"})
    assert [c.type for c in plan.columns] == ["number", "category", "yes_no", "category", "text"]
    with pytest.raises(ValueError, match="unknown type"):
        attributes.plan_layer(_raw(), fixture_districts, name="p", types={"Notes": "bogus"})


def test_a_sheet_without_a_district_key_is_refused(fixture_districts):
    with pytest.raises(sheets.SheetError, match="no column holds the district"):
        attributes.plan_layer(_raw(b"Town,Minutes\nOakland,1\n"), fixture_districts, name="p")


def test_names_and_states_key_a_layer_and_ambiguous_names_wait_for_the_user(fixture_districts):
    twin = pd.concat([fixture_districts, fixture_districts[fixture_districts["leaid"] == "0618870"].assign(
        leaid="0618840")], ignore_index=True)  # a second "Jefferson Elementary School District", as in real CA
    data = (b"District name,State,Stage\nOakland Unified,CA,3\nBerkly Unified,California,2\n"
            b"Jefferson Elementary,CA,4\nAtlantis Unified,CA,1\n")
    states = pd.DataFrame({"state": ["CA"], "state_fips": ["06"], "state_name": ["California"]})
    plan = attributes.plan_layer(_raw(data), twin, name="Stages", states=states)
    assert plan.key == "name + state" and dict(zip(plan.values["leaid"], plan.values["value"])) == {
        "0628050": "3", "0604740": "2"}
    assert [r.row for r in plan.rejected] == [4, 5] and "fits 2 districts" in plan.rejected[0].error_text
    assert list(plan.ambiguous["row"]) == [4]
    # every row found by name says its score and why, for the user to check
    assert plan.matched[["row", "leaid", "why"]].values.tolist() == [
        [2, "0628050", "same name once 'school district' and abbreviations are set aside"],
        [3, "0604740", "same place up to spelling ('berkly' ~ 'berkeley')"]]
    settled = attributes.plan_layer(_raw(data), twin, name="Stages", states=states, settled={4: "0618870"})
    assert settled.values.set_index("leaid")["value"].to_dict() == {"0628050": "3", "0604740": "2", "0618870": "4"}
    assert [r.row for r in settled.rejected] == [5]


def test_save_replace_and_remove_in_the_store(db, fixture_districts):
    store = SqliteStore(db)
    try:
        plan = attributes.plan_layer(_raw(), fixture_districts, name="Policy", data=SHEET)
        rev = store.revision()
        layer_id = store.save_attribute_layer(plan.record("ana"), plan.values)
        assert store.revision() == rev + 1
        layers = store.attribute_layers()
        row = layers.iloc[0]
        assert (row["name"], row["version"], row["uploaded_by"], row["filename"], row["districts"]) == (
            "Policy", 1, "ana", "policy.csv", 5)
        assert row["sha256"] == plan.sha256 and len(row["rejected"]) == 3
        assert store.attribute_file(layer_id) == ("policy.csv", SHEET)

        smaller = b"LEAID,Recovery stage\n0634410,4\n"
        plan2 = attributes.plan_layer(_raw(smaller, "v2.csv"), fixture_districts, name="Policy", data=smaller)
        assert store.save_attribute_layer(plan2.record("bo"), plan2.values, replaces=layer_id) == layer_id
        assert store.attribute_values().to_dict("records") == [
            {"layer_id": layer_id, "leaid": "0634410", "column": "recovery_stage", "value": "4"}]
        assert store.attribute_layers()[["version", "filename", "uploaded_by"]].values.tolist() == [[2, "v2.csv", "bo"]]

        store.delete_attribute_layer(layer_id)
        assert store.attribute_layers().empty and store.attribute_values().empty
        with pytest.raises(StoreError, match="no attribute layer"):
            store.delete_attribute_layer(layer_id)
    finally:
        store.close()


def test_a_failing_save_leaves_the_store_unchanged(db, fixture_districts):
    store = SqliteStore(db)
    try:
        plan = attributes.plan_layer(_raw(), fixture_districts, name="Policy")
        store.save_attribute_layer(plan.record("ana"), plan.values)
        before = (store.revision(), store.attribute_layers()["version"].tolist(), store.attribute_values())
        bad = pd.concat([plan.values, pd.DataFrame([{"leaid": "9999999", "column": "notes", "value": "x"}])])
        with pytest.raises(StoreError, match="9999999"):
            store.save_attribute_layer(plan.record("ana"), bad, replaces=1)
        with pytest.raises(StoreError, match="already an attribute layer named 'Policy'"):
            store.save_attribute_layer(plan.record("bo"), plan.values)
        after = (store.revision(), store.attribute_layers()["version"].tolist(), store.attribute_values())
        assert before[:2] == after[:2]
        pd.testing.assert_frame_equal(before[2], after[2])
    finally:
        store.close()


def test_wide_table_filter_and_profile_rows(db, fixture_districts):
    store = SqliteStore(db)
    try:
        plan = attributes.plan_layer(_raw(), fixture_districts, name="Policy")
        layer_id = store.save_attribute_layer(plan.record("ana"), plan.values)
        layers, values = store.attribute_layers(), store.attribute_values()
    finally:
        store.close()
    table = attributes.wide(layers, values)
    minutes, stage, mode = (attributes.column_id(layer_id, k) for k in
                            ("instructional_minutes_per_week", "recovery_stage", "learning_mode"))
    assert table.set_index("leaid")[minutes].to_dict() == {"0601770": 1000.0, "0601860": 950.0, "0604740": 900.5,
                                                           "0628050": 1100.0, "0634410": 1200.0}
    joined = attributes.join(fixture_districts, table)
    assert len(joined) == len(fixture_districts) and joined[minutes].notna().sum() == 5
    assert attributes.filter_values(joined, stage) == ["1", "2", "3", "4", "5"]
    assert list(attributes.filter_districts(joined, mode, "hybrid")["leaid"]) == ["0601860", "0628050"]
    assert list(attributes.filter_districts(joined, stage, "3")["leaid"]) == ["0634410"]
    cat = attributes.catalog(layers)
    assert cat.set_index("id").loc[minutes, ["label", "shadable"]].tolist() == [
        "Instructional minutes per week (Policy)", True]
    assert not cat.set_index("id").loc[attributes.column_id(layer_id, "notes"), "shadable"]
    rows = attributes.profile_rows("0634410", layers, values)
    assert rows.set_index("attribute").loc["Seat-time waiver", ["value", "type", "layer"]].tolist() == [
        "yes", "Yes / no", "Policy"]


def test_real_california_layer_by_name_and_state(ca_real_store):
    store = SqliteStore(ca_real_store)
    try:
        districts, states = store.districts(geometry=None), store.states(geometry=False)
    finally:
        store.close()
    data = (b"District,State,Learning mode fall 2020,Recovery stage\n"
            b"Los Angeles Unified,CA,remote,2\nFresno Unified,California,hybrid,3\n"
            b"Sacramento City Unified,06,remote,2\nJefferson Elementary,CA,hybrid,1\n")
    plan = attributes.plan_layer(_raw(data), districts, name="Fall 2020", states=states)
    assert sorted(plan.values["leaid"].unique()) == ["0614550", "0622710", "0633840"]
    assert [c.type for c in plan.columns] == ["category", "whole"]
    assert [r.row for r in plan.rejected] == [5]  # three Jefferson Elementary School Districts in California
    assert sorted(plan.ambiguous["candidates"].iloc[0]["leaid"]) == ["0618810", "0618840", "0618870"]
