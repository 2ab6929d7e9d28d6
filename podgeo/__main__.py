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
from podgeo.store import StoreError, default_path, describe_location, open_store, store_location

USER_ERRORS = (SourceError, StoreError, ValueError, FileNotFoundError)  # SheetError is a ValueError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m podgeo", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the store from the official source files")
    b.add_argument("--db", type=store_location, default=None,
                   help="store path or postgresql:// URL (default: $PODGEO_DB or data/podgeo.db)")
    b.add_argument("--sources", type=Path, default=None,
                   help="folder of source files (default: $PODGEO_SOURCES, else ../shared/data, else download)")
    b.add_argument("--state", action="append", default=None, metavar="XX",
                   help="load only this state (postal or FIPS code); repeat for several")
    b.add_argument("--no-sample-pods", action="store_true", help="do not load the illustrative sample pods")
    b.set_defaults(func=_build)

    i = sub.add_parser("import", help="import a CSV or XLSX of pods as one undoable upload batch")
    i.add_argument("file", type=Path)
    i.add_argument("--db", type=store_location, default=None,
                   help="store path or postgresql:// URL (default: $PODGEO_DB or data/podgeo.db)")
    i.add_argument("--sheet", default=None, help="worksheet name in an .xlsx (default: the first)")
    i.add_argument("--state", default=None, metavar="XX", help="state for rows that name none")
    i.add_argument("--user", default=None, help="who is importing (default: the login name)")
    i.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    i.add_argument("--no-geocode", action="store_true", help="keep address-only rows as not geocoded")
    i.add_argument("--rejected-out", type=Path, default=None, help="write rejected rows (with errors) to this CSV")
    i.set_defaults(func=_import)

    h = sub.add_parser("hash-password", help="print a staff password hash for $PODGEO_STAFF_PASSWORD_HASH")
    h.add_argument("--stdin", action="store_true", help="read the password from the first line of stdin (no prompt)")
    h.set_defaults(func=_hash_password)

    c = sub.add_parser("coverage", help="write the Coverage page's per-district access table to a CSV")
    c.add_argument("--db", type=store_location, default=None,
                   help="store path or postgresql:// URL (default: $PODGEO_DB or data/podgeo.db)")
    c.add_argument("--sites", action="append", required=True, metavar="KIND",
                   help="pods, libraries or schools; repeat or give a comma list (pods,libraries)")
    c.add_argument("--demand", required=True, help="schools, tracts or districts")
    c.add_argument("--method", required=True, help="ratio, distance, 2sfca or e2sfca")
    c.add_argument("--radius-miles", type=float, default=10.0, help="catchment or distance radius (default 10)")
    c.add_argument("--state", default=None, metavar="XX", help="one state (postal code); default every state")
    c.add_argument("--decay", default="step", help="E2SFCA weights: step (default) or gaussian")
    c.add_argument("--group", default=None, help="need group that ranks the shortfall (default per demand)")
    c.add_argument("--assumed-seats", type=float, default=None,
                   help="seats to assume at sites with no capacity (default: count sites instead of seats)")
    c.add_argument("--pod-filter", default="", metavar="QUERY",
                   help="pod filters as in the map's URL, e.g. 'modes=in_person&statuses=active'")
    c.add_argument("--hub", default=None, metavar="LON,LAT,SEATS", help="add a hypothetical hub (what-if)")
    c.add_argument("--out", type=Path, required=True, help="CSV to write (the table the page shows)")
    c.add_argument("--summary-out", type=Path, default=None, help="also write the equity summary by group")
    c.set_defaults(func=_coverage)

    e = sub.add_parser("export", help="write pods, districts or coverage as csv, geojson or gpkg (with a note)")
    e.add_argument("what", choices=("pods", "districts", "coverage"))
    e.add_argument("--format", dest="fmt", choices=("csv", "geojson", "gpkg"), default=None,
                   help="file format (default: from the --out extension)")
    e.add_argument("--out", type=Path, required=True, help="file to write")
    e.add_argument("--db", type=store_location, default=None,
                   help="store path or postgresql:// URL (default: $PODGEO_DB or data/podgeo.db)")
    e.add_argument("--state", default=None, metavar="XX", help="one state (postal code); default every state")
    e.add_argument("--pod-filter", default="", metavar="QUERY",
                   help="pod filters as in the map's URL, e.g. 'modes=in_person&statuses=active&grades=K-5'")
    e.add_argument("--layer", choices=("base", "secondary", "all"), default="base",
                   help="districts: unified + elementary (base, default), secondary, or all three")
    e.set_defaults(func=_export)

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
    print(f"built {describe_location(report.path)} in {time.perf_counter() - started:.1f} s: {len(report.states)} state(s)")
    for table in ("districts", "district_measures", "sites", "site_districts", "pods", "pod_districts",
                  "demand_points"):
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

    store = open_store(args.db or default_path())
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


def _hash_password(args: argparse.Namespace) -> int:
    """Prompt twice (or read stdin) and print the hash; the password itself is never printed or stored."""
    import getpass

    from podgeo import auth

    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("staff password: ")
        if getpass.getpass("again: ") != password:
            raise ValueError("the two passwords differ")
    print(auth.hash_password(password))
    return 0


def _coverage(args: argparse.Namespace) -> int:
    """Compute with the page's own function, write the CSV, print the method note and the top of the ranking."""
    from podgeo import access_report

    sites = [kind.strip() for value in args.sites for kind in value.split(",") if kind.strip()]
    hub = None
    if args.hub is not None:
        hub = access_report.Hub.from_query(args.hub)
        if hub is None:
            raise ValueError(f"--hub {args.hub!r} is not LON,LAT,SEATS (e.g. -122.41,37.77,50)")
    store = open_store(args.db or default_path())
    try:
        frames = access_report.load_frames(store, args.state.upper() if args.state else None)
    finally:
        store.close()
    started = time.perf_counter()
    table, summary, meta = access_report.coverage_table(
        frames, sites=sites, demand=args.demand, method=args.method, radius_miles=args.radius_miles,
        decay=args.decay, group=args.group, state=args.state.upper() if args.state else None,
        pod_filter=access_report.pod_filter_from_text(args.pod_filter), hypothetical=hub,
        assumed_seats=args.assumed_seats)
    seconds = time.perf_counter() - started
    access_report.write_csv(table, args.out)
    if args.summary_out:
        access_report.write_csv(summary, args.summary_out)
    print(f"wrote {args.out}: {len(table):,} districts, {meta['ranked']:,} ranked as low access "
          f"({meta['method_label']}, {seconds:.2f} s)")
    print(access_report.method_note(meta).replace("**", ""))
    top = table[table["rank"].notna()].head(5)
    for row in top.itertuples():
        print(f"  #{row.rank} {row.leaid} {row.name}: {row.children_in_need:,.0f} {meta['group_label']}, "
              f"access {row.access:.3g} {meta['access_unit']}")
    return 0


def _export(args: argparse.Namespace) -> int:
    """Write the file with the library's `exports.export` and say what it holds."""
    from podgeo import access_report, exports

    logging.getLogger("pyogrio").setLevel(logging.WARNING)  # not "Created 35 records" on top of our own line
    fmt = args.fmt or {".csv": "csv", ".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg"}.get(
        args.out.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the format from {args.out.name!r}: give --format csv, geojson or gpkg")
    layers = {"base": ("unified", "elementary"), "secondary": ("secondary",),
              "all": ("unified", "elementary", "secondary")}[args.layer]
    store = open_store(args.db or default_path())
    try:
        result = exports.export(store, args.what, fmt, state=args.state.upper() if args.state else None,
                                pod_filter=access_report.pod_filter_from_text(args.pod_filter), layers=layers)
    finally:
        store.close()
    args.out.write_bytes(result.data)
    print(f"wrote {args.out}: {result.rows:,} {args.what} rows as {fmt} ({len(result.data):,} bytes)")
    if fmt == "csv":  # the CSV stays a plain table: its note goes beside it
        readme = args.out.with_name(args.out.stem + "_README.txt")
        readme.write_text(exports.notes_text(result.description), encoding="utf-8")
        print(f"wrote {readme}: what the CSV holds, its filters and data vintages")
    print(result.description)
    return 0


if __name__ == "__main__":
    sys.exit(main())
