"""Explore-map speed and size, each against a naive folium map measured in the same run.

1. Bytes the browser receives for the map (what st_folium sends: script + html + header):
   California's districts, the largest view of any state, the national view; the naive map of
   the raw polygons as the baseline.
2. Server time for a rerun after a filter change, warm caches (AppTest, California), and the
   in-process cost of building + serialising our map against building + serialising the naive one.
3. Time until the California map is drawn in headless Chromium (Debian's), ours against the
   naive map: as plain pages from 127.0.0.1, and through Streamlit + st_folium in two ways.
   Opening the page (navigation start to painted) carries Streamlit's own page start, the same
   for any map: a page with an empty map is measured in the same run and the time above it
   reported. Choosing California in an open page that shows Delaware (what a user does: a
   rerun, a new st_folium frame) is timed from the choice to painted, against a rerun to a
   tiny map. Each map reports "painted" by the page's clock (two animation frames after its
   script ran); the real app, which has no probe, is timed until its new canvas has ink.
4. The national map of every district (issue 14): bytes to the browser and time to draw in
   headless Chromium, on one canvas and as one Leaflet layer per district, against today's
   state-level national view in the same run; the national geometry read from the store against
   made at run time; and the candidate encodings (GeoJSON at 300 m, GeoJSON at 2 km, encoded
   polylines at 2 km). The alternative, vector tiles served as static files (`vector_tiles.py`):
   Mapbox Vector Tiles of the same districts, 2 km and 300 m geometry (GDAL's MVT driver, zooms
   2-8; time to make, tiles, bytes), drawn with Leaflet.VectorGrid at the one-canvas map's view
   interleaved with the states and one-canvas pages: bytes fetched, time to paint, two zoom-in
   steps, and a click's LEAID. VectorGrid comes from npm into .cache/ (the one step needing the network).

    .venv/bin/python bench/map.py [--db data/podgeo.db] [--repeat 5] [--no-browser] [--only national|california]
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import folium  # noqa: E402
import shapely  # noqa: E402
import streamlit_folium  # noqa: E402

from podgeo import assets, explore, filters, maps  # noqa: E402
from podgeo.store import SqliteStore, default_path  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def payload_bytes(m: folium.Map) -> int:
    """What st_folium ships to the browser for a map: the Leaflet script, the html and the header."""
    m.get_root().render()
    parts = (streamlit_folium._get_map_string(m), streamlit_folium._get_html(m), streamlit_folium._get_header(m))
    return sum(len(p.encode("utf-8")) for p in parts if p)


def naive_map(districts) -> folium.Map:
    """What a first attempt looks like: raw polygons straight into folium.GeoJson (Leaflet served locally)."""
    m = folium.Map(location=[37, -119], zoom_start=6, tiles=None)
    folium.GeoJson(districts[["leaid", "name", "geometry"]]).add_to(m)
    minx, miny, maxx, maxy = districts.total_bounds
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return assets.localize(m)


def our_state_view(store: SqliteStore, fips: str, layers, site_kinds=("libraries",), one_canvas=True) -> explore.View:
    districts = store.districts(state_fips=[fips], layers=list(layers))
    pods, links = store.pods(), store.place_districts("pods")
    state = districts["state"].iloc[0]
    sites = {k: maps.prepare_sites(store.sites(kinds=[explore.SITE_KINDS[k][0]], states=[state]), k) for k in site_kinds}
    return explore.state_view(districts, explore.pods_in_view(pods, links, districts["leaid"]), links, sites,
                              measure="pct_poverty", one_canvas=one_canvas)


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def sizes(store: SqliteStore) -> None:
    print("== 1. bytes sent to the browser for the map")
    ca = store.districts(state_fips=["06"], layers=["unified", "elementary"], geometry="full")
    naive = payload_bytes(naive_map(ca))
    ours = payload_bytes(our_state_view(store, "06", ("unified", "elementary"), ()).map)
    with_libs = payload_bytes(our_state_view(store, "06", ("unified", "elementary")).map)
    print(f"California districts: ours {ours / 1e6:.2f} MB, naive raw polygons {naive / 1e6:.2f} MB "
          f"(ratio {naive / ours:.1f}x); with library outlets {with_libs / 1e6:.2f} MB")
    schools = payload_bytes(our_state_view(store, "06", ("unified", "elementary"), ("libraries", "schools")).map)
    print(f"California with library outlets and all public schools: {schools / 1e6:.2f} MB")
    worst = (0, "")
    for row in store.state_list().itertuples():
        for layer, layers in explore.LAYERS.items():
            if store.districts(state_fips=[row.state_fips], layers=list(layers), geometry=None).empty:
                continue
            size = payload_bytes(our_state_view(store, row.state_fips, layers).map)
            worst = max(worst, (size, f"{row.state} {layer}"))
    print(f"largest state view (libraries on): {worst[1]} {worst[0] / 1e6:.2f} MB")
    if len(store.state_list()) > 1:
        national = explore.national_view(store.states(), store.districts(geometry=None), store.pods(),
                                         store.place_districts("pods"), measure="pct_poverty")
        print(f"national view: {payload_bytes(national.map) / 1e6:.2f} MB")


def rerun_times(store: SqliteStore, db: Path, repeat: int) -> None:
    print("== 2. server time for a rerun after a filter change (California, warm caches)")
    from streamlit.testing.v1 import AppTest

    os.environ["PODGEO_DB"] = str(db)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
    at.run()
    choices = [["district_hub"], ["community_org_hub", "faith_based"], [], ["parent_led_pod"]]
    times = []
    for i in range(repeat * 2):
        at.sidebar.multiselect(key="filters.operator_types").set_value(choices[i % len(choices)])
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        assert not at.exception, at.exception
    print(f"AppTest rerun after a filter change: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms over {len(times)} reruns")
    ca_full = store.districts(state_fips=["06"], layers=["unified", "elementary"], geometry="full")
    districts = store.districts(state_fips=["06"], layers=["unified", "elementary"])
    pods, links = store.pods(), store.place_districts("pods")
    libs = maps.prepare_sites(store.sites(kinds=["library"], states=["CA"]), "libraries")

    def ours():
        kept = filters.apply(pods, filters.PodFilter(operator_types=("district_hub",)))
        view = explore.state_view(districts, explore.pods_in_view(kept, links, districts["leaid"]), links,
                                  {"libraries": libs}, measure="pct_poverty")
        payload_bytes(view.map)

    def naive():
        payload_bytes(naive_map(ca_full))

    t_ours, t_naive = median_time(ours, repeat), median_time(naive, repeat)
    print(f"build + serialise in process: ours {t_ours * 1000:.0f} ms, naive {t_naive * 1000:.0f} ms "
          f"(naive / ours = {t_naive / t_ours:.1f}x)")


def draw_times(store: SqliteStore, db: Path, repeat: int) -> None:
    print("== 3. time until the California map is drawn in headless Chromium")
    from playwright.sync_api import sync_playwright

    ca_full = store.districts(state_fips=["06"], layers=["unified", "elementary"], geometry="full")
    assets.install_static(REPO / "static")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app").symlink_to(REPO)  # serves /app/static/vendor/... as Streamlit does
        (root / "naive.html").write_text(_timed(naive_map(ca_full).get_root().render()))
        (root / "ours.html").write_text(_timed(our_state_view(store, "06", ("unified", "elementary")).map
                                               .get_root().render()))
        (root / "layers.html").write_text(_timed(our_state_view(store, "06", ("unified", "elementary"),
                                                                one_canvas=False).map.get_root().render()))
        (root / "static").symlink_to(REPO / "static")
        (root / "compare.py").write_text(_COMPARE_APP)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=tmp))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            results: dict[str, list[float]] = {}
            for name in ("naive", "ours", "layers") * repeat:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                t = time.perf_counter()
                page.goto(f"{base}/{name}.html")
                page.wait_for_function("() => window.__drawn_ms !== undefined", timeout=120_000)
                results.setdefault(name, []).append(time.perf_counter() - t)
                page.close()
            naive_s, ours_s = statistics.median(results["naive"]), statistics.median(results["ours"])
            layers_s = statistics.median(results["layers"])
            print(f"plain HTML page (no Streamlit): ours (one canvas, as the app) {ours_s:.2f} s, ours as one Leaflet "
                  f"layer per district {layers_s:.2f} s, naive raw polygons {naive_s:.2f} s (naive / ours = "
                  f"{naive_s / ours_s:.1f}x, naive / one layer each = {naive_s / layers_s:.1f}x; medians of {repeat})")
            loads, switches = _app_draw_times(browser, root / "compare.py", db, repeat)
            load, switch = ({k: statistics.median(v) for k, v in d.items()} for d in (loads, switches))
            floor = load["empty"]
            print(f"through Streamlit + st_folium, opening the page (navigation start to painted, warm server): "
                  f"ours {load['ours']:.2f} s, ours as one layer per district {load['layers']:.2f} s, naive {load['naive']:.2f} s "
                  f"(naive / ours = {load['naive'] / load['ours']:.1f}x), the real app page {load['app']:.2f} s; "
                  f"an empty map takes {floor:.2f} s (Streamlit's page start, the same for any map): above it, "
                  f"ours {load['ours'] - floor:.2f} s, naive {load['naive'] - floor:.2f} s "
                  f"(naive / ours = {(load['naive'] - floor) / (load['ours'] - floor):.1f}x)")
            print(f"through Streamlit + st_folium, choosing California in an open page showing Delaware (what a "
                  f"user does; choice to painted): ours {switch['ours']:.2f} s, ours as one layer per district "
                  f"{switch['layers']:.2f} s, naive {switch['naive']:.2f} s (naive / ours = "
                  f"{switch['naive'] / switch['ours']:.1f}x, naive / one layer each = "
                  f"{switch['naive'] / switch['layers']:.1f}x); a tiny map instead of California "
                  f"{switch['empty']:.2f} s (a rerun's floor); the real app, Delaware to California in "
                  f"Geography, {switch['app']:.2f} s; medians of {repeat}")
            browser.close()
        server.shutdown()


#: a comparison app: ?variant=naive|ours|layers|empty, one server and browser for all. "Show"
#: starts on Delaware and switches to California; each map reports when it is painted (`_PROBE`)
_COMPARE_APP = f"""
import sys
sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, {str(REPO / "bench")!r})
import folium
import streamlit as st
from streamlit_folium import st_folium
from map import naive_map, our_state_view, probe
from podgeo import assets
from podgeo.store import SqliteStore

@st.cache_resource
def store():
    return SqliteStore(st.query_params.get("db"))

@st.cache_data
def full(fips):
    return store().districts(state_fips=[fips], layers=["unified", "elementary"], geometry="full")

@st.cache_data  # as the app does (ui.state_view): built once per choice, unpickled on a rerun
def ours(fips, one_canvas):
    return our_state_view(store(), fips, ("unified", "elementary"), one_canvas=one_canvas)

variant = st.query_params.get("variant")
shown = st.radio("Show", ["Delaware", "California"], index=int(st.query_params.get("start", "1")),
                 key="shown", horizontal=True)
fips = {{"Delaware": "10", "California": "06"}}[shown]
if variant == "empty":  # the same page with a map of one circle: what Streamlit and st_folium cost alone
    m = assets.localize(folium.Map(location=[37, -119], zoom_start=6, tiles=None))
    folium.CircleMarker([37, -119], radius=40, fill=True).add_to(m)
elif variant == "naive":
    m = naive_map(full(fips))
else:
    m = ours(fips, variant != "layers").map
st_folium(probe(m, shown), key="map", height=620, use_container_width=True, returned_objects=[])
"""

#: after the map's script ran, two animation frames (the map is painted): tell the page, by its clock
_PROBE = """{% macro script(this, kwargs) %}
requestAnimationFrame(() => requestAnimationFrame(() => { try { window.parent.__painted =
  {label: LABEL, t: performance.timeOrigin + performance.now()}; } catch (e) {} }));
{% endmacro %}"""


def probe(m: folium.Map, label: str) -> folium.Map:
    """`m` with `_PROBE` added, reporting `label` (a fixed name, not user text)."""
    import json

    import branca

    element = folium.MacroElement()
    element._template = branca.element.Template(_PROBE.replace("LABEL", json.dumps(label)))
    element.add_to(m)
    return m


def _timed(page: str) -> str:
    """Mark the moment the map has been painted: after the script ran and two animation frames."""
    probe = ("<script>requestAnimationFrame(() => requestAnimationFrame(() => "
             "{ window.__drawn_ms = performance.now(); }));</script>")
    return page.replace("</html>", probe + "</html>") if "</html>" in page else page + probe


#: the real app's map is painted: its newest st_folium frame has a canvas with ink, not the one
#: remembered as `window.__before` (the map shown before the choice)
_DRAWN = """() => { const frames = [...document.querySelectorAll('iframe')].reverse();
    for (const f of frames) { try {
    const d = f.contentDocument; if (!d || !d.querySelector('.leaflet-container')) continue;
    const c = d.querySelector('.leaflet-overlay-pane canvas'); if (!c || c === window.__before) continue;
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
    for (let i = 3; i < px.length; i += 64) if (px[i] > 0) n++; if (n > 500) return true; } catch (e) {} }
    return false; }"""

_NOW = "() => performance.timeOrigin + performance.now()"


def _app_draw_times(browser, compare_app: Path, db: Path, repeat: int):
    """Opening the page (navigation start to painted) and switching Delaware -> California
    (choice to painted), per variant; the first round warms the server's caches."""
    loads: dict[str, list[float]] = {}
    switches: dict[str, list[float]] = {}
    port, proc = _serve(compare_app, db)
    try:
        for i in range(repeat + 1):
            for name in ("empty", "naive", "ours", "layers"):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"http://127.0.0.1:{port}/?variant={name}&db={db}")
                page.wait_for_function("() => window.__painted && window.__painted.label === 'California'",
                                       timeout=180_000)
                load = page.evaluate("() => (window.__painted.t - performance.timeOrigin) / 1000")
                page.goto(f"http://127.0.0.1:{port}/?variant={name}&db={db}&start=0")
                page.wait_for_function("() => window.__painted && window.__painted.label === 'Delaware'",
                                       timeout=180_000)
                page.wait_for_timeout(300)
                t0 = page.evaluate(_NOW)
                page.get_by_text("California", exact=True).click()
                page.wait_for_function("() => window.__painted && window.__painted.label === 'California'",
                                       timeout=180_000)
                switch = (page.evaluate("() => window.__painted.t") - t0) / 1000
                page.close()
                if i:
                    loads.setdefault(name, []).append(load)
                    switches.setdefault(name, []).append(switch)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait()
    port, proc = _serve(REPO / "app.py", db)
    try:
        for i in range(repeat + 1):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            t = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/?state=CA")
            page.wait_for_function(_DRAWN, timeout=180_000, polling=20)
            load = time.perf_counter() - t
            page.goto(f"http://127.0.0.1:{port}/?state=DE")
            page.wait_for_function(_DRAWN, timeout=180_000, polling=20)
            page.wait_for_timeout(300)
            page.evaluate("""() => { for (const f of [...document.querySelectorAll('iframe')].reverse()) {
                const c = f.contentDocument && f.contentDocument.querySelector('.leaflet-overlay-pane canvas');
                if (c) { window.__before = c; return; } } }""")
            page.get_by_label("Geography").first.click()
            page.keyboard.type("California")
            page.wait_for_timeout(300)
            t = time.perf_counter()
            page.keyboard.press("Enter")
            page.wait_for_function(_DRAWN, timeout=180_000, polling=20)
            switch = time.perf_counter() - t
            page.close()
            if i:
                loads.setdefault("app", []).append(load)
                switches.setdefault("app", []).append(switch)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait()
    return loads, switches


def _serve(script: Path, db: Path):
    import socket
    import subprocess
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PODGEO_DB": str(db), "PODGEO_TILES": "", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--server.enableStaticServing", "true", "--browser.gatherUsageStats", "false"],
                            cwd=script.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return port, proc
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"streamlit did not start for {script}")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def national(store: SqliteStore, repeat: int, browser: bool) -> None:
    print("== 4. national map of every district (unified + elementary) against the state-level national view")
    import vector_tiles  # bench/, beside this file

    from podgeo import geo

    viewports = ((1400, 900), (390, 844))  # desktop and phone
    pods, links = store.pods(), store.place_districts("pods")
    table, states = store.districts(geometry=None), store.states()
    t = time.perf_counter()
    display = store.districts(layers=["unified", "elementary"])
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    made = geo.national_geometry(display)
    t_geom = time.perf_counter() - t
    t = time.perf_counter()
    nat = store.national_districts()
    t_stored = time.perf_counter() - t
    print(f"national display geometry made at run time from the stored 300 m display geometry: {t_geom:.1f} s "
          f"(+ read {t_read:.1f} s); read from the store's `national` column (made by the build): {t_stored:.2f} s; "
          f"vertices {int(shapely.get_num_coordinates(display.geometry.values).sum()):,} -> "
          f"{int(shapely.get_num_coordinates(made.geometry.values).sum()):,} (stored: "
          f"{int(shapely.get_num_coordinates(nat.geometry.values).sum()):,})")
    views = {
        "states": lambda: explore.national_view(states, table, pods, links, measure="pct_poverty").map,
        "districts": lambda: explore.national_district_view(nat, states, pods, links, measure="pct_poverty").map,
        "layers": lambda: explore.national_district_view(nat, states, pods, links, measure="pct_poverty",
                                                         one_canvas=False).map,
    }
    built = {}
    for name, make in views.items():
        t = time.perf_counter()
        built[name] = make()
        size = payload_bytes(built[name])
        print(f"{name:>9}: {size / 1e6:.2f} MB to the browser (st_folium parts), "
              f"build + serialise {time.perf_counter() - t:.2f} s")
    for label, frame, precision in (("GeoJSON, 300 m display geometry", display, None),
                                    ("GeoJSON, 2 km national geometry", nat, None),
                                    ("encoded polylines, 2 km, 3 decimals", nat, 3)):
        m = maps.district_choropleth(frame, "pct_poverty", label="x", unit="%", tiles=None, precision=precision)
        print(f"  districts alone as {label}: {payload_bytes(m) / 1e6:.2f} MB")
    tiles = vector_tiles.make({"2km": nat, "300m": display}, REPO / ".cache" / "tiles", REPO)
    if not browser:
        return
    from playwright.sync_api import sync_playwright

    assets.install_static(REPO / "static")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "app").symlink_to(REPO)
        for name in built:  # a fresh map: a second render() of one (payload_bytes made the first) repeats its page
            (root / f"{name}.html").write_text(_timed(views[name]().get_root().render()))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=tmp))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for size in viewports:
                results: dict[str, list[float]] = {}
                for name in ("states", "districts", "layers") * repeat:
                    page = chromium.new_page(viewport={"width": size[0], "height": size[1]})
                    page.goto(f"{base}/{name}.html")
                    page.wait_for_function("() => window.__drawn_ms !== undefined", timeout=120_000)
                    # the page's own clock: navigation start to painted (no polling latency in it)
                    results.setdefault(name, []).append(page.evaluate("() => window.__drawn_ms") / 1000)
                    page.close()
                s_states, s_districts = statistics.median(results["states"]), statistics.median(results["districts"])
                s_layers = statistics.median(results["layers"])
                print(f"drawn in Chromium at {size[0]}x{size[1]}: every district on one canvas {s_districts:.2f} s, "
                      f"one Leaflet layer each {s_layers:.2f} s, states {s_states:.2f} s (districts / states = "
                      f"{s_districts / s_states:.1f}x, one layer each / states = {s_layers / s_states:.1f}x; "
                      f"medians of {repeat}, interleaved; navigation start to painted, by the page's clock)")
            vector_tiles.compare(chromium, root, base, tiles, repeat, viewports)
            chromium.close()
        server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=default_path())
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--only", choices=["national", "california"], help="run one part")
    args = parser.parse_args()
    store = SqliteStore(args.db)
    if args.only == "national":
        return national(store, args.repeat, not args.no_browser)
    if args.only == "california":
        return draw_times(store, args.db, args.repeat)
    sizes(store)
    rerun_times(store, args.db, args.repeat)
    if not args.no_browser:
        draw_times(store, args.db, args.repeat)
    if len(store.state_list()) > 1:
        national(store, args.repeat, not args.no_browser)


if __name__ == "__main__":
    main()
