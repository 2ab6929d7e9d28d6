"""Time from navigation to drawn for every page on a store (warm server), against a blank Streamlit page.

For each page registered in app.py (and a few deep links a user follows), headless Debian chromium
opens the page once to warm the server's caches, then `--repeat` more times; the median time from
`page.goto` until the script has finished and every map has drawn its layers is reported. The
baseline is a one-line Streamlit app (`st.title`) served the same way in the same run, so the ratio
says what podgeo adds over Streamlit's own start-up on this (shared, noisy) machine.
Goals (issue 11): every page <= 2 s, Coverage <= 3 s, warm, on the national store.

    .venv/bin/python bench/pages.py [--db data/podgeo.db] [--repeat 3] [--size desktop|phone]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import app_browser  # noqa: E402

DEEP_LINKS = ["explore?state=CA", "district?district=0634410", "coverage?state=CA"]
GOALS = {"coverage": 3.0}


def time_page(page, url: str, repeat: int) -> tuple[float, list[str]]:
    """Median seconds from navigation to drawn over `repeat` visits after one warm-up visit."""
    times, trouble = [], []
    for i in range(repeat + 1):
        page.goto("about:blank")
        start = time.perf_counter()
        page.goto(url, wait_until="domcontentloaded")
        app_browser.wait_drawn(page)
        if i:
            times.append(time.perf_counter() - start)
        trouble = app_browser.error_texts(page)
    return statistics.median(times), trouble


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("PODGEO_DB", str(REPO / "data" / "podgeo.db")))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", choices=sorted(app_browser.VIEWPORTS), default="desktop")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        blank = Path(tmp) / "blank.py"
        blank.write_text("import streamlit as st\nst.title('blank')\n")
        browser = app_browser.launch(pw)
        page = app_browser.new_page(browser, args.size)
        with app_browser.app_server(args.db, app=blank) as base:
            baseline, _ = time_page(page, base, args.repeat)
        print(f"baseline (one-line Streamlit page): {baseline:.2f} s  [{args.size}, median of {args.repeat}, warm]")
        print(f"{'page':34} {'seconds':>8} {'x baseline':>11}  goal")
        over = 0
        with app_browser.app_server(args.db) as base:
            for path in app_browser.page_paths() + DEEP_LINKS:
                seconds, trouble = time_page(page, f"{base}/{path}", args.repeat)
                goal = GOALS.get(path.split("?")[0], 2.0)
                over += seconds > goal
                flag = "ok" if seconds <= goal else "OVER"
                print(f"{path or '/ (national view)':34} {seconds:8.2f} {seconds / baseline:11.1f}  <= {goal:.0f} s {flag}"
                      + (f"  !! {trouble[0][:80]!r}" if trouble else ""))
        browser.close()
    print(f"{over} page(s) over their goal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
