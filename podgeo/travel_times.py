"""Access by travel time: read an origin-destination table of minutes and match it to the store's ids.

A travel-time table replaces straight-line distance in distance coverage, 2SFCA and E2SFCA: the
pairs it lists (within the chosen minutes) go through the same catchment core as the k-d tree's
pairs (`coverage.catchment_access`), so only the cost differs. Layouts read as they are published:
OpenTimes (origin_id, destination_id, duration_sec), r5py (from_id, to_id, travel_time) and a
long OSRM/plain table (origin_id, destination_id, minutes). Origins are demand point ids
(`demand_id`), destinations site ids as the store names them (`site_id` without its kind prefix,
or with it). Ids that match nothing are counted and reported, never dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: Column names each layout uses -> ours. Minutes may come as seconds (OpenTimes).
_ALIASES = {"from_id": "origin_id", "to_id": "destination_id", "travel_time": "minutes",
            "origin": "origin_id", "destination": "destination_id", "duration_min": "minutes"}
REQUIRED = ("origin_id", "destination_id", "minutes")


@dataclass(frozen=True)
class Matched:
    """Pairs as positions into the demand and site frames, their minutes, and what did not match."""

    d_idx: np.ndarray
    s_idx: np.ndarray
    minutes: np.ndarray
    rows: int  # rows in the file
    unmatched_origins: int  # distinct origin ids that are no demand point
    unmatched_destinations: int  # distinct destination ids that are no site
    unmatched_rows: int  # rows left out because either end matched nothing
    demand_without_pairs: int  # demand points the table never mentions (they reach nothing)
    source: str

    def describe(self) -> str:
        return (f"{self.source}: {self.rows:,} pairs; {self.unmatched_rows:,} rows left out because their ids "
                f"match nothing ({self.unmatched_origins:,} origin ids not among the demand points, "
                f"{self.unmatched_destinations:,} destination ids not among the sites); "
                f"{self.demand_without_pairs:,} demand points appear in no pair, so reach no site")


def read_matrix(path: str | Path, data: bytes | None = None) -> pd.DataFrame:
    """origin_id, destination_id (text) and minutes (float >= 0) from a CSV or Parquet file.

    `data`: the file's bytes (an upload), `path` then only names it. Raises ValueError naming the
    file, row and column of anything unreadable: a missing column, a minutes value that is not a
    number >= 0, or a pair listed twice.
    """
    import io

    path = Path(path)
    if data is None and not path.exists():
        raise FileNotFoundError(f"travel-time file {path} does not exist")
    source = io.BytesIO(data) if data is not None else path
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        names = pq.read_schema(source).names
        if data is not None:
            source.seek(0)
        ids = [c for c in names if c in ("origin_id", "destination_id", "from_id", "to_id", "origin", "destination")]
        # ids straight into categories: 10M text ids would otherwise cost seconds as Python strings
        frame = pq.read_table(source, read_dictionary=ids).to_pandas()
    elif suffix in (".csv", ".txt", ".gz"):
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    else:
        raise ValueError(f"travel-time file {path.name}: expected .csv or .parquet, not {suffix or 'no extension'!r}")
    frame = frame.rename(columns={c: _ALIASES[c] for c in frame.columns if c in _ALIASES})
    if "minutes" not in frame.columns and "duration_sec" in frame.columns:
        frame = frame.assign(minutes=_numbers(frame["duration_sec"], path, "duration_sec") / 60.0)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"travel-time file {path.name}: missing column(s) {missing}; found {list(frame.columns)} "
                         "(expected origin_id, destination_id, minutes; or OpenTimes' duration_sec, "
                         "or r5py's from_id, to_id, travel_time)")
    out = pd.DataFrame({"origin_id": _ids(frame["origin_id"]), "destination_id": _ids(frame["destination_id"]),
                        "minutes": _numbers(frame["minutes"], path, "minutes")})
    blank = out["minutes"].isna().to_numpy()
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise ValueError(f"travel-time file {path.name}: row {row + 2} has no minutes (column 'minutes')")
    negative = (out["minutes"] < 0).to_numpy()
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise ValueError(f"travel-time file {path.name}: row {row + 2} column 'minutes' is "
                         f"{out['minutes'].iloc[row]:g}, expected a number >= 0")
    o = out["origin_id"].cat.codes.to_numpy().astype(np.int64)
    d = out["destination_id"].cat.codes.to_numpy().astype(np.int64)
    key = np.sort(o * (len(out["destination_id"].cat.categories) + 1) + d)  # a sort beats hashing 10M pairs
    if len(key) > 1 and (key[1:] == key[:-1]).any():
        twice = out.duplicated(["origin_id", "destination_id"]).to_numpy()
        row = int(np.flatnonzero(twice)[0])
        raise ValueError(f"travel-time file {path.name}: row {row + 2} repeats the pair "
                         f"{out['origin_id'].iloc[row]!r} -> {out['destination_id'].iloc[row]!r}")
    out.attrs["source"] = path.name
    return out


def match(matrix: pd.DataFrame, demand_ids, site_ids, *, max_minutes: float | None = None) -> Matched:
    """Positions of each pair's demand point and site, for pairs within `max_minutes` (all if None).

    A site id matches with or without its kind prefix ("libraries:12" or "12"). Unmatched ids are
    counted over the whole table, before the minutes cut, so the report does not depend on N.
    """
    demand_ids = pd.Index(pd.Series(demand_ids).astype(str))
    site_full = pd.Index(pd.Series(site_ids).astype(str))
    if demand_ids.has_duplicates:
        raise ValueError(f"demand point id {demand_ids[demand_ids.duplicated()][0]!r} appears twice; "
                         "origins must name one point each")
    origin = _as_ids(matrix["origin_id"])
    destination = _as_ids(matrix["destination_id"])
    # look ids up once per distinct id (the categories), then index by each row's code
    o_pos = demand_ids.get_indexer(origin.cat.categories)
    d_cats = destination.cat.categories
    d_pos = site_full.get_indexer(d_cats)
    bare = pd.Index(site_full.str.split(":", n=1).str[-1])
    first_bare = pd.Series(np.arange(len(bare))).groupby(bare.to_numpy()).first()
    by_bare = pd.Series(d_cats).map(first_bare).fillna(-1).to_numpy(dtype=np.intp)
    d_pos = np.where(d_pos >= 0, d_pos, by_bare)
    o_codes = origin.cat.codes.to_numpy()
    d_codes = destination.cat.codes.to_numpy()
    o_pos = np.append(o_pos, -1)  # code -1 (a missing id) looks up the last slot: unmatched
    d_pos = np.append(d_pos, -1)
    bad = (o_pos[o_codes] < 0) | (d_pos[d_codes] < 0)  # one byte per row; positions only for kept rows
    minutes = matrix["minutes"].to_numpy(dtype=float)
    keep = ~bad if max_minutes is None else ~bad & (minutes <= max_minutes)
    o_seen = np.bincount(o_codes[~bad] if (~bad).any() else np.empty(0, dtype=np.intp),
                         minlength=len(o_pos)) > 0  # origins with at least one matched pair
    mentioned = np.zeros(len(demand_ids), dtype=bool)
    mentioned[o_pos[np.flatnonzero(o_seen)]] = True
    used_o = np.bincount(o_codes + 1, minlength=len(o_pos) + 1)[1:] > 0
    used_d = np.bincount(d_codes + 1, minlength=len(d_pos) + 1)[1:] > 0
    return Matched(
        d_idx=o_pos[o_codes[keep]].astype(np.intp), s_idx=d_pos[d_codes[keep]].astype(np.intp),
        minutes=minutes[keep], rows=int(len(matrix)),
        unmatched_origins=int((used_o[:-1] & (o_pos[:-1] < 0)).sum()),
        unmatched_destinations=int((used_d[:-1] & (d_pos[:-1] < 0)).sum()),
        unmatched_rows=int(bad.sum()), demand_without_pairs=int((~mentioned).sum()),
        source=str(matrix.attrs.get("source", "travel-time table")))


def nearest(matched: Matched, n_demand: int) -> np.ndarray:
    """Minutes to the nearest site in the table for each demand point (inf when it lists none)."""
    out = np.full(n_demand, np.inf)
    np.minimum.at(out, matched.d_idx, matched.minutes)
    return out


def _ids(series: pd.Series) -> pd.Series:
    """Ids as categorical text, tidied once per distinct id: stripped, and a numeric id (12.0) as 12."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if pd.api.types.is_float_dtype(uniques.dtype) and np.all(np.mod(uniques[np.isfinite(uniques)], 1) == 0):
        text = pd.Index(uniques).map(lambda v: f"{v:.0f}")
    else:
        text = pd.Index(uniques.astype(str)).str.strip().str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    if text.has_duplicates:  # " 12" and "12" were two ids in the file and are one now
        codes, text = pd.factorize(np.asarray(text)[codes])
        text = pd.Index(text)
    return pd.Series(pd.Categorical.from_codes(codes, categories=text), index=series.index)


def _as_ids(series: pd.Series) -> pd.Series:
    """A table built in code (not read) may hold plain text ids: make them categorical too."""
    return series if isinstance(series.dtype, pd.CategoricalDtype) else _ids(series)


def _numbers(series: pd.Series, path: Path, column: str) -> pd.Series:
    """Floats; numeric columns (Parquet) as they are, text parsed with the row of the first bad value."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(float)
    text = series.astype(str).str.strip()
    blank = text.isin(["", "nan", "None", "NA"]) | series.isna()
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"travel-time file {path.name}: row {row + 2} column {column!r} is "
                         f"{series.iloc[row]!r}, expected a number")
    return values.astype(float)
