"""Shared fixture for the coverage tests: the fixture store's California frames, read once per run.

Import it into a test module (`from coverage_fixtures import frames  # noqa: F401`)."""
import pytest

from podgeo import access_report as ar
from podgeo.store import SqliteStore


@pytest.fixture(scope="session")
def frames(fixture_store):
    store = SqliteStore(fixture_store)
    try:
        return ar.load_frames(store, "CA")
    finally:
        store.close()
