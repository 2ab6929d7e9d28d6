"""AppTest for views/explore.py: every widget (by key) changes what is shown, and the URL round-trips.

On the SF Bay fixture store, 6 of the 40 illustrative pods lie in a fixture district:
sample-031 (community hub, 98 seats), -007 (faith-based, 96), -032 (microschool, closed 2021-06-11,
24), -008 (other, planned, 21), -006 (microschool, closed 2021-06-11, 14), -030 (other, planned, 62).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from podgeo import geo
from podgeo.build import build
from podgeo.store import SqliteStore

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(scope="module")
def two_state_store(tmp_path_factory, shared_data):
    """Delaware and Rhode Island, with Alaska and Hawaii (drawn as insets), from the real 2016 files:
    small, but a real national view."""
    path = tmp_path_factory.mktemp("two") / "two.db"
    build(path, sources_root=shared_data, states=["DE", "RI", "AK", "HI"])
    return path


def run(store: Path, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("PODGEO_DB", str(store))
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def panel(at: AppTest):
    """The district panel's table (the map's table alternative is another dataframe)."""
    return next(d.value for d in at.dataframe if "Measure" in d.value.columns)


def counts_line(at: AppTest) -> str:
    return next(m.value for m in at.markdown if " pods shown " in m.value)


def test_opens_on_poverty_with_the_pods_in_view(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch)
    assert not at.exception and not at.error
    assert at.title[0].value == "% of children 5-17 in poverty — CA school districts"
    assert counts_line(at).startswith("**6** of 40 pods shown (all pods), **315** seats.")
    assert "illustrative sample" in counts_line(at)


def test_operator_filter_changes_counts_and_url(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch)
    at.sidebar.multiselect(key="filters.operator_types").set_value(["microschool_private"]).run()
    assert counts_line(at).startswith("**2** of 40 pods shown (operator types: Microschool or private provider), "
                                      "**38** seats.")
    assert at.query_params["operator_types"] == "microschool_private"


def test_a_state_view_built_once_is_the_same_when_its_choices_come_back(fixture_store, monkeypatch):
    """The state's map is cached per revision and choice (`ui.state_view`): a filter and back gives
    the first view again, and an attribute-free view of another measure is its own."""
    at = run(fixture_store, monkeypatch)
    first = counts_line(at)
    at.sidebar.multiselect(key="filters.operator_types").set_value(["microschool_private"]).run()
    assert counts_line(at).startswith("**2** of 40 pods shown")
    at.sidebar.multiselect(key="filters.operator_types").set_value([]).run()
    assert counts_line(at) == first and not at.exception
    at.sidebar.selectbox(key="shared.measure").set_value("pct_disability").run()
    assert not at.exception and "disabilit" in at.title[0].value.lower()


def test_as_of_date_keeps_pods_open_that_day(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch)
    at.sidebar.checkbox(key="filters.use_as_of").check().run()
    at.sidebar.date_input(key="filters.as_of").set_value("2020-11-01").run()
    # the two planned pods drop out; the microschools closed only in 2021
    assert counts_line(at).startswith("**4** of 40 pods shown (open on 2020-11-01), **232** seats.")
    assert at.query_params["as_of"] == "2020-11-01"


def test_layer_and_scheme_widgets(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch)
    at.sidebar.radio(key="explore.layer").set_value("secondary").run()
    assert "Secondary (overlays elementary)" in at.caption[0].value
    assert counts_line(at).startswith("**0** of 40")  # no sample pod lies in the 3 secondary districts
    at.sidebar.radio(key="explore.scheme").set_value("natural_breaks").run()
    assert at.query_params["layer"] == "secondary" and at.query_params["scheme"] == "natural_breaks"
    assert not at.exception


def test_pod_rate_measure_shades_without_error(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch)
    at.sidebar.selectbox(key="shared.measure").set_value("seats_per_1000").run()
    assert not at.exception
    assert at.title[0].value.startswith("Seats per 1,000 children")


def test_shared_url_reopens_the_same_view_with_the_district_panel(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch, measure="pct_no_computer", scheme="natural_breaks", sites="libraries,schools",
             operator_types="other,microschool_private", grades="K-5", district="0634410")
    assert not at.exception
    assert at.sidebar.selectbox(key="shared.measure").value == "pct_no_computer"
    assert at.sidebar.radio(key="explore.scheme").value == "natural_breaks"
    assert at.sidebar.multiselect(key="explore.sites").value == ["libraries", "schools"]
    assert at.sidebar.multiselect(key="filters.operator_types").value == ["other", "microschool_private"]
    assert at.sidebar.select_slider(key="filters.grades").value == (0, 5)
    assert at.subheader[0].value.startswith("San Francisco Unified School District · LEAID 0634410 · unified")
    assert at.selectbox(key="explore.district").value == "0634410"
    profile = panel(at)
    assert list(profile.columns) == ["Measure", "Value (± 90 % margin of error)", "State median",
                                     "Against the state median", "Source", "Vintage"]
    row = profile.set_index("Measure").loc["% of households with no computer or internet"]
    assert row["Value (± 90 % margin of error)"].endswith("%") or row["Value (± 90 % margin of error)"].count("±") == 1
    assert row["Against the state median"] in {"above the state median", "below the state median",
                                               "at the state median"}
    # every choice is still in the URL after the run
    assert at.query_params["district"] == "0634410" and at.query_params["grades"] == "K-5"


def test_unknown_values_in_the_url_fall_back_to_defaults(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch, measure="<script>", state="ZZ", layer="everything", district="9999999")
    assert not at.exception and not at.error
    assert at.sidebar.selectbox(key="shared.measure").value == "pct_poverty"
    assert at.sidebar.selectbox(key="shared.state").value == "CA"
    assert not at.subheader


def test_national_view_rolls_states_up(two_state_store, monkeypatch):
    at = run(two_state_store, monkeypatch, state="US")
    assert not at.exception and not at.error
    assert at.title[0].value == "% of children 5-17 in poverty — United States"
    at.sidebar.selectbox(key="shared.state").set_value("RI").run()
    assert at.title[0].value == "% of children 5-17 in poverty — RI school districts"
    assert at.query_params["state"] == "RI"


# -- clicks on the map (AppTest cannot click inside the map's iframe: st_folium is replaced by a stand-in
# that returns, like the real component on every rerun, the last click queued for its key) ---------------

@pytest.fixture
def clicks(monkeypatch):
    import streamlit_folium

    queued: dict[str, dict] = {}
    drawn: list[dict] = []

    def st_folium(fig, key=None, feature_group_to_add=None, **kwargs):
        drawn.append({"key": key, "highlight": feature_group_to_add, "fig": fig})
        return queued.get(key)

    monkeypatch.setattr(streamlit_folium, "st_folium", st_folium)
    queued["drawn"] = drawn
    return queued


def test_clicking_a_state_on_the_national_map_opens_it(two_state_store, monkeypatch, clicks):
    """Issue 11.1: the click used to write the drawn Geography picker and crash."""
    at = run(two_state_store, monkeypatch)
    assert at.title[0].value == "% of children 5-17 in poverty — United States"  # opens on the national view
    clicks["explore.map.US.states"] = {"last_object_clicked": {"lat": 39.0, "lng": -75.5}, "last_active_drawing": None}
    at.run()  # the click on Delaware (39.0 N, 75.5 W) arrives
    assert not at.exception and not at.error
    assert at.title[0].value == "% of children 5-17 in poverty — DE school districts"
    assert at.sidebar.selectbox(key="shared.state").value == "DE" and at.query_params["state"] == "DE"
    at.sidebar.selectbox(key="shared.state").set_value("US").run()  # and back: the old click is not replayed
    assert at.title[0].value.endswith("— United States") and not at.exception


def test_clicking_a_district_chooses_highlights_and_links_it(fixture_store, monkeypatch, clicks):
    at = run(fixture_store, monkeypatch)
    assert at.selectbox(key="explore.district").value == ""
    clicks["explore.map.CA.base"] = {"last_object_clicked": {"lat": 37.76, "lng": -122.44}, "last_active_drawing": None}
    at.run()
    assert not at.exception
    assert at.selectbox(key="explore.district").value == "0634410" and at.query_params["district"] == "0634410"
    assert at.subheader[0].value.startswith("San Francisco Unified School District · LEAID 0634410")
    link = next(e for e in at.main if e.type == "page_link" or getattr(e, "proto", None) is not None
                and type(e.proto).__name__ == "PageLink")
    assert link.proto.label == "Open the full district profile"
    assert link.proto.query_string == "district=0634410"
    highlight = clicks["drawn"][-1]["highlight"]
    shape = next(iter(highlight._children.values())).data
    assert len(shape["features"]) == 1  # the chosen district alone, outlined over the map
    # choosing another district by keyboard is not undone by the click st_folium still returns
    other = next(k for k in next(d.value for d in at.dataframe if "LEAID" in d.value.columns)["LEAID"]
                 if k != "0634410")
    at.selectbox(key="explore.district").set_value(other).run()
    assert at.selectbox(key="explore.district").value == other and at.query_params["district"] == other


def test_the_map_has_a_sortable_downloadable_table(fixture_store, monkeypatch):
    at = run(fixture_store, monkeypatch)
    table = next(d.value for d in at.dataframe if "LEAID" in d.value.columns)
    assert list(table.columns) == ["LEAID", "District", "Layer", "% of children 5-17 in poverty (%)"]
    assert len(table) == 21  # every unified + elementary district of the fixture
    values = table["% of children 5-17 in poverty (%)"]
    assert values.dropna().is_monotonic_decreasing  # highest first; no-data rows last, blank
    assert values.isna().sum() == table.tail(values.isna().sum())["% of children 5-17 in poverty (%)"].isna().sum()


def test_hostile_link_on_the_national_view(two_state_store, monkeypatch):
    from podgeo import ui

    at = run(two_state_store, monkeypatch, state="US", measure="{{ 7*7 }}", scheme="$x$", layer=":material/home:",
             sites="<b>x</b>", as_of="2035-01-01", grades="**K**-99", district="9" * 400)
    assert not at.exception and not at.error
    assert at.title[0].value == "% of children 5-17 in poverty — United States"
    notices = [ui.unplain(w.value) for w in at.warning]
    for shown in ("{{ 7*7 }}", "$x$", ":material/home:", "<b>x</b>", "2035-01-01", "**K**-99"):
        assert any(f"“{shown}”" in n for n in notices), shown
    assert all("49" not in n for n in notices)


# -- the national map of every district (issue 14), and clicks on the Alaska / Hawaii insets ----------

#: where the national map draws Juneau (58.30 N, 134.42 W) and Honolulu (21.31 N, 157.86 W): in their insets
JUNEAU_DRAWN = dict(zip(("lng", "lat"), (float(v[0]) for v in geo.inset_points([-134.42], [58.30], ["02"]))))
HONOLULU_DRAWN = dict(zip(("lng", "lat"), (float(v[0]) for v in geo.inset_points([-157.86], [21.31], ["15"]))))


def _click(point: dict) -> dict:
    return {"last_object_clicked": point, "last_active_drawing": None}


def test_every_district_national_view_shades_each_district_with_a_table(two_state_store, monkeypatch, clicks):
    at = run(two_state_store, monkeypatch, national="districts", measure="pct_no_computer")
    assert not at.exception and not at.error
    assert at.title[0].value == "% of households with no computer or internet — United States school districts"
    assert at.sidebar.radio(key="explore.national").value == "districts" and at.query_params["national"] == "districts"
    store = SqliteStore(two_state_store)
    expected = store.districts(layers=["unified", "elementary"], geometry=None)
    store.close()
    table = next(d.value for d in at.dataframe if "LEAID" in d.value.columns)
    assert list(table.columns) == ["LEAID", "District", "State", "% of households with no computer or internet (%)"]
    assert sorted(table["LEAID"]) == sorted(expected["leaid"])  # 53 + 16 + 1 + 35: every tiling district
    assert table.groupby("State").size().to_dict() == {"AK": 53, "DE": 16, "HI": 1, "RI": 35}
    html = clicks["drawn"][-1]["fig"].get_root().render()
    assert "% of households with no computer or internet" in html and "State outlines" in html
    # the legend counts districts (a state view's legend), not states
    assert "(n) = districts" in html


def test_clicking_a_district_on_the_national_map_opens_it_in_its_state(two_state_store, monkeypatch, clicks):
    """Dover, Delaware lies in the Capital School District; the secondary layer of the link gives way to the
    layer the district is on."""
    at = run(two_state_store, monkeypatch, national="districts", layer="secondary")
    clicks["explore.map.US.districts"] = _click({"lat": 39.158, "lng": -75.524})
    at.run()
    assert not at.exception and not at.error
    assert at.title[0].value == "% of children 5-17 in poverty — DE school districts"
    assert at.sidebar.radio(key="explore.layer").value == "base" and at.query_params["layer"] == "base"
    assert at.selectbox(key="explore.district").value == "1000190" and at.query_params["district"] == "1000190"
    assert at.subheader[0].value.startswith("Capital School District · LEAID 1000190")
    at.sidebar.selectbox(key="shared.state").set_value("US").run()  # back: the same national map, no replayed click
    assert at.title[0].value.endswith("— United States school districts") and not at.exception


def test_a_click_on_an_inset_district_opens_it_where_it_really_is(two_state_store, monkeypatch, clicks):
    at = run(two_state_store, monkeypatch, national="districts")
    clicks["explore.map.US.districts"] = _click({"lat": 58.30, "lng": -134.42})  # Juneau's real place: open sea here
    at.run()
    assert at.title[0].value.endswith("— United States school districts")
    clicks["explore.map.US.districts"] = _click(JUNEAU_DRAWN)
    at.run()
    assert not at.exception and not at.error
    assert at.title[0].value == "% of children 5-17 in poverty — AK school districts"
    assert at.selectbox(key="explore.district").value == "0200210"  # Juneau Borough School District


@pytest.mark.parametrize("point,state", [(JUNEAU_DRAWN, "AK"), (HONOLULU_DRAWN, "HI")])
def test_clicking_alaska_or_hawaii_inset_on_the_states_map_opens_it(two_state_store, monkeypatch, clicks,
                                                                    point, state):
    at = run(two_state_store, monkeypatch)
    assert at.sidebar.radio(key="explore.national").value == "states"
    clicks["explore.map.US.states"] = _click(point)
    at.run()
    assert not at.exception and not at.error
    assert at.title[0].value == f"% of children 5-17 in poverty — {state} school districts"
    assert at.query_params["state"] == state


def test_a_bad_national_choice_in_the_link_is_named(two_state_store, monkeypatch):
    from podgeo import ui

    at = run(two_state_store, monkeypatch, national="<i>tiles</i>")
    assert not at.exception and not at.error
    assert at.title[0].value == "% of children 5-17 in poverty — United States"
    assert any("“<i>tiles</i>”" in ui.unplain(w.value) for w in at.warning)
