"""Vector tiles of every district for bench/map.py (issue 14): the alternative to sending one
national display geometry, measured the same way. Tiles are written with GDAL's MVT driver
(through pyogrio) and drawn with Leaflet.VectorGrid; nothing here is used by the app or tests.
"""
from __future__ import annotations

import gzip
import functools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import geopandas as gpd
import pyogrio

from podgeo import assets, explore, geo, maps, measures

VECTORGRID_VERSION = "1.3.0"
LAYER = "districts"
MEASURE = "pct_poverty"


def vectorgrid(repo: Path) -> Path:
    """Leaflet.VectorGrid's dist folder, installed from npm into the git-ignored `.cache` if absent
    (the one step of the bench that needs the network)."""
    prefix = repo / ".cache" / "vectorgrid"
    dist = prefix / "node_modules" / "leaflet.vectorgrid" / "dist"
    if not (dist / "Leaflet.VectorGrid.bundled.min.js").is_file():
        subprocess.run(["npm", "install", "--prefix", str(prefix), f"leaflet.vectorgrid@{VECTORGRID_VERSION}"],
                       check=True, stdout=subprocess.DEVNULL)
    return dist


def tile_frame(districts: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, maps.Classes]:
    """What the tiles carry: each unified + elementary district placed as the national map draws it
    (`geo.inset_composite`), with leaid, name and its class index `c` from `maps.classify`, the
    same classes (quantiles of `MEASURE`) as `explore.national_district_view`'s legend."""
    base = geo.inset_composite(districts[districts["layer"].isin(explore.LAYERS["base"])])
    classes = maps.classify(base[MEASURE], unit=measures.get(MEASURE).unit)
    frame = gpd.GeoDataFrame({"leaid": base["leaid"].astype(str).to_numpy(),
                              "name": base["name"].astype("string").fillna("").to_numpy(dtype=object),
                              "c": list(classes.yb)}, geometry=base.geometry.values, crs=base.crs)
    return frame, classes


#: GDAL's per-tile limit, raised from 500 kB: over it GDAL encodes the tile coarser and drops
#: districts (at 500 kB, a third of them at zoom 2-4); the browser gets whatever size it is
MAX_TILE_BYTES = 20_000_000


def write_tiles(frame: gpd.GeoDataFrame, out: Path, minzoom: int, maxzoom: int) -> dict:
    """A z/x/y.pbf folder of `frame` (GDAL's default extent 4096 and buffer; uncompressed, as
    http.server serves files as they are: GDAL gzips each tile unless COMPRESS=NO, which needs a
    server that sends Content-Encoding): the seconds it took, how many tiles, bytes on disk (and
    gzipped) and per zoom."""
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    pyogrio.write_dataframe(frame, out, driver="MVT", layer=LAYER,
                            dataset_options={"MINZOOM": str(minzoom), "MAXZOOM": str(maxzoom), "COMPRESS": "NO",
                                             "MAX_SIZE": str(MAX_TILE_BYTES)})
    seconds = time.perf_counter() - t
    files = list(out.rglob("*.pbf"))
    per_zoom = {z: sum(f.stat().st_size for f in files if f.relative_to(out).parts[0] == str(z))
                for z in range(minzoom, maxzoom + 1)}
    return {"seconds": seconds, "tiles": len(files), "bytes": sum(per_zoom.values()), "per_zoom": per_zoom,
            "gz": sum(_gzipped(f.resolve()) for f in files)}


#: distinct LEAIDs per zoom of a tile folder, decoded with the vector-tile + pbf modules that
#: VectorGrid's npm install brings (GDAL's MVT reader fails on some 300 m tiles: a GEOS
#: TopologyException while it assembles polygons, which the browser never does)
_COUNT_JS = """
const fs = require("fs"), path = require("path"), Pbf = require("pbf"), VectorTile = require("vector-tile").VectorTile;
const [dir, layer] = process.argv.slice(1), out = {};
for (const z of fs.readdirSync(dir).filter(d => /^[0-9]+$/.test(d))) {
  const ids = new Set();
  for (const x of fs.readdirSync(path.join(dir, z))) for (const y of fs.readdirSync(path.join(dir, z, x))) {
    const t = new VectorTile(new Pbf(fs.readFileSync(path.join(dir, z, x, y)))).layers[layer];
    for (let i = 0; t && i < t.length; i++) ids.add(t.feature(i).properties.leaid);
  }
  out[z] = ids.size;
}
console.log(JSON.stringify(out));
"""


def districts_per_zoom(out: Path, dist: Path) -> dict[int, int]:
    """How many districts are in the tiles at each zoom (GDAL drops those that quantise to nothing)."""
    done = subprocess.run(["node", "-e", _COUNT_JS, str(out), LAYER], check=True, capture_output=True, text=True,
                          env={**os.environ, "NODE_PATH": str(dist.parents[1])})
    return {int(z): n for z, n in json.loads(done.stdout).items()}


def page(tiles_url: str, vectorgrid_url: str, colours, minzoom: int, maxzoom: int) -> str:
    """A plain Leaflet page drawing the tiles on canvas, coloured by class with the map's styles,
    at the view given by ?lat=&lng=&z= (the one-canvas national map's fitted view), with the
    national map's zoom options. `window.__painted` resolves (ms since navigation start) when
    every tile of the view is loaded (VectorGrid's `load`) and two frames have been painted."""
    base, no_data = dict(maps._BASE_STYLE, fill=True), dict(maps._NO_DATA_STYLE, fill=True)
    leaflet = f"{assets.VENDOR_URL}/leaflet-{assets.LEAFLET_VERSION}"
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="{leaflet}/leaflet.css"><script src="{leaflet}/leaflet.js"></script>
<script src="{vectorgrid_url}"></script>
<style>html, body, #map {{ margin: 0; width: 100%; height: 100%; }}</style></head>
<body><div id="map"></div><script>
// VectorGrid 1.3.0's canvas click calls L.DomEvent.fakeStop, which Leaflet 1.8 removed
// (Leaflet/Leaflet.VectorGrid#274; fixed on master by #288, not released)
if (!L.DomEvent.fakeStop) L.DomEvent.fakeStop = L.DomEvent.stop;
var q = new URLSearchParams(location.search), colours = {json.dumps(list(colours))};
var base = {json.dumps(base)}, noData = {json.dumps(no_data)};
var map = L.map("map", {{zoomSnap: 0.25, zoomDelta: 0.5, minZoom: 2, maxZoom: 18, preferCanvas: true}});
map.setView([+q.get("lat"), +q.get("lng")], +q.get("z"), {{animate: false}});
var layer = L.vectorGrid.protobuf("{tiles_url}/{{z}}/{{x}}/{{y}}.pbf", {{
    rendererFactory: L.canvas.tile, interactive: true, minNativeZoom: {minzoom}, maxNativeZoom: {maxzoom},
    getFeatureId: function (f) {{ return f.properties.leaid; }},
    vectorTileLayerStyles: {{{LAYER}: function (p) {{
        return p.c < 0 ? noData : Object.assign({{fillColor: colours[p.c]}}, base); }}}}}});
// what st_folium would read of a click: the layer event's latlng / toGeoJSON, the map's own click
layer.on("click", function (e) {{ window.__clicked = {{properties: e.layer.properties, latlng: e.latlng || null,
    geojson: (function () {{ try {{ return JSON.stringify(e.layer.toGeoJSON().properties); }}
                          catch (err) {{ return "throws " + err.message; }} }})()}}; }});
map.on("click", function (e) {{ window.__map_clicked = e.latlng; }});
window.__painted = new Promise(function (done) {{ layer.once("load", function () {{
    requestAnimationFrame(function () {{ requestAnimationFrame(function () {{ done(performance.now()); }}); }});
}}); }});
layer.addTo(map);
window.__map = map; window.__layer = layer;
</script></body></html>"""


#: the folium map's fitted view (a plain page's `var map_<id> = L.map(...)`)
VIEW_JS = """() => { const m = Object.values(window).find(v => v instanceof L.Map);
    const c = m.getCenter(); return {lat: c.lat, lng: c.lng, z: m.getZoom()}; }"""

#: what the browser fetched so far: [url, encoded body bytes] of the document and every resource
FETCHED_JS = """() => performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"))
    .map(e => [e.name, e.encodedBodySize])"""

#: one zoom-in step of the + button (½ level here), without animation: ms until the view is
#: painted (the tiles it needs loaded, if any, then two frames) and what it fetched
ZOOM_JS = """async () => {
    const m = window.__map || Object.values(window).find(v => v instanceof L.Map), layer = window.__layer;
    const seen = performance.getEntriesByType("resource").length, t = performance.now(), from = m.getZoom();
    const loaded = layer ? new Promise(done => layer.once("load", done)) : null;
    m.setZoom(m.getZoom() + m.options.zoomDelta, {animate: false});
    if (layer && layer._loading) await loaded;
    await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
    const ms = performance.now() - t;
    return {ms: ms, from: from, z: m.getZoom(), fetched: performance.getEntriesByType("resource").slice(seen)
        .map(e => [e.name, e.encodedBodySize])};
}"""


def gzip_bytes(root: Path, fetched) -> int:
    """What the fetched files would be gzipped (level 6), as a server that compresses would send
    them; `fetched` is [url, bytes] from the browser, the files are under `root` (a tile the
    folder does not have, a 404, counts as the bytes the browser got)."""
    total = 0
    for url, size in fetched:
        path = _local(root, url)
        total += _gzipped(path.resolve()) if path.is_file() else size
    return total


def _local(root: Path, url: str) -> Path:
    return root / url.split("://", 1)[1].split("/", 1)[1].split("?")[0]


def _tiles_text(root: Path, fetched) -> str:
    """How many tiles a view fetched: requests, of which the folder had (the rest are 404s for
    tiles GDAL did not write, empty sea), and their bytes."""
    tiles = [(url, b) for url, b in fetched if "/tiles/" in url]
    found = sum(_local(root, url).is_file() for url, _ in tiles)
    return f"{len(tiles)} tile requests ({found} tiles) {sum(b for _, b in tiles) / 1e6:.2f} MB"


@functools.lru_cache(maxsize=None)
def _gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 6))


#: zooms of the tiles: the national view is drawn at zoom 3-5 (phone to desktop), a state fills
#: the frame at about zoom 6-8; beyond 8 VectorGrid scales zoom 8's tiles
ZOOMS = (2, 8)
#: the tile variants: (folder, label)
VARIANTS = {"2km": "vector tiles, 2 km national geometry", "300m": "vector tiles, 300 m display geometry"}


def make(frames: dict[str, gpd.GeoDataFrame], out: Path, repo: Path) -> dict[str, dict]:
    """Tiles of each of `frames` (keyed as `VARIANTS`) under `out`, with what making them cost."""
    dist = vectorgrid(repo)
    made = {}
    for key, districts in frames.items():
        t = time.perf_counter()
        frame, classes = tile_frame(districts)
        t_frame = time.perf_counter() - t
        info = write_tiles(frame, out / key, *ZOOMS)
        kept = districts_per_zoom(out / key, dist)
        per_zoom = ", ".join(f"z{z} {b / 1e6:.2f}" for z, b in info["per_zoom"].items())
        print(f"{VARIANTS[key]}: tiles made in {info['seconds']:.1f} s (+ insets and classes {t_frame:.2f} s), "
              f"{info['tiles']:,} tiles, {info['bytes'] / 1e6:.2f} MB on disk ({info['gz'] / 1e6:.2f} MB gzipped), "
              f"zooms {ZOOMS[0]}-{ZOOMS[1]} (MB: {per_zoom}); districts in the tiles by zoom: "
              f"{', '.join(f'z{z} {n:,}' for z, n in sorted(kept.items()))} of {len(frame):,}")
        made[key] = dict(info, frame=frame, classes=classes, dir=out / key)
    return made


def compare(chromium, root: Path, base: str, made: dict[str, dict], repeat: int, viewports) -> None:
    """Draw the tiles at the one-canvas national map's view, interleaved with the served `states`
    and `districts` pages under `root` (each `repeat` times per viewport, a fresh page and cache
    each time), and print bytes fetched, time to paint and two zoom-in steps, as ratios to states."""
    (root / "vectorgrid").symlink_to(vectorgrid(Path(__file__).resolve().parents[1]))
    (root / "tiles").symlink_to(next(iter(made.values()))["dir"].parent)
    for key, info in made.items():
        (root / f"tiles_{key}.html").write_text(page(f"/tiles/{key}", "/vectorgrid/Leaflet.VectorGrid.bundled.min.js",
                                                     info["classes"].colours, *ZOOMS))
    names = {"states": "states view", "districts": "districts on one canvas (encoded polylines, 2 km)",
             **{f"tiles_{key}": VARIANTS[key] for key in made}}
    width = max(map(len, names.values()))
    for w, h in viewports:
        probe = chromium.new_page(viewport={"width": w, "height": h})
        probe.goto(f"{base}/districts.html")
        probe.wait_for_function("() => window.__drawn_ms !== undefined", timeout=120_000)
        view = probe.evaluate(VIEW_JS)
        probe.close()
        query = f"?lat={view['lat']}&lng={view['lng']}&z={view['z']}"
        runs: dict[str, list[dict]] = {name: [] for name in names}
        clicks = {}
        for r in range(repeat):
            for name in names:
                tiles = name.startswith("tiles_")
                page_ = chromium.new_page(viewport={"width": w, "height": h})
                page_.goto(f"{base}/{name}.html" + (query if tiles else ""))
                if tiles:
                    ms = page_.evaluate("() => window.__painted")
                else:
                    page_.wait_for_function("() => window.__drawn_ms !== undefined", timeout=120_000)
                    ms = page_.evaluate("() => window.__drawn_ms")
                fetched = page_.evaluate(FETCHED_JS)
                run = {"s": ms / 1000, "bytes": sum(b for _, b in fetched), "gz": gzip_bytes(root, fetched),
                       "tiles": _tiles_text(root, fetched)}
                if tiles and r == 0:
                    clicks[name] = _click(page_, w, h, made[name.removeprefix("tiles_")]["frame"])
                page_.wait_for_timeout(500)  # a zoom right after the first paint is ignored by Leaflet here
                run["steps"] = [page_.evaluate(ZOOM_JS) for _ in range(2)]
                for step in run["steps"]:
                    step["tiles"] = _tiles_text(root, step["fetched"])
                runs[name].append(run)
                page_.close()
        _report(w, h, view, names, runs, clicks, width, repeat)


def _click(page_, w: int, h: int, frame: gpd.GeoDataFrame) -> str:
    """Click the view's centre: the LEAID VectorGrid gives, and the district there (`maps.district_at`)."""
    page_.mouse.click(w / 2, h / 2)
    at = page_.evaluate(f"() => window.__map.containerPointToLatLng([{w / 2}, {h / 2}])")
    expected = maps.district_at({"last_clicked": at}, frame)
    try:
        page_.wait_for_function("() => window.__clicked !== undefined", timeout=5_000)
    except Exception:  # playwright's TimeoutError: the click found no feature
        return f"no district clicked; the district there by `maps.district_at`: {expected}"
    got = page_.evaluate("() => window.__clicked")
    page_.wait_for_timeout(300)
    map_click = page_.evaluate("() => window.__map_clicked !== undefined")
    leaid = got["properties"]["leaid"]
    return (f"{leaid} ({got['properties']['name']}); the district there by `maps.district_at`: {expected}"
            f"{' (same)' if expected == leaid else ' (DIFFERENT)'}; the event has latlng: "
            f"{got['latlng'] is not None}, toGeoJSON().properties: {got['geojson']}; "
            f"the map's click fired: {map_click}")


def _report(w, h, view, names, runs, clicks, width, repeat) -> None:
    import statistics

    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("s", "bytes", "gz")} for name, rs in runs.items()}
    z = view["z"]
    print(f"drawn in Chromium at {w}x{h}, the one-canvas map's fitted view (zoom {z:g}, tiles of zoom "
          f"{min(max(round(z), ZOOMS[0]), ZOOMS[1])}); medians of {repeat}, interleaved, fresh cache each; "
          f"navigation start to painted by the page's clock; fetched = document + scripts + tiles:")
    for name, label in names.items():
        m, first = med[name], runs[name][0]
        tiles = f", of which {first['tiles']}" if name.startswith("tiles_") else ""
        steps = []
        for i in range(2):
            ms = statistics.median(r["steps"][i]["ms"] for r in runs[name])
            got = runs[name][0]["steps"][i]
            steps.append(f"z{got['from']:g}->{got['z']:g} {ms:.0f} ms"
                         + (f" + {got['tiles']}" if name.startswith("tiles_") else ""))
        print(f"  {label:<{width}}: {m['bytes'] / 1e6:5.2f} MB fetched ({m['gz'] / 1e6:.2f} MB gzipped){tiles}; "
              f"painted {m['s']:.2f} s ({m['s'] / med['states']['s']:.1f}x states); "
              f"+ button x2 (½ level each): {'; '.join(steps)}")
    for name, text in clicks.items():
        print(f"  click at the centre, {names[name]}: {text}")
