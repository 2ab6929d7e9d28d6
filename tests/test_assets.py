"""podgeo.assets: vendored Leaflet files, local links, and what st_folium will load."""
from __future__ import annotations

import os
import time
from pathlib import Path

import folium
import folium.plugins
import pytest

from podgeo import assets


def _st_folium_links(m: folium.Map) -> tuple[list[str], list[str]]:
    """The js/css links st_folium 0.27 sends to its iframe: default_js/default_css of every element."""
    js, css = [], []

    def walk(elem):
        yield elem
        for child in getattr(elem, "_children", {}).values():
            yield from walk(child)

    for elem in walk(m):
        js += [src for _, src in getattr(elem, "default_js", [])]
        css += [href for _, href in getattr(elem, "default_css", [])]
    return list(dict.fromkeys(js)), list(dict.fromkeys(css))


def _served_path(static_dir: Path, url: str) -> Path:
    assert url.startswith(assets.STATIC_URL + "/")
    return static_dir / url[len(assets.STATIC_URL) + 1:]


def test_install_static_copies_leaflet_and_markercluster(tmp_path):
    static = tmp_path / "static"
    assets.install_static(static)
    for element in ("map", "markercluster"):
        js, css = assets.local_js_css(element)
        for _, url in [*js, *css]:
            assert _served_path(static, url).stat().st_size > 500, url
    leaflet_js = _served_path(static, assets.local_js_css()[0][0][1])
    assert b"1.9.4" in leaflet_js.read_bytes()[:400]
    assert (leaflet_js.parent / "images" / "layers.png").is_file()  # leaflet.css refers to it


def test_install_static_is_idempotent_fast_and_repairs(tmp_path):
    static = tmp_path / "static"
    assets.install_static(static)
    leaflet_js = _served_path(static, assets.local_js_css()[0][0][1])
    before = leaflet_js.stat().st_mtime_ns
    started = time.perf_counter()
    assets.install_static(static)
    elapsed = time.perf_counter() - started
    assert leaflet_js.stat().st_mtime_ns == before  # untouched
    assert elapsed < 0.5
    leaflet_js.write_bytes(b"broken")
    assets.install_static(static)
    assert leaflet_js.stat().st_size > 100_000
    assert not [p for p in static.rglob(".*") if p.is_file()]  # no temporary files left


def test_app_static_dir_is_beside_the_main_script(tmp_path):
    assert assets.app_static_dir(tmp_path / "app.py") == tmp_path.resolve() / "static"


def test_local_js_css_points_at_the_app_only():
    js, css = assets.local_js_css()
    assert js == [("leaflet", "/app/static/vendor/leaflet-1.9.4/leaflet.js")]
    assert css == [("leaflet_css", "/app/static/vendor/leaflet-1.9.4/leaflet.css")]
    with pytest.raises(ValueError, match="'fullscreen'"):
        assets.local_js_css("fullscreen")


def test_st_folium_gets_exactly_our_links():
    m = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    assets.localize(m)
    js, css = _st_folium_links(m)
    assert js == ["/app/static/vendor/leaflet-1.9.4/leaflet.js",
                  "/app/static/vendor/leaflet.markercluster-1.4.1/leaflet.markercluster.js"]
    assert css == ["/app/static/vendor/leaflet-1.9.4/leaflet.css",
                   "/app/static/vendor/leaflet.markercluster-1.4.1/MarkerCluster.css",
                   "/app/static/vendor/leaflet.markercluster-1.4.1/MarkerCluster.Default.css"]
    assert assets.remote_links(m.get_root().render()) == []
    assert folium.Map.default_js[0][1].startswith("https://")  # folium's own class defaults untouched


def test_localize_refuses_elements_that_would_reach_a_cdn():
    m = folium.Map(tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="Fullscreen"):
        assets.localize(m)


@pytest.mark.parametrize("env, expected", [
    ({}, None), ({"PODGEO_TILES": ""}, None), ({"PODGEO_TILES": "none"}, None),
    ({"PODGEO_TILES": "OpenStreetMap"}, assets.Basemap("OpenStreetMap")),
    ({"PODGEO_TILES": "https://t.example/{z}/{x}/{y}.png"}, assets.Basemap("https://t.example/{z}/{x}/{y}.png", "Basemap tiles")),
    ({"PODGEO_TILES": "https://t.example/{z}/{x}/{y}.png", "PODGEO_TILES_ATTR": "© Example"},
     assets.Basemap("https://t.example/{z}/{x}/{y}.png", "© Example")),
])
def test_tiles_from_env(env, expected):
    assert assets.tiles_from_env(env) == expected


def test_remote_links_finds_scripts_styles_and_css_urls():
    html = ('<script src="https://cdn.example/x.js"></script><script src="/app/static/a.js"></script>'
            '<link rel="stylesheet" href="//cdn.example/y.css"/><style>@import "http://z/c.css"; '
            'div { background: url(https://i/p.png) }</style>')
    assert assets.remote_links(html) == ["https://cdn.example/x.js", "//cdn.example/y.css", "https://i/p.png", "http://z/c.css"]


def test_vendored_files_never_reach_git():
    repo = Path(__file__).resolve().parents[1]
    assert "static/vendor/" in (repo / ".gitignore").read_text().splitlines()
    assert os.path.isdir(repo / "static")
