"""Upload import speed and peak memory: the IMLS outlets CSV (17,478 rows) and a 100,000-row CSV made from it.

Each measurement runs in its own process so its peak RSS is its own. The baseline, measured in
the same run, is what a hand-written script would do with the same file: `pandas.read_csv`, the
points made with `geopandas.points_from_xy`, and a GeoPandas `sjoin` against the store's
districts (read from the store, full geometry). The ratio is plan + commit (no geocoding) over
that baseline: what reading every cell as text, header mapping, row validation, placing pods in
districts and the one-transaction commit (with undo history and rejected rows) cost on top.
Goals (issue 15): ratio <= 8 and peak RSS < 400 MB on the 100,000-row file. Each file is
imported twice: with its encoding detected (what an upload does) and with `encoding="cp1252"`
given (what `--encoding` does), which shows what detection costs. The store is California, built
from the sources folder at the start.

    .venv/bin/python bench/import.py [--sources DIR] [--rows 100000]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMLS = "hub_sites/imls_pls_fy2018_outlets.csv"

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
mode, path, db = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
out = {{}}
if mode == "pandas":
    import geopandas as gpd
    import pandas as pd
    from podgeo.store import SqliteStore
    t, c = time.perf_counter(), time.process_time()
    frame = pd.read_csv(path, encoding="cp1252", dtype=str, keep_default_na=False)
    out["read_s"] = time.perf_counter() - t
    points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(pd.to_numeric(frame["LONGITUD"], errors="coerce"),
                                                                 pd.to_numeric(frame["LATITUDE"], errors="coerce")),
                              crs="EPSG:4326")
    districts = SqliteStore(db).districts(geometry="full")[["leaid", "geometry"]]
    joined = gpd.sjoin(points, districts, how="left", predicate="within")
    out["base_s"], out["base_cpu"] = time.perf_counter() - t, time.process_time() - c
    out["rows"], out["placed"] = len(frame), int(joined["leaid"].notna().sum())
else:
    from podgeo import pods
    from podgeo.store import SqliteStore
    store = SqliteStore(db)
    t, c = time.perf_counter(), time.process_time()
    plan = pods.plan_upload(store, path.read_bytes(), path.name, encoding="cp1252" if mode == "given" else None)
    out["plan_s"], out["plan_cpu"] = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    pods.commit_upload(store, plan, user="bench", use_geocoder=False)
    out["commit_s"], out["commit_cpu"] = time.perf_counter() - t, time.process_time() - c
    out["rows"], out["valid"], out["rejected"] = plan.counts["rows"], plan.counts["valid"], plan.counts["rejected"]
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run(mode: str, path: Path, db: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD.format(repo=str(REPO)), mode, str(path), str(db)],
                          check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def synthetic(source: Path, rows: int, dest: Path) -> Path:
    """`rows` IMLS outlets, copies renamed ("... #2") so none repeats an earlier one; same encoding."""
    text = source.read_bytes().decode("cp1252")
    header, *body = list(csv.reader(io.StringIO(text, newline="")))
    name = header.index("LIBNAME")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for i in range(rows):
        row = list(body[i % len(body)])
        if i >= len(body):
            row[name] = f"{row[name]} #{i // len(body) + 1}"
        writer.writerow(row)
    dest.write_bytes(out.getvalue().encode("cp1252"))
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the synthetic file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ca = tmp / "ca.db"
        # In a child too: ru_maxrss survives fork and exec, so a big parent would inflate every peak.
        subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from podgeo.build import "
                        "build; build(sys.argv[2], sources_root=sys.argv[3], states=['CA'], pods_file=None)",
                        str(REPO), str(ca), str(args.sources)], check=True, capture_output=True)
        files = [args.sources / IMLS, synthetic(args.sources / IMLS, args.rows, tmp / f"imls_x{args.rows}.csv")]
        print("times in seconds (wall; CPU in brackets: on a shared machine the CPU ratio is the fair one)")
        print(f"{'file':28} {'rows':>7} {'valid':>7} {'read':>5} {'baseline':>13} {'plan':>13} {'commit':>13} "
              f"{'ratio':>5} {'CPU ratio':>9} {'base MB':>7} {'import MB':>9}")
        for path, mode in [(f, m) for f in files for m in ("import", "given")]:
            db = tmp / "run.db"
            shutil.copy(ca, db)
            base = run("pandas", path, db)
            got = run(mode, path, db)
            total = got["plan_s"] + got["commit_s"]
            cpu = got["plan_cpu"] + got["commit_cpu"]
            label = path.name[:19] + (" detected" if mode == "import" else " cp1252")
            print(f"{label:28} {got['rows']:7,} {got['valid']:7,} {base['read_s']:5.2f} "
                  f"{base['base_s']:6.2f} ({base['base_cpu']:4.1f}) {got['plan_s']:6.2f} ({got['plan_cpu']:4.1f}) "
                  f"{got['commit_s']:6.2f} ({got['commit_cpu']:4.1f}) {total / base['base_s']:5.1f} "
                  f"{cpu / base['base_cpu']:9.1f} {base['peak_mb']:7.0f} {got['peak_mb']:9.0f}")
            db.unlink()
            for suffix in ("-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
