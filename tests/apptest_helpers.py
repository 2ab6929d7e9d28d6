"""Small helpers the AppTest files share (a module of its own: `conftest` is two modules here)."""
from __future__ import annotations


def no_errors(at) -> None:
    """An AppTest run raised nothing and showed no st.error."""
    assert [e.value for e in at.exception] == [] and [e.value for e in at.error] == []


def open_app(page: str | None = None, **query):
    """Run the whole app (app.py with st.navigation) on PODGEO_DB, at `page`, with URL parameters."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    if page:
        at.switch_page(page)
    return at.run()
