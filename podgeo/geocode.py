"""US Census Geocoder batch client: street addresses -> coordinates, without ever losing a row.

Speaks the batch format in ../shared/data/OFFICIAL_SOURCES.md: a multipart POST with an
`addressFile` of header-less `id,street,city,state,zip` lines (1,000 per request here; the
service allows 10,000), answered by header-less CSV lines in any order with `Match`, `No_Match`
or `Tie` and the coordinates as one `"lon,lat"` field. The service fails intermittently (empty
replies, HTML pages in place of CSV), so a batch is retried with back-off and, if it still fails,
its rows come back `not_geocoded` with a message: the caller keeps every row either way.
Coordinates are NAD83, which differs from WGS84 by about a metre: ignored here.
"""
from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import dataclass, replace
from typing import Callable, Hashable, Iterable, Sequence

import requests

DEFAULT_URL = "https://geocoding.geo.census.gov/geocoder/locations/addressbatch"
URL_ENV = "PODGEO_GEOCODER_URL"
BATCH_SIZE = 1_000
MAX_BATCH = 10_000  # the service's documented limit per file
STATUSES = ("match", "no_match", "tie", "not_geocoded")
_INDICATORS = {"Match": "match", "No_Match": "no_match", "Tie": "tie"}


@dataclass(frozen=True)
class GeocodeResult:
    """The outcome for one address. `status` is one of STATUSES; lat/lon only on a match."""

    id: Hashable
    status: str
    lat: float | None = None
    lon: float | None = None
    match_type: str | None = None  # "Exact" or "Non_Exact"
    matched_address: str | None = None
    input_address: str | None = None
    tiger_line_id: str | None = None
    side: str | None = None
    state_fips: str | None = None  # geographies endpoint only, kept as text (leading zeros)
    county_fips: str | None = None
    tract: str | None = None
    block: str | None = None
    message: str = ""

    @property
    def matched(self) -> bool:
        return self.status == "match" and self.lat is not None


Row = tuple  # (id, street, city, state, zip)


def geocode_batch(rows: Iterable[Row], *, url: str | None = None, benchmark: str = "Public_AR_Current",
                  vintage: str | None = None, timeout: float = 300.0, retries: int = 3, backoff: float = 2.0,
                  batch_size: int = BATCH_SIZE, progress: Callable[[int, int], None] | None = None,
                  session: requests.Session | None = None) -> dict[Hashable, GeocodeResult]:
    """Geocode (id, street, city, state, zip) rows; returns a result for every id, never raising on service trouble.

    `url` defaults to $PODGEO_GEOCODER_URL, else the Census `locations` batch endpoint; a
    `geographies` URL also returns state/county/tract/block (vintage defaults to Current_Current).
    A batch whose response is not valid CSV is retried `retries` times, sleeping backoff * 2**n.
    If the service cannot be reached at all, the remaining batches are not tried and every row
    comes back `not_geocoded` with the reason in `message`.
    """
    rows = [tuple(r) for r in rows]
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size {batch_size} must be between 1 and {MAX_BATCH}")
    url = url or os.environ.get(URL_ENV) or DEFAULT_URL
    if vintage is None and "/geographies/" in url:
        vintage = "Current_Current"
    by_key = _index_rows(rows)
    results: dict[Hashable, GeocodeResult] = {}
    sendable = []
    for key, row in by_key.items():
        if not _text(row[1]):
            results[row[0]] = GeocodeResult(row[0], "not_geocoded", input_address=_input_address(row),
                                            message="no street address to geocode")
        else:
            sendable.append((key, row))
    total, done = len(rows), len(results)
    if progress:
        progress(done, total)
    own_session = session is None
    session = session or requests.Session()
    unreachable: str | None = None
    try:
        for start in range(0, len(sendable), batch_size):
            batch = dict(sendable[start:start + batch_size])
            if unreachable is None:
                parsed, failure, unreachable = _send(session, url, batch, benchmark, vintage, timeout, retries,
                                                     backoff)
            else:
                parsed, failure = {}, unreachable
            for key, row in batch.items():
                if key in parsed:
                    results[row[0]] = replace(parsed[key], id=row[0])
                elif failure:
                    results[row[0]] = GeocodeResult(row[0], "not_geocoded", input_address=_input_address(row),
                                                    message=failure)
                else:
                    results[row[0]] = GeocodeResult(row[0], "not_geocoded", input_address=_input_address(row),
                                                    message="the geocoder returned no line for this address")
            done += len(batch)
            if progress:
                progress(done, total)
    finally:
        if own_session:
            session.close()
    return {row[0]: results[row[0]] for row in rows}


def geocode_requests(pods: Iterable[dict]) -> list[Row]:
    """(pod_id, address, city, state, zip) for the pods that have an address and no coordinates."""
    return [(p["pod_id"], p.get("address") or "", p.get("city") or "", p.get("state") or "", p.get("zip") or "")
            for p in pods if p.get("address") and (p.get("lat") is None or p.get("lon") is None)]


def apply_geocodes(pods: Iterable[dict], results: dict[Hashable, GeocodeResult]) -> list[dict]:
    """Copies of the pods with lat/lon filled from matches and `geocode_status` set where a result exists."""
    out = []
    for pod in pods:
        pod = dict(pod)
        result = results.get(pod.get("pod_id"))
        if result is not None:
            pod["geocode_status"] = result.status
            if result.matched:
                pod["lat"], pod["lon"] = round(result.lat, 6), round(result.lon, 6)
        out.append(pod)
    return out


# ---------------------------------------------------------------------------------------------


class _BadResponse(Exception):
    """The service answered, but not with the batch CSV (HTML page, empty reply, garbled line)."""


def _index_rows(rows: Sequence[Row]) -> dict[str, Row]:
    """Request id text -> row; ids must be unique as text because the service echoes them as text."""
    by_key: dict[str, Row] = {}
    for row in rows:
        if len(row) != 5:
            raise ValueError(f"geocode row {row!r} must be (id, street, city, state, zip)")
        key = _text(row[0])
        if not key:
            raise ValueError(f"geocode row {row!r} has an empty id")
        if key in by_key:
            raise ValueError(f"geocode id {row[0]!r} appears twice; ids must be unique")
        by_key[key] = row
    return by_key


def _send(session, url, batch: dict[str, Row], benchmark, vintage, timeout, retries, backoff):
    """POST one batch with retries: (parsed results by id text, failure message or None, unreachable message or None)."""
    body = _request_body(batch)
    data = {"benchmark": benchmark}
    if vintage:
        data["vintage"] = vintage
    attempts = max(1, retries + 1)
    reason = ""
    connection_failed = False
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            response = session.post(url, files={"addressFile": ("batch.csv", body, "text/csv")}, data=data,
                                    timeout=(min(10.0, timeout), timeout))
        except (requests.ConnectionError, requests.Timeout) as exc:
            connection_failed = True
            reason = f"could not reach the geocoder at {url} ({type(exc).__name__})"
            continue
        except requests.RequestException as exc:
            connection_failed = False
            reason = f"the request to the geocoder at {url} failed ({type(exc).__name__}: {exc})"
            continue
        connection_failed = False
        try:
            if response.status_code != 200:
                raise _BadResponse(f"HTTP {response.status_code}")
            return _parse_response(response.content, batch), None, None
        except _BadResponse as exc:
            reason = f"the geocoder at {url} did not return batch CSV ({exc})"
    message = f"{reason}; gave up after {attempts} attempt{'s' if attempts > 1 else ''}, the row is kept without coordinates"
    return {}, message, (message if connection_failed else None)


def _request_body(batch: dict[str, Row]) -> bytes:
    """Header-less `id,street,city,state,zip` lines, quoted where a field holds a comma."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for key, row in batch.items():
        writer.writerow([key, *(_text(v) for v in row[1:])])
    return out.getvalue().encode("utf-8")


def _parse_response(content: bytes, batch: dict[str, Row]) -> dict[str, GeocodeResult]:
    """Results by id text; raises _BadResponse unless every line is a well-formed result for a sent id."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    stripped = text.lstrip()
    if not stripped:
        raise _BadResponse("empty reply")
    if stripped.startswith("<"):
        raise _BadResponse("an HTML page came back instead of CSV")
    parsed: dict[str, GeocodeResult] = {}
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _BadResponse(f"unreadable CSV: {exc}") from None
    for rec in records:
        if not rec or not any(f.strip() for f in rec):
            continue
        if len(rec) < 3 or rec[2] not in _INDICATORS:
            raise _BadResponse(f"unexpected line {_short(','.join(rec))!r}")
        key = rec[0].strip()
        if key not in batch:
            raise _BadResponse(f"a result for id {_short(key)!r}, which was not sent")
        status = _INDICATORS[rec[2]]
        result = GeocodeResult(key, status, input_address=rec[1])
        if status == "match":
            if len(rec) < 6:
                raise _BadResponse(f"a Match line without coordinates for id {_short(key)!r}")
            lon, lat = _lon_lat(rec[5])
            geo = (rec[8:12] + [None] * 4)[:4] if len(rec) >= 12 else [None] * 4
            result = replace(result, lat=lat, lon=lon, match_type=rec[3] or None, matched_address=rec[4] or None,
                             tiger_line_id=(rec[6] or None) if len(rec) > 6 else None,
                             side=(rec[7] or None) if len(rec) > 7 else None,
                             state_fips=geo[0] or None, county_fips=geo[1] or None, tract=geo[2] or None,
                             block=geo[3] or None, message=f"{rec[3] or 'Match'} match")
        elif status == "tie":
            result = replace(result, message="several candidates scored equally; check the address or place it by hand")
        else:
            result = replace(result, message="the geocoder found no match for this address")
        parsed[key] = result
    return parsed


def _lon_lat(field: str) -> tuple[float, float]:
    """The service's one "longitude,latitude" field -> (lon, lat), checked to be a position."""
    try:
        lon_text, lat_text = field.split(",")
        lon, lat = float(lon_text), float(lat_text)
    except ValueError:
        raise _BadResponse(f"coordinates {_short(field)!r} are not 'longitude,latitude'") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _BadResponse(f"coordinates {_short(field)!r} are out of range")
    return lon, lat


def _input_address(row: Row) -> str:
    return ", ".join(_text(v) for v in row[1:])


def _text(value) -> str:
    """A field as one clean line: None -> '', newlines and runs of spaces collapsed."""
    return "" if value is None else " ".join(str(value).split())


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
