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


# -- app.py: a failing page shows the viewer an error id, never a traceback ---------------------------

def test_a_failing_page_shows_an_error_id_and_logs_the_traceback(app, monkeypatch, caplog):
    import re

    from podgeo import directory

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire at /srv/secret/podgeo.db")

    monkeypatch.setattr(directory, "search", broken)
    with caplog.at_level("ERROR", logger="podgeo.app"):
        at = app("views/directory.py")
    assert [e.value for e in at.exception] == []  # no traceback box
    [shown] = [e.value for e in at.error]
    ref = re.search(r"error id \*\*([0-9a-f]{10})\*\*", shown).group(1)
    assert "/srv/secret" not in shown and "RuntimeError" not in shown
    [record] = [r for r in caplog.records if r.name == "podgeo.app"]
    assert ref in record.getMessage() and "disk on fire" in str(record.exc_info[1])


def test_config_hides_errors_and_sends_nothing_off_the_machine():
    import tomllib

    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"] == {"showErrorDetails": "none", "toolbarMode": "viewer"}
    assert config["browser"]["gatherUsageStats"] is False
    assert config["browser"]["serverAddress"] == "localhost"  # set by hand: no checkip.amazonaws.com lookup
