"""Partners' sheets: mappings given on the command line or saved, the value table, unfit columns, --accept-fixes."""
from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from podgeo import pods
from podgeo.sheets import SheetError, read_sheet, suggest_mapping, validate
from podgeo.sheets import columns, judge
from podgeo.store import SqliteStore

REPO = Path(__file__).resolve().parents[1]
OAK = ("37.80", "-122.27")
HEADER = ["Marca temporal", "Correo electrónico", "Nombre del programa", "Tipo de programa", "Capacidad",
          "Dirección", "Estado", "Latitud", "Longitud", "Quién atendemos"]
ROWS = [
    ["1/2/2021", "a@x.org", "Centro Uno", "Parent-led pods", "12", "1 Main St", "CA", *OAK, "families"],
    ["1/2/2021", "b@x.org", "Centro Dos", "comunity hub", "10", "2 Main St", "CA", "-122.27", "37.80", "anyone"],
    ["1/2/2021", "c@x.org", "Centro Tres", "Educator led", "8", "3 Main St", "CA", "37.81", "122.26", "call us"],
    ["1/2/2021", "d@x.org", "Centro Cuatro", "Faith-based program", "8", "4 Main St", "CA", "37.82", "-122.25",
     "families; kids"],
    ["1/2/2021", "e@x.org", "Centro Cinco", "comunity hub", "8", "5 Main St", "CA", "37.83", "-122.24", "everyone"],
    ["1/2/2021", "f@x.org", "Centro Seis", "Other", "8", "6 Main St", "CA", "37.84", "-122.23", "low income"],
]


def _bytes(rows=ROWS, header=HEADER) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, *rows])
    return out.getvalue().encode("utf-8")


@pytest.fixture
def store(fixture_store, tmp_path):
    shutil.copy(fixture_store, tmp_path / "s.db")
    s = SqliteStore(tmp_path / "s.db")
    yield s
    s.close()


# -- mappings given by the user ----------------------------------------------------------------------


def test_parse_map_option():
    assert columns.parse_map_option("Site Name=name") == ("Site Name", "name")
    assert columns.parse_map_option("  a=b  =notes") == ("a=b", "notes")  # the last '=' splits
    assert columns.parse_map_option("Junk=") == ("Junk", None)
    with pytest.raises(ValueError, match="not a pod field"):
        columns.parse_map_option("Seats=seats")
    with pytest.raises(ValueError, match="Column name=field"):
        columns.parse_map_option("no equals sign")


@pytest.mark.parametrize("name, data", [
    ("m.json", json.dumps({"Nombre del programa": "name", "Marca temporal": None}).encode()),
    ("m.json", json.dumps([{"column": "Nombre del programa", "field": "name"},
                           {"column": "Marca temporal", "field": ""}]).encode()),
    ("m.csv", b"column,field\r\nNombre del programa,name\r\nMarca temporal,\r\n"),
    ("m.csv", "\ufeffNombre del programa,name\nMarca temporal,skip\n".encode()),
])
def test_mapping_files_json_and_csv(name, data):
    assert columns.read_mapping_file(data, name) == {"Nombre del programa": "name", "Marca temporal": None}


def test_a_bad_mapping_file_says_what_is_wrong():
    with pytest.raises(SheetError, match="not valid JSON"):
        columns.read_mapping_file(b"{nope", "m.json")
    with pytest.raises(ValueError, match="'seats' is not a pod field"):
        columns.read_mapping_file(b"Capacidad,seats\n", "m.csv")


def test_given_columns_override_the_suggestion_and_take_their_field_from_other_columns():
    got = columns.resolve_mapping(["Site", "Name", "Lat"], {" site ": "name"}, base={"Name": "name", "Lat": "lat"},
                                  where="--map")
    assert got == {"Site": "name", "Name": None, "Lat": "lat"}
    with pytest.raises(SheetError, match="no column 'Sit' in the sheet .did you mean 'Site'"):
        columns.resolve_mapping(["Site"], {"Sit": "name"}, base={}, where="--map")


# -- saved mappings: by name and by header signature ---------------------------------------------------


def test_a_confirmed_mapping_is_remembered_for_the_same_headers_in_any_order(store):
    first = pods.plan_upload(store, _bytes(), "partner.csv", overrides={"Quién atendemos": None,
                                                                        "Capacidad": None})
    assert first.mapping_source == "suggested from the headers, with the columns given"
    pods.remember_mapping(store, first, name="county partner", user="ana")
    # next month: same headers, columns moved, one renamed in case only
    moved = [HEADER[-1], *HEADER[:-1]]
    moved[moved.index("Capacidad")] = "CAPACIDAD"
    again = pods.plan_upload(store, _bytes([[r[-1], *r[:-1]] for r in ROWS], moved), "partner-june.csv")
    assert again.mapping_source == "saved mapping 'county partner' (same headers as this sheet)"
    assert again.validation.mapping["CAPACIDAD"] is None and again.validation.mapping["Nombre del programa"] == "name"
    by_name = pods.plan_upload(store, _bytes(), "other.csv", saved="county partner")
    assert by_name.mapping_source == "saved mapping 'county partner'"
    assert by_name.validation.mapping == first.validation.mapping


# -- values: the value table and columns judged as a whole ------------------------------------------------


def test_value_table_lists_each_unfit_value_once_with_its_suggestion_and_rows():
    raw = read_sheet(_bytes(), "p.csv")
    mapping = suggest_mapping(raw.columns) | {"Quién atendemos": "priority_groups"}
    table = [(i.field, i.value, i.rows, i.suggestion) for i in judge.value_table(raw, mapping)]
    assert table == [("operator_type", "comunity hub", 2, "community_org_hub"),
                     ("priority_groups", "families", 2, None), ("priority_groups", "anyone", 1, None),
                     ("priority_groups", "call us", 1, None), ("priority_groups", "everyone", 1, None),
                     ("priority_groups", "kids", 1, None)]


def test_one_choice_applies_to_every_row_with_that_value():
    raw = read_sheet(_bytes(), "p.csv")
    mapping = suggest_mapping(raw.columns)
    plain = validate(raw, mapping)
    assert sorted(e.row for e in plain.errors if e.rule == "vocabulary") == [3, 6]
    chosen = validate(raw, mapping, values={"operator_type": {"comunity hub": "community_org_hub"}})
    assert not [e for e in chosen.errors if e.rule == "vocabulary"]
    kinds = {v.row: v.pod["operator_type"] for v in chosen.valid}
    assert kinds[6] == "community_org_hub"
    left_empty = validate(raw, mapping, values={"operator_type": {"comunity hub": None}})
    assert {v.row: v.pod["operator_type"] for v in left_empty.valid}[6] is None


def test_value_table_round_trips_through_the_page_table(store):
    plan = pods.plan_upload(store, _bytes(), "p.csv")
    table = pods.value_table(plan)
    assert table[["value", "rows", "suggestion", "choice"]].to_dict("records") == [
        {"value": "comunity hub", "rows": 2, "suggestion": "Community organization hub",
         "choice": "Community organization hub"}]
    assert pods.values_from_table(table) == {"operator_type": {"comunity hub": "community_org_hub"}}
    with pytest.raises(ValueError, match="'hub' is not one of"):
        pods.values_from_table(table.assign(choice="hub"))


def test_free_text_mapped_by_its_header_is_judged_once_and_rejects_no_row():
    raw = read_sheet(_bytes(), "p.csv")
    mapping = suggest_mapping(raw.columns) | {"Quién atendemos": "priority_groups"}
    result = validate(raw, mapping)
    assert [(j.field, j.column, j.filled, j.fitting) for j in result.judged] == [
        ("priority_groups", "Quién atendemos", 6, 1)]
    assert sum("Quién atendemos" in n and "only 1 of its 6 filled cells fit" in n for n in result.notes) == 1
    assert not [e for e in result.errors if e.column == "Quién atendemos"]
    assert result.mapping["Quién atendemos"] is None
    kept = validate(raw, mapping, keep={"priority_groups"})  # the user keeps it: its rows then say why
    assert len([e for e in kept.errors if e.column == "Quién atendemos"]) == 5


def test_a_real_county_column_mapped_to_priority_groups_does_not_reject_the_imls_sheet(shared_data):
    data = (shared_data / "hub_sites/imls_pls_fy2018_outlets.csv").read_bytes()
    raw = read_sheet(data, "imls.csv")
    mapping = suggest_mapping(raw.columns) | {"CNTY": "priority_groups", "C_OUT_TY": "operator_type"}
    result = validate(raw, mapping)
    assert {j.column for j in result.judged} == {"CNTY", "C_OUT_TY"}
    base = validate(raw, suggest_mapping(raw.columns))
    assert result.counts["valid"] == base.counts["valid"] > 17_000


# -- the command line -------------------------------------------------------------------------------------


def _run(db, *args):
    return subprocess.run([sys.executable, "-m", "podgeo", "import", *map(str, args), "--db", str(db)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def test_cli_map_accept_fixes_and_save_mapping(fixture_store, tmp_path):
    db = tmp_path / "cli.db"
    shutil.copy(fixture_store, db)
    sheet = tmp_path / "partner.csv"
    sheet.write_bytes(_bytes())
    dry = _run(db, sheet, "--dry-run", "--map", "Quién atendemos=")
    assert dry.returncode == 0, dry.stderr
    assert "  'Nombre del programa' -> name" in dry.stdout
    assert "  'Quién atendemos'     -> not imported" in dry.stdout
    assert "suggested: 'Community organization hub' (--accept-fixes applies it)" in dry.stdout
    assert "3 valid" in dry.stdout
    done = _run(db, sheet, "--accept-fixes", "--no-geocode", "--save-mapping", "county", "--user", "ana")
    assert done.returncode == 0, done.stderr
    assert "fixed operator type: 'comunity hub' -> 'Community organization hub' in 2 row(s)" in done.stdout
    assert "fixed row 3 (swapped coordinates): Latitud = 37.8; Longitud = -122.27" in done.stdout
    assert "fixed row 4 (longitude sign): Latitud = 37.81; Longitud = -122.26" in done.stdout
    assert "6 valid" in done.stdout and "mapping saved as 'county'" in done.stdout
    named = _run(db, sheet, "--dry-run", "--mapping", "county")
    assert "mapping (saved mapping 'county'):" in named.stdout
    mapping_file = tmp_path / "m.json"
    mapping_file.write_text(json.dumps({"Capacidad": None}))
    filed = _run(db, sheet, "--dry-run", "--mapping", mapping_file)
    assert "  'Capacidad'           -> not imported" in filed.stdout
    bad = _run(db, sheet, "--dry-run", "--mapping", "nobody")
    assert bad.returncode == 2 and "no saved column mapping named 'nobody' (saved: 'county')" in bad.stderr
    missing = _run(db, sheet, "--dry-run", "--mapping", tmp_path / "none.json")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_mapping_lines_name_every_column(store):
    plan = pods.plan_upload(store, _bytes(), "p.csv")
    lines = pods.mapping_lines(plan)
    assert lines[0] == "mapping (suggested from the headers):"
    assert len(lines) == 1 + len(HEADER)
    assert pd.Series(lines[1:]).str.contains("->").all()
