"""JavaScript probes and waits shared by the browser tests (run inside the st_folium iframe)."""
from __future__ import annotations

import time
from pathlib import Path

#: districts on the map: one Leaflet layer each, or all of them in podgeo's one-canvas layer
COUNT_DISTRICTS = """() => { let n = 0; if (!window.map) return 0;
    window.map.eachLayer(l => { if (l.feature && l.feature.properties && l.feature.properties.leaid) n++;
                                else if (l.districtCount) n += l.districtCount(); });
    return n; }"""
INKED_PIXELS = """() => { let inked = 0;
    for (const c of document.querySelectorAll('.leaflet-overlay-pane canvas')) {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 16) if (d[i] > 0) inked++;
    }
    return inked; }"""
OPEN_POD_POPUPS = """() => { const out = [];
    window.map.eachLayer(g => { if (g.getLayers && g._featureGroup) {  // the marker cluster group
        for (const l of g.getLayers()) {
            const p = L.popup().setLatLng(l.getLatLng()).setContent(l.getPopup().getContent()).addTo(window.map);
            const el = p.getElement().querySelector('.leaflet-popup-content');
            out.push({text: el.querySelector('strong').textContent, imgs: el.querySelectorAll('img, script').length});
            const t = L.tooltip().setLatLng(l.getLatLng()).setContent(l.getTooltip().getContent()).addTo(window.map);
            out.push({text: t.getElement().textContent.trim(), imgs: t.getElement().querySelectorAll('img').length});
        } } });
    return out; }"""


def map_frame(page, timeout_s=60):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            if "streamlit_folium" in frame.url:
                return frame
        page.wait_for_timeout(100)
    raise AssertionError(f"no st_folium iframe among {[f.url for f in page.frames]}")


#: st_folium binds its click handlers after the map script has run; a click before that is lost
CLICKABLE = "() => !!(window.map && window.map._events && window.map._events.click && window.__GLOBAL_DATA__)"


def click_latlng(page, frame, lat: float, lng: float) -> None:
    """Click the map at (lat, lng) like a user: once st_folium listens, and the app is idle."""
    frame.wait_for_function(CLICKABLE, timeout=30_000)
    wait_idle(page)
    box = page.locator('iframe[title*="streamlit_folium"]').bounding_box()
    xy = frame.evaluate(f"() => window.map.latLngToContainerPoint([{lat}, {lng}])")
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit shows no script running."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout_ms)
    page.wait_for_timeout(300)


# -- accessibility: axe-core (npm, installed by scripts/install-browser.sh) injected into the page --

AXE_JS = Path(__file__).resolve().parents[2] / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.1 A and AA, the bar issue 11 sets
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page, rules: list[str] | None = None) -> list[dict]:
    """axe-core's WCAG 2.1 AA violations on the page and in its map frames (only `rules`, when given):
    rule id, impact, and the first targets."""
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} missing: run `bash scripts/install-browser.sh`")
    source = AXE_JS.read_text(encoding="utf-8")
    found = []
    for frame in [page.main_frame, *[f for f in page.frames if "streamlit_folium" in f.url]]:
        frame.evaluate(source)
        only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
        result = frame.evaluate("only => axe.run(document, {runOnly: only})", only)
        for v in result["violations"]:
            found.append({"frame": "map" if frame is not page.main_frame else "page", "id": v["id"],
                          "impact": v["impact"], "help": v["help"],
                          "targets": [n["target"] for n in v["nodes"][:3]], "html": [n["html"][:160] for n in v["nodes"][:2]]})
    return found
