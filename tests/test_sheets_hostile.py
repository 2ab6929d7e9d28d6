"""Hostile sheets (issue 10) against every reader: bounded refusals, quotes that swallow rows, encodings, fuzzing.

Every reader (the pods upload and the CLI import through `pods.plan_upload`, the cohort and
attribute sheets through their pages) calls `sheets.read_sheet`, so the limits are tested there
on each hostile file, and again through each reader's own entry point. Time and memory of each
refusal are measured by bench/sheet_limits.py, not asserted here.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile

import openpyxl
import pytest
from apptest_helpers import open_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile_sheets as hostile
from podgeo import attributes, auth, cohorts, pods, ui
from podgeo.__main__ import main
from podgeo.sheets import LIMITS, MAX_DISTRICT_ROWS, Limits, SheetError, read_sheet, suggest_mapping, validate
from podgeo.store import SqliteStore

#: what each refusal must say (after "<file name>: ")
REFUSALS = {
    "far_cell.xlsx": r"sheet 'Sheet' declares 1,048,576 rows x 16,384 columns; a sheet may have at most 200,000 rows",
    "far_cell_lying_dimension.xlsx": r"sheet 'Sheet' has a row numbered 1,048,576; a sheet may have at most 200,000 "
                                     r"rows",
    "far_cell_no_dimension.xlsx": r"sheet 'Sheet' has a row numbered 1,048,576; a sheet may have at most 200,000 rows",
    "row_beyond_excel.xlsx": r"sheet 'Sheet' has a row numbered 2,000,000; a sheet may have at most 200,000 rows",
    "rows_out_of_order.xlsx": r"sheet 'Sheet' stores row 2 after row 3; the file is damaged",
    "merge_bomb.xlsx": r"sheet 'Sheet' has more than 10,000 merged cell ranges; unmerge them or save it as CSV",
    "shared_strings_bomb.xlsx": r"the workbook holds more than 1,000,000 distinct texts \(shared strings\)",
    "wide_header.csv": r"row 1 has 100,000 columns; a sheet may have at most 500",
    "many_rows.csv": r"6,000,000 lines; a sheet may have at most 200,000 rows",
    "long_cell.csv": r"row 2, column B holds 40,000 characters; a cell may hold at most 32,767",
    "grid_bomb.csv": r"150,002 rows x 450 columns is over the 4,000,000-cell limit",
    "unbalanced_quote.csv": r"the quote \(\"\) that opens on line 2 \(row 2, column E\) runs over 4 line end\(s\) and "
                            r"swallows 3 line\(s\) that look like rows, starting 'Pod B,37.71,-122.41,CA,closed'",
}


@pytest.fixture(scope="module")
def hostile_files() -> dict[str, bytes]:
    return {name: make() for name, make in hostile.REFUSED.items()}


@pytest.mark.parametrize("name", sorted(hostile.REFUSED))
def test_each_hostile_sheet_is_refused_naming_the_file_and_the_limit(name, hostile_files):
    with pytest.raises(SheetError) as info:
        read_sheet(hostile_files[name], name)
    assert str(info.value).startswith(f"{name}: ")
    assert re.search(REFUSALS[name], str(info.value)), str(info.value)


def test_the_far_cell_workbook_is_the_issues_1_6_kb_and_valid_without_the_far_cell(hostile_files):
    data = hostile_files["far_cell.xlsx"]
    assert 1_400 < len(data) < 1_800
    ok = hostile._rewrite_sheet(data, lambda xml: xml.replace("A1:XFD1048576", "A1:C2").replace(
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Oak Hub</t></is></c><c r="B2"><v>37.8</v></c>'
        '<c r="C2"><v>-122.27</v></c></row>'))
    raw = read_sheet(ok, "ok.xlsx")
    assert raw.columns == ("name", "lat", "lon") and raw.rows == (("Oak Hub", "37.8", "-122.27"),)


@pytest.mark.parametrize("name", ["far_cell.xlsx", "row_beyond_excel.xlsx", "wide_header.csv", "unbalanced_quote.csv"])
def test_pods_upload_and_cli_import_refuse_hostile_sheets_and_write_nothing(name, hostile_files, db, tmp_path, capsys):
    store = SqliteStore(db)
    before = store.batches()
    with pytest.raises(SheetError, match=re.escape(name)):
        pods.plan_upload(store, hostile_files[name], name)
    store.close()
    path = tmp_path / name
    path.write_bytes(hostile_files[name])
    assert main(["import", str(path), "--db", str(db), "--no-geocode"]) == 2
    assert re.search(f"error: {re.escape(name)}: {REFUSALS[name]}", capsys.readouterr().err)
    store = SqliteStore(db)
    assert len(store.batches()) == len(before)
    store.close()


def test_cli_import_refuses_a_file_over_the_size_limit_before_reading_it(db, tmp_path, capsys):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.truncate(30 * 2**20)  # sparse: 30 MB on paper, nothing on disk
    assert main(["import", str(path), "--db", str(db), "--dry-run"]) == 2
    assert "error: huge.csv: the file is 30.0 MB; the upload limit is 25.0 MB" in capsys.readouterr().err


def test_shared_strings_read_fast_are_the_strings_openpyxl_reads():
    from openpyxl.reader.strings import read_string_table

    items = ("<si><t>Oak Hub</t></si><si><t xml:space=\"preserve\"> two  spaces </t></si>"
             "<si><r><rPr><b/></rPr><t>Bold</t></r><r><t> and plain</t></r></si>"
             "<si><t>Name</t><rPh sb=\"0\" eb=\"1\"><t>NAME-PHONETIC</t></rPh></si>"
             "<si><t>a_x005F_x000D_b</t></si><si><t/></si><si><t>Café 東京</t></si>")
    data = hostile.with_shared_strings(items)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        expected = read_string_table(zf.open("xl/sharedStrings.xml"))
        from podgeo.sheets.reading import _shared_strings
        assert _shared_strings(zf, "xl/sharedStrings.xml", "s.xlsx", LIMITS) == expected
    assert expected[2:4] == ["Bold and plain", "Name"]
    assert read_sheet(data, "s.xlsx").rows == (("Oak Hub", "37.8", "-122.27"),)


def test_limits_are_checked_on_the_cohort_and_attribute_readers_too():
    small = Limits(rows=3, columns=2, cells=6, cell_chars=10)
    sheet = b"LEAID,Minutes\n0634410,1\n0628050,2\n0604740,3\n"
    with pytest.raises(SheetError, match=r"ids.csv: more than 3 rows \(stopped at line 4\)"):
        read_sheet(sheet, "ids.csv", limits=small)
    raw = read_sheet(sheet, "ids.csv", limits=Limits(rows=4, columns=2, cells=8, cell_chars=10))
    districts = __import__("pandas").DataFrame({"leaid": ["0634410", "0628050", "0604740"],
                                                "name": ["a", "b", "c"], "state": ["CA"] * 3})
    assert cohorts.from_sheet(raw, districts).leaids == ("0634410", "0628050", "0604740")
    assert attributes.infer_types(raw, ["Minutes"]) == {"Minutes": "whole"}


def test_cohort_and_attribute_sheets_with_more_rows_than_districts_are_refused_before_matching():
    data = b"district,state\n" + b"Oakland Unified,CA\n" * (MAX_DISTRICT_ROWS + 1)
    raw = read_sheet(data, "all.csv")
    districts = __import__("pandas").DataFrame({"leaid": ["0612880"], "name": ["Oakland Unified"], "state": ["CA"]})
    message = r"all.csv: 20,001 rows; a district sheet may have at most 20,000 \(the US has about 19,000"
    for read in (lambda: cohorts.from_sheet(raw, districts), lambda: attributes.infer_types(raw),
                 lambda: attributes.plan_layer(raw, districts, name="x")):
        with pytest.raises(SheetError, match=message):
            read()
    few = read_sheet(b"district,state\n" + b"Oakland Unified,CA\n" * 3, "few.csv")
    assert cohorts.from_sheet(few, districts).leaids == ("0612880",)


def test_limits_allow_a_sheet_exactly_at_them():
    limits = Limits(rows=3, columns=3, cells=9, cell_chars=5)
    raw = read_sheet(b"name,lat,lon\nOak,37.8,-122\nPine,37.7,-122\n", "p.csv", limits=limits)
    assert raw.row_numbers == (2, 3)
    with pytest.raises(SheetError, match=r"p.csv: row 2, column A holds 6 characters; a cell may hold at most 5"):
        read_sheet(b"name,lat,lon\nOakOak,37.8,-122\n", "p.csv", limits=limits)


def test_a_100k_row_template_sheet_is_within_the_limits():
    assert LIMITS.rows >= 100_001 and LIMITS.cells >= 100_001 * 26  # issue 15's partner sheet must go in


# -- quotes ----------------------------------------------------------------------------------------------------------


def test_a_quote_that_swallows_rows_rejects_the_file_naming_the_line(hostile_files):
    with pytest.raises(SheetError, match=r"unbalanced_quote.csv: the quote \(\"\) that opens on line 2 "):
        read_sheet(hostile_files["unbalanced_quote.csv"], "unbalanced_quote.csv")


def test_the_opening_line_counts_line_breaks_in_earlier_rows_and_cells():
    data = (b'name,lat,lon,state,notes\n"Oak\nHub",37.8,-122.27,CA,"two\nlines"\n'
            b'Pine,37.7,-122.2,CA,"never closed\nElm,37.6,-122.1,CA,x\n')
    with pytest.raises(SheetError, match=r"p.csv: the quote \(\"\) that opens on line 5 \(row 3, column E\)"):
        read_sheet(data, "p.csv")


def test_multiline_notes_that_hold_no_rows_are_kept_and_every_row_is_counted():
    data = (b'name,lat,lon,state,notes\nOak Hub,37.8,-122.27,CA,"Open Mon-Fri\nCall Ana, or Bob\n9am"\n'
            b"Pine Pod,37.7,-122.2,CA,\n")
    raw = read_sheet(data, "p.csv")
    assert raw.row_numbers == (2, 3) and raw.rows[0][4] == "Open Mon-Fri\nCall Ana, or Bob\n9am"
    assert validate(raw, suggest_mapping(raw.columns)).counts["rows"] == 2


def test_a_quote_in_the_middle_of_a_cell_is_text_not_a_swallow():
    raw = read_sheet(b'name,notes\nOak 5" Hub,ok\nPine,fine\n', "p.csv")
    assert raw.rows == (('Oak 5" Hub', "ok"), ("Pine", "fine"))


# -- encodings: real text in each ------------------------------------------------------------------------------------

TEXTS = {
    "shift_jis": [("東京まなびポッド", "月曜日から金曜日まで開いています"), ("さくら学習センター", "日本語で対応します")],
    "gb18030": [("旧金山华人学习中心", "周一至周五开放"), ("奥克兰社区学习点", "提供中文辅导")],
    "euc_kr": [("한인 학습 센터", "월요일부터 금요일까지"), ("새빛 교육 공간", "한국어 지원")],
    "koi8_r": [("Русский учебный центр", "открыто с понедельника по пятницу"),
               ("Детский клуб Радуга", "занятия на русском языке")],
    "mac_roman": [("Café Familia Pod", "Niños y niñas — abierto"), ("El Pequeño Aprendiz", "Educación bilingüe")],
    "utf-16-le": [("Café Familia Pod", "Niños"), ("東京まなびポッド", "日本語")],
    "utf-16-be": [("Café Familia Pod", "Niños"), ("Trung tâm Học tập Việt", "Tiếng Việt")],
    "cp1252": [("Café Familia Pod", "Niños y niñas"), ("El Pequeño Aprendiz", "Educación “bilingüe”")],
}


def _text_csv(rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([("name", "notes"), *rows])
    return out.getvalue()


@pytest.mark.parametrize("encoding", sorted(TEXTS))
def test_text_in_each_encoding_decodes_to_the_same_cells(encoding):
    rows = TEXTS[encoding]
    raw = read_sheet(_text_csv(rows).encode(encoding), "p.csv")
    assert raw.rows == tuple(rows) and raw.encoding_choices == ()
    superset = {"shift_jis": "cp932", "euc_kr": "cp949"}.get(encoding, encoding)  # the same text, more characters
    assert codecs.lookup(raw.encoding).name == codecs.lookup(superset).name


def _ascii_rows(n: int) -> list[tuple[str, str]]:
    return [(f"Hub {i}", "open weekdays") for i in range(n)]


def test_a_large_file_is_detected_from_non_ascii_lines_sampled_across_it():
    from podgeo.sheets import encoding

    # 2.4 MB of ASCII, then the only accented rows at the very end: a sample of the start would see none
    rows = _ascii_rows(100_000) + [("Niños Unidos", "sí"), ("Café Olé – Hub", "año")]
    data = _text_csv(rows).encode("cp1252")
    assert len(data) > 4 * encoding.SAMPLE_BYTES
    sample = encoding._spread_sample(data)
    assert sample == "Niños Unidos,sí\nCafé Olé – Hub,año".encode("cp1252")
    raw = read_sheet(data, "big.csv")
    assert raw.encoding == "cp1252" and raw.encoding_choices == () and raw.rows[-2:] == tuple(rows[-2:])
    assert len(raw.rows) == len(rows)
    # many non-ASCII lines: the sample keeps to its size and takes lines from every part of the file
    data = _text_csv([(f"Niño {i}", "sí") if i % 3 == 0 else (f"Hub {i}", "x") for i in range(200_000)]
                     ).encode("cp1252")
    sample = encoding._spread_sample(data)
    assert len(sample) <= encoding.SAMPLE_BYTES + 200 * encoding._PIECES
    numbers = [int(line.split(b",")[0].split()[1]) for line in sample.split(b"\n")]
    assert numbers == sorted(numbers) and numbers[0] == 0 and numbers[-1] > 190_000 and all(n % 3 == 0 for n in numbers)


def test_a_large_file_the_sampled_guess_cannot_decode_is_detected_whole(monkeypatch):
    from podgeo.sheets import encoding

    # the last part of the file has more accented lines than its share of the sample, so the sample
    # misses the last row's byte 0x81 (undefined in cp1252) and guesses cp1252; decoding the whole
    # file strictly finds that byte, and the whole file is detected as it was before sampling
    rows = [(f"Niño {i}", "sí") for i in range(45_000)]
    data = _text_csv(rows).encode("cp1252")
    data = data[:data.rindex(b"\xf1")] + b"\x81" + data[data.rindex(b"\xf1") + 1:]
    assert len(data) > encoding.SAMPLE_BYTES and b"\x81" not in encoding._spread_sample(data)
    assert encoding._detect_in(encoding._spread_sample(data))[0] == "cp1252"
    whole = encoding._detect_in(data)
    seen, detect_in = [], encoding._detect_in
    monkeypatch.setattr(encoding, "_detect_in", lambda b: seen.append(len(b)) or detect_in(b))
    assert encoding._detect(data) == whole and seen == [len(encoding._spread_sample(data)), len(data)]
    monkeypatch.undo()
    raw = read_sheet(data, "odd.csv")
    assert raw.encoding == whole[0] and len(raw.rows) == len(rows) and raw.rows[-2] == rows[-2]
    assert raw.rows[-1] == (data.rsplit(b"\n", 2)[1].decode(whole[0], errors="replace").split(",")[0], "sí")
    assert any(n.startswith(f"lines {len(rows) + 1} have bytes") for n in raw.notes)


def test_imls_outlets_sampled_detection_names_what_the_whole_file_does(shared_data):
    from podgeo.sheets import encoding

    data = (shared_data / "hub_sites" / "imls_pls_fy2018_outlets.csv").read_bytes()
    assert len(data) > encoding.SAMPLE_BYTES
    assert encoding._detect(data) == encoding._detect_in(data) == ("cp1252", ())


def test_a_cp1252_file_with_one_utf8_row_commits_no_mojibake():
    data = (_text_csv([("Niños Unidos", "abierto")]).encode("cp1252") + "Café Familia Pod,ok\n".encode("utf-8")
            + "El Pequeño,sí\n".encode("cp1252"))
    raw = read_sheet(data, "mixed.csv")
    assert [r[0] for r in raw.rows] == ["Niños Unidos", "Café Familia Pod", "El Pequeño"]
    assert raw.encoding == "cp1252" and "lines 3 are UTF-8 in a cp1252 file; read as UTF-8" in raw.notes


def test_mojibake_in_a_utf8_file_is_repaired_and_said():
    raw = read_sheet("name,notes\nCafÃ© Familia Pod,NiÃ±os\nPlain Hub,ok\n".encode("utf-8"), "m.csv")
    assert raw.rows == (("Café Familia Pod", "Niños"), ("Plain Hub", "ok"))
    assert any(n.startswith("mojibake repaired on lines 2") for n in raw.notes)


def test_an_unsure_guess_lists_choices_and_a_chosen_encoding_decodes_strictly():
    data = _text_csv([("Русский центр", "да")]).encode("cp1251")
    raw = read_sheet(data, "ru.csv")
    assert raw.encoding == raw.encoding_choices[0] == "cp1251" and len(raw.encoding_choices) > 1
    chosen = read_sheet(data, "ru.csv", encoding="cp1251")
    assert chosen.rows == (("Русский центр", "да"),) and chosen.encoding_choices == ()
    with pytest.raises(SheetError, match=r"ru.csv: is not valid utf-8 text \(byte 11, line 2\)"):
        read_sheet(data, "ru.csv", encoding="utf-8")
    with pytest.raises(SheetError, match=r"ru.csv: unknown encoding 'klingon'"):
        read_sheet(data, "ru.csv", encoding="klingon")


def test_cli_import_takes_an_encoding_and_refuses_an_unsure_guess(db, tmp_path, capsys):
    path = tmp_path / "ru.csv"
    path.write_bytes("name,lat,lon\nРусский центр,37.8,-122.27\n".encode("cp1251"))
    assert main(["import", str(path), "--db", str(db), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "ru.csv: the encoding is unsure" in err and "--encoding" in err and "cp1251" in err
    assert main(["import", str(path), "--db", str(db), "--dry-run", "--encoding", "cp1251"]) == 0
    assert "1 valid" in capsys.readouterr().out


# -- every page that reads a sheet: no traceback, a clear error ------------------------------------------------------

PASSWORD = "correct horse battery"


def _staff(page: str, monkeypatch):
    monkeypatch.setenv(auth.HASH_ENV, auth.hash_password(PASSWORD, n=2**12))
    at = open_app(page)
    at.text_input(key="staff.name").input("Ana")
    at.text_input(key="staff.password").input(PASSWORD)
    return at.form_submit_button[0].click().run()


@pytest.mark.parametrize("page,key", [("views/upload.py", "upload.file"), ("views/attributes.py", "attributes.file"),
                                      ("views/cohorts.py", "cohorts.file")])
def test_every_page_that_reads_a_sheet_refuses_a_row_beyond_excel_without_a_traceback(page, key, db, monkeypatch,
                                                                                      hostile_files):
    at = _staff(page, monkeypatch) if page != "views/cohorts.py" else open_app(page)
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    at.file_uploader(key=key).upload("far.xlsx", hostile_files["row_beyond_excel.xlsx"], mime).run()
    assert [e.value for e in at.exception] == []
    assert [e.value for e in at.error] == [ui.plain("far.xlsx: sheet 'Sheet' has a row numbered 2,000,000; a sheet "
                                                    "may have at most 200,000 rows")]


# -- fuzz: hostile sheets through every reader -----------------------------------------------------------------------

TRIED = {"sheets": 0}
_cell = st.one_of(st.text(max_size=12), st.sampled_from(['"', '""', '"x', 'a"b', "\n", "\r", "\r\n", ",", ";", "\t",
                                                         "\x00", "\ufeff", "=1+1", "é", "東京", "Ã©", "1e400",
                                                         "-0", "0691051", "K-5", "Oakland Unified"]))
_header = st.lists(st.sampled_from(["name", "LEAID", "lat", "lon", "district", "state", "notes", "Seats", ""]) | _cell,
                   min_size=1, max_size=6)


def _through_every_reader(data: bytes, name: str, written_rows: int | None, delimiter: str | None = None) -> None:
    """read_sheet, the pods validation, the cohort and attribute readers: SheetError or every row accounted for."""
    TRIED["sheets"] += 1
    try:
        raw = read_sheet(data, name, limits=Limits(rows=50, columns=20, cells=500, cell_chars=200))
    except SheetError as exc:
        assert str(exc).startswith(f"{name}: ")
        return
    assert len(raw.rows) == len(raw.row_numbers) and all(len(r) == len(raw.columns) for r in raw.rows)
    # header + rows + skipped = every non-blank row written: no row lost (when the sniffed delimiter is the one
    # written: a one-column file whose cell is ',' honestly reads as two blank cells, said in the notes)
    if written_rows is not None and raw.delimiter == delimiter:
        assert len(raw.rows) + len(raw.skipped_rows) + 1 == written_rows, (raw.rows, raw.skipped_rows)
    try:
        result = validate(raw, suggest_mapping(raw.columns))
        assert result.counts["rows"] == len(raw.rows)
    except SheetError as exc:  # the mapping cannot be used (no name column...)
        assert str(exc).startswith(f"{name}: ")
    import pandas as pd

    districts = pd.DataFrame({"leaid": ["0691051", "0634410"], "name": ["Oakland Unified", "Piedmont City Unified"],
                              "state": ["CA", "CA"]})
    try:
        found = cohorts.from_sheet(raw, districts)
        assert len(found.leaids) <= len(raw.rows)
    except (SheetError, ValueError) as exc:
        assert str(exc)
    try:
        plan = attributes.plan_layer(raw, districts, name="fuzz")
        assert plan.counts["rows"] == len(raw.rows) and len(plan.rejected) <= len(raw.rows)
    except (SheetError, ValueError) as exc:
        assert str(exc)


_settings = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings
@given(_header, st.lists(st.lists(_cell, max_size=7), max_size=8), st.sampled_from([",", ";", "\t"]),
       st.sampled_from(["utf-8", "cp1252", "utf-16", "shift_jis"]))
def test_fuzz_csv_written_by_a_csv_writer_loses_no_row(header, rows, delimiter, encoding):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows([header, *rows])
    try:
        data = out.getvalue().encode(encoding)
    except UnicodeEncodeError:
        data = out.getvalue().encode("utf-8")
    first = header
    if data.startswith(codecs.BOM_UTF8):  # the file's leading U+FEFF is then its byte-order mark, not text
        first = [header[0].removeprefix("\ufeff"), *header[1:]]
    _through_every_reader(data, "fuzz.csv", _nonblank([first, *rows]), delimiter)


def _nonblank(rows) -> int:
    """How many written rows hold any text: what the reader must account for (header + rows + skipped)."""
    return sum(1 for r in rows if "".join("" if v is None else str(v) for v in r).strip())


@_settings
@given(st.binary(max_size=400) | st.lists(_cell, max_size=40).map(lambda cs: "".join(cs).encode("utf-8")))
def test_fuzz_raw_bytes_never_raise_anything_but_a_sheet_error(data):
    _through_every_reader(data, "fuzz.csv", None)


@_settings
@given(_header, st.lists(st.lists(st.one_of(_cell, st.integers(-10**6, 10**6), st.none()), max_size=7), max_size=8))
def test_fuzz_xlsx_loses_no_row(header, rows):
    written = [[re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", v) if isinstance(v, str) else v for v in row]
               for row in [header, *rows]]  # openpyxl refuses control characters
    wb = openpyxl.Workbook()
    for row in written:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    _through_every_reader(out.getvalue(), "fuzz.xlsx", _nonblank(written))


@pytest.fixture(scope="module", autouse=True)
def _report_fuzz_count():
    """Print how many hostile sheets the fuzz tests sent through the readers (run with -s to see it)."""
    yield
    print(f"\nfuzz: {TRIED['sheets']:,} hostile sheets through every reader")
