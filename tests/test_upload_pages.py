"""AppTest for views/upload.py and views/history.py: viewers never reach the write path; staff upload and undo.

The file uploader is driven through AppTest (`at.file_uploader(key=...).upload(...)`), so the
whole page runs: sign-in, mapping, preview, fixes, commit. The mapping table is an
st.data_editor, whose cell edits AppTest applies through the editor's session state.
"""
from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from apptest_helpers import no_errors
from streamlit.testing.v1 import AppTest

from podgeo import auth, pods
from podgeo.store import SqliteStore

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PASSWORD = "correct horse battery"
HASH = auth.hash_password(PASSWORD, n=2**12)
SHEET = (b"pod_id,Site Name,Seats,State,Latitude,Longitude\n"
         b"t-oak,Oak Hub,12,CA,37.803328,-122.258736\n"
         b"t-swap,Swapped Pod,4,CA,-122.446549,37.758080\n"
         b"t-bad,,4,CA,37.8,-122.2\n")
OIDC = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "podgeo",
        "client_secret": "s", "server_metadata_url": "https://id.example.org/.well-known/openid-configuration"}


def _open(page: str, *, secrets: dict | None = None, user: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if secrets:
        at.secrets.update(secrets)
    if user is not None:
        at.user = user
    at.switch_page(page)
    return at.run()


def _sign_in(at: AppTest, password: str = PASSWORD, name: str = "Ana") -> AppTest:
    at.text_input(key="staff.name").input(name)
    at.text_input(key="staff.password").input(password)
    return at.form_submit_button[0].click().run()


def _store_pods(db: Path) -> list[tuple]:
    store = SqliteStore(db)
    try:
        return [tuple(r) for r in store.db.execute(
            "select pod_id, name, capacity, lat, lon, batch_id from pods where batch_id is not null order by pod_id")]
    finally:
        store.close()


# -- views/upload.py ------------------------------------------------------------------------------------


def test_viewer_without_staff_config_cannot_reach_the_upload_path(db):
    at = _open("views/upload.py")
    assert [e.value for e in at.exception] == []
    assert len(at.file_uploader) == 0 and len(at.button) == 0 and len(at.text_input) == 0
    (info,) = at.info
    assert "nobody can upload pods here" in info.value
    assert "python -m podgeo hash-password" in info.value and "PODGEO_STAFF_PASSWORD_HASH" in info.value


def test_wrong_password_is_refused_and_the_right_one_opens_the_upload(db, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV, HASH)
    at = _open("views/upload.py")
    assert len(at.file_uploader) == 0
    at = _sign_in(at, "correct horse battery!")
    assert [e.value for e in at.error] == ["Wrong staff password."] and len(at.file_uploader) == 0
    at = _sign_in(at, PASSWORD, name="  ")
    assert [e.value for e in at.error] == ["Type your name: it is recorded with every upload and undo."]
    at = _sign_in(at)
    no_errors(at)
    assert len(at.file_uploader) == 1 and at.file_uploader(key="upload.file").allowed_type == [".csv", ".xlsx"]
    assert {b.key for b in at.get("download_button")} == {"upload.template_csv", "upload.template_xlsx"}
    assert "Signed in as staff: Ana" in at.caption[1].value


def test_staff_upload_preview_fixes_and_commit(db, monkeypatch):
    monkeypatch.setenv(auth.PLAIN_ENV, PASSWORD)  # the plain variable, hashed at start-up
    at = _sign_in(_open("views/upload.py"))
    at.file_uploader(key="upload.file").upload("pods.csv", SHEET, "text/csv").run()
    no_errors(at)
    mapping = at.data_editor[0].value
    assert mapping.to_dict("list") == {
        "column": ["pod_id", "Site Name", "Seats", "State", "Latitude", "Longitude"],
        "example": ["t-oak", "Oak Hub", "12", "CA", "37.803328", "-122.258736"],
        "pod field": ["pod_id", "name", "capacity", "state", "lat", "lon"]}
    summary = [m.value for m in at.markdown if m.value.startswith("3 rows")]
    assert summary == ["3 rows: **1 valid** (1 new, 0 updates, 0 to geocode), **2 rejected**."]
    assert [w.value for w in at.warning] == ["1 row(s) can be fixed automatically:"]
    assert {b.key for b in at.get("download_button")} >= {"upload.rejected_csv", "upload.rejected_xlsx"}
    assert _store_pods(db) == []  # nothing written before the commit
    at.checkbox(key="upload.fixes").check().run()
    summary = [m.value for m in at.markdown if m.value.startswith("3 rows")]
    assert summary == ["3 rows: **2 valid** (2 new, 0 updates, 0 to geocode), **1 rejected**."]
    at.button(key="upload.commit").click().run()
    no_errors(at)
    assert [s.value for s in at.success] == [
        "Committed batch 1: 2 new and 0 updated pods, 2 placed in districts, 0 without coordinates, "
        "1 rejected rows kept with their errors."]
    assert _store_pods(db) == [("t-oak", "Oak Hub", 12, 37.803328, -122.258736, 1),
                               ("t-swap", "Swapped Pod", 4, 37.75808, -122.446549, 1)]
    store = SqliteStore(db)
    assert store.batches().loc[0, "uploaded_by"] == "Ana"
    assert [r["row"] for r in store.rejected_rows(1)] == [4]


def test_changing_the_mapping_before_anything_is_written(db, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV, HASH)
    at = _sign_in(_open("views/upload.py"))
    at.file_uploader(key="upload.file").upload("pods.csv", SHEET, "text/csv").run()
    key = at.data_editor[0].key
    at.session_state[key] = {"edited_rows": {2: {"pod field": None}}, "added_rows": [], "deleted_rows": []}
    at.run()
    no_errors(at)
    assert any(c.value == "not imported (no pod column chosen): Seats" for c in at.get("text"))
    at.checkbox(key="upload.fixes").check().run()
    at.button(key="upload.commit").click().run()
    assert [row[2] for row in _store_pods(db)] == [None, None]  # Seats was not imported
    assert SqliteStore(db).batches().loc[0, "mapping"]["Seats"] is None


def test_xlsx_upload_with_a_sheet_picker(db, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV, HASH)
    wb = openpyxl.Workbook()
    wb.active.title = "notes"
    wb.active.append(["this sheet is not the pods"])
    ws = wb.create_sheet("pods")
    ws.append(["Site Name", "Latitude", "Longitude"])
    ws.append(["Sheet Pod", 37.803328, -122.258736])
    out = io.BytesIO()
    wb.save(out)
    at = _sign_in(_open("views/upload.py"))
    at.file_uploader(key="upload.file").upload("pods.xlsx", out.getvalue()).run()
    picker = at.selectbox(key="upload.sheet")
    assert (picker.options, picker.value) == (["notes", "pods"], "pods")  # the sheet that looks like pods
    no_errors(at)
    assert [m.value for m in at.markdown if m.value.startswith("1 rows")] == [
        "1 rows: **1 valid** (1 new, 0 updates, 0 to geocode), **0 rejected**."]
    at.selectbox(key="upload.sheet").select("notes").run()
    assert [e.value for e in at.error] == [r"pods\.xlsx: no column is mapped to 'name', which every pod needs"]
    assert len(at.button) == 1  # only "Sign out": nothing to commit


def test_a_file_that_cannot_be_read_says_why(db, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV, HASH)
    at = _sign_in(_open("views/upload.py"))
    at.file_uploader(key="upload.file").upload("pods.xlsx", b"not a workbook").run()
    assert [e.value for e in at.error] == [r"pods\.xlsx: the name says Excel but the content is not an \.xlsx workbook"]
    assert len(at.button) == 1  # only "Sign out": no commit


def test_misconfigured_hash_is_reported_and_nobody_gets_in(db, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV, "hunter2")
    at = _open("views/upload.py")
    assert "Staff sign-in is misconfigured" in at.error[0].value
    assert len(at.file_uploader) == 0 and len(at.text_input) == 0


def test_identity_provider_sign_in(db):
    secrets = {"auth": OIDC, "staff_emails": ["@district.org"]}
    at = _open("views/upload.py", secrets=secrets, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in"] and len(at.file_uploader) == 0
    at = _open("views/upload.py", secrets=secrets, user={"is_logged_in": True, "email": "eve@gmail.com"})
    assert "is signed in but is not on the staff list" in at.error[0].value and len(at.file_uploader) == 0
    at = _open("views/upload.py", secrets=secrets, user={"is_logged_in": True, "email": "ana@district.org"})
    no_errors(at)
    assert len(at.file_uploader) == 1
    at.file_uploader(key="upload.file").upload("pods.csv", SHEET, "text/csv").run()
    at.button(key="upload.commit").click().run()
    assert SqliteStore(db).batches().loc[0, "uploaded_by"] == "ana@district.org"


# -- views/history.py -----------------------------------------------------------------------------------


def _two_batches(db: Path) -> None:
    store = SqliteStore(db)
    for name, text in (("first.csv", SHEET), ("second.csv", b"pod_id,Site Name,Latitude,Longitude\n"
                                                            b"t-oak,Oak Hub v2,37.803328,-122.258736\n")):
        plan = pods.plan_upload(store, text, name)
        pods.commit_upload(store, plan, user="Bo", use_geocoder=False)
    store.close()


def test_history_lists_batches_for_viewers_without_names_files_or_undo(db):
    _two_batches(db)
    at = _open("views/history.py")
    assert [e.value for e in at.exception] == []
    table = at.dataframe[0].value
    assert list(table.columns) == ["Batch", "Kind", "File", "When", "Rows", "Valid", "Rejected", "New", "Updated",
                                   "Placed", "Not geocoded", "Restored", "Removed", "Undoes batch", "Undone by batch"]
    assert table[["Batch", "Kind", "File", "Rows", "Valid", "Rejected", "Restored"]].values.tolist() == [
        ["2", "upload", "second.csv", "1", "1", "0", "—"], ["1", "upload", "first.csv", "3", "1", "2", "—"]]
    assert not table.isna().any().any() and "None" not in table.values  # missing shows as "—", never None
    assert len(at.button) == 0 and len(at.get("download_button")) == 0
    assert "nobody can see who uploaded, download uploaded files or undo a batch here" in at.info[0].value


def test_history_undo_for_staff_asks_first_then_refuses_or_undoes(db, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV, HASH)
    _two_batches(db)
    at = _sign_in(_open("views/history.py"), name="Cy")
    no_errors(at)
    assert at.dataframe[0].value["By"].tolist() == ["Bo", "Bo"]  # staff see who uploaded
    assert {b.key for b in at.get("download_button")} == {"history.original"}  # batch 2 rejected nothing
    at.selectbox(key="history.batch").select(1).run()
    assert {b.key for b in at.get("download_button")} == {"history.original", "history.rejected_csv",
                                                           "history.rejected_xlsx"}
    at.button(key="history.undo").click().run()
    assert [w.value for w in at.warning] == [r"Undo batch 1 (first\.csv)? Every pod it added is removed and every "
                                             "pod it changed goes back to how it was before it."]
    at.button(key="history.undo_confirm").click().run()
    assert [e.value for e in at.error] == [
        r"Undo refused: pod 't\-oak' was changed again by batch 2; undo batch 2 first"]
    at.selectbox(key="history.batch").select(2).run()
    at.button(key="history.undo").click().run()
    at.button(key="history.undo_cancel").click().run()
    assert len(SqliteStore(db).batches()) == 2 and len(at.warning) == 0  # cancelled: nothing undone
    at.button(key="history.undo").click().run()
    at.button(key="history.undo_confirm").click().run()
    assert [s.value for s in at.success] == ["Batch 2 undone (recorded as batch 3)."]
    table = at.dataframe[0].value
    assert table[["Batch", "Kind", "By", "Undoes batch", "Undone by batch"]].values.tolist() == [
        ["3", "undo", "Cy", "2", "—"], ["2", "upload", "Bo", "—", "3"], ["1", "upload", "Bo", "—", "—"]]
    assert _store_pods(db) == [("t-oak", "Oak Hub", 12, 37.803328, -122.258736, 1)]
    at.selectbox(key="history.batch").select(2).run()
    assert at.button(key="history.undo").disabled  # already undone


def _frame_with(at: AppTest, column: str):
    """The one table on the page with this column (AppTest does not expose st.dataframe keys)."""
    (frame,) = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def test_upload_preview_shows_labels_and_blanks_not_none_or_snake_case(db, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV, HASH)
    at = _sign_in(_open("views/upload.py"))
    at.file_uploader(key="upload.file").upload("pods.csv", SHEET, "text/csv").run()
    preview = _frame_with(at, "Action")
    assert list(preview.columns[:6]) == ["Row", "Action", "Geocode", "Pod id", "Name", "Operator type"]
    row = preview.iloc[0]
    assert (row["Row"], row["Action"], row["Name"], row["Seats"], row["State"], row["Operator type"]) == (
        2, "new", "Oak Hub", "12", "CA", "")
    assert "None" not in preview.astype(str).values and "capacity" not in preview.columns
    rejected = _frame_with(at, "Errors")
    assert list(rejected.columns[:3]) == ["Row", "Errors", "pod_id"]  # then the file's own headers, as they are
    assert pods.field_label("capacity") == "Seats" and pods.field_label(None) == "— not imported"


def test_upload_asks_for_the_encoding_when_the_guess_is_unsure(db, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV, HASH)
    at = _sign_in(_open("views/upload.py"))
    data = "name,lat,lon\nРусский центр,37.8,-122.27\n".encode("cp1251")
    at.file_uploader(key="upload.file").upload("ru.csv", data, "text/csv").run()
    no_errors(at)
    assert at.warning[0].value.startswith("The file's text encoding is not certain")
    samples = _frame_with(at, "the file reads as")
    assert samples.set_index("encoding").loc["cp1251", "the file reads as"] == "Русский центр,37.8,-122.27"
    picker = at.selectbox(key=f"upload.encoding.{pods.file_key(data)}")
    assert picker.value == "cp1251" and "mac_cyrillic" in picker.options
    picker.select("mac_cyrillic").run()
    assert at.data_editor[0].value["example"][0] == data.split(b"\n")[1].split(b",")[0].decode("mac_cyrillic")
    at.selectbox(key=f"upload.encoding.{pods.file_key(data)}").select("cp1251").run()
    assert at.data_editor[0].value["example"][0] == "Русский центр"
