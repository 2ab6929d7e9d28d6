"""Serve every script and stylesheet a map needs from the app itself.

Maps must work with no internet (CI, agencies behind strict firewalls): Leaflet comes from the
PyPI package `django-js-lib-leaflet`, Leaflet.markercluster from `xstatic-leaflet-markercluster`.
`install_static` copies them into the app's `static/vendor/` folder at start-up (git-ignored),
Streamlit's `server.enableStaticServing` serves that folder at `/app/static/`, and `localize`
points every folium element of a map at those copies. Basemap tiles are the one optional
outside request (`PODGEO_TILES`).

Note: Streamlit serves `<folder of the main script>/static`, not `<working directory>/static`;
`app_static_dir` gives that folder.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Mapping

import folium
import folium.plugins

#: Where Streamlit serves `static/` (`server.enableStaticServing`), and our vendored files in it.
STATIC_URL = "/app/static"
VENDOR_URL = f"{STATIC_URL}/vendor"

LEAFLET_VERSION = "1.9.4"
MARKERCLUSTER_VERSION = "1.4.1"
_LEAFLET_DIR = f"leaflet-{LEAFLET_VERSION}"
_MARKERCLUSTER_DIR = f"leaflet.markercluster-{MARKERCLUSTER_VERSION}"


@dataclass(frozen=True)
class Basemap:
    """Optional tile layer: a folium/xyzservices provider name or a `{z}/{x}/{y}` URL template."""

    tiles: str
    attr: str | None = None


def install_static(static_dir: Path) -> None:
    """Copy Leaflet and Leaflet.markercluster into `static_dir/vendor/` (skips files already there).

    Each file is written to a temporary name and renamed, so a second app process starting at
    the same time never serves a half-written script.
    """
    for src, rel in _vendor_files():
        dst = Path(static_dir) / "vendor" / rel
        src_stat = src.stat()
        if dst.is_file():
            dst_stat = dst.stat()
            if (dst_stat.st_size, dst_stat.st_mtime_ns) == (src_stat.st_size, src_stat.st_mtime_ns):
                continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o644)
            os.utime(tmp, ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns))  # same size+mtime = up to date
            os.replace(tmp, dst)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def app_static_dir(main_script: Path) -> Path:
    """The folder Streamlit serves at /app/static: `static/` beside the script given to `streamlit run`."""
    return Path(main_script).resolve().parent / "static"


def local_js_css(element: str = "map", base_url: str = VENDOR_URL) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """folium `(default_js, default_css)` for `element` ("map" or "markercluster"), served by the app.

    Only Leaflet itself: folium's jQuery, Bootstrap, awesome-markers and Font Awesome are not
    needed by anything podgeo draws (popups and legends are built without them).
    """
    base = base_url.rstrip("/")
    if element == "map":
        return ([("leaflet", f"{base}/{_LEAFLET_DIR}/leaflet.js")],
                [("leaflet_css", f"{base}/{_LEAFLET_DIR}/leaflet.css")])
    if element == "markercluster":
        return ([("markerclusterjs", f"{base}/{_MARKERCLUSTER_DIR}/leaflet.markercluster.js")],
                [("markerclustercss", f"{base}/{_MARKERCLUSTER_DIR}/MarkerCluster.css"),
                 ("markerclusterdefaultcss", f"{base}/{_MARKERCLUSTER_DIR}/MarkerCluster.Default.css")])
    raise ValueError(f"no local assets for element {element!r}; expected 'map' or 'markercluster'")


def localize(m: folium.Map, base_url: str = VENDOR_URL) -> folium.Map:
    """Point every script/stylesheet link of `m` and its children at the app's own copies.

    `st_folium` reads `default_js`/`default_css` from each element of the map, so setting them
    per element is what makes the browser load exactly our links. An element podgeo has no
    local copy for raises ValueError instead of silently reaching for a CDN.
    """
    for elem in _walk(m):
        kind = _local_kind(elem)
        if kind is not None:
            js, css = local_js_css(kind, base_url)
            elem.default_js, elem.default_css = list(js), list(css)
        elif any(_is_remote(url) for _, url in [*getattr(elem, "default_js", []), *getattr(elem, "default_css", [])]):
            raise ValueError(f"{type(elem).__name__} loads assets from the internet and podgeo serves no "
                             "local copy of them; add them to podgeo.assets or use another element")
    return m


def tiles_from_env(environ: Mapping[str, str] | None = None) -> Basemap | None:
    """Basemap from `PODGEO_TILES` (provider name or URL template; unset/"none" = no tiles).

    `PODGEO_TILES_ATTR` gives the attribution a URL template needs.
    """
    env = os.environ if environ is None else environ
    tiles = (env.get("PODGEO_TILES") or "").strip()
    if not tiles or tiles.lower() in {"none", "off", "0", "false"}:
        return None
    attr = (env.get("PODGEO_TILES_ATTR") or "").strip() or None
    if "{z}" in tiles and attr is None:
        attr = "Basemap tiles"
    return Basemap(tiles, attr)


def remote_links(html: str) -> list[str]:
    """Every script src / stylesheet href in `html` that points off the serving host (tests use it)."""
    links = re.findall(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']([^\"']+)", html, re.I)
    links += re.findall(r"url\(\s*[\"']?([^\"')]+)", html, re.I)
    links += re.findall(r"@import\s+[\"']([^\"']+)", html, re.I)
    return [u for u in links if _is_remote(u)]


def _vendor_files() -> list[tuple[Path, str]]:
    """(source file, path under vendor/) for everything the maps load."""
    leaflet = Path(import_module("js_lib_leaflet").__file__).parent / "static" / "js_lib_leaflet"
    cluster = Path(import_module("xstatic.pkg.leaflet_markercluster").BASE_DIR)
    files = [(leaflet / name, f"{_LEAFLET_DIR}/{name}") for name in ("leaflet.js", "leaflet.js.map", "leaflet.css")]
    files += [(p, f"{_LEAFLET_DIR}/images/{p.name}") for p in sorted((leaflet / "images").glob("*.png"))]
    files += [(cluster / name, f"{_MARKERCLUSTER_DIR}/{name}")
              for name in ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css")]
    missing = [str(src) for src, _ in files if not src.is_file()]
    if missing:
        raise FileNotFoundError(f"vendored map assets missing from the installed packages: {missing}")
    return files


def _walk(elem):
    yield elem
    for child in getattr(elem, "_children", {}).values():
        yield from _walk(child)


def _local_kind(elem) -> str | None:
    if isinstance(elem, folium.Map):
        return "map"
    if isinstance(elem, folium.plugins.MarkerCluster):
        return "markercluster"
    return None


def _is_remote(url: str) -> bool:
    return bool(re.match(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", url, re.I))


def standalone_html(m: folium.Map, static_dir: Path, base_url: str = VENDOR_URL) -> str:
    """The map as one self-contained HTML file: our served scripts and stylesheets inlined (with
    Leaflet's images as data URIs), so a downloaded map opens anywhere, offline included."""
    page = m.get_root().render()
    vendor = Path(static_dir) / "vendor"
    prefix = base_url.rstrip("/") + "/"

    def inline_script(match: re.Match) -> str:
        path = vendor / match.group(1)[len(prefix):]
        return f"<script>{path.read_text(encoding='utf-8')}</script>" if path.is_file() else match.group(0)

    def inline_css(match: re.Match) -> str:
        path = vendor / match.group(1)[len(prefix):]
        if not path.is_file():
            return match.group(0)
        css = re.sub(r"url\((['\"]?)(images/[^'\")]+)\1\)", lambda u: f"url({_data_uri(path.parent / u.group(2))})",
                     path.read_text(encoding="utf-8"))
        return f"<style>{css}</style>"

    page = re.sub(rf'<script src="({re.escape(prefix)}[^"]+)"></script>', inline_script, page)
    page = re.sub(rf'<link rel="stylesheet" href="({re.escape(prefix)}[^"]+)"\s*/?>', inline_css, page)
    return page


def _data_uri(path: Path) -> str:
    import base64

    if not path.is_file():
        return "''"
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
