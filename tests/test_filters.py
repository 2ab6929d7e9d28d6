"""Pod filters: hand-made pods so each rule's answer is obvious, and the URL round trip."""
from datetime import date

import pandas as pd
import pytest

from podgeo.filters import PodFilter, apply, describe

PODS = pd.DataFrame([
    # pod_id, operator, mode, cost, status, groups, supports, grades, opened, closed
    ("a", "parent_led_pod", "in_person", "paid", "active", [], ["tutoring"], 0, 5, "2020-08-01", None),
    ("b", "district_hub", "in_person", "free", "active", ["low_income", "english_learners"], ["meals"], 6, 8,
     "2020-09-15", None),
    ("c", "community_org_hub", "hybrid", "free", "closed", ["foster_youth"], ["meals", "transport"], 9, 12,
     "2020-08-20", "2021-01-15"),
    ("d", "faith_based", "virtual_support", "sliding_scale", "planned", [], [], -1, 0, None, None),
    ("e", "other", "in_person", "free", "active", [], [], None, None, None, None),
], columns=["pod_id", "operator_type", "mode", "cost", "status", "priority_groups", "supports", "grade_low",
            "grade_high", "opened_on", "closed_on"])


def kept(f: PodFilter) -> list[str]:
    return sorted(apply(PODS, f)["pod_id"])


def test_default_keeps_everything():
    assert kept(PodFilter()) == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize("f, expected", [
    (PodFilter(operator_types=("district_hub", "faith_based")), ["b", "d"]),
    (PodFilter(modes=("in_person",)), ["a", "b", "e"]),
    (PodFilter(costs=("free",)), ["b", "c", "e"]),
    (PodFilter(statuses=("closed", "planned")), ["c", "d"]),
    (PodFilter(priority_groups=("english_learners", "foster_youth")), ["b", "c"]),
    (PodFilter(supports=("meals",)), ["b", "c"]),
    # grade ranges overlap 7..9: b (6-8) and c (9-12); e has no grades, so it serves any
    (PodFilter(grade_low=7, grade_high=9), ["b", "c", "e"]),
    (PodFilter(grade_low=-1, grade_high=-1), ["d", "e"]),
    (PodFilter(costs=("free",), modes=("in_person",)), ["b", "e"]),
])
def test_each_rule(f, expected):
    assert kept(f) == expected


def test_as_of_keeps_pods_open_that_day():
    # 2020-09-01: a open, b not yet, c open, d planned, e has no dates and is active
    assert kept(PodFilter(as_of=date(2020, 9, 1))) == ["a", "c", "e"]
    # c closed on 2021-01-15: not open that day
    assert kept(PodFilter(as_of=date(2021, 1, 15))) == ["a", "b", "e"]


def test_query_round_trip():
    f = PodFilter(operator_types=("district_hub",), modes=("hybrid", "in_person"), supports=("meals",),
                  grade_low=0, grade_high=5, as_of=date(2020, 11, 1))
    q = f.to_query()
    assert q == {"operator_types": "district_hub", "modes": "hybrid,in_person", "supports": "meals",
                 "grades": "K-5", "as_of": "2020-11-01"}
    assert PodFilter.from_query(q) == f
    assert PodFilter().to_query() == {}


def test_from_query_drops_unknown_and_malformed_values():
    f = PodFilter.from_query({"modes": "in_person,<script>", "grades": "7-3", "as_of": "yesterday"})
    assert f == PodFilter(modes=("in_person",))


def test_bad_values_raise_naming_them():
    with pytest.raises(ValueError, match=r"modes: unknown value\(s\) \['teleport'\]"):
        PodFilter(modes=("teleport",))
    with pytest.raises(ValueError, match="grades"):
        PodFilter(grade_low=5, grade_high=2)


def test_describe():
    assert describe(PodFilter()) == "all pods"
    assert describe(PodFilter(costs=("free",), as_of=date(2020, 10, 1))) == "costs: Free; open on 2020-10-01"


def test_from_query_checked_says_what_it_dropped():
    f, problems = PodFilter.from_query_checked({"modes": "in_person,teleport,in_person", "grades": "K-99",
                                                "as_of": "2035-01-01", "costs": "free"})
    assert f == PodFilter(modes=("in_person",), costs=("free",))
    assert problems == {"modes": "unknown value(s) teleport", "grades": "not a grade range such as K-5 or PK-12",
                        "as_of": "outside 2019-01-01 to 2030-12-31"}
    assert PodFilter.from_query_checked({"as_of": "2020-11-01"}) == (PodFilter(as_of=date(2020, 11, 1)), {})
    assert PodFilter.from_query_checked({"as_of": "{{ 7*7 }}"})[1] == {"as_of": "not a date (YYYY-MM-DD)"}
