"""Pages in a real browser at 1400x900: /explore is a working deep link, the first click on a map that
reaches below the fold lands (the page no longer scrolls while the button is down), captions pass AA contrast."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser_helpers import CLICKABLE, map_frame, wait_idle

pytestmark = pytest.mark.e2e
APP = Path(__file__).resolve().parents[2] / "app.py"
MAIN_SCROLL = "() => document.querySelector('[data-testid=\"stMain\"]').scrollTop"


@pytest.fixture
def app_url(fixture_store, tmp_path, streamlit_server):
    db = tmp_path / "podgeo.db"
    shutil.copy(fixture_store, db)
    return streamlit_server(APP, env={"PODGEO_DB": str(db), "PODGEO_TILES": ""})


@pytest.fixture
def desktop(offline_page):
    offline_page.set_viewport_size({"width": 1400, "height": 900})
    return offline_page


def test_explore_deep_link_opens_the_map(app_url, desktop):
    desktop.goto(f"{app_url}/explore?measure=pct_no_computer", wait_until="domcontentloaded")
    desktop.get_by_text("% of households with no computer or internet — CA school districts").wait_for(timeout=60_000)
    assert desktop.get_by_text("Page not found").count() == 0
    assert desktop.outside == []


def test_first_click_on_a_district_lands_without_scrolling_the_page(app_url, desktop):
    page = desktop
    page.goto(f"{app_url}/?sites=", wait_until="domcontentloaded")
    frame = map_frame(page)
    frame.wait_for_function(CLICKABLE, timeout=60_000)
    wait_idle(page)
    box = page.locator('iframe[title*="streamlit_folium"]').bounding_box()
    assert box["y"] + box["height"] > 900  # the map reaches below the fold: the case that lost the click
    xy = frame.evaluate("() => window.map.latLngToContainerPoint([37.745, -122.49])")  # Sunset, no pod there
    page.mouse.move(box["x"] + xy["x"], box["y"] + xy["y"])
    page.mouse.down()
    page.wait_for_timeout(150)
    assert page.evaluate(MAIN_SCROLL) == 0  # it scrolled by the overhang while the button was down
    page.mouse.up()
    page.get_by_text("San Francisco Unified School District · LEAID 0634410").wait_for(timeout=30_000)
    assert "district=0634410" in page.url
    page.get_by_role("link", name="Open the full district profile").click()
    # (the sidebar always says "District profile": wait for the page's own heading, not for that text)
    page.get_by_role("heading", name="District profile", level=1).wait_for(timeout=30_000)
    assert "/district" in page.url and "district=0634410" in page.url


def test_pressing_on_the_district_profile_map_does_not_scroll_the_page(app_url, desktop):
    """The profile's map (views/district.py) has the same focus-scroll fix as the explore map."""
    page = desktop
    page.set_viewport_size({"width": 1400, "height": 640})  # the profile's map then reaches below the fold
    page.goto(f"{app_url}/district?district=0634410", wait_until="domcontentloaded")
    frame = map_frame(page)
    frame.wait_for_function("() => !!(window.map && window.map.keyboard)", timeout=60_000)
    wait_idle(page)
    box = page.locator('iframe[title*="streamlit_folium"]').bounding_box()
    assert box["y"] + box["height"] > 640
    assert frame.evaluate("() => window.map.keyboard._podgeoSteady === true")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40)
    page.mouse.down()
    page.wait_for_timeout(150)
    assert page.evaluate(MAIN_SCROLL) == 0
    page.mouse.up()
    assert frame.evaluate("() => document.activeElement === window.map.getContainer()")  # arrow keys still pan


@pytest.mark.parametrize("path, text", [
    ("/?sites=", "illustrative sample written by the podgeo project"),
    ("/sources", "Illustrative pods"),
    ("/directory", "illustrative sample written by the podgeo project"),
    ("/district?district=0634410", "State median: over the districts"),
])
def test_captions_and_text_pass_aa_contrast(app_url, desktop, path, text):
    from browser_helpers import axe_violations

    desktop.goto(f"{app_url}{path}", wait_until="domcontentloaded")
    desktop.get_by_text(text, exact=False).first.wait_for(timeout=60_000)
    wait_idle(desktop)
    bad = [v["targets"] for v in axe_violations(desktop, rules=["color-contrast"])]
    assert bad == [], f"contrast below AA on {path}: {bad}"


def test_hostile_search_text_is_shown_literally(app_url, desktop):
    """`ui.plain` in a real browser: no KaTeX, no icon, no emoji, no bold, no link from typed or linked text."""
    from urllib.parse import quote

    typed = "$x^2$ :material/home: :smile: **bold** <b>b</b> [a](http://evil.example) {{ 7*7 }}"
    desktop.goto(f"{app_url}/directory?q={quote(typed)}", wait_until="domcontentloaded")
    line = desktop.locator('[data-testid="stMarkdown"]', has_text=" of 40 pods").first
    line.wait_for(timeout=60_000)
    wait_idle(desktop)
    text = line.inner_text().replace("\u2060", "")
    assert f"search: {typed}" in text
    assert line.locator(".katex, [role=img], b, a").count() == 0
    # only the page's own bold: the count and the illustrative-sample note, nothing from the typed text
    assert line.locator("strong").all_inner_texts() == ["0", "illustrative sample written by the podgeo project"]
