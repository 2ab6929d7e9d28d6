"""Build time and peak memory for California and the national store, against two baselines.

Each run is its own process so its peak RSS is its own. Measured in the same run:

- read: reading the same source files without joining or writing anything (what the joins,
  simplification and the store cost on top of parsing);
- naive (national only): the pipeline anyone would write first: read the 99 district zips with
  pyogrio, join the household-conditions file by LEAID, simplify at 500 m, `sjoin` the library
  outlets, write WKB rows with sqlite-utils. The goal (issue 14) is the full build <= 2x the
  naive pipeline, with peak RSS < 1 GB.

`--profile` also prints the build's phases (wall time between its progress messages) and its
top functions by cumulative time, to say where the time goes.

    .venv/bin/python bench/build.py [--sources DIR] [--national-only] [--profile]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from podgeo import build, sources
mode, states, root, db = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
t = time.perf_counter()
def say(msg, _t=[t]):
    now = time.perf_counter()
    PHASES.append((msg, now - _t[0]))
    _t[0] = now
PHASES = []
if mode == "naive":
    import geopandas as gpd, pandas as pd, pyogrio, sqlite_utils, shapely
    zips = sorted((root / "school_districts" / "us_2016" / "by_state").glob("cb_2016_*_500k.zip"))
    d = pd.concat([pyogrio.read_dataframe(f"zip://{{z}}") for z in zips], ignore_index=True)
    hh = pd.read_csv(root / "demographics" / "household_conditions_hh_with_leaid.csv", dtype={{"leaid": str}})
    d = gpd.GeoDataFrame(d.merge(hh, left_on="GEOID", right_on="leaid", how="left"), crs=d.crs).to_crs(5070)
    d["geometry"] = d.simplify(500)
    libs = pd.read_csv(root / "hub_sites" / "imls_pls_fy2018_outlets.csv", encoding="cp1252", dtype=str)
    libs = gpd.GeoDataFrame(libs[["FSCSKEY", "FSCS_SEQ", "LIBNAME"]], crs=4326, geometry=gpd.points_from_xy(
        pd.to_numeric(libs["LONGITUD"]), pd.to_numeric(libs["LATITUDE"]))).to_crs(5070)
    joined = gpd.sjoin(libs, d[["GEOID", "geometry"]], predicate="within")
    out = sqlite_utils.Database(db)
    out["districts"].insert_all(({{"leaid": r.GEOID, "name": r.NAME, "children": r.children,
                                   "geometry": shapely.to_wkb(r.geometry)}} for r in d.itertuples()), batch_size=2000)
    out["site_districts"].insert_all(({{"site": f"{{r.FSCSKEY}}-{{r.FSCS_SEQ}}", "leaid": r.GEOID}}
                                       for r in joined.itertuples()), batch_size=2000)
    out.conn.close()
elif mode == "profile":
    import cProfile, io, pstats
    prof = cProfile.Profile()
    prof.enable()
    build.build(db, sources_root=root, states=states or None, progress=say)
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(30)
    print(text.getvalue(), file=sys.stderr)
    say("end")
elif mode == "read":
    table = sources.read_states(sources.locate("states", root))
    fips = None
    if states:
        fips = list(table.loc[table.state.isin(states), "state_fips"])
    for key, path, vintage in sources.district_files(root, fips):
        sources.read_district_zip(path, vintage) if path.suffix == ".zip" else sources.read_district_geojson(path, vintage)
    sources.read_household_conditions_xlsx(sources.locate("household_conditions", root),
                                           dict(zip(table.state_name, table.state_fips)))
    sources.read_acs_race(sources.locate("acs_ed_race", root))
    sources.read_elsi(sources.locate("elsi_2020_21", root))
    sources.read_imls_outlets(sources.locate("imls_outlets", root))
    sources.read_cde_schools(sources.locate("cde_schools", root))
else:
    build.build(db, sources_root=root, states=states or None, progress=say)
    say("end")
print(json.dumps({{"seconds": time.perf_counter() - t, "phases": PHASES,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run(mode: str, states: list[str], root: Path, db: Path) -> dict:
    code = _CHILD.format(repo=str(REPO))
    out = subprocess.run([sys.executable, "-c", code, mode, json.dumps(states), str(root), str(db)],
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["stderr"] = out.stderr
    return result


def _phases(result: dict) -> None:
    """Wall time of each build phase: the time up to a progress message is the phase it ends."""
    previous = "start"
    for msg, seconds in result["phases"]:
        print(f"    {seconds:6.1f} s  {previous[:90]}")
        previous = msg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--national-only", action="store_true", help="skip the California build")
    parser.add_argument("--profile", action="store_true", help="also profile the national build (cProfile)")
    args = parser.parse_args()
    scopes = (("national", []),) if args.national_only else (("California", ["CA"]), ("national", []))
    print(f"{'scope':12} {'read s':>8} {'build s':>8} {'ratio':>6} {'read MB':>8} {'build MB':>9} {'store MB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for scope, states in scopes:
            db = Path(tmp) / f"{scope}.db"
            read = run("read", states, args.sources, db)
            built = run("build", states, args.sources, db)
            print(f"{scope:12} {read['seconds']:8.1f} {built['seconds']:8.1f} {built['seconds'] / read['seconds']:6.2f} "
                  f"{read['peak_mb']:8.0f} {built['peak_mb']:9.0f} {db.stat().st_size / 2**20:9.1f}")
        naive = run("naive", [], args.sources, Path(tmp) / "naive.db")
        print(f"\nnaive national pipeline (99 zips, household join, simplify 500 m, sjoin libraries, sqlite-utils): "
              f"{naive['seconds']:.1f} s, peak {naive['peak_mb']:.0f} MB")
        print(f"full national build / naive: {built['seconds'] / naive['seconds']:.2f}  (goal <= 2; "
              f"peak RSS {built['peak_mb']:.0f} MB, goal < 1024)")
        print("national build phases:")
        _phases(built)
        if args.profile:
            profiled = run("profile", [], args.sources, Path(tmp) / "profiled.db")
            print(f"\nprofiled national build: {profiled['seconds']:.1f} s (cProfile slows it); top functions:")
            print(profiled["stderr"][-12000:])


if __name__ == "__main__":
    main()
