"""Every page (as app.py registers it) opened with garbage and hostile values in every URL parameter:
no exception, no error box, and hostile text shown literally (made inert by `ui.plain`) wherever a page
echoes it. Issue 10: `?as_of=2035-01-01` used to crash five pages; `$x$` and `:material/...:` went
through `ui.plain` into markdown."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from apptest_helpers import open_app
from podgeo import ui

APP = Path(__file__).resolve().parents[1] / "app.py"
#: every page script app.py registers, read from its source so a new page is covered without a change here
PAGES = sorted(set(re.findall(r'st\.Page\("(views/[a-z_]+\.py)"', APP.read_text(encoding="utf-8"))))
#: every query parameter a page reads (pages ignore the ones that are not theirs), plus two nobody reads
PARAMS = ("state", "layer", "measure", "scheme", "sites", "operator_types", "modes", "costs", "statuses",
          "priority_groups", "supports", "grades", "as_of", "district", "attr", "attr_filter", "attr_value", "q",
          "sort", "cohort", "supply", "demand", "method", "decay", "radius", "group", "assumed_seats", "hub", "k",
          "classes")
PAYLOADS = {
    "jinja": "{{ 7*7 }}{% raw %}",
    "html": "<img src=x onerror=alert(1)><b>bold</b>",
    "markdown": "**x** [link](http://evil.example) # h",
    "latex": "$x^2$ and $$\\frac{1}{0}$$",
    "icon": ":material/home: :red[alert] :smile:",
    "huge": "1e400",
    "date": "2035-01-01",
    "long": "A" * 5000,
    "nonsense": "-1,,,NaN,inf,0000000,zz",
}
#: markdown-rendering elements, where an echoed payload must appear only in its inert form
MARKDOWN_KINDS = ("markdown", "caption", "warning", "info", "success", "title", "subheader", "header")


#: pages that read URL parameters before anything else can stop them (the others stop at sign-in or read none)
READS_URL = {"views/explore.py", "views/directory.py", "views/coverage.py", "views/district.py", "views/cohorts.py"}


def test_every_page_is_covered():
    assert len(PAGES) >= 9 and "views/explore.py" in PAGES and "views/coverage.py" in PAGES


@pytest.mark.parametrize("page", PAGES)
def test_hostile_url_values_never_break_a_page(page, db):
    kinds, echoed = list(PAYLOADS), 0
    # run r gives parameter i the payload (i + r) mod len: every parameter meets every payload
    for r in range(len(kinds)):
        query = {p: PAYLOADS[kinds[(i + r) % len(kinds)]] for i, p in enumerate(PARAMS)}
        at = open_app(page if page != "views/explore.py" else None, **query)
        where = f"{page} with {kinds[r]} first"
        assert [e.value for e in at.exception] == [], where
        assert [e.value for e in at.error] == [], where
        for kind in MARKDOWN_KINDS:
            for element in getattr(at, kind):
                text = str(element.value)
                assert "49" not in text or "7*7" not in ui.unplain(text), where  # Jinja never evaluated
                for payload in PAYLOADS.values():
                    shown = payload if len(payload) <= 80 else payload[:80]
                    if shown in ui.unplain(text):
                        assert ui.plain(shown) in text, f"{where}: {kind} echoes {shown!r} un-neutralised"
                        echoed += 1
    if page in READS_URL:
        assert echoed, f"{page} said nothing about the values it could not use"


def test_the_out_of_range_date_falls_back_with_a_notice(db):
    at = open_app("views/directory.py", as_of="2035-01-01")
    assert not at.exception and not at.error
    notice = next(w.value for w in at.warning if "as\\_of" in w.value or "as_of" in w.value)
    assert "“2035-01-01”" in ui.unplain(notice) and "outside 2019-01-01 to 2030-12-31" in ui.unplain(notice)
    assert "as_of" not in at.query_params  # the link is corrected to what is shown


def test_plain_neutralises_everything_markdown_would_interpret():
    for text in PAYLOADS.values():
        inert = ui.plain(text)
        assert ui.unplain(inert) == " ".join(text.split())
        assert not re.search(r"(?<!\\)[$*_\[\]<>#`]", inert)  # every markdown-active mark is escaped
        assert ":material/" not in inert and not re.search(r":\w", inert)  # no icon or shortcode survives
    assert ui.plain("a\n\n# b") == "a \\# b"  # no new block
