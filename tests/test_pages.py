"""AppTest for every page: each runs on a fixture store, and its widgets (by key) change what is shown."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def app(fixture_store, monkeypatch):
    """The whole app (st.navigation) on the fixture store; pages are picked with switch_page."""
    monkeypatch.setenv("PODGEO_DB", str(fixture_store))

    def run(page: str | None = None, **query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in query.items():
            at.query_params[key] = value
        if page:
            at.switch_page(page)
        return at.run()

    return run


def _no_errors(at: AppTest) -> None:
    assert [e.value for e in at.exception] == []
    assert [e.value for e in at.error] == []


# -- views/explore.py ------------------------------------------------------------------------------

def test_explore_opens_on_poverty_for_california(app):
    at = app()
    _no_errors(at)
    assert at.title[0].value.startswith("% of children 5-17 in poverty")
    assert at.sidebar.selectbox(key="shared.state").value == "CA"
    assert at.query_params["measure"] == "pct_poverty"


def test_explore_measure_widget_changes_title_and_url(app):
    at = app()
    at.sidebar.selectbox(key="shared.measure").set_value("pct_no_computer").run()
    _no_errors(at)
    assert at.title[0].value.startswith("% of households with no computer or internet")
    assert at.query_params["measure"] == "pct_no_computer"


def test_explore_reopens_from_url(app):
    at = app(measure="pct_disability")
    _no_errors(at)
    assert at.sidebar.selectbox(key="shared.measure").value == "pct_disability"


# -- views/sources.py ------------------------------------------------------------------------------

def test_sources_page_lists_every_file(app):
    at = app("views/sources.py")
    _no_errors(at)
    frame = at.dataframe[0].value
    assert len(frame) == 10  # 7 build sources + CUPC enrollment and the two Bay Area tract files
    assert "Institute of Museum and Library Services" in set(frame["publisher"])
