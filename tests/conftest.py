"""Shared fixtures: where the real public data lives, and small helpers every test file uses."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The real data mirror: PODGEO_SOURCES if set, else ../shared/data beside the repo."""
    env = os.environ.get("PODGEO_SOURCES")
    return Path(env) if env else (REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = shared_data_dir()
    if not root.is_dir():
        pytest.skip(f"real data folder {root} not present")
    return root


@pytest.fixture(scope="session")
def fixtures_dir(shared_data: Path) -> Path:
    return shared_data / "fixtures_sf_bay"


#: fixture file -> the path it stands in for inside a sources folder laid out like shared/data
FIXTURE_LAYOUT = {
    "districts_2021.geojson": "school_districts/ca_2021/ca_school_districts_2021.geojson",
    "household_conditions.csv": "demographics/household_conditions_hh_with_leaid.csv",
    "acs_ed_cdp05_3_race.txt": "demographics/acs_ed_2014_2018_cdp05_3_race_children_enrolled_public.txt",
    "nces_elsi_districts_2020_21.csv": "demographics/nces_elsi_districts_2020_21.csv",
    "imls_library_outlets.csv": "hub_sites/imls_pls_fy2018_outlets.csv",
    "cde_active_schools.csv": "hub_sites/cde_public_schools_ca_2018.csv",
    "cde_cupc_schools_2019_20.csv": "school_enrollment/cde_cupc_schools_2019_20.csv",
    "udp_tracts_2018.gpkg": "tracts_bay_area/udp_bay_area_tracts_2018.gpkg",
    "mtc_epc_acs2014_2018_tracts.csv": "tracts_bay_area/mtc_epc_acs2014_2018_tracts.csv",
}


def make_fixture_sources(shared: Path, dest: Path) -> Path:
    """A sources folder holding the SF Bay fixture under the official names (symlinks, no copies)."""
    shared = shared.resolve()
    for name, rel in FIXTURE_LAYOUT.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(shared / "fixtures_sf_bay" / name)
    (dest / "states").mkdir(exist_ok=True)
    for part in (shared / "states").glob("cb_2018_us_state_20m.*"):
        (dest / "states" / part.name).symlink_to(part)
    return dest


@pytest.fixture(scope="session")
def fixture_sources(shared_data: Path, tmp_path_factory) -> Path:
    return make_fixture_sources(shared_data, tmp_path_factory.mktemp("fixture_sources"))


@pytest.fixture(scope="session")
def fixture_store(fixture_sources: Path, tmp_path_factory) -> Path:
    """A store built once from the SF Bay fixture with the sample pods; tests must not write to it."""
    from podgeo.build import build

    path = tmp_path_factory.mktemp("store") / "podgeo.db"
    build(path, sources_root=fixture_sources)
    return path


# -- store backends: one parametrized fixture runs a store test on SQLite and on PostGIS -------------

@pytest.fixture(scope="session")
def postgis_url():
    """A PostGIS server: PODGEO_TEST_PG_URL, else a throwaway cluster from scripts/start-postgis.sh."""
    import backends

    url = os.environ.get("PODGEO_TEST_PG_URL")
    if url:
        yield url
        return
    try:
        url, folder = backends.start_cluster()
    except Exception as exc:  # noqa: BLE001 - said in the failure or skip message
        if os.environ.get("CI"):
            pytest.fail(f"PostGIS could not be started, so the postgis store tests cannot run: {exc}")
        pytest.skip(f"PostGIS could not be started: {exc}")
    try:
        yield url
    finally:
        backends.stop_cluster(folder)


@pytest.fixture(scope="session")
def postgis_fixture(postgis_url, fixture_sources) -> str:
    """URL of a database holding the SF Bay fixture store (tests copy it; never write to it)."""
    import backends

    return backends.build_fixture_database(postgis_url, fixture_sources)


@pytest.fixture(params=["sqlite", "postgis"])
def store_backend(request, fixture_store, tmp_path):
    """A fresh, writable copy of the fixture store on each backend: `.open()`, `.location`, `.env()`."""
    import backends

    if request.param == "sqlite":
        yield backends.Backend("sqlite", backends.copy_sqlite(fixture_store, tmp_path / "s.db"))
    else:
        yield request.getfixturevalue("postgis_backend")


@pytest.fixture
def postgis_backend(postgis_url, postgis_fixture):
    """The "postgis" side of `store_backend` alone, for what only a shared database has to show."""
    import backends

    url = backends.copy_database(postgis_url, postgis_fixture)
    try:
        yield backends.Backend("postgis", url)
    finally:
        backends.drop_database(postgis_url, url)


# -- real California store (district profiles, cohorts, attribute layers, exports) -----------------

@pytest.fixture(scope="session")
def ca_real_store(shared_data: Path, tmp_path_factory) -> Path:
    """All 979 California districts built from the real files, with the sample pods; read-only (copy to write)."""
    from podgeo.build import build

    path = tmp_path_factory.mktemp("ca_real") / "ca.db"
    build(path, sources_root=shared_data, states=["CA"])
    return path


@pytest.fixture
def db(fixture_store, tmp_path, monkeypatch):
    """A writable copy of the fixture store as PODGEO_DB, with no staff access configured."""
    import shutil

    from podgeo import auth

    path = tmp_path / "s.db"
    shutil.copy(fixture_store, path)
    monkeypatch.setenv("PODGEO_DB", str(path))
    for name in (auth.HASH_ENV, auth.PLAIN_ENV, auth.EMAILS_ENV):
        monkeypatch.delenv(name, raising=False)
    return path


# -- the national store: every state, as `python -m podgeo build` makes it by default ------------

@pytest.fixture(scope="session")
def national_store(shared_data: Path, tmp_path_factory) -> Path:
    """The default build (every state in the sources folder, the sample pods), made once per test run; read-only."""
    from podgeo.build import build

    path = tmp_path_factory.mktemp("national") / "podgeo.db"
    build(path, sources_root=shared_data)
    return path


@pytest.fixture(scope="session")
def strategy_lab_store(shared_data: Path, tmp_path_factory) -> Path:
    """PA, NJ and MA built from the real files with every ELSI agency (charter networks without a
    boundary among them): the states of the Strategy Lab's charter networks. Read-only (copy to write)."""
    from podgeo.build import build

    path = tmp_path_factory.mktemp("strategy_lab") / "labs.db"
    build(path, sources_root=shared_data, states=["PA", "NJ", "MA"])
    return path


# -- coverage inputs: a store's California frames (districts, demand points, sites), read once per run --

def _california_frames(path: Path):
    from podgeo import access_report
    from podgeo.store import SqliteStore

    store = SqliteStore(path)
    try:
        return access_report.load_frames(store, "CA")
    finally:
        store.close()


@pytest.fixture(scope="session")
def frames(fixture_store):
    """The SF Bay fixture store's California frames (coverage, siting and equity tests)."""
    return _california_frames(fixture_store)


@pytest.fixture(scope="session")
def ca_frames(ca_real_store):
    """The real California store's frames (9,815 schools, 1,173 library outlets)."""
    return _california_frames(ca_real_store)
