"""AppTest for views/attributes.py: viewers see the layers but never the write path; staff upload a sheet,
confirm types, see rejected rows, save, replace and remove a layer, each write recorded with its provenance."""
from __future__ import annotations

import hashlib
from pathlib import Path

from apptest_helpers import no_errors
from streamlit.testing.v1 import AppTest

from podgeo import auth
from podgeo.store import SqliteStore

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PASSWORD = "correct horse battery"
SHEET = (b"LEAID,Learning mode,Recovery stage,Minutes\n0634410,remote,3,1200\n0628050,hybrid,2,1100\n"
         b"0604740,hybrid,x,900\n0699999,remote,1,1\n0601770,remote,4,1000\n")


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("views/attributes.py")
    return at.run()


def _staff(monkeypatch) -> AppTest:
    monkeypatch.setenv(auth.HASH_ENV, auth.hash_password(PASSWORD, n=2**12))
    at = _open()
    at.text_input(key="staff.name").input("Ana")
    at.text_input(key="staff.password").input(PASSWORD)
    return at.form_submit_button[0].click().run()


def _layers(db: Path):
    store = SqliteStore(db)
    try:
        return store.attribute_layers(), store.attribute_values()
    finally:
        store.close()


def test_viewers_never_reach_the_write_path(db):
    at = _open()
    no_errors(at)
    assert len(at.file_uploader) == 0 and len(at.button) == 0
    assert any("nobody can add, replace or remove attribute layers here" in i.value for i in at.info)


def test_staff_upload_confirm_types_and_save(db, monkeypatch):
    at = _staff(monkeypatch)
    no_errors(at)
    at.file_uploader(key="attributes.file").upload("fall.csv", SHEET, "text/csv").run()
    no_errors(at)
    assert [at.selectbox(key=f"attributes.type.{i}").value for i in range(3)] == ["category", "whole", "whole"]
    at.selectbox(key="attributes.type.2").set_value("number").run()
    assert at.text_input(key="attributes.name").value == "fall"
    at.text_input(key="attributes.name").input("Fall 2020").run()
    assert at.markdown[1].value.startswith("5 rows: **3 districts** with 9 values in 3 columns; **2 rows rejected**")
    preview, rejected = (d.value for d in at.dataframe[-2:])
    assert preview["leaid"].tolist() == ["0601770", "0628050", "0634410"]
    assert preview["Minutes"].tolist() == ["1000.0", "1100.0", "1200.0"]
    assert rejected["errors"].tolist() == ["row 4, column 'Recovery stage': 'x' is not a number",
                                           "row 5, column 'LEAID': no district with LEAID 0699999 in the store"]
    at.button(key="attributes.save").click().run()
    no_errors(at)
    assert at.success[0].value == "Saved layer 1: Fall 2020."
    layers, values = _layers(db)
    row = layers.iloc[0]
    assert (row["name"], row["filename"], row["uploaded_by"], row["version"], row["sha256"]) == (
        "Fall 2020", "fall.csv", "Ana", 1, hashlib.sha256(SHEET).hexdigest())
    assert [c["type"] for c in row["columns"]] == ["category", "whole", "number"] and len(row["rejected"]) == 2
    assert len(values) == 9
    assert at.dataframe[0].value["layer"].tolist() == ["Fall 2020"]  # the provenance table, now with the layer


def test_staff_replace_then_remove(db, monkeypatch):
    at = _staff(monkeypatch)
    at.file_uploader(key="attributes.file").upload("fall.csv", SHEET, "text/csv").run()
    at.button(key="attributes.save").click().run()
    at.selectbox(key="attributes.target").set_value("1").run()
    at.file_uploader(key="attributes.file").upload("fall_v2.csv", b"LEAID,Learning mode\n0634410,in person\n",
                                                   "text/csv").run()
    no_errors(at)
    at.button(key="attributes.save").click().run()
    no_errors(at)
    layers, values = _layers(db)
    assert layers[["layer_id", "version", "filename"]].values.tolist() == [[1, 2, "fall_v2.csv"]]
    assert values[["leaid", "column", "value"]].values.tolist() == [["0634410", "learning_mode", "in person"]]
    at.button(key="attributes.remove").click().run()
    no_errors(at)
    layers, values = _layers(db)
    assert layers.empty and values.empty and at.success[0].value.startswith("Removed layer")


def test_a_sheet_that_names_no_district_is_refused(db, monkeypatch):
    at = _staff(monkeypatch)
    at.file_uploader(key="attributes.file").upload("bad.csv", b"Town,Minutes\nOakland,1\n", "text/csv").run()
    assert "no column holds the district" in at.error[0].value
    assert _layers(db)[0].empty
