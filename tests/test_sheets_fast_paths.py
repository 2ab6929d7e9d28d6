"""The fast paths a 100,000-row upload takes give what the plain per-row code gives.

Each test compares the fast path with a naive reference kept here (the whole-text StringIO, the
per-row validation loop), on input built to hit every branch; bench/import.py measures the speed.
"""
from __future__ import annotations

import io

import pytest

from podgeo.sheets import reading


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_lines_in_pieces_are_the_lines_of_one_stringio(monkeypatch, ending):
    monkeypatch.setattr(reading, "_CHUNK", 7)  # pieces far smaller than a line: every cut is at a boundary
    body = ending.join(['a,b,c', '"two', 'lines",x,y', '', 'é,\u2028,\x85', '"cr\rinside",1,2', 'last'])
    for text in (body, body + ending, "\r\n" * 5, "x", "\n\r\n\r"):
        assert list(reading._lines(text)) == list(io.StringIO(text, newline=""))


def test_a_csv_read_in_pieces_keeps_every_row(monkeypatch):
    monkeypatch.setattr(reading, "_CHUNK", 16)
    rows = [f'Name {i},"{i} Main St\nSuite {i}",{37 + i / 100},-122.{i:02d},CA' for i in range(40)]
    data = ("name,address,lat,lon,state\r\n" + "\r\n".join(rows) + "\r\n").encode("utf-8")
    raw = reading.read_sheet(data, "pieces.csv")
    assert len(raw.rows) == 40
    assert raw.rows[39] == ("Name 39", "39 Main St\nSuite 39", "37.39", "-122.39", "CA")
    assert raw.row_numbers[:3] == (2, 3, 4)


# -- validation: clean rows found a column at a time vs every row through the per-row check ----------

from podgeo.sheets import judge, rows  # noqa: E402
from podgeo.sheets.model import POD_FIELDS, RawSheet, RowError  # noqa: E402

_HEADER = ("pod_id", "Name", "Operator type", "Mode", "Grade low", "Grade high", "Grades", "Seats", "Cost",
           "Weekly fee ($)", "Priority groups", "Supports", "Languages", "Status", "Opened", "Closed", "Address",
           "City", "State", "ZIP", "Latitude", "Longitude", "Partner LEAID", "Notes")
_MAPPING = dict(zip(_HEADER, ("pod_id", "name", "operator_type", "mode", "grade_low", "grade_high", "grade_range",
                              "capacity", "cost", "fee_usd", "priority_groups", "supports", "languages", "status",
                              "opened_on", "closed_on", "address", "city", "state", "zip", "lat", "lon",
                              "partner_leaid", "notes")))
_GOOD = {"pod_id": "", "Name": "Oak Pod", "Operator type": "Parent-led pod", "Mode": "In person", "Grade low": "K",
         "Grade high": "5", "Grades": "", "Seats": "12", "Cost": "Paid", "Weekly fee ($)": "40",
         "Priority groups": "Low-income; Foster youth", "Supports": "Meals", "Languages": "English; Spanish",
         "Status": "Active", "Opened": "2020-09-08", "Closed": "", "Address": "1 Oak St", "City": "Oakland",
         "State": "CA", "ZIP": "94607", "Latitude": "37.8044", "Longitude": "-122.2712", "Partner LEAID": "0612880",
         "Notes": "back gate"}
#: one change from a clean row each: every rule `_check_row` enforces, and the clean variants it accepts
_CHANGES = [
    {}, {"Name": "Elm Pod", "Address": "", "Latitude": "", "Longitude": ""},  # clean; the 2nd is no location
    {"Name": "Fir Pod", "Latitude": "", "Longitude": ""},  # address only: geocode
    {"Name": "=HYPERLINK(\"x\")"}, {"Name": ""}, {"Name": "x" * 201}, {"Name": "Ash", "Notes": "=1+1"},
    {"Name": "Bay Pod", "Operator type": "parent led"}, {"Name": "Cay Pod", "Operator type": "astronaut"},
    {"Name": "Dew Pod", "Mode": "hybrid"}, {"Name": "Eve Pod", "Grade low": "Q"},
    {"Name": "Fig Pod", "Grade low": "8", "Grade high": "3"}, {"Name": "Gum Pod", "Grades": "K-5"},
    {"Name": "Hay Pod", "Grades": "9-3"}, {"Name": "Ivy Pod", "Grades": "K-8", "Grade low": "", "Grade high": ""},
    {"Name": "Jay Pod", "Seats": "-2"}, {"Name": "Kit Pod", "Seats": "2.5"}, {"Name": "Lea Pod", "Seats": ""},
    {"Name": "Moe Pod", "Weekly fee ($)": "-1"}, {"Name": "Nye Pod", "Weekly fee ($)": "ten"},
    {"Name": "Oat Pod", "Priority groups": "Low-income; astronauts"}, {"Name": "Pea Pod", "Supports": ""},
    {"Name": "Qua Pod", "Opened": "someday"}, {"Name": "Rye Pod", "Closed": "2019-01-01"},
    {"Name": "Sky Pod", "Closed": "2021-06-30", "Status": "Closed"}, {"Name": "Tea Pod", "State": "Atlantis"},
    {"Name": "Urn Pod", "State": "", "Latitude": "40.7128", "Longitude": "-74.006"},  # default state: outside
    {"Name": "Vat Pod", "State": "NY", "Latitude": "40.7128", "Longitude": "-74.006"},
    {"Name": "Liv Pod", "Latitude": "40.7128", "Longitude": "-74.006"},  # in NY, the row says CA
    {"Name": "Wax Pod", "ZIP": "ABCDE"}, {"Name": "Wes Pod", "ZIP": "9460"}, {"Name": "Yew Pod", "Partner LEAID": "12"},
    {"Name": "Zed Pod", "Latitude": ""}, {"Name": "Ada Pod", "Longitude": ""},
    {"Name": "Bea Pod", "Latitude": "-122.2712", "Longitude": "37.8044"},  # swapped
    {"Name": "Cid Pod", "Longitude": "122.2712"}, {"Name": "Dot Pod", "Latitude": "95", "Longitude": "200"},
    {"Name": "Eli Pod", "Latitude": "51.5", "Longitude": "-0.12"}, {"Name": "Flo Pod", "Latitude": "north"},
    {"Name": "Gil Pod", "Latitude": "=A1"}, {"Name": "Oak Pod"},  # the same name, address and state as row 2
    {"Name": "Hal Pod", "pod_id": "given-1"}, {"Name": "Ida Pod", "pod_id": "given-1"},  # a repeated pod_id
    {"Name": "Jo Pod", "pod_id": "old-1"},  # an update
    {"Name": "Kim Pod", "Address": "", "State": "NY", "Latitude": "40.7128", "Longitude": "-74.006"},
    {"Name": "  Lou   Pod ", "City": " Oakland\t"}, {"Name": "Mae Pod", "Languages": "x" * 61},
    {"Name": "Ned Pod", "Cost": "free"}, {"Name": "Ora Pod", "Status": ""},
]


def _sheet(header=_HEADER, good=_GOOD, changes=_CHANGES) -> RawSheet:
    cells = tuple(tuple({**good, **change}[h] for h in header) for change in changes)
    return RawSheet("every_rule.csv", tuple(header), cells, tuple(range(2, 2 + len(cells))), 1)


def _reference(raw: RawSheet, mapping, *, existing_ids=(), state=None, values=None):
    """The per-row loop: each row's cells through `_check_row`, which also checks each point itself."""
    plan = rows._plan(raw, mapping)
    cells = {t: judge.parse_column(raw, c, t, (values or {}).get(t)) for t, c in plan.source.items()}
    first_seen, valid, rejected, fixes = {}, [], [], []
    for i, number in enumerate(raw.row_numbers):
        row = {t: column[i] for t, column in cells.items()}
        pod, errors, row_fixes, needs_geocode = rows._check_row(number, row, plan, state, False)
        if not errors:
            if pod["pod_id"] in first_seen:
                target = "pod_id" if "pod_id" in row and row["pod_id"].text else "name"
                how = "pod_id" if target == "pod_id" else "name, address and state"
                errors.append(RowError(number, plan.source[target], row[target].original, "duplicate",
                                       f"same {how} as row {first_seen[pod['pod_id']]}; only the first is kept"))
            else:
                first_seen[pod["pod_id"]] = number
        if errors:
            rejected.append((number, dict(zip(raw.columns, raw.rows[i])), tuple(errors)))
            fixes.extend(row_fixes)
        else:
            valid.append((number, pod, "update" if pod["pod_id"] in existing_ids else "insert", needs_geocode))
    return valid, rejected, fixes


def _compare(raw, mapping, monkeypatch, **kw):
    checked = []
    check_row = rows._check_row
    monkeypatch.setattr(rows, "_check_row", lambda number, *a: checked.append(number) or check_row(number, *a))
    got = rows.validate(raw, mapping, keep=set(mapping.values()) - {None}, **kw)
    monkeypatch.undo()
    valid, rejected, fixes = _reference(raw, mapping, **kw)
    # both paths were taken: every row rejected for a rule by the per-row check, most valid rows without it
    broke_rule = {r.row for r in got.rejected if r.errors[0].rule != "duplicate"}
    assert broke_rule <= set(checked) and len(set(checked)) < len(raw.rows) - 10
    assert [(v.row, v.pod, v.action, v.needs_geocode) for v in got.valid] == valid
    assert [(r.row, r.values, r.errors) for r in got.rejected] == rejected
    assert list(got.fixes) == fixes
    return got


def test_validation_of_every_kind_of_bad_cell_matches_the_per_row_check(monkeypatch):
    got = _compare(_sheet(), _MAPPING, monkeypatch, existing_ids={"old-1"})
    rules = {e.rule for r in got.rejected for e in r.errors}
    assert {"formula", "required", "too_long", "vocabulary", "grade", "grade_order", "whole_number", "negative",
            "number", "date", "date_order", "state", "zip", "leaid", "coordinates_incomplete", "swapped_coordinates",
            "longitude_sign", "range", "outside_us", "outside_state", "location", "duplicate"} <= rules
    pods = {v.pod["name"]: v for v in got.valid}
    assert pods["Oak Pod"].pod["fee_usd"] == round(40 * 52 / 12, 2) and pods["Oak Pod"].pod["grade_low"] == 0
    assert pods["Fir Pod"].needs_geocode and not pods["Oak Pod"].needs_geocode
    assert pods["Gum Pod"].pod["grade_high"] == 5 and pods["Ivy Pod"].pod["grade_high"] == 8  # range column
    assert pods["Jo Pod"].action == "update" and pods["Hal Pod"].pod["pod_id"] == "given-1"
    assert pods["Lou Pod"].pod["city"] == "Oakland"
    assert pods["Oak Pod"].pod["priority_groups"] == ["low_income", "foster_youth"]
    assert len(got.valid) + len(got.rejected) == len(_CHANGES) and 10 < len(got.valid) < len(_CHANGES) - 20


def test_validation_with_a_default_state_value_choices_and_west_longitudes_matches_the_per_row_check(monkeypatch):
    header = tuple("Longitude (W)" if h == "Longitude" else h for h in _HEADER)
    good = {("Longitude (W)" if k == "Longitude" else k): ("122.2712" if k == "Longitude" else v)
            for k, v in _GOOD.items()}
    changes = [{("Longitude (W)" if k == "Longitude" else k): v for k, v in c.items()} for c in _CHANGES]
    mapping = {("Longitude (W)" if k == "Longitude" else k): v for k, v in _MAPPING.items()}
    values = {"operator_type": {"astronaut": None}, "priority_groups": {"astronauts": "low_income"}}
    got = _compare(_sheet(header, good, changes), mapping, monkeypatch, state="CA", values=values)
    pods = {v.pod["name"]: v.pod for v in got.valid}
    assert pods["Oak Pod"]["lon"] == -122.2712  # "(W)": positive is west
    assert pods["Cay Pod"]["operator_type"] is None and pods["Oak Pod"]["state"] == "CA"
    assert pods["Oat Pod"]["priority_groups"] == ["low_income"]


def test_validation_without_coordinate_columns_matches_the_per_row_check(monkeypatch):
    header = tuple(h for h in _HEADER if h not in ("Latitude", "Longitude", "Weekly fee ($)", "Grades"))
    mapping = {h: _MAPPING[h] for h in header}
    got = _compare(_sheet(header), mapping, monkeypatch)
    assert got.valid and all(v.needs_geocode for v in got.valid)
    assert {"location"} <= {e.rule for r in got.rejected for e in r.errors}


def test_a_valid_rows_pod_is_a_new_dict_with_every_key_and_lists_of_its_own():
    got = rows.validate(_sheet(), _MAPPING)
    first = got.valid[0]
    pod = first.pod
    assert list(pod) == list(POD_FIELDS) and pod == first.pod and pod is not first.pod
    pod["priority_groups"].append("homeless")
    assert first.pod["priority_groups"] == ["low_income", "foster_youth"]
    assert got.inserts == [v.pod["pod_id"] for v in got.valid]
    columns = got.pod_columns()
    assert [dict(zip(columns, values)) for values in zip(*columns.values())] == [
        {**v.pod, **{k: tuple(v.pod[k]) for k in ("priority_groups", "supports", "languages")}} for v in got.valid]


def test_the_imls_outlets_validate_as_the_per_row_check_says(shared_data, monkeypatch):
    """The real 17,478 library outlets (every state): the same 17,356 valid pods and 122 rejected rows."""
    path = shared_data / "hub_sites" / "imls_pls_fy2018_outlets.csv"
    raw = reading.read_sheet(path.read_bytes(), path.name)
    mapping = {"LIBNAME": "name", "ADDRESS": "address", "CITY": "city", "STABR": "state", "ZIP": "zip",
               "LATITUDE": "lat", "LONGITUD": "lon"}
    got = _compare(raw, mapping, monkeypatch)
    assert (len(got.valid), len(got.rejected)) == (17_356, 122)


def test_reading_rows_as_tuples_keeps_each_csv_row_as_the_csv_module_reads_it(shared_data):
    import csv
    path = shared_data / "hub_sites" / "imls_pls_fy2018_outlets.csv"
    raw = reading.read_sheet(path.read_bytes(), path.name, encoding="cp1252")
    expected = list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252"), newline="")))
    assert raw.columns == tuple(expected[0]) and raw.rows == tuple(map(tuple, expected[1:]))


# -- commit: the pods column by column, the file by incremental blob I/O -----------------------------

import pandas as pd  # noqa: E402

from podgeo import pods as uploads  # noqa: E402


def _stored(store) -> list[dict]:
    frame = pd.DataFrame(store.pods().drop(columns=["geometry", "batch_id"])).sort_values("pod_id").astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


def test_pods_committed_column_by_column_are_stored_as_pods_committed_as_dicts(store_backend):
    """Both backends; a pod_id given twice keeps its last row, as it does for dicts."""
    dicts = [{"pod_id": "t-a", "name": "A", "lat": 37.8, "lon": -122.26, "priority_groups": ["low_income"],
              "supports": [], "state": "CA"},
             {"pod_id": "t-b", "name": "B", "lat": None, "lon": None, "priority_groups": (), "supports": ("meals",),
              "state": None},
             {"pod_id": "t-a", "name": "A again", "lat": 37.81, "lon": -122.25, "priority_groups": [],
              "supports": ["meals", "tutoring"], "state": "CA"}]
    links = pd.DataFrame({"pod_id": ["t-a"], "leaid": ["0628050"], "layer": ["unified"]})
    batch = {"filename": "x.csv", "uploaded_by": "ana", "counts": {}, "file_bytes": b"name\nA\n"}
    store = store_backend.open()
    first = store.commit_upload(batch, dicts, links, [])
    expected = _stored(store)
    store.undo_batch(first, user="ana")
    store.commit_upload(batch, {k: [d[k] for d in dicts] for k in dicts[0]}, links, [])
    assert _stored(store) == expected
    assert [(p["name"], p["supports"], p["leaids"]) for p in expected if p["pod_id"].startswith("t-")] == [
        ("A again", ["meals", "tutoring"], "0628050"), ("B", ["meals"], None)]


def test_the_uploaded_file_is_stored_byte_for_byte_in_a_new_and_in_an_older_store(tmp_path, shared_data,
                                                                                   fixture_store):
    """The file goes in through a zeroblob in the last column; a store made when file_bytes was not the
    last column takes the same path and keeps the same bytes."""
    import shutil
    import sqlite3

    from podgeo.store import SqliteStore

    path = shared_data / "hub_sites" / "imls_pls_fy2018_outlets.csv"
    data = path.read_bytes()[:300_000]
    data = data[:data.rindex(b"\n") + 1]  # ~1,400 real outlets, in the file's own cp1252 bytes
    for old_layout in (False, True):
        db = shutil.copy(fixture_store, tmp_path / f"s{old_layout}.db")
        with sqlite3.connect(db) as conn:
            if old_layout:
                conn.execute("drop table upload_batches")
                conn.execute("create table upload_batches (batch_id integer primary key, kind text, filename text, "
                             "sha256 text, file_bytes blob, sheet text, uploaded_by text, uploaded_at text, "
                             "mapping text, counts text, undoes integer, undone_by integer, note text)")
            columns = [r[1] for r in conn.execute("pragma table_info(upload_batches)")]
        assert (columns[-1] == "file_bytes") is not old_layout
        store = SqliteStore(db)
        plan = uploads.plan_upload(store, data, path.name)
        batch_id = uploads.commit_upload(store, plan, user="ana", use_geocoder=False)
        assert store.batch_file(batch_id) == (path.name, data)
        row = store.batches().iloc[0]
        assert (row["filename"], row["sha256"], row["counts"]["valid"]) == (path.name, plan.sha256,
                                                                            plan.counts["valid"])
        assert plan.counts["valid"] > 1_000 and store.counts()["pods"] >= plan.counts["valid"]


def test_a_column_is_parsed_once_per_distinct_text_and_short_rows_read_as_blank(monkeypatch):
    raw = RawSheet("ragged.csv", ("name", "state"), (("A", "ca"), ("B",), ("C", "CA"), ("D", "ca")), (2, 3, 4, 5), 1)
    parsed = []
    parse_cell = judge._parse_cell
    monkeypatch.setattr(judge, "_parse_cell", lambda original, *a: parsed.append(original) or parse_cell(original, *a))
    cells = judge.parse_column(raw, "state", "state")
    assert [(c.original, c.value) for c in cells] == [("ca", "CA"), ("", None), ("CA", "CA"), ("ca", "CA")]
    assert cells[0] is cells[3] and parsed == ["ca", "", "CA"]


def test_a_file_of_cr_line_ends_is_read_in_pieces_too(monkeypatch):
    monkeypatch.setattr(reading, "_CHUNK", 5)
    text = "a,b\r1,2\r\r3,4\r\n5,6\r7,8\r9,10\r11,12\r13,14\r15,16"
    pieces = []
    real = io.StringIO
    monkeypatch.setattr(reading.io, "StringIO", lambda chunk, **kw: pieces.append(chunk) or real(chunk, **kw))
    assert list(reading._lines(text)) == list(real(text, newline=""))
    assert len(pieces) > 2 and "".join(pieces) == text


def test_cells_are_compared_by_identity_and_may_hold_lists():
    """Cell is a named tuple for speed, but two rows' equal texts must stay two Cells unless shared."""
    a, b = judge.Cell("x; y", "x; y", ["x", "y"]), judge.Cell("x; y", "x; y", ["x", "y"])
    assert a == a and a != b and len({a, b, a}) == 2
    assert judge._counts([a, b, a]) == [(a, 2), (b, 1)]


def test_validation_without_state_or_list_columns_matches_the_per_row_check(monkeypatch):
    header = ("Name", "Address", "Latitude", "Longitude")
    mapping = dict(zip(header, ("name", "address", "lat", "lon")))
    got = _compare(_sheet(header), mapping, monkeypatch, state="CA")
    assert all(v.pod["languages"] == [] and v.pod["state"] == "CA" for v in got.valid)


def test_values_checked_a_column_at_a_time_are_bound_as_the_per_row_check_binds_them():
    """SQLite's column-at-a-time type check converts exactly what the per-row one converts."""
    import datetime

    import numpy as np

    from podgeo.store import _plain_column, _plain_row

    columns = [["a", None, "c"], [1, np.int64(2), 3.5], [b"x", {"k": [1]}, datetime.date(2020, 9, 8)],
               [np.float64(1.5), True, ["l"]]]
    by_rows = [list(_plain_row(list(r))) for r in zip(*columns)]
    by_columns = [list(r) for r in zip(*map(_plain_column, columns))]
    assert by_columns == by_rows == [["a", 1, b"x", 1.5], [None, 2, '{"k": [1]}', True], ["c", 3.5, "2020-09-08", '["l"]']]
    assert _plain_column(columns[0]) is columns[0]  # a plain column is kept, not copied
    assert [type(v) for v in by_columns[1]] == [type(None), int, str, bool]


def test_an_upload_over_existing_pods_records_their_earlier_state_column_by_column(store_backend):
    """The undo history written a column at a time: an updated pod's row and links before, None for a new one."""
    links = pd.DataFrame({"pod_id": ["h-a"], "leaid": ["0628050"], "layer": ["unified"]})
    batch = {"filename": "x.csv", "uploaded_by": "ana", "counts": {}, "file_bytes": b"name\nA\n"}
    store = store_backend.open()
    store.commit_upload(batch, {"pod_id": ["h-a"], "name": ["A"], "lat": [37.8], "lon": [-122.26]}, links, [])
    second = store.commit_upload(batch, {"pod_id": ["h-a", "h-b"], "name": ["A2", "B"], "lat": [37.8, None],
                                         "lon": [-122.26, None]}, links.iloc[:0], [])
    assert store.pods().set_index("pod_id").loc[["h-a", "h-b"], "name"].tolist() == ["A2", "B"]
    store.undo_batch(second, user="ana")
    pods_now = store.pods().set_index("pod_id")
    assert pods_now.loc["h-a", "name"] == "A" and "h-b" not in pods_now.index
    assert pods_now.loc["h-a", "leaids"] == "0628050"


# -- encoding: high bytes found by numpy vs the regex searches ----------------------------------------

from podgeo.sheets import encoding  # noqa: E402


def _encoded_files() -> list[bytes]:
    """Large and small files of several encodings, with mojibake, one UTF-8 row and an undefined byte."""
    ascii_rows = "".join(f"Hub {i},open weekdays,37.{i % 97}\r\n" for i in range(30_000))
    return [("Niños Unidos,sí\r\n" + ascii_rows + "Café Olé – Hub,año\r\n").encode("cp1252"),
            (ascii_rows + "CafÃ© Familia,ok\r\nNiño,sí\r\n").encode("cp1252"),  # mojibake near the end
            ("Café,ok\r\n" + ascii_rows).encode("cp1252") + "Ünïcødé Pod,ok\r\n".encode("utf-8"),
            (ascii_rows + "Ресурсный центр,Москва\r\n" * 50).encode("cp1251"),
            (ascii_rows + "Café Pod,ok\r\n").encode("mac_roman"),
            (ascii_rows + "Niño,sí\r\n").encode("cp1252")[:-8] + b"\x81\xf1o,s\xed\r\n",
            (ascii_rows + "CafÃ© Olé,ok\r\n" + "Niños Unidos,sí señor\r\n" * 20).encode("cp1252"),
            "Café,Olé\r\nÃ©t\xe9,x\r\n".encode("cp1252"), b"\xfe\x80\xe9", b"\xc3", b"plain,ascii\r\n"]


def test_high_bytes_found_at_once_are_where_the_regex_finds_them():
    import random

    pick = random.Random(15)
    for data in _encoded_files():
        high = encoding._HighBytes(data)
        assert high.utf8_sequence() == bool(encoding._UTF8_SEQUENCE.search(data))
        for _ in range(200):
            pos = pick.randrange(len(data) + 1)
            end = pick.randrange(pos, len(data) + 2)
            got, want = high.search(data, pos, end), encoding._HIGH_BYTE.search(data, pos, end)
            assert (got and (got.start(), got.end())) == (want and (want.start(), want.end()))


def test_decoding_with_high_bytes_found_at_once_gives_what_the_regex_searches_give(monkeypatch):
    fast = [encoding.decode(data, "f.csv") for data in _encoded_files()]

    class Regex(encoding._HighBytes):  # the searches as they were: regexes over every byte
        def search(self, data, pos, end):
            return encoding._HIGH_BYTE.search(data, pos, end)

        def utf8_sequence(self):
            return bool(encoding._UTF8_SEQUENCE.search(self.bytes.tobytes()))

    monkeypatch.setattr(encoding, "_HighBytes", Regex)
    monkeypatch.setattr(encoding, "_single_byte", lambda codec: False)  # mojibake searched in the whole text
    slow = [encoding.decode(data, "f.csv") for data in _encoded_files()]
    assert fast == slow
    assert fast[0].encoding == "cp1252" and fast[0].text.endswith("Café Olé – Hub,año\r\n")
    assert "Café Familia" in fast[1].text and any("are UTF-8" in n for n in fast[2].notes)
    assert fast[3].text.endswith("Ресурсный центр,Москва\r\n")


def test_mojibake_looked_for_only_where_two_high_bytes_meet_is_repaired_as_when_searched_everywhere():
    text = "Hub,x\r\nCafÃ© Olé,ok\r\nNiño,sí\r\n" + "plain,row\r\n" * 100 + "Ã¼ber Pod,é\r\n"
    data = text.encode("cp1252")
    at = encoding._HighBytes(data).pairs()
    assert [text[i:i + 2] for i in at] == ["Ã©", "Ã¼"]
    got, want = encoding._repaired(text, "cp1252", [], (), at), encoding._repaired(text, "cp1252", [])
    assert got == want and "Café Olé" in got.text and "über Pod" in got.text
    assert got.notes == ("mojibake repaired on lines 2, 104 (e.g. 'Ã©' read back as 'é')",)
    clean = "Café,ok\r\n" * 3
    assert encoding._repaired(clean, "cp1252", [], (), encoding._HighBytes(clean.encode("cp1252")).pairs()).text is clean


def test_only_encodings_that_read_each_byte_as_one_character_line_up_with_the_bytes():
    assert all(map(encoding._single_byte, ("cp1252", "mac_roman", "cp1251", "koi8_r", "cp1258", "latin-1")))
    assert not any(map(encoding._single_byte, ("utf-8", "cp932", "gb18030", "big5", "cp500", "iso2022_jp",
                                               "utf-16", "no-such-codec")))


def test_an_ascii_id_part_is_keyed_as_the_regex_keys_it():
    """Pod ids made from ASCII names and addresses stay what `_key` (NFKD + regex) made them."""
    import random
    import string

    from podgeo.sheets.text import _key

    pick = random.Random(15)
    texts = ["".join(map(chr, range(128))), "", "  ", "St. Mary's — no", "O'Neil Hub #2 (Main)\x1c\x1fAnnex",
             *("".join(pick.choice(string.printable + "\x00\x1c\x1d\x7f") for _ in range(pick.randrange(40)))
               for _ in range(5_000))]
    assert [rows._id_key(t) for t in texts if t.isascii()] == [_key(t) for t in texts if t.isascii()]
    assert rows._id_key("O'Neil Hub #2 (Main)") == "o neil hub 2 main"


def _zip_reference(text: str) -> str | None:
    """`values._zip` as it was (module-level re calls, no early return), None for an error."""
    import re

    t = text.strip()
    if re.fullmatch(r"[0-9]{3,4}", t):
        t = t.zfill(5)
    elif re.fullmatch(r"[0-9]{9}", t):
        t = f"{t[:5]}-{t[5:]}"
    elif re.fullmatch(r"[0-9]{5}\.0", t):
        t = t[:5]
    t = re.sub(r"^([0-9]{5})\s*-?\s*([0-9]{4})$", r"\1-\2", t)
    return t if re.fullmatch(r"[0-9]{5}(-[0-9]{4})?", t) else None


def test_zips_and_degrees_parse_as_the_uncompiled_patterns_did():
    import re

    from podgeo.sheets import values
    from podgeo.sheets.text import _parse_float

    zips = ["94607", "4607", "607", "946071234", "94607.0", "94607-1234", "94607 1234", "94607 - 1234", "94607-123",
            "9460", "ABCDE", "94607\n", "94607-", "946070", "12345-6789-0"]
    for text in zips:
        try:
            got = values._zip(text, "ZIP")
        except values._Invalid:
            got = None
        assert got == _zip_reference(text), text
    degrees = ["37.8044", "-122.2712", "37,8044", "N 37.8", "37.8 N", "37.8N", "W122.27", "122.27 W", "-37 S", "S",
               "37 48 15.8", "37° 48' 15.8\" N", "122°16′W", "°", " ", "north", "1e3", "NaN", "inf", "E", "37.8 E x"]
    for text in degrees:
        t = text.strip().upper().replace("−", "-").replace("°", " ").replace("’", "'").replace("”", '"')
        m = re.fullmatch(r"([NSEW])\s*(.+)|(.+?)\s*([NSEW])", t)
        assert (values._HEMISPHERE.fullmatch(t) if t[:1] in values._NSEW or t[-1:] in values._NSEW else None
                ) is None if m is None else m.groups() == values._HEMISPHERE.fullmatch(t).groups(), text
    assert [values._parse_degrees(t) for t in ("37.8 N", "122.27 W", "-37 S", "37 30")] == [37.8, -122.27, None, 37.5]
    assert [_parse_float(t, decimal_comma=True) for t in ("37,5", "1e3", "nan", "1,234")] == [37.5, 1000.0, None, 1.234]
    assert _parse_float("1,234,567.5", thousands=True) == 1234567.5


def _first_error_reference(text: str, limits) -> str | None:
    """The limits checked a row at a time, in the order `_csv_records` checked them before: the first row
    over one says which; a long cell comes after the row, column and cell counts and before the quotes."""
    import csv

    reader, end, width = csv.reader(io.StringIO(text, newline="")), 0, 0
    try:
        for number, row in enumerate(reader, start=1):
            start, end = end + 1, reader.line_num
            if number > limits.rows:
                return "rows"
            if len(row) > limits.columns:
                return "columns"
            width = max(width, len(row))
            if number * width > limits.cells:
                return "cells"
            if row and max(map(len, row)) > limits.cell_chars:
                return f"row {number:,}, column"
            if end > start and any(len(c.splitlines()) > 1 and "," in c for c in row):
                return "quote"
    except csv.Error:
        return "not readable"
    return None


@pytest.mark.parametrize("body, expected", [
    ("a,b\nok,x\nok,toolongcell\n" + "x,y\n" * 20, "row 3, column"),  # before the row limit
    ("a,b\nok,x\n1,2,3\nx,toolongcell\n", "columns"),  # a wide row first
    ("a,b\nok,x\nx,toolongcell\n1,2,3\n", "row 3, column"),
    ("a,b\nok,x\nx,toolongcell\n\"open,y\n", "row 3, column"),  # before an unreadable quote
    ("a,b\nok,\"toolong\nlooks,like,a,row\"\n", "row 2, column"),  # a long quoted cell before its quote check
    ("a,b\nok,\"a\nb,c\"\nx,toolongcell\n", "quote"),
    ("a,b\nok,x\n" + "x,y\n" * 3, None),
])
def test_a_long_cell_found_among_the_distinct_texts_is_reported_where_the_row_check_reported_it(body, expected):
    from podgeo.sheets.model import Limits, SheetError

    limits = Limits(rows=12, columns=2, cells=24, cell_chars=8)
    assert _first_error_reference(body, limits) == expected
    if expected is None:
        assert len(reading._csv_records(body, "l.csv", ",", limits)) == body.count("\n")
        return
    with pytest.raises(SheetError) as error:
        reading._csv_records(body, "l.csv", ",", limits)
    assert {"rows": "more than 12 rows", "columns": "columns; a sheet may have at most 2", "quote": "the quote",
            "not readable": "not readable as CSV"}.get(expected, expected) in str(error.value)


def test_a_row_is_filled_and_a_help_row_as_the_whole_row_says():
    rows_ = [(), ("",), (" ",), ("\t", ""), ("", "x"), (" x",), ("\u3000", " "), ("x", ""), ("", " ", "\xa0y")]
    assert [reading._filled(r) for r in rows_] == [bool("".join(r).strip()) for r in rows_]
    columns = list(reading._HELP)[:2]
    help_row = tuple(reading._HELP[c] for c in columns)
    for cells in (help_row, ("",) + help_row[1:], (" ",) + help_row, ("'" + help_row[0], help_row[1]), ("x", "")):
        first = next((v.strip() for v in cells if v and not v.isspace()), "")
        filled = [(c, v.strip()) for c, v in zip(columns, cells) if v.strip()]
        want = (first in reading._HELP_TEXTS or first.lstrip("'") in reading._HELP_TEXTS) and bool(filled) and all(
            reading._HELP.get(c) == v or reading._HELP.get(c) == v.lstrip("'") for c, v in filled)
        assert reading._is_help_row(columns, cells) == want
    assert reading._is_help_row(columns, help_row)


def test_the_collector_is_paused_for_an_upload_and_put_back_as_it_was(shared_data, fixture_store):
    """plan_upload/commit_upload run with the cyclic collector off; it is on again after (off if it was off),
    after an error too, and only when the last of two overlapping paused calls ends."""
    import gc
    import threading

    from podgeo import gcpause

    seen = []
    probe = gcpause.paused(lambda: seen.append(gc.isenabled()))
    assert gc.isenabled()
    probe()
    assert seen == [False] and gc.isenabled()

    @gcpause.paused
    def fails():
        raise ValueError("x")

    with pytest.raises(ValueError):
        fails()
    assert gc.isenabled()
    gc.disable()
    try:
        probe()
        assert not gc.isenabled()
    finally:
        gc.enable()
    inside, leave = threading.Event(), threading.Event()
    worker = threading.Thread(target=gcpause.paused(lambda: inside.set() or leave.wait(5)))
    worker.start()
    inside.wait(5)
    probe()  # ends while the other call still runs: the collector stays off
    assert seen[-1] is False and not gc.isenabled()
    leave.set()
    worker.join()
    assert gc.isenabled()
    data = (shared_data / "hub_sites" / "imls_pls_fy2018_outlets.csv").read_bytes()[:4000]
    from podgeo.store import SqliteStore

    plan = uploads.plan_upload(SqliteStore(fixture_store), data, "imls.csv")
    assert plan.counts["rows"] > 10 and gc.isenabled()
    during = []
    monkey = uploads.sheets.validate
    try:
        uploads.sheets.validate = lambda *a, **k: during.append(gc.isenabled()) or monkey(*a, **k)
        uploads.plan_upload(SqliteStore(fixture_store), data, "imls.csv")
    finally:
        uploads.sheets.validate = monkey
    assert during == [False] and gc.isenabled()
    assert uploads.commit_upload.__wrapped__ and uploads.plan_upload.__wrapped__
