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
        frame = pd.read_parquet(source)
        frame = frame.astype({c: str for c in frame.columns if c in ("origin_id", "destination_id", *_ALIASES)
                              and frame[c].dtype == object})
    elif suffix in (".csv", ".txt", ".gz"):
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    else:
        raise ValueError(f"travel-time file {path.name}: expected .csv or .parquet, not {suffix or 'no extension'!r}")
    frame = frame.rename(columns={c: _ALIASES[c] for c in frame.columns if c in _ALIASES})
    if "minutes" not in frame.columns and "duration_sec" in frame.columns:
        seconds = _numbers(frame["duration_sec"], path, "duration_sec")
        frame = frame.assign(minutes=seconds / 60.0)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"travel-time file {path.name}: missing column(s) {missing}; found {list(frame.columns)} "
                         "(expected origin_id, destination_id, minutes; or OpenTimes' duration_sec, "
                         "or r5py's from_id, to_id, travel_time)")
    out = pd.DataFrame({"origin_id": _ids(frame["origin_id"]), "destination_id": _ids(frame["destination_id"]),
                        "minutes": _numbers(frame["minutes"], path, "minutes")})
    blank = out["minutes"].isna()
    if blank.any():
        row = int(np.flatnonzero(blank.to_numpy())[0])
        raise ValueError(f"travel-time file {path.name}: row {row + 2} has no minutes (column 'minutes')")
    negative = out["minutes"] < 0
    if negative.any():
        row = int(np.flatnonzero(negative.to_numpy())[0])
        raise ValueError(f"travel-time file {path.name}: row {row + 2} column 'minutes' is "
                         f"{out['minutes'].iloc[row]:g}, expected a number >= 0")
    twice = out.duplicated(["origin_id", "destination_id"])
    if twice.any():
        row = int(np.flatnonzero(twice.to_numpy())[0])
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
    site_full = pd.Series(site_ids).astype(str)
    if demand_ids.has_duplicates:
        raise ValueError(f"demand point id {demand_ids[demand_ids.duplicated()][0]!r} appears twice; "
                         "origins must name one point each")
    d_pos = pd.Series(np.arange(len(demand_ids)), index=demand_ids)
    lookup = dict(zip(site_full, range(len(site_full))))
    bare = site_full.str.split(":", n=1).str[-1]
    for key, pos in zip(bare, range(len(bare))):
        lookup.setdefault(key, pos)
    d = matrix["origin_id"].map(d_pos)
    s = matrix["destination_id"].map(lookup)
    ok = d.notna() & s.notna()
    keep = ok.copy()
    if max_minutes is not None:
        keep &= matrix["minutes"] <= max_minutes
    mentioned = np.zeros(len(demand_ids), dtype=bool)
    mentioned[d[ok].astype(int).to_numpy()] = True
    return Matched(
        d_idx=d[keep].to_numpy(dtype=np.intp), s_idx=s[keep].to_numpy(dtype=np.intp),
        minutes=matrix.loc[keep, "minutes"].to_numpy(dtype=float), rows=int(len(matrix)),
        unmatched_origins=int(matrix.loc[d.isna(), "origin_id"].nunique()),
        unmatched_destinations=int(matrix.loc[s.isna(), "destination_id"].nunique()),
        unmatched_rows=int((~ok).sum()), demand_without_pairs=int((~mentioned).sum()),
        source=str(matrix.attrs.get("source", "travel-time table")))


def nearest(matched: Matched, n_demand: int) -> np.ndarray:
    """Minutes to the nearest site in the table for each demand point (inf when it lists none)."""
    out = np.full(n_demand, np.inf)
    np.minimum.at(out, matched.d_idx, matched.minutes)
    return out


def _ids(series: pd.Series) -> pd.Series:
    """Ids as text; a numeric id read from Parquet (12.0) is written as 12."""
    text = series.astype(str).str.strip()
    return text.str.replace(r"^(\d+)\.0$", r"\1", regex=True)


def _numbers(series: pd.Series, path: Path, column: str) -> pd.Series:
    text = series.astype(str).str.strip()
    blank = text.isin(["", "nan", "None", "NA"]) | series.isna()
    values = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"travel-time file {path.name}: row {row + 2} column {column!r} is "
                         f"{series.iloc[row]!r}, expected a number")
    return values.astype(float)
