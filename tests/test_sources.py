"""Source readers on the real files, their errors on bad files, and the download path."""
from __future__ import annotations

import functools
import http.server
import threading
import zipfile

import pandas as pd
import pytest

from podgeo import sources
from podgeo.sources import SourceError


# -- the manifest ----------------------------------------------------------------------------

def test_manifest_lists_99_district_zips_for_2016_and_3_for_california_2021():
    keys = [k for k in sources.SOURCES if k.startswith("districts_2016_")]
    assert len(keys) == 99
    assert sorted(k for k in sources.SOURCES if k.startswith("districts_2021_06_") and "combined" not in k) == [
        "districts_2021_06_elsd", "districts_2021_06_scsd", "districts_2021_06_unsd"]
    assert sources.SOURCES["districts_2016_36_unsd"].url == (
        "https://www2.census.gov/geo/tiger/GENZ2016/shp/cb_2016_36_unsd_500k.zip")


def test_every_manifest_file_exists_in_the_shared_data(shared_data):
    missing = [s.path for s in sources.SOURCES.values() if not (shared_data / s.path).exists()]
    assert missing == []


# -- readers on real data --------------------------------------------------------------------

def test_california_2021_zips_give_979_polygons_with_one_filler(shared_data):
    files = sources.district_files(shared_data, ["06"])
    assert [(k, v) for k, _, v in files] == [
        ("districts_2021_06_unsd", 2021), ("districts_2021_06_elsd", 2021), ("districts_2021_06_scsd", 2021)]
    frames = [sources.read_district_zip(p, v) for _, p, v in files]
    counts = {f["layer"].iloc[0]: len(f) for f in frames}
    assert counts == {"unified": 345, "elementary": 522, "secondary": 112}
    fillers = [leaid for f in frames for leaid in f.loc[f["is_filler"] == 1, "leaid"]]
    assert fillers == ["0699997"]
    assert all(str(f.crs) == "EPSG:4326" for f in frames)


def test_household_conditions_xlsx_matches_the_cleaned_csv_for_los_angeles(shared_data):
    states = sources.read_states(shared_data / sources.SOURCES["states"].path)
    xlsx = sources.read_household_conditions_xlsx(
        shared_data / sources.SOURCES["household_conditions"].path, dict(zip(states.state_name, states.state_fips)))
    csv = sources.read_household_conditions_csv(shared_data / sources.SOURCES["household_conditions_csv"].path)
    la_x = xlsx.set_index("leaid").loc["0622710"]
    la_c = csv.set_index("leaid").loc["0622710"]
    assert la_x["children_5_17"] == 724446
    assert round(la_x["pct_poverty"], 1) == 22.4
    for col in ("pct_poverty", "pct_no_computer", "pct_disability", "pct_ling_isolated"):
        assert la_x[col] == pytest.approx(la_c[col], abs=1e-9)
    # xlsx "17%-18%" is a half-width of 0.5 points, the cleaned CSV's convention
    assert la_x["pct_no_computer_moe"] == la_c["pct_no_computer_moe"] == 0.5
    assert len(xlsx) == 13314 and len(csv) == 13313  # the CSV dropped New York City DOE


def test_acs_race_children_of_color_is_total_minus_white(shared_data):
    race = sources.read_acs_race(shared_data / sources.SOURCES["acs_ed_race"].path)
    la = race.set_index("leaid").loc["0622710"]
    assert la["acs_children"] == 644460 and la["n_white_nh"] == 68560
    assert la["n_of_color"] == 644460 - 68560
    assert la["pct_of_color"] == pytest.approx(100 - 10.6)
    assert la["n_of_color_moe"] == pytest.approx((4420 ** 2 + 1745 ** 2) ** 0.5)
    assert len(race) == 11910


def test_elsi_skips_preamble_footer_and_symbols_and_keeps_every_agency(shared_data):
    elsi = sources.read_elsi(shared_data / sources.SOURCES["elsi_2020_21"].path)
    assert len(elsi) == 19571  # every agency, charters and service agencies too (SOURCES.md)
    assert elsi["agency_code"].isin(["1", "2"]).sum() == 13569  # the geographic districts
    assert (elsi["agency_code"] == "7").sum() == 4179  # independent charter districts
    assert elsi["leaid"].str.fullmatch(r"\d{7}").all()
    mastery = elsi[elsi["elsi_name"].str.startswith("MASTERY CS-") & (elsi["leaid"].str[:2] == "42")]
    assert len(mastery) == 11 and set(mastery["agency_code"]) == {"7"}  # Mastery Schools' PA campuses
    la = elsi.set_index("leaid").loc["0622710"]
    assert la["enrollment"] > 400_000


def test_elsi_fixture_without_preamble_reads_the_same_way(fixtures_dir):
    elsi = sources.read_elsi(fixtures_dir / "nces_elsi_districts_2020_21.csv")
    assert len(elsi) == 24


def test_imls_outlets_read_as_cp1252_and_count_out_bookmobiles(shared_data):
    libs, skipped = sources.read_imls_outlets(shared_data / sources.SOURCES["imls_outlets"].path)
    assert len(libs) + sum(skipped.values()) == 17478
    assert skipped["bookmobile or books-by-mail outlet (no fixed site)"] == 17478 - len(libs)
    assert libs["site_id"].is_unique
    assert (libs["state"] == "CA").sum() > 1000


def test_cde_schools_keep_the_10613_active_named_schools(shared_data):
    schools, skipped = sources.read_cde_schools(shared_data / sources.SOURCES["cde_schools"].path)
    assert len(schools) == 10613
    assert len(schools) + sum(skipped.values()) == 17813


# -- bad files -------------------------------------------------------------------------------

def test_truncated_zip_names_the_file(tmp_path, shared_data):
    good = shared_data / sources.SOURCES["districts_2021_06_unsd"].path
    bad = tmp_path / good.name
    bad.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(SourceError, match=r"cb_2021_06_unsd_500k\.zip.*not a valid zip"):
        sources.read_district_zip(bad, 2021)


def test_zip_without_shapefile_names_the_file(tmp_path):
    bad = tmp_path / "cb_2021_06_unsd_500k.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(SourceError, match="holds no .shp"):
        sources.read_district_zip(bad, 2021)


def test_csv_missing_a_column_names_file_and_column(tmp_path):
    bad = tmp_path / "hh.csv"
    bad.write_text("leaid,dist\n0622710,LA\n")
    with pytest.raises(SourceError, match=r"hh\.csv: missing column\(s\) \['children'"):
        sources.read_household_conditions_csv(bad)


def test_non_number_names_row_and_column(fixtures_dir, tmp_path):
    text = (fixtures_dir / "household_conditions.csv").read_text().splitlines()
    cells = text[3].split(",")
    cells[4] = "lots"
    text[3] = ",".join(cells)
    bad = tmp_path / "hh.csv"
    bad.write_text("\n".join(text))
    with pytest.raises(SourceError, match=r"column 'children' row 4 is 'lots', expected a number"):
        sources.read_household_conditions_csv(bad)


def test_elsi_without_header_is_rejected(tmp_path):
    bad = tmp_path / "elsi.csv"
    bad.write_text("ELSI Export\n\nsomething else\n")
    with pytest.raises(SourceError, match="no header line starting 'Agency Name,'"):
        sources.read_elsi(bad)


def test_missing_sources_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        sources.sources_dir(tmp_path / "nope")


# -- downloads against a local server --------------------------------------------------------

@pytest.fixture
def local_mirror(shared_data):
    """An HTTP server on 127.0.0.1 serving the shared data folder, like a publisher would."""
    handler = functools.partial(_QuietHandler, directory=str(shared_data))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_from_mirror_into_cache_with_progress(local_mirror, tmp_path, monkeypatch, shared_data):
    monkeypatch.setenv("PODGEO_MIRROR_URL", local_mirror)
    monkeypatch.setattr(sources, "DOWNLOAD_CACHE", tmp_path / "cache")
    seen = []
    path = sources.locate("districts_2021_06_scsd", None, progress=lambda label, done, total: seen.append((done, total)))
    assert path == tmp_path / "cache" / "school_districts/ca_2021/cb_2021_06_scsd_500k.zip"
    assert sources.sha256_of(path) == sources.sha256_of(shared_data / sources.SOURCES["districts_2021_06_scsd"].path)
    assert seen[-1][0] == seen[-1][1] == path.stat().st_size
    # a second call uses the cache, even with the server gone
    monkeypatch.setenv("PODGEO_MIRROR_URL", "http://127.0.0.1:9")
    assert sources.locate("districts_2021_06_scsd", None) == path


def test_download_offline_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PODGEO_MIRROR_URL", "http://127.0.0.1:9")  # closed port
    monkeypatch.setattr(sources, "DOWNLOAD_CACHE", tmp_path / "cache")
    blocked = sources.Source("x", "test file", "nobody", "2020", "a/b.csv", url="http://127.0.0.1:9/b.csv",
                             landing="https://example.org/landing")
    with pytest.raises(SourceError) as err:
        sources.fetch(blocked, tmp_path / "cache" / "a" / "b.csv", progress=lambda *a: None)
    message = str(err.value)
    assert "Could not download a/b.csv" in message and "PODGEO_SOURCES" in message
    assert "https://example.org/landing" in message
    assert not (tmp_path / "cache" / "a" / "b.csv").exists()


def test_zip_member_is_extracted_when_the_publisher_serves_a_zip(tmp_path, monkeypatch, shared_data):
    archive = tmp_path / "serve" / "pls.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(shared_data / "fixtures_sf_bay" / "imls_library_outlets.csv", "pls_fy18_outlet_pud18i.csv")
    handler = functools.partial(_QuietHandler, directory=str(archive.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        src = sources.Source("imls", "outlets", "IMLS", "FY2018", "hub_sites/imls_pls_fy2018_outlets.csv",
                             url=f"http://127.0.0.1:{server.server_address[1]}/pls.zip",
                             member="pls_fy18_outlet_pud18i.csv")
        monkeypatch.delenv("PODGEO_MIRROR_URL", raising=False)
        dest = sources.fetch(src, tmp_path / "cache" / src.path, progress=lambda *a: None)
        assert dest.name == "imls_pls_fy2018_outlets.csv"
        libs, skipped = sources.read_imls_outlets(dest)
        assert len(libs) + sum(skipped.values()) == 68
    finally:
        server.shutdown()


# -- provenance grouped for the Data sources page ----------------------------------------------------

def _prov_row(key, title, read, loaded, reasons=None, **more):
    return {"source_key": key, "title": title, "publisher": "U.S. Census Bureau", "vintage": "2016", "file": key,
            "sha256": "ab" * 32, "rows_read": read, "rows_loaded": loaded, "unjoined_reasons": reasons or {}, **more}


def test_provenance_groups_boundary_files_per_vintage_names_states_and_adds_reasons():
    prov = pd.DataFrame([
        _prov_row("districts_2016_01_unsd", "School districts (unified), state 01, ...", 137, 137),
        _prov_row("districts_2016_04_elsd", "School districts (elementary), state 04, ...", 98, 97, {"x": 1}),
        _prov_row("districts_2016_04_unsd", "School districts (unified), state 04, ...", 100, 100, {"x": 2}),
        _prov_row("imls_outlets", "Public library outlets", 0, 0, status="absent", note="not there: no libraries"),
    ])
    out = sources.provenance_groups(prov, {"01": "Alabama", "04": "Arizona"}).set_index("source")
    assert list(out.index) == ["School district boundaries, Census cartographic boundary 2016", "Public library outlets"]
    districts = out.iloc[0]
    assert (districts["states"], districts["files"], districts["rows_read"], districts["rows_loaded"]) == (
        "Alabama, Arizona", 3, 335, 334)
    assert districts["not_loaded"] == "3 x" and districts["status"] == "loaded" and districts["sha256"] == ""
    libraries = out.loc["Public library outlets"]
    assert (libraries["status"], libraries["note"], libraries["not_loaded"], libraries["sha256"]) == (
        "absent", "not there: no libraries", "—", "abababababab")


def test_data_sources_page_shows_absent_layers_and_keeps_the_reason_second(db):
    import sqlite3

    from apptest_helpers import no_errors, open_app

    with sqlite3.connect(db) as conn:
        conn.execute("update provenance set status = 'absent', note = 'hub_sites/x.csv is not there: the store has "
                     "no library outlets', rows_read = 0, rows_loaded = 0, unjoined_reasons = '{}' "
                     "where source_key = 'imls_outlets'")
    at = open_app("views/sources.py")
    no_errors(at)
    assert len(at.warning) == 1 and "Public library outlets" in at.warning[0].value
    assert "the store has no library outlets" in at.warning[0].value
    frame = at.dataframe[0].value
    assert list(frame.columns[:2]) == ["source", "not_loaded"] and len(frame) == 10
    assert not frame["source"].str.contains(r"state \d\d").any()
    text = " ".join(m.value for m in at.markdown)
    assert "bookmobile" not in text  # the absent library file read no rows, so none of its reasons
    assert "Every row loaded" in text and "Not loaded:" in text
