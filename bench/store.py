"""SQLite against PostGIS, in one run: the national build, a 100,000-row import, and read latency under load.

1. The national build (every state in the sources folder, with the sample pods) into each store:
   total time and the store's own share (the atomic write: `build_store`).
2. Read latency under load: 1, 8 and 32 concurrent readers (separate processes, as app replicas'
   sessions are) running the explore map's queries for California over and over: districts
   with display geometry, pods, pod districts. p50 and p95 per query and for the set.
3. A 100,000-row upload (IMLS outlets repeated, as bench/import.py makes it): plan and commit,
   the commit placing every pod in its districts (GeoPandas for SQLite, ST_Covers in PostGIS).

Ratios are PostGIS / SQLite (above 1: PostGIS slower). PostGIS comes from --pg-url or
PODGEO_TEST_PG_URL, else a throwaway cluster started with `scripts/start-postgis.sh --durable`
(fsync on, like SQLite's default) and stopped at the end.

    .venv/bin/python bench/store.py [--sources DIR] [--rows 100000] [--seconds 8] [--readers 1,8,32]
"""
from __future__ import annotations

import argparse
import importlib.util
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

QUERIES = ("districts CA display", "pods", "pod districts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the import")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long each reader level runs")
    parser.add_argument("--readers", default="1,8,32")
    parser.add_argument("--pg-url", default=os.environ.get("PODGEO_TEST_PG_URL"))
    parser.add_argument("--states", default=None, help="comma list of states instead of the national build")
    args = parser.parse_args()
    cluster = None
    url = args.pg_url
    if not url:
        url, cluster = _start_cluster()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            stores = {"sqlite": str(tmp / "us.db"), "postgis": _with_schema(url, "bench_store")}
            _report_server(url)
            builds = {name: _build(location, args.sources, args.states) for name, location in stores.items()}
            print(f"\n== national build ({builds['sqlite']['states']} states) ==")
            print(f"{'':8} {'total s':>8} {'store write s':>14}")
            for name, b in builds.items():
                print(f"{name:8} {b['total']:8.1f} {b['write']:14.1f}")
            print(f"{'ratio':8} {builds['postgis']['total'] / builds['sqlite']['total']:8.2f} "
                  f"{builds['postgis']['write'] / builds['sqlite']['write']:14.2f}")

            print(f"\n== read latency, ms: the explore map's queries for California, {args.seconds:g} s per level ==")
            print(f"{'readers':>7} {'query':22} {'sqlite p50':>10} {'p95':>7} {'postgis p50':>11} {'p95':>7} "
                  f"{'ratio p50':>9} {'p95':>6} {'sets sq/pg':>11}")
            for n in [int(v) for v in args.readers.split(",")]:
                got = {name: _readers(location, n, args.seconds) for name, location in stores.items()}
                for q in (*QUERIES, "set"):
                    s, p = (np.percentile(got[k][q], [50, 95]) * 1000 for k in ("sqlite", "postgis"))
                    sets = f"{len(got['sqlite']['set'])}/{len(got['postgis']['set'])}" if q == "set" else ""
                    print(f"{n:7} {q:22} {s[0]:10.1f} {s[1]:7.1f} {p[0]:11.1f} {p[1]:7.1f} {p[0] / s[0]:9.2f} "
                          f"{p[1] / s[1]:6.2f} {sets:>11}")

            print(f"\n== import of {args.rows:,} rows (plan: read + validate; commit: place + one transaction) ==")
            sheet = _synthetic(args.sources, args.rows, tmp)
            print(f"{'':8} {'plan s':>7} {'commit s':>9} {'valid':>8} {'placed':>8}")
            imports = {name: _import(location, sheet) for name, location in stores.items()}
            for name, i in imports.items():
                print(f"{name:8} {i['plan']:7.1f} {i['commit']:9.1f} {i['valid']:8,} {i['placed']:8,}")
            print(f"{'ratio':8} {imports['postgis']['plan'] / imports['sqlite']['plan']:7.2f} "
                  f"{imports['postgis']['commit'] / imports['sqlite']['commit']:9.2f}")
            from podgeo.store_pg import close_pools

            close_pools()
            _drop_schema(url, "bench_store")
    finally:
        if cluster:
            subprocess.run(["bash", str(REPO / "scripts" / "start-postgis.sh"), "--stop", cluster], check=False)


def _build(location: str, sources: Path, states: str | None) -> dict:
    """The whole build, and the time inside `build_store` (the store's own work) measured apart."""
    import podgeo.build as build_module

    spent = {}
    real = build_module.build_store

    def timed(path, write):
        started = time.perf_counter()
        try:
            return real(path, write)
        finally:
            spent["write"] = time.perf_counter() - started

    build_module.build_store = timed
    try:
        started = time.perf_counter()
        report = build_module.build(location, sources_root=sources, states=states.split(",") if states else None)
        total = time.perf_counter() - started
    finally:
        build_module.build_store = real
    return {"total": total, "write": spent["write"], "states": len(report.states)}


def _readers(location: str, n: int, seconds: float) -> dict[str, list[float]]:
    ctx = mp.get_context("spawn")
    start = time.time() + 4 + n * 0.6  # time for every process to import and warm up
    with ctx.Pool(n) as pool:
        results = pool.starmap(_read_loop, [(location, start, seconds)] * n)
    out = {q: [] for q in (*QUERIES, "set")}
    for r in results:
        for q, values in r.items():
            out[q] += values
    return out


def _read_loop(location: str, start: float, seconds: float) -> dict[str, list[float]]:
    """One reader: what the explore page asks the store for when California is on screen."""
    sys.path.insert(0, str(REPO))
    from podgeo.store import open_store

    def once(times):
        t0 = time.perf_counter()
        for q, call in (("districts CA display", lambda s: s.districts(state_fips=("06",), layers=("unified", "elementary"))),
                        ("pods", lambda s: s.pods()), ("pod districts", lambda s: s.place_districts("pods"))):
            t = time.perf_counter()
            store = open_store(location)  # as the app's loaders: open, read, close
            call(store)
            store.close()
            times[q].append(time.perf_counter() - t)
        times["set"].append(time.perf_counter() - t0)

    once({q: [] for q in (*QUERIES, "set")})  # warm up (imports, connection pool)
    time.sleep(max(0.0, start - time.time()))
    times = {q: [] for q in (*QUERIES, "set")}
    while time.time() < start + seconds or not times["set"]:
        once(times)
    return times


def _import(location: str, sheet: Path) -> dict:
    from podgeo import pods
    from podgeo.store import open_store

    store = open_store(location)
    started = time.perf_counter()
    plan = pods.plan_upload(store, sheet.read_bytes(), sheet.name)
    planned = time.perf_counter()
    batch_id = pods.commit_upload(store, plan, user="bench", use_geocoder=False)
    done = time.perf_counter()
    counts = store.batches().set_index("batch_id").loc[batch_id, "counts"]
    store.close()
    return {"plan": planned - started, "commit": done - planned, "valid": counts["valid"], "placed": counts["placed"]}


def _synthetic(sources: Path, rows: int, tmp: Path) -> Path:
    spec = importlib.util.spec_from_file_location("bench_import", REPO / "bench" / "import.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic(sources / module.IMLS, rows, tmp / f"imls_x{rows}.csv")


def _start_cluster() -> tuple[str, str]:
    out = subprocess.run(["bash", str(REPO / "scripts" / "start-postgis.sh"), "--durable"], check=True,
                         capture_output=True, text=True)
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return values["PODGEO_TEST_PG_URL"], values["PODGEO_PG_DIR"]


def _with_schema(url: str, schema: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(query=f"schema={schema}"))


def _report_server(url: str) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        version = conn.execute("select postgis_full_version()").fetchone()[0].split(" GEOS=")[0]
        fsync = conn.execute("show fsync").fetchone()[0]
        commit = conn.execute("show synchronous_commit").fetchone()[0]
    print(f"PostGIS: {version}; fsync={fsync}, synchronous_commit={commit}; {os.cpu_count()} CPUs")


def _drop_schema(url: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))


if __name__ == "__main__":
    main()
