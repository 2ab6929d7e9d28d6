"""`python -m podgeo ...`: build the store (and, as they land, import, coverage, export, site) from the shell.

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
    b.add_argument("--strict", action="store_true",
                   help="refuse to build when an optional source is absent or empty, or a boundary file had to be "
                        "replaced by its fallback (default: build without it and say so at the end)")
    b.set_defaults(func=_build)

    i = sub.add_parser("import", help="import a CSV or XLSX of pods as one undoable upload batch")
    i.add_argument("file", type=Path)
    i.add_argument("--db", type=store_location, default=None,
                   help="store path or postgresql:// URL (default: $PODGEO_DB or data/podgeo.db)")
    i.add_argument("--sheet", default=None, help="worksheet name in an .xlsx (default: the first)")
    i.add_argument("--encoding", default=None,
                   help="a CSV's text encoding, e.g. cp1252, shift_jis (default: detected; asked for when unsure)")
    i.add_argument("--state", default=None, metavar="XX", help="state for rows that name none")
    i.add_argument("--user", default=None, help="who is importing (default: the login name)")
    i.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    i.add_argument("--no-geocode", action="store_true", help="keep address-only rows as not geocoded")
    i.add_argument("--rejected-out", type=Path, default=None, help="write rejected rows (with errors) to this CSV")
    # column mapping and fixes (see podgeo.pods.plan_upload)
    i.add_argument("--map", action="append", default=[], metavar='"COLUMN=FIELD"',
                   help='map a sheet column to a pod field, e.g. --map "Nombre del programa=name"; repeatable; '
                        '"COLUMN=" leaves a column out')
    i.add_argument("--mapping", default=None, metavar="FILE|NAME",
                   help="a mapping file (JSON {column: field} or CSV column,field), or the name of a saved mapping")
    i.add_argument("--save-mapping", default=None, metavar="NAME",
                   help="after a commit, save the mapping used under NAME (the same headers then map themselves)")
    i.add_argument("--accept-fixes", action="store_true",
                   help="apply the fixes offered (swapped coordinates, longitude sign, suggested terms) and "
                        "print each change")
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
    c.add_argument("--hub", action="append", default=None, metavar="LON,LAT,SEATS",
                   help="add a hypothetical hub (what-if); repeat for several")
    c.add_argument("--out", type=Path, required=True, help="CSV to write (the table the page shows)")
    # equity, sensitivity and travel time (issue 12)
    c.add_argument("--summary-out", type=Path, default=None,
                   help="also write the disparity scores (per group and per district) with intervals and flags")
    c.add_argument("--groups-out", type=Path, default=None, help="also write mean access by group (the page's table)")
    c.add_argument("--level", type=int, choices=(90, 95), default=90,
                   help="confidence level of the disparity intervals (default 90, the ACS convention)")
    c.add_argument("--sweep", default=None, metavar="RADII",
                   help="also compute every group's access and gap at these radii, e.g. 1,2,5,10,15,25")
    c.add_argument("--sweep-out", type=Path, default=None,
                   help="CSV for --sweep (default: OUT_sweep.csv; the ranking stability goes to OUT_ranking.csv)")
    c.add_argument("--travel-times", type=Path, default=None, metavar="FILE",
                   help="CSV or Parquet of origin_id, destination_id, minutes: replaces straight-line distance")
    c.add_argument("--max-minutes", type=float, default=None, help="catchment in minutes with --travel-times")
    c.add_argument("--points-out", type=Path, default=None, help="also write every demand point's access (CSV)")
    c.add_argument("--osm-pbf", type=Path, default=None, metavar="FILE",
                   help="build the travel times from this OpenStreetMap extract (pyrosm + pandana) instead")
    c.add_argument("--osm-mode", choices=("walking", "cycling", "driving"), default="walking",
                   help="network and constant speed for --osm-pbf (default walking, 4.8 km/h)")
    c.add_argument("--travel-times-out", type=Path, default=None, help="write the --osm-pbf travel times (CSV)")
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
    e.add_argument("--sites", default="libraries", metavar="KINDS",
                   help="coverage: hub sites as a comma list of pods, libraries, schools (default libraries, "
                        "as the Coverage page opens)")
    e.set_defaults(func=_export)

    _add_site_parser(sub)

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
                   pods_file=None if args.no_sample_pods else SAMPLE_PODS, progress=print, strict=args.strict)
    print(f"built {describe_location(report.path)} in {time.perf_counter() - started:.1f} s: {len(report.states)} state(s)")
    for table in ("districts", "district_measures", "sites", "site_districts", "pods", "pod_districts",
                  "demand_points"):
        print(f"  {table:18} {report.counts.get(table, 0):>8,}")
    for row in report.provenance:
        if row["rows_unjoined"]:
            reasons = "; ".join(f"{v:,} {k}" for k, v in row["unjoined_reasons"].items())
            print(f"  {row['source_key']}: {row['rows_loaded']:,} of {row['rows_read']:,} rows loaded ({reasons})")
    if report.absent:
        print(f"built WITHOUT {len(report.absent)} source(s) (use --strict to make this an error):")
        for a in report.absent:
            print(f"  {a['source_key']} ({a['status']}): {a['note']}")
    return 0


def _import(args: argparse.Namespace) -> int:
    """Validate, report and (unless --dry-run) commit; exit 1 when nothing could be committed."""
    import getpass

    from podgeo import pods, sheets

    store = open_store(args.db or default_path())
    overrides, saved = _mapping_args(args)
    data = pods.read_file(args.file)
    raw = sheets.read_sheet(data, args.file.name, sheet=args.sheet, encoding=args.encoding)
    if raw.encoding_choices:
        raise sheets.SheetError(sheets.unsure_encoding(data, raw) + "; pass --encoding with the one that reads right")
    plan = pods.plan_upload(store, data, args.file.name, raw=raw, state=args.state, overrides=overrides, saved=saved,
                            accept_fixes=args.accept_fixes)
    for line in pods.mapping_lines(plan):
        print(line)
    for line in pods.fix_lines(plan) + pods.value_lines(plan):
        print(line)
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
    user = args.user or getpass.getuser()
    batch_id = pods.commit_upload(store, plan, user=user, use_geocoder=not args.no_geocode)
    print(pods.batch_summary(store, batch_id))  # what the transaction did (the plan's guess was printed above)
    if args.save_mapping:
        saved = pods.remember_mapping(store, plan, name=args.save_mapping, user=user)
        print(f"mapping saved as {saved['name']!r}: sheets with these headers will map themselves")
    return 0


def _mapping_args(args: argparse.Namespace) -> tuple[dict, str | None]:
    """--mapping FILE (or saved NAME) and --map pairs -> (overrides {column: field}, saved mapping name)."""
    from podgeo.sheets import columns

    overrides: dict = {}
    saved = None
    if args.mapping:
        path = Path(args.mapping)
        if path.is_file():
            overrides.update(columns.read_mapping_file(path.read_bytes(), path.name))
        elif path.suffix.lower() in (".json", ".csv"):
            raise FileNotFoundError(f"--mapping {args.mapping}: no such file")
        else:
            saved = args.mapping
    for text in args.map:
        column, field = columns.parse_map_option(text)
        overrides[column] = field
    return overrides, saved


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
    """Compute with the page's own function, write the CSV(s), print the method note and the top of the ranking."""
    from podgeo import access_report, disparity, sensitivity, travel_times

    sites = [kind.strip() for value in args.sites for kind in value.split(",") if kind.strip()]
    hubs = [access_report.Hub.from_query(text) for text in args.hub or ()]
    if None in hubs:
        bad = args.hub[hubs.index(None)]
        raise ValueError(f"--hub {bad!r} is not LON,LAT,SEATS (e.g. -122.41,37.77,50)")
    if (args.travel_times is None and args.osm_pbf is None) != (args.max_minutes is None):
        raise ValueError("--travel-times (or --osm-pbf) and --max-minutes go together: give both or neither")
    if args.travel_times is not None and args.osm_pbf is not None:
        raise ValueError("give --travel-times or --osm-pbf, not both")
    radii = sensitivity.parse_radii(args.sweep) if args.sweep is not None else None
    matrix = travel_times.read_matrix(args.travel_times) if args.travel_times is not None else None
    state = args.state.upper() if args.state else None
    store = open_store(args.db or default_path())
    try:
        frames = access_report.load_frames(store, state)
    finally:
        store.close()
    options = dict(sites=sites, demand=args.demand, method=args.method, radius_miles=args.radius_miles,
                   decay=args.decay, group=args.group, state=state,
                   pod_filter=access_report.pod_filter_from_text(args.pod_filter), hypothetical=hubs,
                   assumed_seats=args.assumed_seats, travel_times=matrix, max_minutes=args.max_minutes)
    if args.osm_pbf is not None:
        options["travel_times"] = _osm_matrix(frames, options, args)
    started = time.perf_counter()
    result = access_report.coverage_table(frames, **options)
    table, summary, meta = result
    seconds = time.perf_counter() - started
    access_report.write_csv(access_report.with_units(table, meta), args.out)
    scores = disparity.scores(result, frames, level=args.level)
    if args.summary_out:
        access_report.write_csv(disparity.summary_frame(scores), args.summary_out)
    if args.groups_out:
        access_report.write_csv(access_report.with_units(summary, meta), args.groups_out)
    if args.points_out:
        access_report.write_csv(access_report.with_units(access_report.points_frame(result.points), meta),
                                args.points_out)
    print(f"wrote {args.out}: {len(table):,} districts, {meta['ranked']:,} ranked as low access "
          f"({meta['method_label']}, {seconds:.2f} s)")
    if meta.get("no_pods"):
        print(f"note: {state or 'the store'} has no pods (after the filter): pods add no supply")
    print(access_report.method_note(meta).replace("**", ""))
    print(f"Disparity: {scores.sentence}")
    top = table[table["rank"].notna()].head(5)
    for row in top.itertuples():
        print(f"  #{row.rank} {row.leaid} {row.name}: {row.children_in_need:,.0f} {meta['group_label']}, "
              f"access {row.access:.3g} {meta['access_unit']}")
    if radii is not None:
        chosen = args.max_minutes if matrix is not None else args.radius_miles
        swept = sensitivity.sweep(frames, radii, chosen=chosen, level=args.level, **options)
        sweep_out = args.sweep_out or args.out.with_name(args.out.stem + "_sweep.csv")
        ranking_out = sweep_out.with_name(sweep_out.stem.removesuffix("_sweep") + "_ranking.csv")
        access_report.write_csv(swept.groups, sweep_out)
        access_report.write_csv(swept.stability, ranking_out)
        print(f"wrote {sweep_out} ({len(swept.groups):,} rows) and {ranking_out}")
        for row in swept.stability.itertuples():
            print(f"  radius {row.radius:g} {swept.unit}: {row.still_top} of the {row.top_at_chosen} top districts "
                  f"at {chosen:g} {swept.unit} stay in the top {sensitivity.TOP}")
    return 0


def _osm_matrix(frames, options, args):
    """Network minutes from every demand point to every site, from the user's .osm.pbf."""
    from podgeo import access_report, osm_travel

    straight = access_report.coverage_table(frames, **{**options, "travel_times": None, "max_minutes": None})
    origins = straight.points.assign(id=straight.points["demand_id"], lon=straight.points.geometry.x,
                                     lat=straight.points.geometry.y)
    sites = straight.sites.assign(id=straight.sites["site_id"], lon=straight.sites.geometry.x,
                                  lat=straight.sites.geometry.y)
    built = osm_travel.build(args.osm_pbf, origins, sites, mode=args.osm_mode, max_minutes=args.max_minutes)
    print(f"travel times: {built.note}")
    if args.travel_times_out:
        built.matrix.to_csv(args.travel_times_out, index=False)
    return built.matrix


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
                                pod_filter=access_report.pod_filter_from_text(args.pod_filter), layers=layers,
                                sites=tuple(k.strip() for k in args.sites.split(",") if k.strip()))
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


def _add_site_parser(sub) -> None:
    """`site`: where to add hubs (MCLP with the pods kept open, and LSCP), as the siting page computes it."""
    s = sub.add_parser("site", help="choose where to add hubs to reach the most children in need (MCLP, LSCP)")
    s.add_argument("--db", type=store_location, default=None,
                   help="store path or postgresql:// URL (default: $PODGEO_DB or data/podgeo.db)")
    s.add_argument("--candidates", default="libraries", metavar="KINDS",
                   help="libraries and/or schools as a comma list, or none (with --candidates-csv)")
    s.add_argument("--candidates-csv", type=Path, default=None, help="more candidates: a CSV of name, lat, lon")
    s.add_argument("--demand", default="schools", help="schools, tracts or districts (default schools)")
    s.add_argument("--group", default=None, help="need group weighting the demand, or total (default per demand)")
    s.add_argument("--radius-miles", type=float, default=5.0, help="reach of a hub in straight-line miles (default 5)")
    s.add_argument("--new", type=int, default=10, help="how many new hubs to open (default 10)")
    s.add_argument("--state", default=None, metavar="XX", help="one state (postal code); default every state")
    s.add_argument("--districts", default=None, metavar="LEAIDS", help="the area: a comma list of district LEAIDs")
    s.add_argument("--cohort", type=int, default=None, help="the area: a saved cohort's districts (by id)")
    s.add_argument("--pod-filter", default="", metavar="QUERY",
                   help="which existing pods count as open, as in the map's URL ('statuses=active')")
    s.add_argument("--travel-times", type=Path, default=None, metavar="FILE",
                   help="reach by travel time: origin_id (demand point), destination_id (site), minutes; CSV or "
                        "Parquet, as `coverage --travel-times` reads it")
    s.add_argument("--max-minutes", type=float, default=None, help="reach in minutes with --travel-times")
    s.add_argument("--time-limit", type=float, default=60.0, help="seconds CBC may take for each model (default 60)")
    s.add_argument("--out", type=Path, required=True, help="CSV of the picks, in the order of what each adds")
    s.add_argument("--geojson-out", type=Path, default=None, help="also write the picks as GeoJSON")
    s.set_defaults(func=_site)


def _site(args: argparse.Namespace) -> int:
    """Compute with the page's own function, write the picks, print coverage before/after and the solver's word."""
    from podgeo import access_report, siting, siting_report, travel_times

    if (args.travel_times is None) != (args.max_minutes is None):
        raise ValueError("--travel-times and --max-minutes go together: give both or neither")
    matrix = travel_times.read_matrix(args.travel_times) if args.travel_times is not None else None
    state = args.state.upper() if args.state else None
    kinds = tuple(k.strip() for k in args.candidates.split(",") if k.strip() and k.strip() != "none")
    bad = [k for k in kinds if k not in siting_report.STORE_KINDS]
    if bad:
        raise ValueError(f"--candidates {bad} not among {list(siting_report.STORE_KINDS)} (or none)")
    upload = siting.read_candidates_csv(args.candidates_csv.read_bytes()) if args.candidates_csv else None
    kinds += ("upload",) if upload is not None else ()
    if not kinds:
        raise ValueError("no candidates: give --candidates libraries,schools and/or --candidates-csv FILE")
    if args.demand not in access_report.DEMAND_KINDS:
        raise ValueError(f"--demand {args.demand!r} is not one of {list(access_report.DEMAND_KINDS)}")
    store = open_store(args.db or default_path())
    try:
        frames = access_report.load_frames(store, state)
        leaids = [v.strip() for v in args.districts.split(",") if v.strip()] if args.districts else []
        if args.cohort is not None:
            leaids += store.cohort_members(args.cohort)
    finally:
        store.close()
    choices = siting_report.Choices(
        state=state, demand=args.demand, group=args.group or siting_report.GROUPS[args.demand][0],
        candidates=kinds, radius_miles=args.radius_miles, n_new=args.new, leaids=tuple(dict.fromkeys(leaids)) or None,
        time_limit=args.time_limit, pod_filter=access_report.pod_filter_from_text(args.pod_filter))
    result = siting_report.site_table(frames, siting_report.with_upload(choices, upload), travel_times=matrix,
                                      max_minutes=args.max_minutes)
    args.out.write_bytes(siting_report.picks_csv(result))
    if args.geojson_out:
        args.geojson_out.write_bytes(siting_report.picks_geojson(result))
    note = args.out.with_name(args.out.stem + ".note.md")
    note.write_text(siting_report.method_note(result.meta) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(result.picks)} new hub(s) (method note: {note.name})")
    for line in siting_report.summary_lines(result):
        print(line)
    for row in result.picks.itertuples():
        print(f"  #{row.pick} {row.site} ({row.district or 'no district'}): +{row.newly_covered:,.0f}, "
              f"cumulative {row.cumulative_share:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
