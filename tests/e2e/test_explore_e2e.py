"""The explore page in a real browser: the app on a temporary store, offline, clicked like a user would."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from browser_helpers import COUNT_DISTRICTS, INKED_PIXELS, OPEN_POD_POPUPS, click_latlng, map_frame

from podgeo.store import SqliteStore

pytestmark = pytest.mark.e2e
APP = Path(__file__).resolve().parents[2] / "app.py"
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def app_url(fixture_store, tmp_path, streamlit_server):
    """The real app on a copy of the fixture store with one hostile pod name added in Oakland."""
    db = tmp_path / "podgeo.db"
    shutil.copy(fixture_store, db)
    store = SqliteStore(db)
    store.upsert_pods([{"pod_id": "evil", "name": EVIL, "operator_type": "parent_led_pod", "state": "CA",
                        "lat": 37.80, "lon": -122.27, "notes": "<script>alert(3)</script>", "status": "active",
                        "capacity": 5}],
                      _links("evil", "0628050"))
    store.close()
    return streamlit_server(APP, env={"PODGEO_DB": str(db), "PODGEO_TILES": ""})


def _links(pod_id, leaid):
    import pandas as pd
    return pd.DataFrame({"pod_id": [pod_id], "leaid": [leaid], "layer": ["unified"]})


def test_map_draws_click_opens_profile_and_pod_names_stay_text(app_url, offline_page, tmp_path):
    page = offline_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    started = time.perf_counter()
    page.goto(f"{app_url}/?sites=", wait_until="domcontentloaded")  # no site circles over the click point
    frame = map_frame(page)
    frame.wait_for_function(f"({COUNT_DISTRICTS})() === 21", timeout=60_000)  # 11 unified + 10 elementary
    frame.wait_for_function(f"({INKED_PIXELS})() > 1000", timeout=30_000)
    print(f"\nexplore map drawn {time.perf_counter() - started:.2f} s after navigation")
    page.get_by_text("% of children 5-17 in poverty — CA school districts").wait_for()

    shown = frame.evaluate(f"({OPEN_POD_POPUPS})()")
    assert EVIL in {s["text"] for s in shown}
    assert all(s["imgs"] == 0 for s in shown)

    click_latlng(page, frame, 37.775, -122.49)
    page.get_by_text("San Francisco Unified School District · LEAID 0634410").wait_for(timeout=30_000)
    assert "district=0634410" in page.url

    page.screenshot(path=str(tmp_path / "explore.png"), full_page=True)
    assert dialogs == []
    assert page.outside == [], f"requests left this machine: {page.outside}"


def test_shared_url_reopens_the_same_view(app_url, offline_page):
    page = offline_page
    page.goto(f"{app_url}/?measure=pct_no_computer&scheme=natural_breaks&operator_types=parent_led_pod"
              "&district=0628050", wait_until="domcontentloaded")
    frame = map_frame(page)
    frame.wait_for_function(f"({COUNT_DISTRICTS})() === 21", timeout=60_000)
    page.get_by_text("% of households with no computer or internet — CA school districts").wait_for()
    page.get_by_text("Oakland Unified School District · LEAID 0628050").wait_for(timeout=30_000)
    page.get_by_text("1 of 41 pods shown (operator types: Parent-led pod)", exact=False).wait_for()
    legends = " ".join(frame.locator(".podgeo-legend").all_inner_texts())
    assert "% of households with no computer or internet" in legends
    assert "measure=pct_no_computer" in page.url and "operator_types=parent_led_pod" in page.url
    assert page.outside == []
