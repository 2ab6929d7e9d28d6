"""AppTest for views/coverage.py: widgets (by key) change the table, the URL round-trips, and the table
on screen is the one `access_report.coverage_table` (and so the CLI) produces."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from apptest_helpers import no_errors, send_bad_travel_times
from streamlit.testing.v1 import AppTest

from podgeo import access_report as ar
from podgeo import disparity
from podgeo.filters import PodFilter

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def page(fixture_store, monkeypatch):
    monkeypatch.setenv("PODGEO_DB", str(fixture_store))

    def run(**query) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in query.items():
            at.query_params[key] = value
        at.switch_page("views/coverage.py")
        return at.run()

    return run


def _table(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def _same(shown: pd.DataFrame, expected) -> None:
    """The table on screen is the function's, with units in its headers."""
    expected = ar.with_units(expected.table, expected.meta)
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False)


def _access(at: AppTest) -> pd.Series:
    table = _table(at)
    return table.set_index("leaid")[next(c for c in table.columns if c.startswith("access ("))]


def test_opens_on_library_outlets_schools_2sfca_and_shows_the_functions_table(page, frames):
    at = page()
    no_errors(at)
    assert at.title[0].value == "Coverage — CA"
    assert at.sidebar.multiselect(key="coverage.sites").value == ["libraries"]  # issue 11 item 4: not the sample pods
    assert at.sidebar.radio(key="coverage.demand").value == "schools"
    assert at.sidebar.radio(key="coverage.method").value == "2sfca"
    expected = ar.coverage_table(frames, sites=["libraries"], demand="schools", method="2sfca", radius_miles=10.0,
                                 state="CA", pod_filter=PodFilter())
    _same(_table(at), expected)
    assert "illustrative sample" not in at.caption[0].value
    assert {"supply": "libraries", "demand": "schools", "method": "2sfca", "radius": "10"}.items() <= dict(
        at.query_params).items()
    mean = expected.summary.set_index("group").loc["total", "mean_access"]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Mean access"] == f"{mean:,.3g}"  # with its unit, on screen, just below
    assert at.caption[1].value == f"Mean access: {mean:,.3g} sites per 1,000 students in reach."
    assert shown["With zero access"].endswith(" %")
    assert "access_unit" not in _table(at).columns
    notes = " ".join(m.value for m in at.markdown)
    assert "two-step floating catchment (Luo & Wang 2003), catchment of 10 straight-line miles" in notes
    assert "CALPADS unduplicated pupil count by school (California Department of Education, 2019-20)" in notes


def test_radius_widget_changes_the_table_and_the_url(page, frames):
    at = page()
    before = _table(at)
    at.sidebar.slider(key="coverage.radius").set_value(2.0).run()
    no_errors(at)
    after = _table(at)
    assert not _access(at).equals(before.set_index("leaid")[_access(at).name])
    assert at.query_params["radius"] == "2"
    expected = ar.coverage_table(frames, sites=["libraries"], demand="schools", method="2sfca", radius_miles=2.0,
                                 state="CA")
    _same(after, expected)


def test_sites_demand_method_and_group_widgets(page, frames):
    at = page()
    at.sidebar.multiselect(key="coverage.sites").set_value(["libraries", "schools"]).run()
    at.sidebar.radio(key="coverage.demand").set_value("tracts").run()
    at.sidebar.radio(key="coverage.method").set_value("e2sfca").run()
    at.sidebar.radio(key="coverage.decay").set_value("gaussian").run()
    at.sidebar.radio(key="coverage.group").set_value("of_color").run()
    no_errors(at)
    expected = ar.coverage_table(frames, sites=["libraries", "schools"], demand="tracts", method="e2sfca",
                                 decay="gaussian", group="of_color", radius_miles=10.0, state="CA")
    _same(_table(at), expected)
    assert "people of color (count)" in _table(at).columns and "need_measure" not in _table(at).columns
    assert dict(at.query_params)["supply"] == "libraries,schools" and at.query_params["group"] == "of_color"


def test_url_round_trip_reopens_the_same_view(page, frames):
    first = page()
    first.sidebar.radio(key="coverage.method").set_value("distance").run()
    first.sidebar.slider(key="coverage.radius").set_value(1.5).run()
    first.toggle(key="coverage.hub_on").set_value(True).run()
    first.number_input(key="coverage.hub_lon").set_value(-122.27).run()
    first.number_input(key="coverage.hub_lat").set_value(37.8).run()
    no_errors(first)
    url = dict(first.query_params)
    assert url["method"] == "distance" and url["radius"] == "1.5" and url["hub"] == "-122.27000,37.80000,50"
    second = page(**url)
    no_errors(second)
    assert second.sidebar.radio(key="coverage.method").value == "distance"
    assert second.sidebar.slider(key="coverage.radius").value == 1.5
    assert second.toggle(key="coverage.hub_on").value is True
    pd.testing.assert_frame_equal(_table(second), _table(first))
    expected = ar.coverage_table(frames, sites=["libraries"], demand="schools", method="distance", radius_miles=1.5,
                                 state="CA", hypothetical=ar.Hub(-122.27, 37.8, 50))
    _same(_table(second), expected)


def test_hypothetical_hub_raises_access_on_screen(page):
    plain = page(supply="libraries", method="2sfca", radius="3")
    hub = page(supply="libraries", method="2sfca", radius="3", hub="-122.154,37.847,40")  # Del Rey Elementary, Orinda
    no_errors(hub)
    a = _access(plain)
    b = _access(hub)[a.index]
    known = a.notna()  # districts with no schools in the fixture have no access figure
    assert (b[known] >= a[known] - 1e-12).all() and (b[known] > a[known]).any()
    assert b["0628860"] > a["0628860"]  # no library within 3 miles of Del Rey before
    assert "hypothetical hub at 37.8470, -122.1540 with 40 seats" in " ".join(m.value for m in hub.markdown)


def test_bad_url_values_fall_back_to_defaults(page):
    at = page(method="gravity", radius="900", hub="not,a,hub", demand="counties")
    no_errors(at)
    assert at.sidebar.radio(key="coverage.method").value == "2sfca"
    assert at.sidebar.slider(key="coverage.radius").value == 10.0
    assert at.toggle(key="coverage.hub_on").value is False


def test_demand_points_layer_is_opt_in(page):
    at = page(demand="tracts")
    no_errors(at)
    assert at.sidebar.checkbox(key="coverage.points").value is False
    at.sidebar.checkbox(key="coverage.points").check().run()
    no_errors(at)
    at.sidebar.radio(key="coverage.demand").set_value("districts").run()  # district points: no layer, no box
    no_errors(at)
    assert not [c for c in at.sidebar.checkbox if c.key == "coverage.points"]


def test_no_pods_is_said_plainly(page):
    """Regression (issue 11 item 4): a selection with no pods says so instead of '100 % zero access'."""
    at = page(supply="pods", statuses="closed", modes="in_person", costs="paid")
    no_errors(at)
    assert any("has no pods in the store (after the filter)" in i.value for i in at.info)


def test_disparity_section_says_what_is_significant(page, frames):
    at = page(demand="districts", level="95")
    no_errors(at)
    result = ar.coverage_table(frames, sites=["libraries"], demand="districts", method="2sfca", radius_miles=10.0,
                               state="CA")
    expected = disparity.scores(result, frames, level=95)
    assert expected.sentence in [m.value for m in at.markdown]
    assert "at 95 %" in expected.sentence or "cannot be tested" in expected.sentence
    assert at.radio(key="coverage.baseline").value == "acs_children"  # the children baseline with an MOE
    assert any(expected.note == c.value for c in at.caption)
    assert "--level 95" in at.code[0].value


def test_sensitivity_sweep_is_opt_in_and_shows_ranking_stability(page, frames):
    at = page(demand="districts")
    before = len(at.dataframe)
    at.toggle(key="coverage.sweep").set_value(True).run()
    no_errors(at)
    assert len(at.dataframe) == before + 1
    stability = at.dataframe[-1].value
    assert list(stability["radius"]) == [1.0, 2.0, 5.0, 10.0, 15.0, 25.0]
    chosen = stability.set_index("radius").loc[10.0]
    assert chosen["still_top"] == chosen["top_at_chosen"]


def test_hubs_from_the_link_update_every_figure_and_garbage_is_a_notice(page, frames):
    """`?hubs=` (what the siting page sends): the valid hubs join the sites, the rest are named, nothing raises."""
    good = "-122.154,37.847,40;-122.27,37.8,50"
    args = dict(supply="pods", method="distance", radius="2", demand="schools", group="low_income")
    at = page(**args, hubs=good + ";garbage;-122.2,95,5;1,2,3,4")
    no_errors(at)
    hubs = [ar.Hub(-122.154, 37.847, 40), ar.Hub(-122.27, 37.8, 50)]
    expected = ar.coverage_table(frames, sites=["pods"], demand="schools", method="distance", radius_miles=2.0,
                                 group="low_income", state="CA", hypothetical=hubs)
    _same(_table(at), expected)
    pd.testing.assert_frame_equal(at.dataframe[1].value.reset_index(drop=True),
                                  ar.text_blanks(ar.with_units(expected.summary, expected.meta)).reset_index(drop=True),
                                  check_dtype=False)
    plain = ar.coverage_table(frames, sites=["pods"], demand="schools", method="distance", radius_miles=2.0,
                              group="low_income", state="CA")
    share = {r.summary.set_index("group").loc["total", "share_zero_access"] for r in (expected, plain)}
    assert len(share) == 2  # the hubs changed the figures on screen
    shown = {m.label: m.value for m in at.metric}
    assert shown["With zero access"] == f"{100 * expected.summary.set_index('group').loc['total', 'share_zero_access']:.1f} %"
    warning = " ".join(w.value for w in at.warning)
    assert "hub 3 (garbage) is not longitude,latitude,seats" in warning and "hub 4: hub latitude 95.0" in warning
    assert "hub 5 (1,2,3,4)" in warning
    assert any("Includes 2 hypothetical hub(s) from the link" in c.value for c in at.caption)
    assert "includes 2 hypothetical hubs" in " ".join(m.value for m in at.markdown)
    assert at.query_params["hubs"].startswith(good)  # the link is kept as given

    only_garbage = page(**args, hubs="<script>alert(1)</script>;" + ";".join(["x"] * 3))
    no_errors(only_garbage)
    _same(_table(only_garbage), plain)
    assert "\\<script\\>" in " ".join(w.value for w in only_garbage.warning)
    too_many = page(**args, hubs=";".join(["-122.27,37.8,50"] * (ar.MAX_HUBS + 1)))
    no_errors(too_many)
    assert f"lists {ar.MAX_HUBS + 1:,} hubs; only the first {ar.MAX_HUBS:,} are used" in too_many.warning[0].value


# -- the page's pure helpers (access_report.headline, coverage_map.access_map) --------------------------

def test_headline_figures_are_the_summary_with_units():
    summary = pd.DataFrame({"group": ["low_income", "total"], "mean_access": [0.5, 0.00661],
                            "share_zero_access": [0.5, 0.125]})
    meta = {"demand_noun": "students", "demand_total": 51790.4, "demand_label": "students by school",
            "access_unit": "sites per 1,000 students in reach", "ranked": 12, "districts": 1023}
    assert ar.headline(summary, meta) == [
        ("Demand (students)", "51,790", None, "students by school"),
        ("Mean access", "0.00661", None, "sites per 1,000 students in reach"),
        ("With zero access", "12.5 %", None, None),
        ("Low-access districts ranked", "12 of 1,023", None, None),
    ]
    unknown = summary.assign(mean_access=[0.5, float("nan")])
    assert ar.headline(unknown, meta)[1][1] == "no figure"  # unknown is never 0


def test_access_map_has_a_layer_per_site_kind_and_the_hubs(frames):
    from podgeo import coverage_map

    result = ar.coverage_table(frames, sites=["libraries", "schools"], demand="schools", method="2sfca",
                               radius_miles=5.0, state="CA")
    m, _ = coverage_map.access_map(result, frames, sites=["libraries", "schools"], state="CA",
                                   pod_filter=PodFilter(), hub=ar.Hub(-121.987654, 37.123456, 50),
                                   linked=[ar.Hub(-122.876543, 37.345678, 40)], points=True, tiles=None)
    html = m.get_root().render()
    names = [getattr(child, "layer_name", "") for child in m._children.values()]
    assert "Access (" in html and any("ibrar" in n for n in names) and any("chool" in n for n in names)
    assert "-121.987654" in html and "-122.876543" in html  # the what-if hub and the link's hub are drawn
    plain, _ = coverage_map.access_map(result, frames, sites=["libraries"], state="CA", pod_filter=PodFilter(),
                                       tiles=None)
    drawn = plain.get_root().render()
    assert "-121.987654" not in drawn and "-122.876543" not in drawn


def test_text_blanks_mark_text_only_and_leave_numbers_blank():
    frame = pd.DataFrame({"group": ["total", "low_income"], "compared_with": [None, "not_low_income"],
                          "mean_access": [float("nan"), 0.25]})
    shown = ar.text_blanks(frame)
    assert list(shown["compared_with"]) == ["—", "not_low_income"]
    assert shown["mean_access"].isna().tolist() == [True, False]  # unknown stays unknown, never 0
    assert frame["compared_with"].isna().tolist() == [True, False]  # the input is not changed


def test_a_bad_travel_time_file_is_named_and_straight_lines_are_kept(page, frames):
    """Regression (the shared travel-time control): a table Coverage cannot read is an error naming its row
    and column, never an exception box, and the figures stay the straight-line ones."""
    at = page()
    send_bad_travel_times(at, "coverage.travel")
    assert at.sidebar.slider(key="coverage.radius").label == "Radius (miles)"
    _same(_table(at), ar.coverage_table(frames, sites=["libraries"], demand="schools", method="2sfca",
                                        radius_miles=10.0, state="CA"))
