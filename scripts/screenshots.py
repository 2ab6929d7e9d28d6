"""Screenshot every page of the app at desktop (1400x900) and phone (390x844) size, and print the paths.

Starts the app on a store (PODGEO_DB, else data/podgeo.db: run `python -m podgeo build` first), opens
every page registered in app.py (plus any extra `--url` such as `district?district=0634410`) in
headless Debian chromium, waits until the script has run and every map has drawn, and writes one
full-page PNG per page and size. Any exception or error box, and any request that tried to leave
127.0.0.1, is printed beside the path, so a look at the list says which pictures to look at first.

    .venv/bin/python scripts/screenshots.py [--db data/podgeo.db] [--out screenshots] [--url PATH ...]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import app_browser  # noqa: E402

#: deep links a user follows besides each page's own address
EXTRA_URLS = ["explore?state=CA", "district?district=0634410", "coverage?state=CA"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("PODGEO_DB", str(app_browser.REPO / "data" / "podgeo.db")))
    parser.add_argument("--out", default="screenshots", help="folder for the PNG files (created)")
    parser.add_argument("--url", action="append", default=None, help="extra page path, e.g. 'district?district=0634410'")
    parser.add_argument("--size", choices=sorted(app_browser.VIEWPORTS), action="append", default=None)
    args = parser.parse_args(argv)
    if not Path(args.db).exists():
        parser.error(f"store {args.db} not found: run `python -m podgeo build` first or pass --db")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    urls = app_browser.page_paths() + (args.url if args.url is not None else EXTRA_URLS)
    sizes = args.size or list(app_browser.VIEWPORTS)

    from playwright.sync_api import sync_playwright

    problems = 0
    with app_browser.app_server(args.db) as base, sync_playwright() as pw:
        browser = app_browser.launch(pw)
        for size in sizes:
            page = app_browser.new_page(browser, size)
            for url in urls:
                page.goto(f"{base}/{url}", wait_until="domcontentloaded")
                try:
                    app_browser.wait_drawn(page)
                    trouble = app_browser.error_texts(page)
                except Exception as exc:  # noqa: BLE001 - reported beside the picture
                    trouble = [f"not drawn: {exc}"]
                path = out / f"{_slug(url)}-{size}.png"
                app_browser.whole_page_screenshot(page, path)
                if page.outside:
                    trouble.append(f"requests left the machine: {page.outside[:3]}")
                    page.outside.clear()
                problems += bool(trouble)
                print(path, *(f"  !! {t}" for t in trouble), sep="\n" if trouble else "")
            page.context.close()
        browser.close()
    print(f"{len(urls) * len(sizes)} screenshots in {out}/, {problems} with an error box or outside request")
    return 1 if problems else 0


def _slug(url: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in url).strip("_") or "start"


if __name__ == "__main__":
    sys.exit(main())
