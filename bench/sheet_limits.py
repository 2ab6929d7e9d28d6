"""Time and memory of each hostile-sheet refusal (issue 10), against reading a clean 1,000-row sheet in the same run.

Each file runs in its own process: the bytes are loaded, podgeo imported and warmed up (lazy
imports), the peak RSS reset (Linux /proc/self/clear_refs); the process's RSS then is the
baseline, and the peak RSS during `read_sheet` minus it the cost. The hostile files are the ones
tests/test_sheets_hostile.py refuses (tests/hostile_sheets.py builds them). Goal: every refusal
within a few seconds and under ~300 MB above the baseline.

    .venv/bin/python bench/sheet_limits.py
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import hostile_sheets  # noqa: E402

_CHILD = r"""
import json, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
path = Path(sys.argv[1])
data = path.read_bytes()
from podgeo.sheets import SheetError, read_sheet
read_sheet("name,notes\nCafé,x\n".encode("cp1252"), "warm.csv")  # lazy imports (charset-normalizer, ftfy)
read_sheet(Path({warm!r}).read_bytes(), "warm.xlsx")  # and openpyxl: paid once per server, not per file
def status_mb(field):
    line = next(l for l in open("/proc/self/status") if l.startswith(field + ":"))
    return int(line.split()[1]) / 1024
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
base = status_mb("VmRSS")
t = time.perf_counter()
try:
    raw = read_sheet(data, path.name)
    outcome = f"read {{len(raw.rows):,}} rows"
except SheetError as exc:
    outcome = "refused: " + str(exc)[:110]
seconds = time.perf_counter() - t
peak = status_mb("VmHWM")
print(json.dumps({{"seconds": seconds, "extra_mb": max(peak - base, 0.0), "bytes": len(data), "outcome": outcome}}))
"""


def _clean_sheet(rows: int = 1_000) -> bytes:
    lines = ["name,lat,lon,state,capacity,notes"]
    lines += [f"Hub {i},37.{i % 1000:03d},-122.{i % 1000:03d},CA,{i % 40},opens 9am" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _widest_allowed(columns: int = 500, rows: int = 60) -> bytes:
    """The worst the header search may face inside the limits: 50 rows of 500 distinct text cells to score."""
    lines = [",".join(f"word{r}x{c} text" for c in range(columns)) for r in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _measure(path: Path) -> dict:
    warm = path.with_name("warm.xlsx")
    if not warm.exists():
        warm.write_bytes(hostile_sheets._xlsx(lambda ws: ws.append(["name", "lat"])))
    out = subprocess.run([sys.executable, "-c", _CHILD.format(repo=str(REPO), warm=str(warm)), str(path)],
                         capture_output=True,
                         text=True, check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        files = {"clean_1000_rows.csv": _clean_sheet(), **{n: make() for n, make in hostile_sheets.REFUSED.items()},
                 "accepted_100000_rows.csv": _clean_sheet(100_000), "accepted_500_columns.csv": _widest_allowed(),
                 "accepted_999000_strings.xlsx": hostile_sheets.shared_strings_bomb_xlsx(999_000),
                 "accepted_cp1252_23mb.csv": ("name,city,notes\n" + "Café Familia Pod,Oakland,Niños y niñas – abierto\n"
                                              * 190_000).encode("cp1252")}
        results = {}
        for name, data in files.items():
            path = Path(tmp) / name
            path.write_bytes(data)
            results[name] = _measure(path)
    base = results["clean_1000_rows.csv"]
    print(f"baseline: clean 1,000-row CSV read in {base['seconds']:.3f} s, +{base['extra_mb']:.0f} MB")
    print(f"{'file':32} {'size':>11} {'seconds':>8} {'x base':>7} {'extra MB':>9}  outcome")
    for name, r in results.items():
        print(f"{name:32} {r['bytes']:>11,} {r['seconds']:>8.3f} {r['seconds'] / max(base['seconds'], 1e-6):>7.1f} "
              f"{r['extra_mb']:>9.1f}  {r['outcome']}")
    refused = [r for n, r in results.items() if n in hostile_sheets.REFUSED]
    print(f"slowest refusal {max(r['seconds'] for r in refused):.2f} s; most memory "
          f"{max(r['extra_mb'] for r in refused):.0f} MB above baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
