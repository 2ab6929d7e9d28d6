"""AppTest for views/district.py, the district profile (url_path "district"): open a district by URL or by a
(misspelt) name; every section shows.

On the SF Bay fixture store, two illustrative pods lie in San Francisco Unified: sample-006 (14 seats,
a microschool) and sample-030 (62 seats, planned), so the container ratio is 76 seats per 77,155 children.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from apptest_helpers import no_errors
from streamlit.testing.v1 import AppTest

from podgeo import attributes, sheets
from podgeo.store import SqliteStore

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def run(store: Path, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("PODGEO_DB", str(store))
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page("views/district.py")
    return at.run()



def test_a_link_opens_the_district_with_every_section(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch, district="0634410")
    no_errors(at)
    assert at.header[0].value.startswith("San Francisco Unified School District · CA · LEAID 0634410 · unified")
    assert [s.value for s in at.subheader] == ["Demographic measures", "Pods (2)",
                                                   "Candidate hub sites inside or within 1 mile (169)"]
    figures, measures, pods, sites = (d.value for d in at.dataframe)
    got = dict(zip(figures["figure"], figures["value"]))
    assert got["Children 5-17 (SAIPE)"] == "77,155 children" and got["Seats (known capacities)"] == "76"
    assert got["Container ratio: seats per 1,000 children"] == f"{76 / 77155 * 1000:,.2f}"
    assert got["Container ratio: seats per 1,000 children in poverty"] == f"{76 / 8329 * 1000:,.2f}"
    row = measures.set_index("measure").loc["% of households with no computer or internet"]
    assert "±" in row["value"] and row["vs_state"] == "below the state median" and row["source"] == "Urban Institute"
    assert sorted(pods["seats"]) == [14, 62]
    assert sites["miles outside"].is_monotonic_increasing
    assert at.query_params["district"] == "0634410"


def test_a_misspelt_name_finds_the_district_and_updates_the_link(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch)
    no_errors(at)
    assert "Type a district's name or LEAID" in at.info[0].value and not at.header
    at.text_input(key="profile.query").input("Oakland Unifed").run()
    no_errors(at)
    assert at.selectbox[0].value == "0628050"
    assert at.header[0].value.startswith("Oakland Unified School District · CA · LEAID 0628050")
    assert at.query_params["district"] == "0628050"
    at.text_input(key="profile.query").input("Qqxzzv").run()
    assert "No district or agency has a name like 'Qqxzzv'" in at.info[0].value


def test_a_name_that_fits_several_districts_asks_with_their_states(fixture_store, monkeypatch):
    """Issue 11 item 6: "Clark County" opened Kentucky's district without asking; here "Jefferson" fits two."""
    at = run(fixture_store, monkeypatch)
    at.text_input(key="profile.query").input("Jefferson").run()
    no_errors(at)
    pick = at.selectbox[0]
    assert pick.value is None and pick.label.startswith("2 districts fit: choose one")
    assert all(" — CA (" in option for option in pick.options)
    assert not at.header  # nothing opened until the user chooses
    pick.set_value("0618930").run()
    no_errors(at)
    assert at.header[0].value.startswith("Jefferson Union High School District · CA · LEAID 0618930")


def test_pod_filters_apply_to_the_profile(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch, district="0634410")
    at.sidebar.multiselect(key="filters.statuses").set_value(["planned"]).run()
    no_errors(at)
    assert "Pods (1)" in [s.value for s in at.subheader]
    assert at.query_params["statuses"] == "planned"


def test_unknown_district_in_the_url_is_ignored(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch, district="<script>alert(1)</script>")
    no_errors(at)
    assert not at.header and "Type a district's name" in at.info[0].value


def test_attribute_layers_appear_in_the_profile(fixture_store, tmp_path, monkeypatch):
    db = tmp_path / "s.db"
    shutil.copy(fixture_store, db)
    store = SqliteStore(db)
    data = b"LEAID,Learning mode,Recovery stage\n0634410,<b>remote</b>,3\n"
    plan = attributes.plan_layer(sheets.read_sheet(data, "modes.csv"), store.districts(geometry=None), name="Fall")
    store.save_attribute_layer(plan.record("ana"), plan.values)
    store.close()
    at = run(db, monkeypatch, district="0634410")
    no_errors(at)
    table = next(d.value for d in at.dataframe if "attribute" in d.value.columns)
    assert table[["attribute", "value", "layer", "file"]].values.tolist() == [
        ["Learning mode", "<b>remote</b>", "Fall", "modes.csv"], ["Recovery stage", "3", "Fall", "modes.csv"]]


def test_real_los_angeles_unified_by_link(ca_real_store, monkeypatch):
    at = run(ca_real_store, monkeypatch, district="0622710")
    no_errors(at)
    assert at.header[0].value.startswith("Los Angeles Unified School District · CA · LEAID 0622710 · unified")
    figures = at.dataframe[0].value.set_index("figure")["value"]
    assert int(figures["Public schools in the district"].replace(",", "")) > 500


def test_national_store_chicago_school_count_is_unknown_not_zero(national_store, monkeypatch):
    """Issue 11 item 5 on the real national store: the school layer covers California only."""
    at = run(national_store, monkeypatch, district="1709930")
    no_errors(at)
    figures = at.dataframe[0].value.set_index("figure")["value"]
    assert figures["Public schools in the district"] == "not known: the school layer does not cover IL"
    assert int(figures["Public library outlets in the district"].replace(",", "")) > 50


def test_an_agency_without_a_boundary_opens_by_name(national_store, monkeypatch):
    """Issue 14: a charter LEA kept from ELSI (no polygon) is found by name and has a profile, no map."""
    at = run(national_store, monkeypatch)
    at.text_input(key="profile.query").input("Mastery CS Thomas Campus").run()
    no_errors(at)
    assert at.selectbox[0].value == "4200144"
    assert at.header[0].value.startswith("MASTERY CS\\-THOMAS CAMPUS · PA · LEAID 4200144 · charter · no boundary")
    assert any(i.value.startswith("No boundary:") for i in at.info)
    figures = at.dataframe[0].value.set_index("figure")["value"]
    assert figures["Public schools in the district"] == "not known: no boundary to place pods or sites in"
    assert figures["Students enrolled 2020-21"].endswith(" students")
