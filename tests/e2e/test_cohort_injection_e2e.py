"""The cohort page in a real browser with hostile text in a saved cohort's name and in the link (issue 10):
Jinja, HTML and markdown come out literally, nothing is evaluated, no script runs, no file is created."""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from browser_helpers import map_frame, wait_idle

from podgeo.store import SqliteStore

pytestmark = pytest.mark.e2e
APP = Path(__file__).resolve().parents[2] / "app.py"


def _payload(marker: Path) -> str:
    """A name holding a Jinja expression, a Jinja statement that would create `marker`, HTML and markdown."""
    return ("Lab {{ 7*7 }} {% if 1 %}jinja-ran{% endif %} "
            f"{{{{ lipsum.__globals__.os.popen('touch {marker}').read() }}}} "
            "<img src=x onerror=\"window.__pwned=1\"> **bold** [link](javascript:window.__pwned=2) #heading")


@pytest.fixture
def cohort_app(fixture_store, tmp_path, streamlit_server):
    db = tmp_path / "podgeo.db"
    shutil.copy(fixture_store, db)
    marker = tmp_path / "pwned"
    store = SqliteStore(db)
    store.create_cohort(_payload(marker), ["0628050", "0634410"], created_by="staff", source="picked")
    store.close()
    return streamlit_server(APP, env={"PODGEO_DB": str(db), "PODGEO_TILES": ""}), marker


def _page_text(page) -> str:
    """Everything the page shows as text, the table's cells included (the grid draws on a canvas
    and keeps its cells as hidden DOM text for screen readers). The invisible word joiner that
    `ui.plain` puts after a colon (so `javascript:` cannot autolink) is not something a reader sees."""
    return page.locator("body").text_content().replace("\u2060", "")


def test_hostile_cohort_name_and_link_stay_text(cohort_app, offline_page):
    url, marker = cohort_app
    page = offline_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(f"{url}/cohorts?cohort=1", wait_until="domcontentloaded")
    page.get_by_text("Total (2 districts)").wait_for(state="attached", timeout=90_000)
    frame = map_frame(page)
    frame.wait_for_function("() => !!window.map", timeout=60_000)
    wait_idle(page)
    text = _page_text(page)
    name = _payload(marker)
    assert "Lab {{ 7*7 }} {% if 1 %}jinja-ran{% endif %}" in text  # the subheader shows the name as typed
    assert "**bold** [link](javascript:window.__pwned=2) #heading" in text
    assert "Lab 49" not in text, text[text.find("Lab 49") - 300:text.find("Lab 49") + 300]
    assert page.get_by_role("link", name="link", exact=True).count() == 0
    map_html = frame.content()
    assert "Cohort members" in map_html  # the map's title is fixed text: no user text goes into the map
    assert "7*7" not in map_html and "jinja-ran" not in map_html and name not in map_html

    page.goto(f"{url}/cohorts?members=0628050,{quote('{{7*7}}')},{quote('<b>x</b>')},0634410"
              f"&groups={quote('Net {{ 7*7 }} <i>it</i> **b**:0628050.0634410')}", wait_until="domcontentloaded")
    page.get_by_text("Total (2 districts)").wait_for(state="attached", timeout=90_000)
    wait_idle(page)
    text = _page_text(page)
    assert "'{{7*7}}'" in text and "'<b>x</b>'" in text  # the notice quotes the garbage literally
    assert "Net {{ 7*7 }} <i>it</i> **b** (group of 2 LEAs)" in text
    assert "Net 49" not in text
    assert page.locator('[data-testid="stException"]').count() == 0

    assert page.evaluate("() => window.__pwned === undefined") and dialogs == []
    assert page.locator("img[src='x']").count() == 0
    assert not marker.exists(), "a Jinja payload in the cohort name ran a shell command"
    assert page.outside == [], f"requests left this machine: {page.outside}"
