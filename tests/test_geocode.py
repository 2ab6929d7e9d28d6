"""The Census batch geocoder client against a fake server on 127.0.0.1 speaking the documented format.

The fake answers like the recorded responses in ../shared/data/OFFICIAL_SOURCES.md: no header,
every field quoted, lines out of order, "lon,lat" in one field, No_Match and Tie lines with
three fields, and (in some modes) an HTML page or an HTTP 500 before the CSV.
"""
from __future__ import annotations

import csv
import email.parser
import email.policy
import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from podgeo import geocode, sheets
from podgeo.geocode import GeocodeResult, apply_geocodes, geocode_batch, geocode_requests

HTML_PAGE = b"""<!DOCTYPE html><html><head><title>Census Geocoder</title></head>
<body><div id="NAV_1">Service temporarily unavailable</div></body></html>"""


class FakeCensus:
    """Holds the mode, the failures still to serve, and every request the fake received."""

    def __init__(self):
        self.requests: list[dict] = []
        self.fail_first: list[bytes | int] = []  # served in order before real answers: HTML bytes or a status
        self.always: bytes | int | None = None
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = self.base + "/geocoder/locations/addressbatch"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fields = _multipart(self.headers["Content-Type"], body)
                with fake.lock:
                    fake.requests.append({"path": self.path, **fields})
                    failure = fake.fail_first.pop(0) if fake.fail_first else fake.always
                if isinstance(failure, int):
                    return self._send(failure, b"Internal Server Error", "text/plain")
                if isinstance(failure, bytes):
                    return self._send(200, failure, "text/html")
                geographies = "/geographies/" in self.path
                lines = [_answer(rec, geographies) for rec in csv.reader(io.StringIO(fields["addressFile"]))]
                lines.reverse()  # the service does not keep input order
                self._send(200, "\n".join(lines).encode("utf-8") + b"\n", "text/plain",
                           {"Content-Disposition": "attachment; filename=GeocodeResults.csv"})

            def _send(self, status, payload, ctype, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _multipart(content_type: str, body: bytes) -> dict[str, str]:
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields[name] = part.get_payload(decode=True).decode("utf-8")
        if name == "addressFile":
            fields["filename"] = part.get_filename()
    return fields


def _answer(rec: list[str], geographies: bool) -> str:
    """One response line for one request record, chosen by the street text."""
    uid, street, city, state, zip_ = rec
    echo = f"{street}, {city}, {state}, {zip_}"
    if "Wistful Vista" in street:
        return _q(uid, echo, "No_Match")
    if street == "123 Main St":
        return _q(uid, echo, "Tie")
    n = int("".join(ch for ch in uid if ch.isdigit()) or 0) % 1000
    coords = f"{-122.0 - n / 10000:.6f},{37.0 + n / 10000:.6f}"
    line = [uid, echo, "Match", "Exact", echo.upper(), coords, "59653655", "R"]
    if geographies:
        line += ["06", "001", "005000", "0102"]
    return _q(*line)


def _q(*fields: str) -> str:
    return ",".join('"' + f + '"' for f in fields)


@pytest.fixture
def census():
    fake = FakeCensus()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


ROWS = [
    ("1", "4600 Silver Hill Rd", "SUITLAND", "MD", "20746"),
    ("2", "79 Wistful Vista", "Wistful Vista", "IL", ""),
    ("3", "3 Gramercy Park West", "New York", "NY", "10003"),
    ("4", "123 Main St", "Springfield", "", ""),
]


def test_match_no_match_and_tie_are_joined_by_id_out_of_order(census):
    results = geocode_batch(ROWS, url=census.url, backoff=0)
    assert list(results) == ["1", "2", "3", "4"]  # the caller's order, although the lines came back reversed
    assert {k: r.status for k, r in results.items()} == {"1": "match", "2": "no_match", "3": "match", "4": "tie"}
    three = results["3"]
    assert (three.lon, three.lat) == (-122.0003, 37.0003)  # "lon,lat" in one field, longitude first
    assert three.match_type == "Exact" and three.matched_address == "3 GRAMERCY PARK WEST, NEW YORK, NY, 10003"
    assert three.tiger_line_id == "59653655" and three.side == "R" and three.matched
    assert three.tract is None  # the locations endpoint has no geographies
    assert results["2"].lat is None and results["4"].lat is None and not results["4"].matched
    assert "several candidates" in results["4"].message


def test_request_is_the_documented_multipart_without_header(census):
    geocode_batch([("a,1", "1 Main St, Suite 2", "Oakland", "CA", "94612")] + ROWS[:1], url=census.url, backoff=0)
    (req,) = census.requests
    assert req["path"] == "/geocoder/locations/addressbatch"
    assert req["benchmark"] == "Public_AR_Current" and "vintage" not in req
    assert req["filename"] == "batch.csv"
    assert req["addressFile"] == ('"a,1","1 Main St, Suite 2",Oakland,CA,94612\n'
                                  "1,4600 Silver Hill Rd,SUITLAND,MD,20746\n")


def test_geographies_endpoint_sends_a_vintage_and_keeps_codes_as_text(census):
    results = geocode_batch(ROWS[:1], url=census.base + "/geocoder/geographies/addressbatch", backoff=0)
    assert census.requests[0]["vintage"] == "Current_Current"
    r = results["1"]
    assert (r.state_fips, r.county_fips, r.tract, r.block) == ("06", "001", "005000", "0102")


def test_large_inputs_go_in_batches_of_1000_and_keep_every_row(census):
    rows = [(i, f"{i} Oak St", "Oakland", "CA", "94612") for i in range(2500)]
    seen = []
    results = geocode_batch(rows, url=census.url, backoff=0, progress=lambda done, total: seen.append((done, total)))
    assert [len(r["addressFile"].splitlines()) for r in census.requests] == [1000, 1000, 500]
    assert list(results) == list(range(2500))  # ids keep their type (int here)
    assert all(r.status == "match" for r in results.values())
    assert seen == [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]


def test_html_page_then_csv_is_retried(census):
    census.fail_first = [HTML_PAGE]
    results = geocode_batch(ROWS, url=census.url, backoff=0)
    assert len(census.requests) == 2
    assert results["1"].status == "match"


def test_http_500_then_csv_is_retried(census):
    census.fail_first = [500, 503]
    results = geocode_batch(ROWS[:1], url=census.url, retries=2, backoff=0)
    assert len(census.requests) == 3 and results["1"].matched


def test_html_every_time_gives_up_and_keeps_every_row(census):
    census.always = HTML_PAGE
    results = geocode_batch(ROWS, url=census.url, retries=2, backoff=0)
    assert len(census.requests) == 3
    assert [r.status for r in results.values()] == ["not_geocoded"] * 4
    assert "HTML page" in results["1"].message and "3 attempts" in results["1"].message


def test_unreachable_service_returns_not_geocoded_with_a_clear_message():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rows = [(i, f"{i} Oak St", "Oakland", "CA", "") for i in range(5)]
    results = geocode_batch(rows, url=f"http://127.0.0.1:{port}/geocoder/locations/addressbatch", retries=1,
                            backoff=0, batch_size=2, timeout=5)
    assert list(results) == list(range(5))
    assert {r.status for r in results.values()} == {"not_geocoded"}
    assert all("could not reach the geocoder" in r.message and str(port) in r.message for r in results.values())


def test_url_comes_from_the_environment(census, monkeypatch):
    monkeypatch.setenv(geocode.URL_ENV, census.url)
    assert geocode_batch(ROWS[:1], backoff=0)["1"].matched
    assert len(census.requests) == 1


def test_rows_without_street_are_not_sent_and_ids_must_be_unique(census):
    results = geocode_batch([("x", "  ", "Oakland", "CA", "94612")], url=census.url)
    assert results["x"] == GeocodeResult("x", "not_geocoded", input_address=", Oakland, CA, 94612",
                                         message="no street address to geocode")
    assert census.requests == []
    with pytest.raises(ValueError, match="appears twice"):
        geocode_batch([ROWS[0], ROWS[0]], url=census.url)


def test_garbled_line_counts_as_a_bad_response():
    batch = {"1": ROWS[0]}
    with pytest.raises(geocode._BadResponse, match="unexpected line"):
        geocode._parse_response(b'"1","x","Maybe"\n', batch)
    with pytest.raises(geocode._BadResponse, match="not 'longitude,latitude'"):
        geocode._parse_response(b'"1","x","Match","Exact","X","#NAV_1","1","L"\n', batch)
    with pytest.raises(geocode._BadResponse, match="empty reply"):
        geocode._parse_response(b"\n", batch)


def test_validated_pods_needing_geocode_round_trip(census):
    data = (b"name,address,city,state,zip\n"
            b"Oak Hub,1 Oak St,Oakland,CA,94612\n"
            b"Vista Pod,79 Wistful Vista,Wistful Vista,IL,\n")
    validation = sheets.validate(sheets.read_sheet(data, "pods.csv"),
                                 sheets.suggest_mapping(["name", "address", "city", "state", "zip"]))
    assert validation.counts["needs_geocode"] == 2
    requests_ = geocode_requests(validation.pods)
    assert [r[1:] for r in requests_] == [("1 Oak St", "Oakland", "CA", "94612"),
                                         ("79 Wistful Vista", "Wistful Vista", "IL", "")]
    results = geocode_batch(requests_, url=census.url, backoff=0)
    pods = apply_geocodes(validation.pods, results)
    assert [(p["geocode_status"], p["lat"] is not None) for p in pods] == [("match", True), ("no_match", False)]
    assert validation.pods[0]["lat"] is None  # inputs are not modified
