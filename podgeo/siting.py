"""Where to open the next hubs: maximal covering (MCLP) and set covering (LSCP) with PySAL spopt.

Pure functions over arrays and frames; no store, no page. A siting instance is two sparse
coverage matrices (demand point x site, True when the site is within reach) for the candidate
sites and the existing pods, plus each point's weight (children in need). `maximal_cover`
chooses `n_new` candidates that, with every existing pod kept open (spopt's predefined
facilities), cover the most weight; `set_cover` answers "how many new hubs reach every child
in need who can be reached at all". Both are solved by CBC, the solver PuLP ships, under a
time limit; CBC's own log gives the status, bound and gap, and when CBC cannot finish the
greedy answer is returned and labelled as such, never passed off as optimal.

The model is spopt's (`spopt.locate.MCLP`, `LSCP`: its variables, predefined-facility and
facility-count constraints, its status check) with two changes that leave the optimum exactly
as it is: demand points with identical coverage are merged (weights added) and candidates
that can add nothing are dropped, and the coverage constraints are written from the sparse
matrix (spopt's builder loops over every site for every point: 44 s to build California's
9,815 x 1,173 instance, where the solve takes under a second).
"""
from __future__ import annotations

import csv
import io
import math
import re
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
from scipy import sparse
from scipy.spatial import cKDTree

from podgeo import travel_times

EQUAL_AREA_CRS = "EPSG:5070"
METRES_PER_MILE = 1609.344
DEFAULT_TIME_LIMIT = 60.0
SOLVER = "CBC (COIN-OR branch and cut, the binary bundled with PuLP)"
#: Upload limits for a candidate CSV (name, lat, lon): checked before any row is read.
MAX_UPLOAD_BYTES = 1_000_000
MAX_UPLOAD_ROWS = 5_000
#: Method labels; anything but OPTIMAL says the answer is not proven best.
OPTIMAL = "optimal"
TIME_LIMITED = "best found within the time limit (not proven optimal)"
GREEDY = "greedy (CBC could not finish; not optimal)"
TRIVIAL = "every candidate that adds coverage (fewer than asked for)"


@dataclass
class Instance:
    """Weights (n_points) and coverage by candidates (n_points x n_candidates) and existing pods."""

    weights: np.ndarray
    candidates: sparse.csr_matrix
    existing: sparse.csr_matrix

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=float)
        if w.ndim != 1 or not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights must be one finite number >= 0 per demand point")
        self.weights = w
        self.candidates = sparse.csr_matrix(self.candidates, dtype=bool)
        self.existing = sparse.csr_matrix(self.existing, dtype=bool)
        for name, m in (("candidates", self.candidates), ("existing", self.existing)):
            if m.shape[0] != len(w):
                raise ValueError(f"{name} coverage has {m.shape[0]} rows for {len(w)} demand points")

    @property
    def covered_by_existing(self) -> np.ndarray:
        return np.asarray(self.existing.sum(axis=1)).ravel() > 0

    def covered(self, chosen) -> np.ndarray:
        """Which points are within reach of an existing pod or one of the `chosen` candidates."""
        cols = list(chosen)
        by_new = np.asarray(self.candidates[:, cols].sum(axis=1)).ravel() > 0 if cols else False
        return self.covered_by_existing | by_new


@dataclass
class Siting:
    """What `maximal_cover` found: picks in order of what each adds, and how it was found."""

    chosen: list[int]  # candidate column indices, in order of marginal gain
    gains: list[float]  # weight each pick newly covers, in that order
    total: float  # all weight (reachable or not)
    covered_before: float  # by existing pods alone
    covered_after: float
    method: str  # OPTIMAL, TIME_LIMITED, GREEDY or TRIVIAL
    status: str  # CBC's result line, or why CBC was not run
    gap: float | None  # relative gap CBC proved (0 when optimal); None when unknown
    bound: float | None  # CBC's bound on the best coverage
    seconds: float
    greedy_after: float  # what greedy alone covers, for comparison
    model_size: dict = field(default_factory=dict)
    requested: int = 0


@dataclass
class SetCover:
    """What `set_cover` found: new hubs needed so every reachable child in need is covered."""

    count: int | None
    method: str
    status: str
    gap: float | None
    bound: float | None
    seconds: float
    reachable_weight: float  # weight some candidate or pod can reach
    unreachable_weight: float  # weight no candidate or pod is within reach of
    chosen: list[int] = field(default_factory=list)


def within_radius(demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, radius_miles: float) -> sparse.csr_matrix:
    """Straight-line coverage: True where the site is at most `radius_miles` from the point (EPSG:5070)."""
    if not (_is_number(radius_miles) and 0 < radius_miles <= 200):
        raise ValueError(f"radius_miles {radius_miles!r} must be a number of miles above 0 and at most 200")
    dxy, sxy = _xy(demand, "demand"), _xy(sites, "sites")
    shape = (len(dxy), len(sxy))
    if not len(dxy) or not len(sxy):
        return sparse.csr_matrix(shape, dtype=bool)
    radius_m = float(radius_miles) * METRES_PER_MILE
    pairs = cKDTree(dxy).sparse_distance_matrix(cKDTree(sxy), radius_m * (1 + 1e-9), output_type="ndarray")
    keep = pairs["v"] <= radius_m
    return sparse.csr_matrix((np.ones(int(keep.sum()), dtype=bool), (pairs["i"][keep], pairs["j"][keep])),
                             shape=shape)


def within_minutes(demand_ids, site_ids, times: pd.DataFrame, minutes: float) -> sparse.csr_matrix:
    """Travel-time coverage from a long table: True where the pair's minutes <= `minutes`.

    Columns demand_id, site_id, minutes, or the travel-time reader's origin_id, destination_id,
    minutes; a site id matches with or without its kind prefix ("libraries:12" or "12"). Pairs
    missing from the table are not covered (unknown is never within reach).
    """
    return minutes_cover(demand_ids, site_ids, times, minutes)[0]


def minutes_cover(demand_ids, site_ids, times: pd.DataFrame, minutes: float):
    """`within_minutes` and `travel_times.match`'s report (rows, ids matching no point or site), so a
    caller can say what the table left out: the Coverage page's own matcher, not a second one."""
    if not (_is_number(minutes) and minutes > 0):
        raise ValueError(f"minutes {minutes!r} must be a positive number")
    times = times.rename(columns={"demand_id": "origin_id", "site_id": "destination_id"})
    missing = [c for c in travel_times.REQUIRED if c not in times.columns]
    if missing:
        raise ValueError(f"travel times: missing column(s) {missing}; found {list(times.columns)}")
    demand_ids, site_ids = list(demand_ids), list(site_ids)
    matched = travel_times.match(times, demand_ids, site_ids, max_minutes=float(minutes))
    cover = sparse.csr_matrix((np.ones(len(matched.d_idx), dtype=bool), (matched.d_idx, matched.s_idx)),
                              shape=(len(demand_ids), len(site_ids)))
    return cover, matched


def maximal_cover(instance: Instance, n_new: int, *, time_limit: float = DEFAULT_TIME_LIMIT,
                  gap: float = 0.0) -> Siting:
    """Choose `n_new` candidates maximising the weight covered, every existing pod kept open (MCLP).

    Solved by CBC within `time_limit` seconds to relative gap `gap` (0 = prove optimal). The
    picks come back ordered by what each adds given the pods and the picks before it.
    """
    if not (isinstance(n_new, (int, np.integer)) and not isinstance(n_new, bool) and n_new >= 1):
        raise ValueError(f"n_new {n_new!r} must be a whole number >= 1")
    _check_limits(time_limit, gap)
    started = time.perf_counter()
    w = instance.weights
    before = float(w[instance.covered_by_existing].sum())
    greedy, _ = greedy_cover(instance, n_new)
    greedy_after = float(w[instance.covered(greedy)].sum())
    red = _reduce(instance)
    size = {"points": len(w), "candidates": instance.candidates.shape[1], "existing": instance.existing.shape[1],
            "rows": red.rows.shape[0], "useful_candidates": len(red.cand_cols)}
    if len(red.cand_cols) <= n_new:  # nothing to choose: take every candidate that adds anything
        chosen, method, status, gap_found, bound = list(red.cand_cols), TRIVIAL, "not needed", 0.0, None
    else:
        chosen, status, gap_found, bound = _solve_mclp(red, int(n_new), time_limit, gap, start=greedy)
        method = OPTIMAL if status == "optimal" else TIME_LIMITED
        if chosen is None or float(w[instance.covered(chosen)].sum()) < greedy_after:
            chosen, method = list(greedy), GREEDY  # CBC's incumbent (if any) is worse than greedy
    ordered, gains = _order_by_gain(instance, chosen)
    after = float(w[instance.covered(ordered)].sum())
    return Siting(ordered, gains, float(w.sum()), before, after, method, status, gap_found, bound,
                  time.perf_counter() - started, greedy_after, size, int(n_new))


def greedy_cover(instance: Instance, n_new: int) -> tuple[list[int], list[float]]:
    """The classic greedy answer: repeatedly add the candidate that newly covers the most weight.

    Ties go to the lowest index; stops early when no candidate adds anything.
    """
    return _greedy(instance, range(instance.candidates.shape[1]), n_new)


def set_cover(instance: Instance, *, time_limit: float = DEFAULT_TIME_LIMIT) -> SetCover:
    """The fewest new hubs so every point with weight that any site can reach is covered (LSCP).

    Existing pods are predefined (open, not counted). Points no candidate or pod reaches cannot
    be covered by any choice; their weight is reported, not silently dropped.
    """
    _check_limits(time_limit, 0.0)
    started = time.perf_counter()
    w = instance.weights
    reach = instance.covered(range(instance.candidates.shape[1]))
    positive = w > 0
    reachable, unreachable = float(w[positive & reach].sum()), float(w[positive & ~reach].sum())
    red = _reduce(instance)
    todo = ~red.by_existing  # rows an existing pod already covers need nothing
    if not todo.any():
        return SetCover(0, OPTIMAL, "not needed", 0.0, 0.0, time.perf_counter() - started, reachable, unreachable)
    chosen, status, gap_found, bound = _solve_lscp(red, time_limit)
    method = OPTIMAL if status == "optimal" else TIME_LIMITED
    greedy, _ = _greedy(instance, range(instance.candidates.shape[1]), instance.candidates.shape[1])
    if chosen is None or len(chosen) > len(greedy):
        chosen, method = greedy, GREEDY
    return SetCover(len(chosen), method, status, gap_found, bound, time.perf_counter() - started, reachable,
                    unreachable, sorted(chosen))


def parse_cbc_log(text: str) -> dict:
    """CBC's closing lines -> {"result", "objective", "bound", "gap"} (None where absent).

    "Result - Optimal solution found" gives gap 0; "Stopped on time limit" gives CBC's printed
    bound ("Lower bound" with an incumbent, "Upper bound" without one) and gap. Signs are CBC's (it minimises; PuLP negates a maximisation), so callers take
    absolute values.
    """
    def number(label):
        found = re.findall(rf"^{label}:\s+(-?[0-9.eE+-]+)", text, flags=re.M)
        return float(found[-1]) if found else None

    result = re.findall(r"^Result - (.+?)\s*$", text, flags=re.M)
    out = {"result": result[-1] if result else None, "objective": number("Objective value"),
           "bound": number("Lower bound") if number("Lower bound") is not None else number("Upper bound"),
           "gap": number("Gap")}
    if out["result"] and out["result"].startswith("Optimal solution found"):
        out["gap"] = 0.0
        out["bound"] = out["objective"] if out["bound"] is None else out["bound"]
    return out


class CandidateFileError(ValueError):
    """An uploaded candidate CSV was refused; `errors` lists (row, column, message)."""

    def __init__(self, errors: list[tuple[int | None, str | None, str]]):
        self.errors = errors
        shown = "; ".join(_where(r, c) + m for r, c, m in errors[:10])
        more = f"; and {len(errors) - 10} more" if len(errors) > 10 else ""
        super().__init__(f"candidate file: {shown}{more}")


def read_candidates_csv(data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES,
                        max_rows: int = MAX_UPLOAD_ROWS) -> pd.DataFrame:
    """An uploaded CSV of candidate sites (columns name, lat, lon; others ignored) -> name, lat, lon, row.

    Checks size before reading and the row count while reading; every bad cell is listed by
    row (1 = the header) and column, and nothing is returned unless every row is good.
    """
    if len(data) > max_bytes:
        raise CandidateFileError([(None, None, f"file is {len(data):,} bytes; at most {max_bytes:,} allowed")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CandidateFileError([(None, None, f"not UTF-8 text (byte {exc.start})")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise CandidateFileError([(None, None, "the file is empty; expected a header row name,lat,lon")])
    names = [h.strip().lower() for h in header]
    missing = [c for c in ("name", "lat", "lon") if c not in names]
    if missing:
        raise CandidateFileError([(1, None, f"missing column(s) {missing}; found {header[:12]}")])
    at = {c: names.index(c) for c in ("name", "lat", "lon")}
    rows, errors = [], []
    for number, record in enumerate(reader, start=2):
        if number - 1 > max_rows:
            raise CandidateFileError([(number, None, f"more than {max_rows:,} rows; split the file")])
        if not any(cell.strip() for cell in record):
            continue
        cells = {c: (record[i].strip() if i < len(record) else "") for c, i in at.items()}
        if not cells["name"]:
            errors.append((number, "name", "is empty"))
        elif len(cells["name"]) > 200:
            errors.append((number, "name", "is longer than 200 characters"))
        values = {}
        for column, low, high in (("lat", -90, 90), ("lon", -180, 180)):
            try:
                value = float(cells[column])
            except ValueError:
                errors.append((number, column, f"{cells[column][:40]!r} is not a number"))
                continue
            if not (math.isfinite(value) and low <= value <= high):
                errors.append((number, column, f"{value:g} is not in {low}..{high}"))
                continue
            values[column] = value
        rows.append({"name": cells["name"], **values, "row": number})
    if errors:
        raise CandidateFileError(errors)
    if not rows:
        raise CandidateFileError([(None, None, "no data rows under the header")])
    return pd.DataFrame(rows, columns=["name", "lat", "lon", "row"])


def spopt_version() -> str:
    import spopt

    return spopt.__version__


def pulp_version() -> str:
    import pulp

    return pulp.__version__


# ---------------------------------------------------------------------------------------------
# private helpers
# ---------------------------------------------------------------------------------------------

@dataclass
class _Reduced:
    """Merged rows (identical coverage, weights added) over [existing pods | useful candidates]."""

    rows: sparse.csr_matrix  # merged rows x (n_existing + len(cand_cols))
    weights: np.ndarray
    by_existing: np.ndarray  # merged row covered by an existing pod
    n_existing: int
    cand_cols: np.ndarray  # original candidate indices kept, in model order


def _reduce(instance: Instance) -> _Reduced:
    """Drop zero-weight and unreachable points and candidates that add nothing; merge identical rows.

    Exact: a merged row is covered by a set of sites exactly when each of its points is, and a
    candidate that reaches no weight outside the pods' reach can never change the objective.
    """
    w = instance.weights
    by_existing = instance.covered_by_existing
    gain = np.asarray(instance.candidates[(w > 0) & ~by_existing].sum(axis=0)).ravel()
    cand_cols = np.flatnonzero(gain > 0)
    full = sparse.hstack([instance.existing, instance.candidates[:, cand_cols]], format="csr", dtype=bool)
    keep = (w > 0) & (np.asarray(full.sum(axis=1)).ravel() > 0)
    full = full[keep]
    full.sort_indices()
    keys = [full.indices[full.indptr[i]:full.indptr[i + 1]].tobytes() for i in range(full.shape[0])]
    codes = pd.factorize(pd.Series(keys, dtype=object))[0]
    firsts = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    merged_w = np.bincount(codes, weights=w[keep], minlength=len(firsts)) if len(codes) else np.zeros(0)
    rows = full[firsts] if len(firsts) else sparse.csr_matrix((0, full.shape[1]), dtype=bool)
    n_ex = instance.existing.shape[1]
    merged_by_existing = np.asarray(rows[:, :n_ex].sum(axis=1)).ravel() > 0 if n_ex else np.zeros(len(firsts), bool)
    return _Reduced(rows.tocsr(), merged_w, merged_by_existing, n_ex, cand_cols)


def _solve_mclp(red: _Reduced, n_new: int, time_limit: float, gap: float, *, start=()):
    """spopt's MCLP over the reduced instance; (chosen candidate indices | None, status, gap, bound).

    `start` (candidate indices, e.g. greedy's) is handed to CBC as its first incumbent, so a
    time-limited run is never worse than it and always has a bound and gap to report.
    """
    import pulp
    from spopt.locate import MCLP
    from spopt.locate.base import FacilityModelBuilder

    n_rows, n_fac = red.rows.shape
    model = MCLP("mclp", pulp.LpProblem("mclp", pulp.LpMaximize))
    FacilityModelBuilder.add_facility_integer_variable(model, range(n_fac), "x[{i}]")
    FacilityModelBuilder.add_client_integer_variable(model, range(n_rows), "y[{i}]")
    model.aij = red.rows
    x, y = model.fac_vars, model.cli_vars
    model.problem += pulp.lpSum(float(wi) * yi for wi, yi in zip(red.weights, y)), "objective function"
    if red.n_existing:
        predefined = np.zeros(n_fac, dtype=int)
        predefined[:red.n_existing] = 1
        FacilityModelBuilder.add_predefined_facility_constraint(model, predefined)
    for i in range(n_rows):  # spopt's add_maximal_coverage_constraint, over the sites that reach i only
        cols = red.rows.indices[red.rows.indptr[i]:red.rows.indptr[i + 1]]
        model.problem += pulp.lpSum(x[j] for j in cols) >= y[i]
    FacilityModelBuilder.add_facility_constraint(model, red.n_existing + n_new)
    warm = _warm_start(red, x, y, start, n_new)
    log = _run_cbc(model, time_limit, gap, warm_start=warm)
    if log["solution"] is None:
        return None, log["status"], None, None
    chosen = [int(red.cand_cols[j - red.n_existing]) for j in range(red.n_existing, n_fac)
              if (x[j].value() or 0) > 0.5]
    bound = abs(log["bound"]) if log["bound"] is not None else None
    return chosen, log["status"], log["gap"], bound


def _solve_lscp(red: _Reduced, time_limit: float):
    """spopt's LSCP over the rows the pods do not already cover; (chosen | None, status, gap, bound)."""
    import pulp
    from spopt.locate import LSCP
    from spopt.locate.base import FacilityModelBuilder

    rows = red.rows[~red.by_existing][:, red.n_existing:].tocsr()
    n_rows, n_fac = rows.shape
    model = LSCP("lscp", pulp.LpProblem("lscp", pulp.LpMinimize))
    FacilityModelBuilder.add_facility_integer_variable(model, range(n_fac), "y[{i}]")
    model.aij = rows
    y = model.fac_vars
    model.problem += pulp.lpSum(y), "objective function"
    for i in range(n_rows):  # spopt's add_set_covering_constraint, over the sites that reach i only
        model.problem += pulp.lpSum(y[j] for j in rows.indices[rows.indptr[i]:rows.indptr[i + 1]]) >= 1
    log = _run_cbc(model, time_limit, 0.0)
    if log["solution"] is None:
        return None, log["status"], None, None
    chosen = [int(red.cand_cols[j]) for j in range(n_fac) if (y[j].value() or 0) > 0.5]
    bound = abs(log["bound"]) if log["bound"] is not None else None
    return chosen, log["status"], log["gap"], bound


def _warm_start(red: _Reduced, x, y, start, n_new: int) -> bool:
    """Set a feasible starting point (exactly n_new picks) from `start`; False when it is not one."""
    position = {int(c): red.n_existing + k for k, c in enumerate(red.cand_cols)}
    open_cols = [position[c] for c in start if c in position]
    if len(open_cols) != n_new:
        return False
    is_open = np.zeros(len(x), dtype=bool)
    is_open[:red.n_existing] = True
    is_open[open_cols] = True
    for j, var in enumerate(x[red.n_existing:], start=red.n_existing):
        var.setInitialValue(int(is_open[j]))
    covered = np.asarray(red.rows[:, np.flatnonzero(is_open)].sum(axis=1)).ravel() > 0
    for var, hit in zip(y, covered):
        var.setInitialValue(int(hit))
    return True


def _run_cbc(model, time_limit: float, gap: float, *, warm_start: bool = False) -> dict:
    """Solve with PuLP's CBC and read its log: status "optimal" only when CBC proved it."""
    import pulp

    with tempfile.TemporaryDirectory(prefix="podgeo-cbc-") as tmp:
        log_path = Path(tmp) / "cbc.log"
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=float(time_limit), gapRel=float(gap),
                                   logPath=str(log_path), threads=1, warmStart=warm_start)
        try:
            model.solve(solver, results=False)  # spopt's solve: PuLP, then its status check
            solved = True
        except RuntimeError:  # spopt: "Model is not solved" (no feasible solution within the limit)
            solved = False
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
    parsed = parse_cbc_log(text)
    result = parsed["result"] or pulp.LpStatus.get(model.problem.status, "unknown")
    proven = solved and model.problem.sol_status == pulp.LpSolutionOptimal and (parsed["gap"] or 0.0) <= gap + 1e-12
    has_solution = solved and model.problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    obj, bound = parsed["objective"], parsed["bound"]
    if proven:
        gap_found = 0.0
    elif obj is not None and bound is not None and max(abs(obj), abs(bound)) > 0:
        gap_found = abs(abs(bound) - abs(obj)) / max(abs(obj), abs(bound))  # CBC's own sign is its internal sense
    else:
        gap_found = None
    return {"status": "optimal" if proven else f"CBC: {result}", "solution": True if has_solution else None,
            "gap": gap_found, "bound": parsed["bound"]}


def _greedy(instance: Instance, columns, n: int) -> tuple[list[int], list[float]]:
    """Greedy max coverage over `columns` (candidate indices): picks and the weight each adds."""
    columns = np.asarray(list(columns), dtype=int)
    w = instance.weights
    left = np.where(instance.covered_by_existing, 0.0, w)
    sub = instance.candidates[:, columns].tocsc().astype(float)
    chosen, gains, used = [], [], np.zeros(len(columns), dtype=bool)
    for _ in range(min(int(n), len(columns))):
        gain = sub.T @ left
        gain[used] = -1.0
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        used[best] = True
        chosen.append(int(columns[best]))
        gains.append(float(gain[best]))
        rows = sub.indices[sub.indptr[best]:sub.indptr[best + 1]]
        left[rows] = 0.0
    return chosen, gains


def fewest_for_full_cover(instance: Instance, result: Siting, cover: SetCover) -> Siting:
    """When the picks already reach every reachable child and LSCP needs fewer hubs, LSCP's hubs
    (same coverage, fewer sites; the extra picks would add nothing) in order of gain; else `result`."""
    full = result.covered_after >= cover.reachable_weight - 1e-9
    if not (full and cover.count is not None and cover.method == OPTIMAL and cover.count < len(result.chosen)):
        return result
    ordered, gains = _order_by_gain(instance, cover.chosen)
    return replace(result, chosen=ordered, gains=gains, status=result.status + "; every reachable child covered, "
                   f"so LSCP's {len(ordered)} hub(s) are listed")


def _order_by_gain(instance: Instance, chosen) -> tuple[list[int], list[float]]:
    """The chosen candidates ordered greedily by what each adds; ones adding nothing are left out
    (the model must open exactly n, so once everyone reachable is covered the rest are arbitrary)."""
    return _greedy(instance, chosen, len(chosen))


def _check_limits(time_limit, gap):
    if not (_is_number(time_limit) and 0 < time_limit <= 3600):
        raise ValueError(f"time_limit {time_limit!r} must be seconds above 0 and at most 3600")
    if not (_is_number(gap) and 0 <= gap < 1):
        raise ValueError(f"gap {gap!r} must be a fraction in 0..1")


def _xy(frame: gpd.GeoDataFrame, name: str) -> np.ndarray:
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        raise ValueError(f"{name} must be a GeoDataFrame of points with a CRS")
    if len(frame) and not (frame.geom_type == "Point").all():
        raise ValueError(f"{name}: every row must be a point")
    if not len(frame):
        return np.empty((0, 2))
    transformer = pyproj.Transformer.from_crs(frame.crs, EQUAL_AREA_CRS, always_xy=True)
    x, y = transformer.transform(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy())
    return np.column_stack([x, y])


def _where(row, column):
    parts = ([f"row {row}"] if row is not None else []) + ([f"column {column!r}"] if column else [])
    return (", ".join(parts) + ": ") if parts else ""


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value))
