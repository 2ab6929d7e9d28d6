"""`python -m podgeo ...`: build the store (and, as they land, import, coverage, export) from the shell.

A thin adapter in the sqlite-utils manner: parse arguments, call the library, turn its errors
into one readable line on stderr and a non-zero exit code.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from podgeo.sources import SourceError
from podgeo.store import StoreError, default_path

USER_ERRORS = (SourceError, StoreError, ValueError, FileNotFoundError)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m podgeo", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the store from the official source files")
    b.add_argument("--db", type=Path, default=None, help="store path (default: $PODGEO_DB or data/podgeo.db)")
    b.add_argument("--sources", type=Path, default=None,
                   help="folder of source files (default: $PODGEO_SOURCES, else ../shared/data, else download)")
    b.add_argument("--state", action="append", default=None, metavar="XX",
                   help="load only this state (postal or FIPS code); repeat for several")
    b.add_argument("--no-sample-pods", action="store_true", help="do not load the illustrative sample pods")
    b.set_defaults(func=_build)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _build(args: argparse.Namespace) -> int:
    from podgeo.build import SAMPLE_PODS, build

    db = args.db or default_path()
    started = time.perf_counter()
    report = build(db, sources_root=args.sources, states=args.state,
                   pods_file=None if args.no_sample_pods else SAMPLE_PODS, progress=print)
    print(f"built {report.path} in {time.perf_counter() - started:.1f} s: {len(report.states)} state(s)")
    for table in ("districts", "district_measures", "sites", "site_districts", "pods", "pod_districts"):
        print(f"  {table:18} {report.counts.get(table, 0):>8,}")
    for row in report.provenance:
        if row["rows_unjoined"]:
            reasons = "; ".join(f"{v:,} {k}" for k, v in row["unjoined_reasons"].items())
            print(f"  {row['source_key']}: {row['rows_loaded']:,} of {row['rows_read']:,} rows loaded ({reasons})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
