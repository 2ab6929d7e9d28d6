"""Build time and peak memory for California and the national store.

Each build runs in its own process so its peak RSS is its own. The baseline, measured in the
same run, is reading the same source files without joining or writing anything: the ratio says
what the joins, simplification and the store cost on top of parsing.

    .venv/bin/python bench/build.py [--sources DIR]
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
if mode == "read":
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
    build.build(db, sources_root=root, states=states or None)
print(json.dumps({{"seconds": time.perf_counter() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def run(mode: str, states: list[str], root: Path, db: Path) -> dict:
    code = _CHILD.format(repo=str(REPO))
    out = subprocess.run([sys.executable, "-c", code, mode, json.dumps(states), str(root), str(db)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    print(f"{'scope':12} {'read s':>8} {'build s':>8} {'ratio':>6} {'read MB':>8} {'build MB':>9} {'store MB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for scope, states in (("California", ["CA"]), ("national", [])):
            db = Path(tmp) / f"{scope}.db"
            read = run("read", states, args.sources, db)
            built = run("build", states, args.sources, db)
            print(f"{scope:12} {read['seconds']:8.1f} {built['seconds']:8.1f} {built['seconds'] / read['seconds']:6.2f} "
                  f"{read['peak_mb']:8.0f} {built['peak_mb']:9.0f} {db.stat().st_size / 2**20:9.1f}")


if __name__ == "__main__":
    main()
