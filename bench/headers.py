"""Header matcher quality and cost: precision and recall on tests/data/header_corpus.csv, and time per column.

The corpus holds real-looking headers from form tools, partners' workbooks and six languages,
each with the pod field it should map to (blank for decoys such as "Email Address" that must map
to nothing). The second corpus was written before the matcher was tuned and
set aside (its first figures are in the commit that added it). The baseline, measured in the same run, is exact lookup of the known synonyms alone;
the ratio is the matcher's cost per column against it (the reader caps columns, so this bounds
the cost of a wide sheet).

    .venv/bin/python bench/headers.py [--misses]
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPORA = (REPO / "tests" / "data" / "header_corpus.csv", REPO / "tests" / "data" / "header_corpus_heldout.csv")


def score(rows: list[dict], guess) -> dict:
    """Precision (right among mapped), recall (right among those with a field), per kind of header."""
    tp = fp = fn = 0
    kinds: Counter = Counter()
    right: Counter = Counter()
    misses = []
    for row in rows:
        want, got = row["field"] or None, guess(row["header"])
        kinds[row["kind"]] += 1
        right[row["kind"]] += got == want
        tp += got is not None and got == want
        fp += got is not None and got != want
        fn += want is not None and got != want
        if got != want:
            misses.append((row["header"], want, got))
    return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
            "by_kind": {k: (right[k], n) for k, n in sorted(kinds.items())}, "misses": misses}


def main() -> None:
    from podgeo import sheets

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every header the matcher gets wrong")
    args = parser.parse_args()
    for corpus in CORPORA:
        _report(corpus, sheets, args.misses)
    # Worst case: headers no synonym or rule names, so every one goes through the fuzzy pass.
    unknown = [f"Column about thing {i} we track" for i in range(2000)]
    sheets.suggest_mapping(unknown[:1])
    started = time.perf_counter()
    sheets.suggest_mapping(unknown)
    print(f"worst case (2,000 headers that name nothing, all fuzzy): "
          f"{(time.perf_counter() - started) / len(unknown) * 1000:.3f} ms/column")


def _report(corpus: Path, sheets, misses: bool) -> None:
    rows = list(csv.DictReader(corpus.open(encoding="utf-8")))
    synonyms = {k.lower(): v for k, v in _exact_synonyms(sheets).items()}

    def baseline(header):
        return synonyms.get(" ".join(header.lower().split()))

    def matcher(header):
        return sheets.suggest_mapping([header])[header]

    results = {}
    for label, guess in (("exact synonyms", baseline), ("matcher", matcher)):
        matcher(rows[0]["header"])  # warm caches
        started = time.perf_counter()
        for _ in range(5):
            result = score(rows, guess)
        result["ms_per_column"] = (time.perf_counter() - started) / (5 * len(rows)) * 1000
        results[label] = result
    positives = sum(1 for r in rows if r["field"])
    print(f"{len(rows)} headers ({positives} with a field, {len(rows) - positives} decoys) from {corpus.name}")
    print(f"{'':16} {'precision':>9} {'recall':>7} {'ms/column':>9}  " + "  ".join(results["matcher"]["by_kind"]))
    for label, r in results.items():
        kinds = "  ".join(f"{ok}/{n}".rjust(len(k)) for k, (ok, n) in r["by_kind"].items())
        print(f"{label:16} {r['precision']:9.3f} {r['recall']:7.3f} {r['ms_per_column']:9.3f}  {kinds}")
    ratio = results["matcher"]["ms_per_column"] / max(results["exact synonyms"]["ms_per_column"], 1e-9)
    print(f"matcher cost per column: {ratio:.0f}x exact lookup")
    if misses:
        for header, want, got in results["matcher"]["misses"]:
            print(f"  {header!r}: want {want}, got {got}")


def _exact_synonyms(sheets) -> dict[str, str]:
    """The field names and listed synonyms, as typed (no normalisation): what exact lookup alone would map."""
    from podgeo.sheets import headers

    table = {target: target for target in sheets.TARGETS}
    for target, names in headers.SYNONYMS.items():
        for name in names:
            table.setdefault(name, target)
    return table


if __name__ == "__main__":
    main()
