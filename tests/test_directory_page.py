"""AppTest for views/directory.py (search, sort, every map filter, a pod's details, downloads) and the pure
helpers in podgeo/directory.py."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from apptest_helpers import no_errors, open_app
from streamlit.testing.v1 import AppTest

from podgeo import directory
from podgeo.store import SqliteStore

EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def db(fixture_store, tmp_path, monkeypatch):
    """The fixture store plus one pod with a hostile name and notes."""
    path = tmp_path / "s.db"
    shutil.copy(fixture_store, path)
    store = SqliteStore(path)
    store.upsert_pods([{"pod_id": "evil", "name": EVIL, "operator_type": "parent_led_pod", "state": "CA", "lat": 37.8,
                        "lon": -122.27, "notes": "=HYPERLINK(\"http://x\")", "status": "active", "capacity": 500,
                        "city": "Oakland"}],
                      pd.DataFrame({"pod_id": ["evil"], "leaid": ["0628050"], "layer": ["unified"]}))
    store.close()
    monkeypatch.setenv("PODGEO_DB", str(path))
    return path


def _open(**query) -> AppTest:
    return open_app("views/directory.py", **query)


def test_search_sort_and_filters_change_the_table_and_the_link(db):
    at = _open()
    no_errors(at)
    assert at.markdown[0].value.startswith("**41** of 41 pods (all pods; CA).")
    at.text_input(key="directory.query").input("fresno hub").run()
    assert at.dataframe[0].value["pod"].tolist() == ["Fresno District Learning Hub A", "Fresno District Learning Hub B"]
    assert at.dataframe[0].value["seats"].isna().tolist() == [True, False]  # hub A gave no seats: unknown, not 0
    assert "never counted as zero" in at.caption[0].value
    assert at.query_params["q"] == "fresno hub"
    at.text_input(key="directory.query").input("").run()
    at.selectbox(key="directory.sort").set_value("seats").run()
    assert at.dataframe[0].value["pod"].iloc[0] == EVIL and at.query_params["sort"] == "seats"
    at.sidebar.multiselect(key="filters.operator_types").set_value(["microschool_private"]).run()
    no_errors(at)
    assert at.markdown[0].value.startswith("**5** of 41 pods (operator types: Microschool or private provider; CA)")
    assert at.query_params["operator_types"] == "microschool_private"
    assert len(at.get("download_button")) == 5  # CSV, CSV + notes (zip), Excel, GeoJSON, GeoPackage


def test_a_shared_link_reopens_the_same_directory(db):
    at = _open(q="oakland", sort="seats", statuses="active")
    no_errors(at)
    assert at.text_input(key="directory.query").value == "oakland"
    assert at.selectbox(key="directory.sort").value == "seats"
    assert at.sidebar.multiselect(key="filters.statuses").value == ["active"]
    assert at.dataframe[0].value["pod"].iloc[0] == EVIL


def test_details_show_hostile_text_as_data(db):
    at = _open(q="oakland", sort="seats")
    assert at.selectbox(key="directory.pod").value == "evil"
    detail = at.dataframe[1].value.set_index("field")["value"]
    assert detail["Name"] == EVIL and detail["Notes"] == "=HYPERLINK(\"http://x\")"
    assert detail["Operator type"] == "Parent-led pod" and detail["In districts (LEAIDs)"] == "0628050"
    assert not any(EVIL in m.value for m in at.markdown)  # only ever inside a dataframe, as text


def test_search_and_sort_helpers():
    pods = pd.DataFrame({"pod_id": ["a", "b", "c"], "name": ["Oak pod", "Elm hub", "oak HUB"],
                         "city": ["Oakland", "Berkeley", None], "capacity": [5, None, 9],
                         "opened_on": ["2020-09-01", None, "2020-10-01"], "status": ["active"] * 3,
                         "operator_type": ["other"] * 3, "notes": [None, "near the OAK tree", None]})
    assert directory.search(pods, "oak")["pod_id"].tolist() == ["a", "b", "c"]
    assert directory.search(pods, "oak hub")["pod_id"].tolist() == ["b", "c"]
    assert directory.sort(pods, "seats")["pod_id"].tolist() == ["c", "a", "b"]  # unknown capacity last
    assert directory.sort(pods, "opened")["pod_id"].tolist() == ["c", "a", "b"]
    assert directory.sort(pods, "name")["pod_id"].tolist() == ["b", "a", "c"]
    with pytest.raises(ValueError, match="sort 'size' is not one of"):
        directory.sort(pods, "size")
