"""The district profile in a real browser: a shared link opens the district, its map draws, nothing leaves 127.0.0.1."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser_helpers import COUNT_DISTRICTS, INKED_PIXELS, map_frame

pytestmark = pytest.mark.e2e
APP = Path(__file__).resolve().parents[2] / "app.py"


@pytest.fixture
def app_url(fixture_store, tmp_path, streamlit_server):
    db = tmp_path / "podgeo.db"
    shutil.copy(fixture_store, db)
    return streamlit_server(APP, env={"PODGEO_DB": str(db), "PODGEO_TILES": ""})


def test_a_link_opens_the_district_profile_offline(app_url, offline_page, tmp_path):
    page = offline_page
    page.goto(f"{app_url}/district?district=0634410", wait_until="domcontentloaded")
    page.get_by_text("San Francisco Unified School District · CA · LEAID 0634410", exact=False).wait_for(timeout=60_000)
    page.get_by_text("Demographic measures").wait_for()
    frame = map_frame(page)
    # the district bold over its 20 unified and elementary neighbours, drawn on the canvas
    frame.wait_for_function(f"({COUNT_DISTRICTS})() === 21", timeout=60_000)
    frame.wait_for_function(f"({INKED_PIXELS})() > 1000", timeout=30_000)
    assert "district=0634410" in page.url
    page.screenshot(path=str(tmp_path / "profile.png"), full_page=True)
    assert page.outside == [], f"requests left this machine: {page.outside}"
