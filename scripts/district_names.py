"""Print how district names match: the ELSI agency names of some states against the Census names.

    python scripts/district_names.py                      # CA TX PA NJ MA MI NV KY AZ OH NY IL, 2016 boundary names
    python scripts/district_names.py --store /work/national.db --states CA,NV
    python scripts/district_names.py --show wrong          # list the rows of one outcome

The answer is known by LEAID (see podgeo/matching_eval.py); `wrong` is the figure that must be 0.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podgeo import matching_eval  # noqa: E402

DEFAULT_STATES = "CA,TX,PA,NJ,MA,MI,NV,KY,AZ,OH,NY,IL"


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=here.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--store", type=Path, help="take the Census names from this store instead of the 2016 file")
    parser.add_argument("--states", default=DEFAULT_STATES, help="postal codes, comma separated, or ALL")
    parser.add_argument("--show", choices=matching_eval.OUTCOMES, help="print the rows with this outcome")
    args = parser.parse_args(argv)
    wanted = [s.strip().upper() for s in args.states.split(",") if s.strip()]
    states = matching_eval.read_states(args.data / "states" / "cb_2018_us_state_20m.shp")
    if wanted == ["ALL"]:
        wanted = sorted(states["state"])
    if args.store:
        from podgeo.store import SqliteStore

        store = SqliteStore(args.store)
        try:
            districts = store.districts(geometry=None)
        finally:
            store.close()
        districts = districts[districts["state"].isin(wanted)]
        where = str(args.store)
    else:
        path = args.data / "school_districts" / "us_2016" / "us_school_districts_2016_simplified.geojson"
        districts, where = matching_eval.census_names(path, states, wanted), path.name
    agencies = matching_eval.read_elsi_agencies(args.data / "demographics" / "nces_elsi_districts_2020_21.csv",
                                                states, wanted)
    start = time.perf_counter()
    result = matching_eval.evaluate(agencies, districts, states)
    seconds = time.perf_counter() - start
    print(f"{len(agencies):,} ELSI agencies of {len(wanted)} states against {len(districts):,} district names "
          f"({where}), matched in {seconds:.1f} s\n")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(matching_eval.figures(result).to_string())
    if args.show:
        rows = result[result["outcome"] == args.show]
        with pd.option_context("display.width", 250, "display.max_colwidth", 90, "display.max_rows", 500):
            print(rows[["state", "leaid", "name", "agency_type", "matched_leaid", "matched_name", "why"]].to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
