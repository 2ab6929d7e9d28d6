"""Validating rows: a `RawSheet` and a column mapping -> valid pods and rejected rows with every error and fix."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from itertools import count as numbers, repeat
from operator import attrgetter, is_not
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

import numpy as np

from podgeo import vocab
from podgeo.sheets.model import (GRADE_RANGE, POD_FIELDS, TARGETS, Fix, RawSheet, RejectedRow, RowError,
                                 SheetError, Validation, ValidRow)
from podgeo.sheets.states import _ALL_BOXES, _STATE_BOXES, _STATE_NAMES, _inside, _state_code
from podgeo.sheets.judge import Cell, judge as judge_column, parse_column
from podgeo.sheets.text import _key, _number_text, _short
from podgeo.sheets.values import _Invalid


def validate(raw: RawSheet, mapping: Mapping[str, str | None], *, existing_ids: Iterable[str] = frozenset(),
             state: str | None = None, values: Mapping[str, Mapping[str, str | None]] | None = None,
             keep: Iterable[str] = ()) -> Validation:
    """Check every row against the pod rules; split into valid rows (inserts/updates) and rejected rows.

    `state` is the upload's default state for rows that name none. Rows with an address and no
    coordinates are valid and marked `needs_geocode`. A row's pod_id is taken from the sheet or
    made from its name, address and state, so uploading the same file again updates, not duplicates.
    `values` holds the value table's choices ({field: {value: code, or None to leave it empty}}),
    applied to every row with that value. An optional column most of whose values fit nothing is
    left out with one note (`judge`), unless its field is in `keep` or has choices in `values`.
    Each distinct cell of a column is parsed once; the rows that break no rule are found and their pods
    built a column at a time (`_clean_rows`), and only the others go through `_check_row`, which says why.
    """
    plan = _plan(raw, mapping)
    default_state = None
    if state:
        default_state = _state_code(state)
        if default_state is None:
            raise ValueError(f"unknown state {state!r}: use a 2-letter code such as 'CA'")
    values = {f: dict(v) for f, v in (values or {}).items() if v}
    keep = set(keep) | set(values)
    notes = list(raw.notes)
    cells: dict[str, list[Cell]] = {}
    used = dict(mapping)
    judged = []
    for target, column in list(plan.source.items()):
        cells[target] = parse_column(raw, column, target, values.get(target))
        judgement = None if target in keep else judge_column(target, column, cells[target])
        if judgement:
            judged.append(judgement)
            notes.append(judgement.message)
            del plan.source[target], cells[target]
            used[column] = None
    if "fee_usd" in plan.source and plan.fee_per_month != 1.0:
        period = "weekly" if plan.fee_per_month > 1 else "yearly"
        notes.append(f"column '{plan.source['fee_usd']}' holds {period} fees and fee_usd is monthly: each was "
                     f"multiplied by {'52/12' if plan.fee_per_month > 1 else '1/12'}")
    existing = set(existing_ids)
    first_seen: dict[str, int] = {}
    valid: list[ValidRow] = []
    rejected: list[RejectedRow] = []
    fixes: list[Fix] = []
    inside = _points_inside(cells, plan, default_state)
    fast, geocode, records = _clean_rows(cells, plan, default_state, inside, len(raw.rows))
    targets = tuple(cells)
    # the usual row said as briefly as can be: a ValidRow made by tuple.__new__ (its own __new__ is Python)
    keep_valid, seen, made = valid.append, first_seen.setdefault, tuple.__new__
    for i, number, clean, record, needs_geocode in zip(numbers(), raw.row_numbers, fast, records, geocode):
        if clean:  # no rule broken: the pod was built column by column
            pod_id, errors, row_fixes = record[_POD_ID], (), ()
        else:
            row = {target: cells[target][i] for target in targets}
            pod, errors, row_fixes, needs_geocode = _check_row(number, row, plan, default_state, bool(inside[i]))
            pod_id, record = pod["pod_id"], None if errors else _values(pod)
        if not errors:
            first = seen(pod_id, number)
            if first == number:
                keep_valid(made(ValidRow, (number, record, "update" if pod_id in existing else "insert", needs_geocode)))
                continue
            target = "pod_id" if "pod_id" in cells and cells["pod_id"][i].text else "name"
            how = "pod_id" if target == "pod_id" else "name, address and state"
            errors = [RowError(number, plan.source[target], cells[target][i].original, "duplicate",
                               f"same {how} as row {first}; only the first is kept")]
        rejected.append(RejectedRow(number, dict(zip(raw.columns, raw.rows[i])), tuple(errors)))
        fixes.extend(row_fixes)
    unmapped = [c for c in raw.columns if not used.get(c)]
    if unmapped:
        notes.append(f"not imported (no pod column chosen): {', '.join(unmapped)}")
    return Validation(raw.filename, raw.sheet, raw.columns, used, tuple(valid), tuple(rejected),
                      tuple(fixes), tuple(notes), tuple(judged))


def apply_fixes(raw: RawSheet, fixes: Iterable[Fix]) -> RawSheet:
    """A copy of `raw` with the accepted fixes written into its cells; validate it again afterwards."""
    index = {number: i for i, number in enumerate(raw.row_numbers)}
    positions = {c: i for i, c in enumerate(raw.columns)}
    rows = [list(r) for r in raw.rows]
    for fix in fixes:
        if fix.row not in index:
            raise ValueError(f"fix for row {fix.row}: no such row in {raw.filename}")
        for column, text in fix.changes:
            if column not in positions:
                raise ValueError(f"fix for row {fix.row}: no column {column!r} in {raw.filename}")
            rows[index[fix.row]][positions[column]] = text
    return replace(raw, rows=tuple(tuple(r) for r in rows))


@dataclass
class _Plan:
    source: dict[str, str]  # target -> file column
    hemisphere: dict[str, int] = field(default_factory=dict)  # "lat"/"lon" -> -1 when the header says S/W
    fee_per_month: float = 1.0  # fee_usd is monthly: 52/12 when the header says weekly, 1/12 yearly


def _plan(raw: RawSheet, mapping: Mapping[str, str | None]) -> _Plan:
    """Check the mapping names real columns and targets, once each, and that name and a location exist."""
    if not isinstance(raw, RawSheet):
        raise TypeError("validate() needs the RawSheet from read_sheet()")
    source: dict[str, str] = {}
    for column, target in mapping.items():
        if not target:
            continue
        if column not in raw.columns:
            raise SheetError(f"{raw.filename}: the mapping names column {column!r}, which is not in the sheet")
        if target not in TARGETS:
            raise SheetError(f"{raw.filename}: column {column!r} is mapped to {target!r}, which is not a pod column")
        if target in source:
            raise SheetError(f"{raw.filename}: columns {source[target]!r} and {column!r} are both mapped to "
                             f"{target!r}; choose one")
        source[target] = column
    if "name" not in source:
        raise SheetError(f"{raw.filename}: no column is mapped to 'name', which every pod needs")
    if ("lat" in source) != ("lon" in source):
        have, missing = ("lat", "lon") if "lat" in source else ("lon", "lat")
        raise SheetError(f"{raw.filename}: a column is mapped to '{have}' but none to '{missing}'")
    if "lat" not in source and "address" not in source:
        raise SheetError(f"{raw.filename}: map columns to 'lat' and 'lon', or to 'address' (to geocode)")
    hemisphere = {}
    if "lat" in source and re.search(r"\(\s*s\s*\)|\bsouth\b", source["lat"], re.I):
        hemisphere["lat"] = -1
    if "lon" in source and re.search(r"\(\s*w\s*\)|\bwest\b", source["lon"], re.I):
        hemisphere["lon"] = -1
    fee_per_month = 1.0
    if "fee_usd" in source:
        words = set(re.findall(r"\w+", source["fee_usd"].casefold()))
        fee_per_month = next((factor for names, factor in _FEE_PERIODS if words & names), 1.0)
    return _Plan(source, hemisphere, fee_per_month)


_FEE_PERIODS = (({"week", "weekly", "wk", "semana", "semanal", "tuần", "每周", "주"}, 52 / 12),
                ({"year", "yearly", "annual", "annually", "año", "anual", "năm", "每年", "연"}, 1 / 12))


_EMPTY = Cell("", "")


_BLANK_POD = dict.fromkeys(POD_FIELDS)


def _points_inside(cells: dict[str, list], plan: _Plan, default_state: str | None):
    """Per row, whether its point lies in its state's box (the US's when the state is unknown), for the whole
    column at once; rows where this is False take the slow path that explains why and offers fixes."""
    count = len(next(iter(cells.values()))) if cells else 0
    if "lat" not in cells or "lon" not in cells:
        return np.zeros(count, dtype=bool)
    lat = np.array(_per_cell(cells["lat"], _number), float)
    lon = np.array(_per_cell(cells["lon"], _number), float)
    if plan.hemisphere.get("lat"):
        lat = np.where(lat > 0, -lat, lat)
    if plan.hemisphere.get("lon"):
        lon = np.where(lon > 0, -lon, lon)
    if "state" in cells:
        states = _per_cell(cells["state"], lambda c: (None if c.error is not None or c.text.startswith("=") else c.value)
                           if c.text else default_state)
    else:
        states = [default_state] * count
    codes = {code: k for k, code in enumerate(dict.fromkeys(states))}
    keys = np.fromiter(map(codes.__getitem__, states), int, count)
    by_state = {code: np.flatnonzero(keys == k) for code, k in codes.items()}
    inside = np.zeros(count, dtype=bool)
    for code, rows in by_state.items():
        for w, s, e, n in (_STATE_BOXES[code] if code else _ALL_BOXES):
            inside[rows] |= (w <= lon[rows]) & (lon[rows] <= e) & (s <= lat[rows]) & (lat[rows] <= n)
    return inside


def _clean_rows(cells: dict[str, list], plan: _Plan, default_state: str | None, inside, count: int):
    """The rows that break no rule, found a column at a time, with their pods built the same way.

    Returns (clean, needs_geocode, records): per row, whether it is clean, whether it needs geocoding,
    and its pod's values in POD_FIELDS order (meaningful for clean rows only). A row that is not clean
    (any cell in error or a formula, no name, a grade range or grades/dates out of order, one coordinate
    without the other, a point outside its state, no location) takes `_check_row`, which says why;
    for a clean row `_check_row` would build the same pod (tests/test_sheets_fast_paths.py compares).
    """
    clean = np.ones(count, dtype=bool)
    for target, column in cells.items():
        # one verdict per distinct Cell (rows holding one text share it), then one lookup a row
        if target == GRADE_RANGE:  # rare: `_check_row` merges it with the low/high columns
            verdict = _per_cell(column, _blank)
        elif target == "name":
            verdict = _per_cell(column, _filled_fit)
        else:
            verdict = _per_cell(column, _fit)
        clean &= np.fromiter(verdict, bool, count)
    empty = [None] * count

    def values(target: str, how=None) -> list:
        column = cells.get(target)
        if column is None:
            return empty
        return list(map(_VALUE, column)) if how is None else _per_cell(column, how)  # value is None when blank

    # list columns held as tuples (`ValidRow.pod` gives lists)
    pod = {f: values(f) for f in POD_FIELDS if f not in vocab.LIST_COLUMNS}
    for name in vocab.LIST_COLUMNS:
        pod[name] = values(name, _as_tuple) if name in cells else [()] * count
    if "fee_usd" in cells and plan.fee_per_month != 1.0:
        factor = plan.fee_per_month
        pod["fee_usd"] = values("fee_usd", lambda c: None if c.value is None else round(c.value * factor, 2))
    for low_name, high_name in (("grade_low", "grade_high"), ("opened_on", "closed_on")):
        if low_name in cells and high_name in cells:
            clean &= np.fromiter((lo is None or hi is None or not lo > hi
                                  for lo, hi in zip(pod[low_name], pod[high_name])), bool, count)
    if "state" in cells:
        pod["state"] = values("state", lambda c: c.value if c.text else default_state)
    else:
        pod["state"] = [default_state] * count
    has_lat = np.fromiter(map(is_not, pod["lat"], repeat(None)), bool, count)
    has_lon = np.fromiter(map(is_not, pod["lon"], repeat(None)), bool, count)
    address = np.fromiter(map(bool, pod["address"]), bool, count)
    geocode = ~has_lat & ~has_lon & address
    clean &= (has_lat & has_lon & inside) | geocode
    if "lat" in cells:
        for axis in ("lat", "lon"):
            flip = plan.hemisphere.get(axis)
            pod[axis] = values(axis, lambda c, flip=flip: None if c.value is None
                               else round(-c.value if flip and c.value > 0 else c.value, 6))
    keys: dict[str, str] = {}  # addresses repeat (a building's several programmes): each keyed once
    pod["pod_id"] = [given or (_id_for(name, where, lat, lon, state, keys) if ok else None)
                     for given, ok, name, where, lat, lon, state
                     in zip(pod["pod_id"], clean, pod["name"], pod["address"], pod["lat"], pod["lon"], pod["state"])]
    return clean.tolist(), geocode.tolist(), zip(*(pod[f] for f in POD_FIELDS))


_POD_ID = POD_FIELDS.index("pod_id")
_VALUE = attrgetter("value")


def _per_cell(column: list[Cell], how) -> list:
    """`how(cell)` for every row of a parsed column, computed once per distinct Cell (rows share them)."""
    done = {id(c): how(c) for c in set(column)}
    return list(map(done.__getitem__, map(id, column)))


def _number(cell: Cell) -> float:
    return np.nan if cell.value is None else cell.value  # None when blank or in error


def _fit(cell: Cell) -> bool:
    return cell.error is None and not cell.text.startswith("=")


def _filled_fit(cell: Cell) -> bool:
    return bool(cell.text) and _fit(cell)


def _blank(cell: Cell) -> bool:
    return not cell.text


def _as_tuple(cell: Cell) -> tuple:
    return tuple(cell.value) if cell.value else ()


def _values(pod: dict) -> tuple:
    """A pod dict as `ValidRow.values`: its values in POD_FIELDS order, lists as tuples."""
    return tuple(tuple(v) if isinstance(v, list) else v for v in map(pod.__getitem__, POD_FIELDS))


def _check_row(number: int, row: dict[str, Cell], plan: _Plan, default_state: str | None,
               inside: bool = False):
    """Validate one row from its parsed cells (target -> Cell): (pod dict, errors, fixes, needs_geocode).

    `inside`: the point is already known to lie in the row's state (checked for the column at once).
    """
    pod = dict(_BLANK_POD)
    for name in vocab.LIST_COLUMNS:
        pod[name] = []
    errors: list[RowError] = []
    fixes: list[Fix] = []
    src = plan.source

    def original(target: str | None) -> str:
        return row.get(target, _EMPTY).original if target else ""

    def fail(target: str, exc: _Invalid, value: str) -> None:
        column = src.get(target, "")
        errors.append(RowError(number, column, value, exc.rule, exc.message))
        if exc.fix:
            fixes.append(Fix(number, tuple(exc.fix.items()), exc.rule, exc.message))

    values: dict[str, str] = {}
    grade_range = None
    for target, cell in row.items():
        text = cell.text
        values[target] = text
        if text.startswith("="):
            errors.append(RowError(number, src[target], cell.original, "formula",
                                   f"'{_short(text)}' is a formula; formulas are not evaluated, type the value"))
            values[target] = ""
        elif cell.error is not None:
            fail(target, cell.error, cell.original)
        elif not text:
            continue
        elif target == GRADE_RANGE:
            grade_range = cell.value
        elif target == "fee_usd" and plan.fee_per_month != 1.0:
            pod[target] = round(cell.value * plan.fee_per_month, 2)
        else:
            value = cell.value
            pod[target] = list(value) if isinstance(value, list) else value  # lists are per row: never shared

    if not values.get("name") and not (errors and any(e.column == src["name"] for e in errors)):
        errors.append(RowError(number, src["name"], original("name"), "required", "a name is required"))

    # grades: explicit low/high columns win over a range column
    if grade_range is not None:
        low, high = grade_range
        pod["grade_low"] = pod["grade_low"] if values.get("grade_low") else low
        pod["grade_high"] = pod["grade_high"] if values.get("grade_high") else high
    if pod["grade_low"] is not None and pod["grade_high"] is not None and pod["grade_low"] > pod["grade_high"]:
        target = "grade_low" if values.get("grade_low") else GRADE_RANGE
        errors.append(RowError(number, src.get(target, ""), original(target), "grade_order",
                               f"lowest grade {vocab.grade_label(pod['grade_low'])} is above highest grade "
                               f"{vocab.grade_label(pod['grade_high'])}"))
    if pod["opened_on"] and pod["closed_on"] and pod["closed_on"] < pod["opened_on"]:
        errors.append(RowError(number, src["closed_on"], original("closed_on"), "date_order",
                               f"closed on {pod['closed_on']}, before it opened on {pod['opened_on']}"))

    if not pod["state"] and not values.get("state") and default_state:
        pod["state"] = default_state

    # coordinates
    lat, lon = pod["lat"], pod["lon"]
    lat_bad = bool(errors) and any(e.column == src.get("lat") for e in errors if "lat" in src)
    lon_bad = bool(errors) and any(e.column == src.get("lon") for e in errors if "lon" in src)
    if not lat_bad and not lon_bad and (lat is None) != (lon is None):
        have, missing = ("lat", "lon") if lat is not None else ("lon", "lat")
        errors.append(RowError(number, src[missing], original(missing), "coordinates_incomplete",
                               f"{'latitude' if have == 'lat' else 'longitude'} is given but "
                               f"{'longitude' if have == 'lat' else 'latitude'} is empty"))
    elif lat is not None and lon is not None:
        # a header such as "Longitude (W)" means positive numbers are west
        lat = -lat if plan.hemisphere.get("lat") and lat > 0 else lat
        lon = -lon if plan.hemisphere.get("lon") and lon > 0 else lon
        state_known = None if errors and any(e.column == src.get("state") for e in errors) else pod["state"]
        try:
            if not inside:
                _check_point(lat, lon, state_known, src["lat"], src["lon"])
            pod["lat"], pod["lon"] = round(lat, 6), round(lon, 6)
        except _Invalid as exc:
            fail("lat", exc, original("lat"))
    has_coords = pod["lat"] is not None and pod["lon"] is not None
    needs_geocode = False
    if not has_coords and not lat_bad and not lon_bad and not any(e.rule == "coordinates_incomplete"
                                                                  for e in errors):
        if values.get("address") and not any(e.column == src.get("address") for e in errors):
            needs_geocode = True
        elif not any(e.column in (src.get("lat"), src.get("lon")) for e in errors):
            target = "address" if "address" in src else "lat"
            errors.append(RowError(number, src.get(target), original(target), "location",
                                   "no coordinates and no street address, so the pod cannot be placed"))
    pod["pod_id"] = pod["pod_id"] or _make_id(pod)
    return pod, errors, fixes, needs_geocode


def _check_point(lat: float, lon: float, state: str | None, lat_col: str, lon_col: str) -> None:
    """Raise _Invalid unless (lat, lon) is in the US and in `state`; offer a swap/sign fix when one lands there."""
    if _inside(lat, lon, state):
        return
    where = f" in {state}" if state else " in the US"
    for new_lat, new_lon, rule, what in ((lon, lat, "swapped_coordinates", "latitude and longitude look swapped"),
                                         (lat, -lon, "longitude_sign", "the longitude's sign looks wrong"),
                                         (lon, -lat, "swapped_coordinates",
                                          "latitude and longitude look swapped, and the longitude's sign wrong")):
        if (new_lat, new_lon) != (lat, lon) and _inside(new_lat, new_lon, state):
            exc = _Invalid(rule, f"{what}: ({_fmt(lat)}, {_fmt(lon)}) is not{where}, ({_fmt(new_lat)}, "
                                 f"{_fmt(new_lon)}) is; accept the fix or correct the file")
            exc.fix = {lat_col: _fmt(new_lat), lon_col: _fmt(new_lon)}
            raise exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _Invalid("range", f"({_fmt(lat)}, {_fmt(lon)}) is not a position: latitude must be -90..90 and "
                                "longitude -180..180")
    if not _inside(lat, lon, None):
        raise _Invalid("outside_us", f"({_fmt(lat)}, {_fmt(lon)}) is outside the United States")
    raise _Invalid("outside_state", f"({_fmt(lat)}, {_fmt(lon)}) is outside {_STATE_NAMES[state]} ({state})")

def _fmt(x: float) -> str:
    return _number_text(round(x, 6))


def _make_id(pod: dict) -> str:
    """Deterministic id from normalised name + address + state (or rounded coordinates without an address)."""
    return _id_for(pod["name"], pod["address"], pod["lat"], pod["lon"], pod["state"])


def _id_for(name: str | None, address: str | None, lat: float | None, lon: float | None, state: str | None,
            address_keys: dict[str, str] | None = None) -> str:
    """`_make_id` from the values; `address_keys` caches the addresses' `_id_key`s across rows."""
    if address:
        where = address_keys.get(address) if address_keys is not None else None
        if where is None:
            where = _id_key(address)
            if address_keys is not None:
                address_keys[address] = where
    elif lat is not None and lon is not None:
        where = f"{lat:.4f},{lon:.4f}"
    else:
        where = ""
    key = "|".join([_id_key(name or ""), where, (state or "").upper()])
    return "pod-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


#: ASCII bytes as `_key` keys them: A-Z lower-cased, a-z and 0-9 kept, everything else a space (bytes.translate
#: is 4x faster than str.translate with a mapping)
_ASCII_KEY = bytes(c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 or 48 <= c <= 57 else 32 for c in range(256))


def _id_key(text: str) -> str:
    """Text as an id part. Latin-script text keeps its old ASCII key, so existing ids stay the same; other
    scripts (Hangul, Han, Arabic, Cyrillic...) keep their letters, which the ASCII key dropped ("" for all)."""
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII_KEY).split()).decode("ascii")  # _key's, without NFKD
    latin = all(c.isascii() or not c.isalnum() or unicodedata.name(c, "").startswith("LATIN")
                for c in unicodedata.normalize("NFKD", text))
    key = _key(text) if latin else ""
    if key or not text.strip():
        return key
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", folded).split()) or "".join(folded.split())
