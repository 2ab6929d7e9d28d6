"""AppTest for views/cohorts.py: pick districts, save a cohort, reopen it by link, build one from a sheet
(settling an ambiguous name), and only staff delete."""
from __future__ import annotations

import shutil
from pathlib import Path

from apptest_helpers import no_errors, open_app
from streamlit.testing.v1 import AppTest

from podgeo import auth
from podgeo.store import SqliteStore

PASSWORD = "correct horse battery"


def _open(**query) -> AppTest:
    return open_app("views/cohorts.py", **query)


def _table(at: AppTest, column: str = "District"):
    """The shown table holding `column` (AppTest finds dataframes by position, not key)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _cohorts(db: Path) -> list[tuple]:
    store = SqliteStore(db)
    try:
        return [(r.name, tuple(store.cohort_members(r.cohort_id)), r.source) for r in store.cohorts().itertuples()]
    finally:
        store.close()


def test_pick_name_save_and_reopen_by_link(db):
    at = _open()
    no_errors(at)
    assert at.button(key="cohorts.save").disabled and "Choose districts above" in at.info[0].value
    at.multiselect(key="cohorts.members").set_value(["0628050", "0634410", "0618930"]).run()
    table = _table(at)
    assert table["District"].tolist()[-1] == "Total (3 districts)"
    total = table.iloc[-1]
    assert (total["Children 5-17"], total["Students enrolled"], total["Pods"], total["Seats (known)"]) == (
        56887 + 77155, 35489 + 51790 + 4236, 3, 172)  # Jefferson Union High (secondary) adds students, not children
    at.text_input(key="cohorts.name").input("Bay <b>cities</b>").run()
    at.button(key="cohorts.save").click().run()
    no_errors(at)
    assert at.success[0].value.startswith("Saved cohort Bay \\<b\\>cities\\</b\\>")
    assert _cohorts(db) == [("Bay <b>cities</b>", ("0618930", "0628050", "0634410"), "picked")]
    assert at.selectbox(key="cohorts.pick").value == "1" and at.query_params["cohort"] == "1"

    again = _open(cohort="1")
    no_errors(again)
    assert again.selectbox(key="cohorts.pick").value == "1"
    assert _table(again)["District"].tolist()[-1] == "Total (3 districts)"


def test_a_taken_name_is_refused_and_nothing_is_written(db):
    store = SqliteStore(db)
    store.create_cohort("Taken", ["0604740"])
    store.close()
    at = _open()
    at.multiselect(key="cohorts.members").set_value(["0628050"]).run()
    at.text_input(key="cohorts.name").input("Taken").run()
    at.button(key="cohorts.save").click().run()
    assert [e.value for e in at.error] == ["there is already a cohort named 'Taken'; choose another name or delete it "
                                           "first"]
    assert _cohorts(db) == [("Taken", ("0604740",), None)]


def test_a_sheet_of_names_with_an_unmatched_row(db):
    at = _open()
    sheet = b"District name,State\nOakland Unified,CA\nBerkly Unified,CA\nAtlantis Unified,CA\n"
    at.file_uploader(key="cohorts.file").upload("members.csv", sheet, "text/csv").run()
    no_errors(at)
    assert at.markdown[0].value == "2 district(s) found in members\\.csv."
    assert _table(at, "not found")["not found"].tolist() == [
        "row 4, column 'District name': no district in CA has a name like 'Atlantis Unified'"]
    assert _table(at)["LEAID"].tolist() == ["0604740", "0628050", ""]


def test_an_ambiguous_name_is_settled_by_the_user(fixture_store, tmp_path, monkeypatch):
    """Two districts named 'Jefferson Elementary School District' (as in real California)."""
    path = tmp_path / "twin.db"
    shutil.copy(fixture_store, path)
    store = SqliteStore(path)
    store.db.execute("insert into districts (leaid, name, state_fips, state, layer, is_filler, vintage) "
                     "values ('0618840', 'Jefferson Elementary School District', '06', 'CA', 'elementary', 0, 2021)")
    store.db.conn.commit()
    store.close()
    monkeypatch.setenv("PODGEO_DB", str(path))
    at = _open()
    at.file_uploader(key="cohorts.file").upload("j.csv", b"District,State\nJefferson Elementary,CA\n", "text/csv").run()
    no_errors(at)
    assert at.warning[0].value.startswith("1 name(s) fit more than one district")
    settle = at.selectbox(key="cohorts.settle.2")
    assert settle.options == ["— leave out", "Jefferson Elementary School District (CA, elementary, LEAID 0618840)",
                              "Jefferson Elementary School District (CA, elementary, LEAID 0618870)"]
    settle.set_value("0618870").run()
    assert _table(at)["LEAID"].tolist() == ["0618870", ""]


def test_only_staff_delete(db, monkeypatch):
    store = SqliteStore(db)
    store.create_cohort("Old", ["0604740"])
    store.close()
    at = _open(cohort="1")
    assert len(at.button) == 0  # no save button for a saved cohort, no delete button without staff
    assert any("nobody can delete cohorts here" in i.value for i in at.info)
    monkeypatch.setenv(auth.HASH_ENV, auth.hash_password(PASSWORD, n=2**12))
    at = _open(cohort="1")
    at.text_input(key="staff.name").input("Ana")
    at.text_input(key="staff.password").input(PASSWORD)
    at.form_submit_button[0].click().run()
    at.button(key="cohorts.delete").click().run()
    no_errors(at)
    assert _cohorts(db) == [] and at.success[0].value.startswith("Deleted Old")
    assert at.selectbox(key="cohorts.pick").value == "new"
