"""Uploads end to end: plan -> geocode -> place -> one atomic, undoable batch, on copies of real stores.

Whole-result asserts in the sqlite-utils manner (the rows a table holds, not "it ran"), the
malformed-sheet fuzz that checks the store file byte for byte, the real IMLS and CDE files as
uploads, a SIGKILL in the middle of a commit, and two importers with readers in separate processes.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from podgeo import pods, sheets
from podgeo.sheets import SheetError
from podgeo.store import TEST_PAUSE_ENV, SqliteStore, StoreError

REPO = Path(__file__).resolve().parents[1]
OAKLAND = ("37.803328", "-122.258736")  # interior point of Oakland Unified (0628050)
LAFAYETTE = ("37.894770", "-122.122933")  # Lafayette Elementary (0620310) inside Acalanes Union High (0601650)
SF = ("37.758080", "-122.446549")  # San Francisco Unified (0634410)
HEADER = ["pod_id", "Site Name", "Program Type", "Seats", "Street", "City", "State", "LEAID", "Latitude", "Longitude"]


def _csv(*rows, header=HEADER) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue().encode("utf-8")


def _store(fixture_store, tmp_path, name="s.db") -> SqliteStore:
    path = tmp_path / name
    shutil.copy(fixture_store, path)
    return SqliteStore(path)


def _upload(store, data, name="pods.csv", **kw) -> int:
    plan = pods.plan_upload(store, data, name, state=kw.pop("state", None))
    return pods.commit_upload(store, plan, user=kw.pop("user", "ana"), **{"use_geocoder": False, **kw})


def _pods(store, where="batch_id is not null") -> list[dict]:
    return list(store.db.query(f"select * from pods where {where} order by pod_id"))


def _links(store, like="t-%") -> list[tuple]:
    return [tuple(r) for r in store.db.execute(
        "select pod_id, leaid, layer from pod_districts where pod_id like ? order by pod_id, leaid", [like])]


FIRST = _csv(["t-oak", "Oak Hub", "Community organization hub", "12", "", "", "CA", "", *OAKLAND],
             ["t-laf", "Lafayette Pod", "parent-led", "6", "", "", "CA", "", *LAFAYETTE],
             ["t-bad", "", "parent-led", "6", "", "", "CA", "", *SF],
             ["t-far", "Faraway", "parent-led", "", "", "", "CA", "", "36.0", "-119.0"])


# -- the pipeline, whole results -------------------------------------------------------------------


def test_commit_writes_pods_links_batch_and_rejects(fixture_store, tmp_path):
    store = _store(fixture_store, tmp_path)
    before = store.counts()
    batch_id = _upload(store, FIRST)
    assert [(p["pod_id"], p["name"], p["operator_type"], p["capacity"], p["lat"], p["lon"], p["state"],
             p["geocode_status"], p["illustrative"], p["batch_id"]) for p in _pods(store)] == [
        ("t-far", "Faraway", "parent_led_pod", None, 36.0, -119.0, "CA", "provided", 0, batch_id),
        ("t-laf", "Lafayette Pod", "parent_led_pod", 6, 37.89477, -122.122933, "CA", "provided", 0, batch_id),
        ("t-oak", "Oak Hub", "community_org_hub", 12, 37.803328, -122.258736, "CA", "provided", 0, batch_id)]
    # Lafayette lies in an elementary district and the high-school district over it; t-far is in
    # California but outside the fixture's districts, so it is kept with no link.
    assert _links(store) == [("t-laf", "0601650", "secondary"), ("t-laf", "0620310", "elementary"),
                             ("t-oak", "0628050", "unified")]
    (batch,) = store.batches().to_dict("records")
    assert (batch["batch_id"], batch["kind"], batch["filename"], batch["uploaded_by"], batch["sheet"]) == (
        batch_id, "upload", "pods.csv", "ana", None)
    assert batch["sha256"] == hashlib.sha256(FIRST).hexdigest()
    assert batch["counts"] == {"rows": 4, "valid": 3, "rejected": 1, "inserts": 3, "updates": 0, "needs_geocode": 0,
                               "errors": 1, "fixes": 0, "fixed": 0, "geocoded": 0, "not_geocoded": 0, "placed": 2}
    assert batch["mapping"] == {"pod_id": "pod_id", "Site Name": "name", "Program Type": "operator_type",
                                "Seats": "capacity", "Street": "address", "City": "city", "State": "state",
                                "LEAID": "partner_leaid", "Latitude": "lat", "Longitude": "lon"}
    assert store.batch_file(batch_id) == ("pods.csv", FIRST)
    assert store.rejected_rows(batch_id) == [
        {"row": 4, "row_values": dict(zip(HEADER, ["t-bad", "", "parent-led", "6", "", "", "CA", "", *SF])),
         "errors": ["row 4, column 'Site Name': a name is required"]}]
    after = store.counts()
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {
        "pods": 3, "pod_districts": 3, "upload_batches": 1, "pod_history": 3, "rejected_rows": 1}
    assert store.revision() == 2


def test_reupload_of_an_updated_file_updates_by_stable_key(fixture_store, tmp_path):
    store = _store(fixture_store, tmp_path)
    first = _upload(store, FIRST)
    changed = _csv(["t-oak", "Oak Hub (moved)", "Community organization hub", "20", "", "", "CA", "", *SF],
                   ["t-laf", "Lafayette Pod", "parent-led", "6", "", "", "CA", "", *LAFAYETTE],
                   ["t-new", "New Pod", "hybrid? no", "", "", "", "CA", "", *OAKLAND])
    plan = pods.plan_upload(store, changed, "pods-v2.csv")
    assert [(v.pod["pod_id"], v.action) for v in plan.validation.valid] == [("t-oak", "update"), ("t-laf", "update")]
    assert plan.counts["rejected"] == 1  # "hybrid? no" is not an operator type
    second = pods.commit_upload(store, plan, user="bo", use_geocoder=False)
    assert [(p["pod_id"], p["name"], p["capacity"], p["lat"], p["batch_id"]) for p in _pods(store)] == [
        ("t-far", "Faraway", None, 36.0, first),
        ("t-laf", "Lafayette Pod", 6, 37.89477, second),
        ("t-oak", "Oak Hub (moved)", 20, 37.75808, second)]
    assert _links(store) == [("t-laf", "0601650", "secondary"), ("t-laf", "0620310", "elementary"),
                             ("t-oak", "0634410", "unified")]


def test_reupload_without_ids_matches_on_name_address_and_state(fixture_store, tmp_path):
    store = _store(fixture_store, tmp_path)
    header = ["Site Name", "Street", "City", "State", "Seats"]
    _upload(store, _csv(["Maple Pod", "4600 Maple Ave", "Oakland", "CA", "5"], header=header))
    plan = pods.plan_upload(store, _csv(["Maple Pod", "4600 Maple Ave", "Oakland", "CA", "9"], header=header), "v2.csv")
    assert [v.action for v in plan.validation.valid] == ["update"]
    pods.commit_upload(store, plan, user="bo", use_geocoder=False)
    assert [(p["name"], p["capacity"], p["geocode_status"]) for p in _pods(store)] == [("Maple Pod", 9, "not_geocoded")]


def test_undo_restores_the_previous_state_exactly(fixture_store, tmp_path):
    store = _store(fixture_store, tmp_path)
    original = (_pods(store, "1"), _links(store, "%"))
    first = _upload(store, FIRST)
    after_first = (_pods(store, "1"), _links(store, "%"))
    changed = _csv(["t-oak", "Oak Hub (moved)", "Community organization hub", "20", "", "", "CA", "", *SF],
                   ["t-two", "Second", "parent-led", "3", "", "", "CA", "", *LAFAYETTE])
    second = _upload(store, changed, "v2.csv")
    assert (_pods(store, "1"), _links(store, "%")) != after_first
    undo_second = store.undo_batch(second, user="cy")
    assert (_pods(store, "1"), _links(store, "%")) == after_first
    undo_first = store.undo_batch(first, user="cy")
    assert (_pods(store, "1"), _links(store, "%")) == original
    assert [(b["batch_id"], b["kind"], b["undoes"], b["undone_by"], b["uploaded_by"]) for b in store.db.query(
        "select * from upload_batches order by batch_id")] == [
        (first, "upload", None, undo_first, "ana"), (second, "upload", None, undo_second, "ana"),
        (undo_second, "undo", second, None, "cy"), (undo_first, "undo", first, None, "cy")]
    counts = store.batches().set_index("batch_id")["counts"]
    assert (counts[undo_second], counts[undo_first]) == ({"restored": 1, "removed": 1}, {"restored": 0, "removed": 3})


def test_undo_refused_when_a_later_batch_touched_the_same_pod(fixture_store, tmp_path):
    store = _store(fixture_store, tmp_path)
    first = _upload(store, FIRST)
    second = _upload(store, _csv(["t-oak", "Oak Hub v2", "parent-led", "1", "", "", "CA", "", *OAKLAND]), "v2.csv")
    state = (_pods(store, "1"), _links(store, "%"), store.revision())
    with pytest.raises(StoreError, match=f"pod 't-oak' was changed again by batch {second}; undo batch {second} first"):
        store.undo_batch(first, user="cy")
    assert (_pods(store, "1"), _links(store, "%"), store.revision()) == state
    with pytest.raises(StoreError, match="no upload batch 99"):
        store.undo_batch(99, user="cy")
    undo = store.undo_batch(second, user="cy")
    with pytest.raises(StoreError, match=f"already undone by batch {undo}"):
        store.undo_batch(second, user="cy")
    with pytest.raises(StoreError, match="is an undo"):
        store.undo_batch(undo, user="cy")
    store.undo_batch(first, user="cy")  # allowed now that the later change is undone
    assert _pods(store) == []


def test_rejected_rows_are_kept_and_downloadable_to_fix_and_upload_again(fixture_store, tmp_path):
    store = _store(fixture_store, tmp_path)
    data = _csv(["t-1", "Good", "parent-led", "4", "", "", "CA", "", *OAKLAND],
                ["t-2", "=HYPERLINK(\"http://x\")", "parent-led", "four", "", "", "CA", "", *OAKLAND],
                ["t-3", "Swapped", "parent-led", "2", "", "", "CA", "", OAKLAND[1], OAKLAND[0]])
    batch_id = _upload(store, data)
    name, csv_bytes = pods.rejected_file(store, batch_id, "csv")
    assert name == "pods.batch1.rejected.csv"
    lines = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert lines[0] == [*HEADER, "errors"]
    assert [line[:2] for line in lines[1:]] == [["t-2", "'=HYPERLINK(\"http://x\")"], ["t-3", "Swapped"]]
    assert lines[1][-1].endswith("row 3, column 'Seats': 'four' is not a whole number of seats (0 or more)")
    assert "look swapped" in lines[2][-1]
    _, xlsx_bytes = pods.rejected_file(store, batch_id, "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(xlsx_bytes)).active
    assert [c.value for c in ws[1]] == [*HEADER, "errors"] and ws.max_row == 3
    # The user fixes the downloaded sheet (capacity typed, coordinates swapped back) and uploads it.
    # (plain negative numbers are written as numbers: the formula guard leaves them alone)
    fixed = csv_bytes.decode("utf-8-sig").replace(",four,", ",4,").replace(
        f"{OAKLAND[1]},{OAKLAND[0]}", f"{OAKLAND[0]},{OAKLAND[1]}").replace("'=HYPERLINK(\"\"http://x\"\")", "Link Pod")
    plan = pods.plan_upload(store, fixed.encode(), "pods.batch1.rejected.csv")
    assert (plan.counts["valid"], plan.counts["rejected"]) == (2, 0)
    assert plan.validation.notes[-1] == "not imported (no pod column chosen): errors"
    pods.commit_upload(store, plan, user="ana", use_geocoder=False)
    assert [(p["pod_id"], p["name"], p["capacity"]) for p in _pods(store)] == [
        ("t-1", "Good", 4), ("t-2", "Link Pod", 4), ("t-3", "Swapped", 2)]


def test_accepting_the_offered_fixes(fixture_store, tmp_path):
    store = _store(fixture_store, tmp_path)
    data = _csv(["t-3", "Swapped", "parent-led", "2", "", "", "CA", "", OAKLAND[1], OAKLAND[0]])
    plain = pods.plan_upload(store, data, "swap.csv")
    assert (plain.counts["valid"], len(plain.validation.fixes)) == (0, 1)
    assert pods.fixes_table(plain.validation.fixes).to_dict("records") == [
        {"row": 2, "fix": plain.validation.fixes[0].message, "set": f"Latitude = {OAKLAND[0]}; Longitude = {OAKLAND[1]}"}]
    fixed = pods.plan_upload(store, data, "swap.csv", accept_fixes=True)
    assert (fixed.counts["valid"], fixed.counts["fixed"]) == (1, 1)
    batch_id = pods.commit_upload(store, fixed, user="ana", use_geocoder=False)
    assert store.batch_file(batch_id)[1] == data  # the original file is what is kept
    assert _links(store) == [("t-3", "0628050", "unified")]


def test_address_only_rows_without_a_geocoder_keep_their_partner_district(fixture_store, tmp_path):
    store = _store(fixture_store, tmp_path)
    data = _csv(["t-a", "Address Pod", "district hub", "30", "1011 Union St", "Oakland", "CA", "0628050", "", ""],
                ["t-b", "No Partner", "district hub", "", "1 Main St", "Oakland", "CA", "", "", ""])
    with socket.socket() as s:  # a port nothing listens on: connection refused at once
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/geocoder/locations/addressbatch"
    plan = pods.plan_upload(store, data, "addr.csv")
    assert plan.counts["needs_geocode"] == 2
    batch_id = pods.commit_upload(store, plan, user="ana", geocoder_url=dead)
    assert [(p["pod_id"], p["lat"], p["lon"], p["geocode_status"], p["partner_leaid"]) for p in _pods(store)] == [
        ("t-a", None, None, "not_geocoded", "0628050"), ("t-b", None, None, "not_geocoded", None)]
    assert _links(store) == [("t-a", "0628050", "unified")]
    counts = store.batches().set_index("batch_id").loc[batch_id, "counts"]
    assert (counts["geocoded"], counts["not_geocoded"], counts["placed"]) == (0, 2, 1)


def test_geocoding_against_a_fake_census_server(fixture_store, tmp_path, monkeypatch):
    import test_geocode  # the fake Census batch server from tests/test_geocode.py

    answers = {"t-g1": OAKLAND, "t-g2": LAFAYETTE}

    def answer(rec, geographies):
        uid, street, city, state, zip_ = rec
        echo = f"{street}, {city}, {state}, {zip_}"
        if uid not in answers:
            return test_geocode._q(uid, echo, "No_Match")
        lat, lon = answers[uid]
        return test_geocode._q(uid, echo, "Match", "Exact", echo.upper(), f"{lon},{lat}", "1", "L")

    monkeypatch.setattr(test_geocode, "_answer", answer)
    fake = test_geocode.FakeCensus()
    fake.thread.start()
    try:
        store = _store(fixture_store, tmp_path)
        data = _csv(["t-g1", "Geo One", "district hub", "", "1011 Union St", "Oakland", "CA", "", "", ""],
                    ["t-g2", "Geo Two", "district hub", "", "500 St Marys Rd", "Lafayette", "CA", "", "", ""],
                    ["t-g3", "Geo Three", "district hub", "", "79 Wistful Vista", "Oakland", "CA", "0628050", "", ""],
                    ["t-g4", "Has Point", "district hub", "", "", "", "CA", "", *SF])
        progress = []
        plan = pods.plan_upload(store, data, "geo.csv")
        batch_id = pods.commit_upload(store, plan, user="ana", geocoder_url=fake.url,
                                      progress=lambda done, total: progress.append((done, total)))
    finally:
        fake.server.shutdown()
        fake.server.server_close()
    assert len(fake.requests) == 1 and fake.requests[0]["benchmark"] == "Public_AR_Current"
    assert sorted(fake.requests[0]["addressFile"].splitlines()) == [
        "t-g1,1011 Union St,Oakland,CA,", "t-g2,500 St Marys Rd,Lafayette,CA,", "t-g3,79 Wistful Vista,Oakland,CA,"]
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    assert [(p["pod_id"], p["lat"], p["lon"], p["geocode_status"]) for p in _pods(store)] == [
        ("t-g1", 37.803328, -122.258736, "match"), ("t-g2", 37.89477, -122.122933, "match"),
        ("t-g3", None, None, "no_match"), ("t-g4", 37.75808, -122.446549, "provided")]
    assert _links(store) == [("t-g1", "0628050", "unified"), ("t-g2", "0601650", "secondary"),
                             ("t-g2", "0620310", "elementary"), ("t-g3", "0628050", "unified"),
                             ("t-g4", "0634410", "unified")]
    counts = store.batches().set_index("batch_id").loc[batch_id, "counts"]
    assert (counts["geocoded"], counts["not_geocoded"], counts["placed"]) == (2, 1, 4)


def test_history_table_and_summary(fixture_store, tmp_path):
    store = _store(fixture_store, tmp_path)
    first = _upload(store, FIRST)
    undo = store.undo_batch(first, user="cy")
    table = pods.history(store.batches())
    assert table[["batch", "kind", "file", "by", "rows", "valid", "rejected", "new", "placed", "restored", "removed",
                  "undoes", "undone_by"]].astype(object).where(table.notna(), None).to_dict("records") == [
        {"batch": undo, "kind": "undo", "file": "pods.csv", "by": "cy", "rows": None, "valid": None, "rejected": None,
         "new": None, "placed": None, "restored": 0, "removed": 3, "undoes": first, "undone_by": None},
        {"batch": first, "kind": "upload", "file": "pods.csv", "by": "ana", "rows": 4, "valid": 3, "rejected": 1,
         "new": 3, "placed": 2, "restored": None, "removed": None, "undoes": None, "undone_by": undo}]
    batches = store.batches()
    assert (pods.can_undo(batches, first), pods.can_undo(batches, undo)) == (False, False)
    assert pods.batch_summary(store, first) == ("Committed batch 1: 3 new and 0 updated pods, 2 placed in districts, "
                                                "0 without coordinates, 1 rejected rows kept with their errors.")


def test_mapping_table_round_trip():
    raw = sheets.read_sheet(_csv(["t-1", "Oak", "", "", "", "", "CA", "", *OAKLAND]), "m.csv")
    table = pods.mapping_table(raw)
    assert table.to_dict("list") == {
        "column": HEADER, "example": ["t-1", "Oak", "", "", "", "", "CA", "", *OAKLAND],
        "pod field": ["pod_id", "name", "operator_type", "capacity", "address", "city", "state", "partner_leaid",
                      "lat", "lon"]}
    table.loc[3, "pod field"] = None
    table.loc[2, "pod field"] = ""
    mapping = pods.mapping_from_table(table)
    assert (mapping["Seats"], mapping["Program Type"], mapping["Site Name"]) == (None, None, "name")


def test_import_command_reports_and_exits_non_zero_when_nothing_commits(fixture_store, tmp_path):
    db = tmp_path / "s.db"
    shutil.copy(fixture_store, db)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv(["t-1", "", "", "", "", "", "CA", "", *OAKLAND]))
    digest = _digest(db)
    run = _run_import(bad, db)
    assert run.returncode == 1 and "nothing to commit" in run.stderr
    assert "1 rows: 0 valid" in run.stdout and "a name is required" in run.stdout
    assert _digest(db) == digest
    good = tmp_path / "good.csv"
    good.write_bytes(FIRST)
    run = _run_import(good, db)
    assert run.returncode == 0, run.stderr
    # what the transaction did: Faraway (36, -119) is new but outside the fixture's districts; t-bad has no name
    assert ("Committed batch 1: 3 new and 0 updated pods, 2 placed in districts, 0 without coordinates, "
            "1 rejected rows kept with their errors.") in run.stdout


# -- malformed sheets never change the store ---------------------------------------------------------


def _digest(path: Path) -> str:
    """sha256 of the store file with its write-ahead log checkpointed in (and of any WAL left)."""
    conn = sqlite3.connect(path)
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    h = hashlib.sha256(path.read_bytes())
    wal = Path(f"{path}-wal")
    if wal.exists():
        h.update(wal.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def fuzz_store(fixture_store, tmp_path_factory):
    """One store for the whole fuzz run, with its pristine bytes kept to restore after a real commit."""
    path = tmp_path_factory.mktemp("fuzz") / "s.db"
    shutil.copy(fixture_store, path)
    return path, _digest(path), path.read_bytes()


_cells = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=10),
                   st.sampled_from(["", "37.8", "-122.27", "-122.3", "37.80", "999", "CA", "XX", "K-5", "=1+1",
                                    "Oak Hub", "12", "-1", "1e999", "nan", "9/8/2020", "2021-13-40", "0628050",
                                    "1 Main St", "Hybrid", "parent-led", "t-1", "t-1", "\x00", "\ufeff"]))
_header = st.lists(st.one_of(st.sampled_from(["pod_id", "name", "Site Name", "lat", "lon", "Latitude", "Long",
                                              "Street", "State", "Seats", "Grades", "LEAID", "Status", ""]),
                             st.text(max_size=8)), min_size=0, max_size=7)


_GOOD_HEADERS = [["name", "lat", "lon", "state"], ["Site Name", "Street", "City", "State"],
                 ["pod_id", "Site Name", "Latitude", "Longitude", "Seats", "Grades"]]


@st.composite
def _malformed_upload(draw) -> tuple[str, str, bytes, dict]:
    """A broken or messy upload: random bytes, a CSV/XLSX with random or plausible headers and messy
    cells, a zip that is no workbook, a wrong extension, a mapping to missing columns, a bad state,
    a size cap below the file's size."""
    kind = draw(st.sampled_from(["bytes", "zip", "csv", "xlsx", "plausible csv", "plausible xlsx", "mapping",
                                 "state", "cap", "partly valid"]))
    header = draw(st.sampled_from(_GOOD_HEADERS)) if kind.startswith("plausible") else draw(_header)
    rows = draw(st.lists(st.lists(_cells, min_size=len(header) if kind.startswith("plausible") else 0,
                                  max_size=max(len(header), 8)), max_size=5))
    if kind == "partly valid":  # one good row among messy ones: a real commit, with rejects kept
        header, rows = _GOOD_HEADERS[0], [["Oak Hub", *OAKLAND, "CA"], *rows]
    kwargs: dict = {}
    if kind == "bytes":
        return kind, draw(st.sampled_from(["x.csv", "x.xlsx", "x"])), draw(st.binary(max_size=300)), kwargs
    if kind == "zip":
        return kind, "x.xlsx", b"PK\x03\x04" + draw(st.binary(max_size=300)), kwargs
    if kind.endswith("xlsx"):
        wb = openpyxl.Workbook()
        for row in [header, *rows]:
            wb.active.append([sheets.xlsx_text(str(v)) for v in row])
        out = io.BytesIO()
        wb.save(out)
        return kind, draw(st.sampled_from(["x.xlsx", "x.csv"])), out.getvalue(), kwargs
    text = io.StringIO()
    csv.writer(text, delimiter=draw(st.sampled_from([",", ";", "\t"]))).writerows([header, *rows])
    data = text.getvalue().encode(draw(st.sampled_from(["utf-8", "utf-16", "cp1252"])), errors="replace")
    if kind == "mapping":
        kwargs["mapping"] = draw(st.dictionaries(st.sampled_from(["name", "lat", "nope", *header]),
                                                 st.sampled_from([None, "name", "lat", "lon", "address", "bogus"]),
                                                 max_size=4))
    elif kind == "state":
        kwargs["state"] = draw(st.sampled_from(["ZZ", "Calif", "ca", "", "Narnia"]))
    elif kind == "cap":
        kwargs["max_bytes"] = draw(st.integers(1, max(1, len(data) - 1)))
    return kind, draw(st.sampled_from(["x.csv", "x.txt", "x.xlsx"])), data, kwargs


FUZZ = settings(max_examples=int(os.environ.get("PODGEO_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@FUZZ
@given(_malformed_upload())
def test_malformed_uploads_leave_the_store_byte_for_byte_unchanged(fuzz_store, upload):
    path, pristine_digest, pristine = fuzz_store
    kind, name, data, kwargs = upload
    store = SqliteStore(path)
    try:
        try:
            plan = pods.plan_upload(store, data, name, **kwargs)
            outcome = "committed" if plan.committable else "no valid row"
            if plan.committable:
                batch_id = pods.commit_upload(store, plan, user="fuzz", use_geocoder=False)
                assert store.batches()["batch_id"].tolist() == [batch_id]
                assert len(store.rejected_rows(batch_id)) == plan.counts["rejected"]  # nothing dropped
            else:
                with pytest.raises(SheetError, match=f"^{name}: no valid row"):
                    pods.commit_upload(store, plan, user="fuzz", use_geocoder=False)
        except (SheetError, ValueError) as exc:  # SheetError is a ValueError; every one must be clear
            outcome = "rejected whole"
            assert str(exc).startswith(f"{name}:") or "state" in str(exc), exc
    finally:
        store.close()
    event(f"{kind}: {outcome}")
    if outcome == "committed":  # a real write: put the pristine store back for the next example
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.write_bytes(pristine)
    assert _digest(path) == pristine_digest


# -- real messy files as uploads ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca_store(shared_data, tmp_path_factory):
    """California built from the real data folder (about 10 s), shared by the real-file tests."""
    from podgeo.build import build

    path = tmp_path_factory.mktemp("ca") / "ca.db"
    build(path, sources_root=shared_data, states=["CA"], pods_file=None)
    return path


def test_imls_outlets_as_an_upload(ca_store, shared_data, tmp_path):
    path = shared_data / "hub_sites" / "imls_pls_fy2018_outlets.csv"
    shutil.copy(ca_store, tmp_path / "ca.db")
    store = SqliteStore(tmp_path / "ca.db")
    before = store.counts()
    plan = pods.plan_upload(store, path.read_bytes(), path.name)
    assert plan.counts == {"rows": 17_478, "valid": 17_356, "rejected": 122, "inserts": 17_356, "updates": 0,
                           "needs_geocode": 0, "errors": 122, "fixes": 0, "fixed": 0}
    batch_id = pods.commit_upload(store, plan, user="ana", use_geocoder=False)
    counts = store.batches().set_index("batch_id").loc[batch_id, "counts"]
    # Every outlet has coordinates. The store holds California's districts only: each of the 1,225
    # California outlets lands in one (889 unified; 336 elementary, 335 of them under a high-school
    # district), and the other states' outlets are kept without a district.
    assert (counts["placed"], counts["not_geocoded"]) == (1_225, 0)
    after = store.counts()
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {
        "pods": 17_356, "pod_districts": 1_560, "upload_batches": 1, "pod_history": 17_356, "rejected_rows": 122}
    assert store.db.execute("select count(*) from pods where state = 'CA'").fetchone()[0] == 1_225
    assert dict(store.db.execute("select layer, count(*) from pod_districts group by 1").fetchall()) == {
        "unified": 889, "elementary": 336, "secondary": 335}
    assert len(store.rejected_rows(batch_id)) == 122


def test_cde_schools_as_an_upload(ca_store, shared_data, tmp_path):
    path = shared_data / "hub_sites" / "cde_public_schools_ca_2018.csv"
    shutil.copy(ca_store, tmp_path / "ca.db")
    store = SqliteStore(tmp_path / "ca.db")
    before = store.counts()
    plan = pods.plan_upload(store, path.read_bytes(), path.name)
    assert plan.counts == {"rows": 17_813, "valid": 15_916, "rejected": 1_897, "inserts": 15_916, "updates": 0,
                           "needs_geocode": 4_204, "errors": 1_934, "fixes": 0, "fixed": 0}
    batch_id = pods.commit_upload(store, plan, user="ana", use_geocoder=False)
    counts = store.batches().set_index("batch_id").loc[batch_id, "counts"]
    # 11,711 of the 11,712 schools with coordinates fall in a district; the 4,204 address-only ones
    # are kept as not geocoded (no geocoder here, and the CDE file's district column is not a LEAID).
    assert (counts["placed"], counts["not_geocoded"], counts["geocoded"]) == (11_711, 4_204, 0)
    after = store.counts()
    assert {t: after[t] - before[t] for t in after if after[t] != before[t]} == {
        "pods": 15_916, "pod_districts": 15_236, "upload_batches": 1, "pod_history": 15_916, "rejected_rows": 1_897}
    statuses = dict(store.db.execute("select geocode_status, count(*) from pods group by 1").fetchall())
    assert statuses == {"provided": 11_712, "not_geocoded": 4_204}
    # Uploading the same file again changes nothing but adds an all-updates batch.
    again = pods.plan_upload(store, path.read_bytes(), path.name)
    assert (again.counts["inserts"], again.counts["updates"]) == (0, 15_916)


# -- SIGKILL in the middle of a commit ----------------------------------------------------------------


def _run_import(file: Path, db: Path, *extra, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "podgeo", "import", str(file), "--db", str(db), "--no-geocode",
                           "--user", "test", *extra], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, **(env or {})})


def _popen_import(file: Path, db: Path, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "podgeo", "import", str(file), "--db", str(db), "--no-geocode",
                             "--user", "test"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, **(env or {})})


def _state(db: Path) -> dict:
    conn = sqlite3.connect(db, timeout=30)
    try:
        assert conn.execute("pragma integrity_check").fetchall() == [("ok",)]
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("pods", "pod_districts", "upload_batches", "pod_history", "rejected_rows")}
    finally:
        conn.close()


IMLS_BATCH = {"pods": 17_356, "upload_batches": 1, "pod_history": 17_356, "rejected_rows": 122}


def _whole_or_none(before: dict, after: dict) -> str:
    delta = {t: after[t] - before[t] for t in after if t != "pod_districts"}
    if all(v == 0 for v in delta.values()) and after["pod_districts"] == before["pod_districts"]:
        return "none"
    assert delta == IMLS_BATCH and after["pod_districts"] > before["pod_districts"], delta
    return "whole"


def test_sigkill_while_the_commit_transaction_is_open(fixture_store, shared_data, tmp_path):
    db = tmp_path / "s.db"
    shutil.copy(fixture_store, db)
    before = _state(db)
    proc = _popen_import(shared_data / "hub_sites" / "imls_pls_fy2018_outlets.csv", db, {TEST_PAUSE_ENV: "60"})
    try:
        for line in proc.stderr:
            if "test hook: holding the write transaction" in line:
                break
        assert Path(f"{db}-wal").stat().st_size > 1_000_000  # the batch is written, not yet committed
        proc.kill()
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -9
    assert _whole_or_none(before, _state(db)) == "none"
    store = SqliteStore(db)  # opens, and takes the next upload normally
    assert _upload(store, FIRST) == 1


def test_sigkill_at_random_moments_of_a_large_import(fixture_store, shared_data, tmp_path):
    """PODGEO_KILL_RUNS=20 for the longer measurement; each run kills once the WAL starts growing."""
    rng = random.Random(int(os.environ.get("PODGEO_KILL_SEED", "4")))
    outcomes = []
    for run in range(int(os.environ.get("PODGEO_KILL_RUNS", "3"))):
        db = tmp_path / f"s{run}.db"
        shutil.copy(fixture_store, db)
        before = _state(db)
        wal = Path(f"{db}-wal")
        proc = _popen_import(shared_data / "hub_sites" / "imls_pls_fy2018_outlets.csv", db)
        try:
            deadline = time.monotonic() + 120
            while (not wal.exists() or wal.stat().st_size == 0) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 3.5))  # the transaction lasts ~2.5 s here, then the commit and exit
            proc.kill()
        finally:
            proc.kill()
            proc.wait(timeout=30)
        outcomes.append(_whole_or_none(before, _state(db)))
    print(f"SIGKILL outcomes: {outcomes}")
    assert set(outcomes) <= {"none", "whole"}


# -- two importers and several readers at once ---------------------------------------------------------


READER = """
import sys, time
from podgeo.store import SqliteStore
db, stop, allowed = sys.argv[1], sys.argv[2], {int(v) for v in sys.argv[3].split(",")}
seen = set()
import os
while not os.path.exists(stop):
    store = SqliteStore(db)
    n = store.db.execute("select count(*) from pods").fetchone()[0]
    store.pods(); store.batches(); store.close()
    assert n in allowed, f"saw {n} pods: a half-written batch"
    seen.add(n)
print(sorted(seen))
"""


def test_two_imports_and_readers_at_once(fixture_store, tmp_path):
    db = tmp_path / "s.db"
    shutil.copy(fixture_store, db)
    base = _state(db)["pods"]
    files = []
    for k, n in ((1, 3000), (2, 2000)):
        rows = [[f"c{k}-{i}", f"Pod {k}-{i}", "parent-led", str(i % 30), "", "", "CA", "",
                 f"{37.70 + (i % 100) / 500:.4f}", f"{-122.45 + (i // 100) / 100:.4f}"] for i in range(n)]
        path = tmp_path / f"batch{k}.csv"
        path.write_bytes(_csv(*rows))
        files.append((path, n))
    allowed = ",".join(str(base + extra) for extra in (0, 3000, 2000, 5000))
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop), allowed], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    # Each importer holds its write transaction open for 1 s, so the second must queue behind the first.
    writers = [_popen_import(path, db, {TEST_PAUSE_ENV: "1"}) for path, _ in files]
    results = [(w.wait(timeout=300), *w.communicate()) for w in writers]
    stop.touch()
    seen = [(r.wait(timeout=60), *r.communicate()) for r in readers]
    for code, out, err in results:
        assert code == 0 and "locked" not in err.lower(), err
        assert "Committed batch" in out
    for code, out, err in seen:
        assert code == 0 and "locked" not in err.lower(), err
    assert _state(db)["pods"] == base + 5000
    assert _state(db)["upload_batches"] == 2
    print(f"readers saw pod counts: {[out.strip() for _, out, _ in seen]}")
