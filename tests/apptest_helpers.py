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


def send_bad_travel_times(at, key: str) -> None:
    """Upload a travel-time table whose minutes are not a number through the shared control at `key`:
    the page names the file, row and column in one error and raises nothing."""
    at.file_uploader(key=key).set_value(("bad.csv", b"origin_id,destination_id,minutes\na,b,soon\n",
                                         "text/csv")).run()
    assert not at.exception
    assert at.error[0].value == "The travel-time file was not used: travel\\-time file bad\\.csv: row 2 column " \
                                "'minutes' is 'soon', expected a number"
