"""Benchmark siting: California public schools x library outlets, 10 new hubs at 5 miles, low-income students.

Run: .venv/bin/python bench/siting.py [STORE] [--no-stock]
(STORE: a built store with California, default $PODGEO_DB or data/podgeo.db.)

Demand and sites are exactly what the "Where to add hubs" page and `python -m podgeo site` use
(`siting_report.site_table`'s inputs: the Coverage page's school points and library outlets;
the store's pods kept open). In one run it times and measures:

* greedy alone (`siting.greedy_cover`),
* podgeo's optimum (`siting.maximal_cover`: reduced instance, sparse spopt model, CBC, gap 0,
  60 s limit), with the covered need of both,
* the baseline: spopt's stock `MCLP.from_cost_matrix` on the full dense distance matrix with
  the same predefined pods, solved by the same CBC (skip with --no-stock: it takes ~45 s),

and prints the ratio of the stock time to podgeo's. Memory: tracemalloc's peak of Python
allocations in each step, and the process's peak resident size so far. CBC runs as a separate
process and is not included (a child's ru_maxrss counts the forked Python image, so it would
mislead).
"""
from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from podgeo import access_report as ar  # noqa: E402
from podgeo import siting  # noqa: E402
from podgeo.store import default_path, open_store  # noqa: E402

RADIUS, NEW, GROUP = 5.0, 10, "low_income"


def measure(label, fn):
    tracemalloc.start()
    started = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {label:34} {seconds:8.2f} s   python peak {peak:7.1f} MiB   process peak RSS so far {rss:7.1f} MiB")
    return out, seconds


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    stock = "--no-stock" not in sys.argv
    store = open_store(args[0] if args else default_path())
    try:
        frames = ar.load_frames(store, "CA")
    finally:
        store.close()
    base = ar.coverage_table(frames, sites=["pods", "libraries"], demand="schools", method="distance",
                             radius_miles=RADIUS, group=GROUP, state="CA")
    points, sites = base.points, base.sites
    weights = points[GROUP].fillna(0.0).to_numpy()
    pods = (sites["kind"] == "pods").to_numpy()
    print(f"siting bench | spopt {siting.spopt_version()}, PuLP {siting.pulp_version()}, numpy {np.__version__}")
    print(f"California: {len(points):,} public schools x {int((~pods).sum()):,} library outlets, "
          f"{int(pods.sum())} pods kept open; {NEW} new hubs at {RADIUS:g} mi; weight: low-income students "
          f"({int(points[GROUP].isna().sum())} schools without a count taken as 0)")
    (cover, _), build_s = measure("coverage matrix (k-d tree)", lambda: (siting.within_radius(points, sites, RADIUS), 0))
    instance = siting.Instance(weights, cover[:, np.flatnonzero(~pods)], cover[:, np.flatnonzero(pods)])
    (greedy, _), greedy_s = measure("greedy", lambda: siting.greedy_cover(instance, NEW))
    greedy_cov = float(weights[instance.covered(greedy)].sum())
    result, optimum_s = measure("optimum (podgeo: spopt model, CBC)", lambda: siting.maximal_cover(instance, NEW))
    print(f"  covered need: before {result.covered_before:,.0f}; greedy {greedy_cov:,.0f}; optimum "
          f"{result.covered_after:,.0f} of {result.total:,.0f} ({result.covered_after / result.total:.2%})")
    print(f"  optimum - greedy = {result.covered_after - greedy_cov:,.0f} students; status {result.status}; "
          f"method {result.method}; gap {result.gap}; model {result.model_size}")
    print(f"  goal (gap 0 within 60 s): {'met' if result.gap == 0 and optimum_s <= 60 else 'NOT met'}")
    if stock:
        import pulp
        from spopt.locate import MCLP

        def run_stock():
            from podgeo.coverage import _projected_xy  # the same projection as podgeo's k-d tree
            from scipy.spatial.distance import cdist

            dxy, sxy = _projected_xy(points, "points", sites, "sites")
            cost = cdist(dxy, sxy) / siting.METRES_PER_MILE
            model = MCLP.from_cost_matrix(cost, weights, RADIUS, int(pods.sum()) + NEW,
                                          predefined_facilities_arr=pods.astype(int))
            model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=600), results=False)
            return pulp.value(model.problem.objective)

        stock_cov, stock_s = measure("baseline: spopt stock MCLP", run_stock)
        print(f"  stock covered need {stock_cov:,.0f} (podgeo's optimum {result.covered_after:,.0f}: "
              f"{'same' if abs(stock_cov - result.covered_after) < 0.5 else 'DIFFERENT'})")
        print(f"  ratio stock / podgeo time: {stock_s / optimum_s:.1f}x")
    print(f"  build {build_s:.2f} s, greedy {greedy_s:.2f} s, optimum {optimum_s:.2f} s")


if __name__ == "__main__":
    main()
