"""The upload page's value table and remembered mapping (views/upload.py, AppTest)."""
from __future__ import annotations

from apptest_helpers import no_errors
from test_upload_pages import PASSWORD, _open, _sign_in

from podgeo import auth, ui
from podgeo.store import SqliteStore

SHEET = ("Nombre del programa,Tipo de programa,Capacidad,Estado,Latitud,Longitud\n"
         "Centro Uno,Parent-led pods,12,CA,37.803328,-122.258736\n"
         "Centro Dos,comunity hub,4,CA,37.81,-122.25\n"
         "Centro Tres,comunity hub,4,CA,37.82,-122.25\n").encode()


def test_value_table_choice_applies_to_every_row_and_the_mapping_is_remembered(db, monkeypatch):
    monkeypatch.setenv(auth.PLAIN_ENV, PASSWORD)
    at = _sign_in(_open("views/upload.py"))
    at.file_uploader(key="upload.file").upload("partner.csv", SHEET, "text/csv").run()
    no_errors(at)
    assert ui.plain("Mapping suggested from the headers.") in [c.value for c in at.caption]
    assert at.data_editor[0].value["pod field"].tolist() == ["name", "operator_type", "capacity", "state", "lat",
                                                             "lon"]
    table = at.data_editor[1].value
    assert table[["value", "rows", "choice"]].to_dict("records") == [
        {"value": "comunity hub", "rows": 2, "choice": "Community organization hub"}]
    assert [m.value for m in at.markdown if m.value.startswith("3 rows")] == [
        "3 rows: **1 valid** (1 new, 0 updates, 0 to geocode), **2 rejected**."]
    at.checkbox(key="upload.apply_values").check().run()
    assert [m.value for m in at.markdown if m.value.startswith("3 rows")] == [
        "3 rows: **3 valid** (3 new, 0 updates, 0 to geocode), **0 rejected**."]
    at.button(key="upload.commit").click().run()
    no_errors(at)
    store = SqliteStore(db)
    kinds = [r["operator_type"] for r in store.db.query("select operator_type from pods where name like 'Centro%' "
                                                        "order by name")]
    assert kinds == ["community_org_hub", "community_org_hub", "parent_led_pod"]
    (saved,) = store.column_mappings()
    assert saved["mapping"]["Nombre del programa"] == "name" and saved["saved_by"] == "Ana"
    store.close()
    # the same partner's next sheet, columns in another order, maps itself from the saved mapping
    moved = "\n".join(",".join([line.split(",")[2], *line.split(",")[:2], *line.split(",")[3:]])
                      for line in SHEET.decode().splitlines()).encode()
    nxt = _sign_in(_open("views/upload.py"))
    nxt.file_uploader(key="upload.file").upload("partner-june.csv", moved, "text/csv").run()
    no_errors(nxt)
    name = saved["name"]
    assert ui.plain(f"Mapping saved mapping '{name}' (same headers as this sheet).") in [
        c.value for c in nxt.caption]
