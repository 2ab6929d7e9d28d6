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
from podgeo.store import SqliteStore, StoreError, default_path

USER_ERRORS = (SourceError, StoreError, ValueError, FileNotFoundError)  # SheetError is a ValueError


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

    i = sub.add_parser("import", help="import a CSV or XLSX of pods as one undoable upload batch")
    i.add_argument("file", type=Path)
    i.add_argument("--db", type=Path, default=None, help="store path (default: $PODGEO_DB or data/podgeo.db)")
    i.add_argument("--sheet", default=None, help="worksheet name in an .xlsx (default: the first)")
    i.add_argument("--state", default=None, metavar="XX", help="state for rows that name none")
    i.add_argument("--user", default=None, help="who is importing (default: the login name)")
    i.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    i.add_argument("--no-geocode", action="store_true", help="keep address-only rows as not geocoded")
    i.add_argument("--rejected-out", type=Path, default=None, help="write rejected rows (with errors) to this CSV")
    i.set_defaults(func=_import)

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


def _import(args: argparse.Namespace) -> int:
    """Validate, report and (unless --dry-run) commit; exit 1 when nothing could be committed."""
    import getpass

    from podgeo import pods, sheets

    store = SqliteStore(args.db or default_path())
    plan = pods.plan_upload(store, args.file.read_bytes(), args.file.name, sheet=args.sheet, state=args.state)
    c = plan.counts
    print(f"{args.file.name}: {c['rows']:,} rows: {c['valid']:,} valid ({c['inserts']:,} new, {c['updates']:,} updates, "
          f"{c['needs_geocode']:,} to geocode), {c['rejected']:,} rejected")
    for note in plan.validation.notes:
        print(f"  note: {note}")
    for rejected in plan.validation.rejected[:20]:
        print(f"  rejected {rejected.error_text}")
    if len(plan.validation.rejected) > 20:
        print(f"  ... and {len(plan.validation.rejected) - 20:,} more rejected rows")
    if args.rejected_out and plan.validation.rejected:
        args.rejected_out.write_bytes(sheets.rejected_to_csv(plan.validation))
        print(f"  rejected rows written to {args.rejected_out}")
    if not plan.committable:
        print("nothing to commit", file=sys.stderr)
        return 1
    if args.dry_run:
        print("dry run: nothing written")
        return 0
    batch_id = pods.commit_upload(store, plan, user=args.user or getpass.getuser(), use_geocoder=not args.no_geocode)
    batch = store.batches().set_index("batch_id").loc[batch_id]
    print(f"committed batch {batch_id}: {batch['counts'].get('placed', 0):,} pods placed in districts, "
          f"{batch['counts'].get('not_geocoded', 0):,} without coordinates")
    return 0


if __name__ == "__main__":
    sys.exit(main())
