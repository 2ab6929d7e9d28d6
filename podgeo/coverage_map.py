"""The Coverage page's access map: districts shaded by access, the sites and pods that supply it, the
demand points (opt-in) and the hypothetical hubs. Builds a folium map; never calls streamlit."""
from __future__ import annotations

from podgeo import access_report as ar
from podgeo import legend_classes, maps, siting_map


def access_map(result: ar.Coverage, frames: ar.Frames, *, sites, state: str, pod_filter, hub=None, linked=(),
               points: bool = False, tiles: str | None = "env"):
    """(map, legend note): classes chosen for the access values (`legend_classes.choose`), one layer per site
    kind, the filtered pods when pods are a site, the what-if hub and the link's hubs numbered."""
    table, _, meta = result
    unit = meta["access_unit"]
    choice = legend_classes.choose(table["access"])
    m = maps.district_choropleth(ar.district_shapes(table, frames), "access", label=f"Access ({unit})", unit="",
                                 scheme=choice.scheme, k=choice.k, tiles=tiles)
    if points:
        maps.add_access_points(m, result.points, "access", label=f"Access ({unit})", unit="",
                               name=meta["demand_label"], show=True)
    for kind in (k for k in sites if k != "pods"):
        maps.add_sites(m, result.sites[result.sites["kind"] == kind], kind)
    if "pods" in sites:
        maps.add_pods(m, ar.chosen_pods(frames, state, pod_filter))
    if hub is not None:
        maps.add_hypothetical_hub(m, hub.lon, hub.lat, hub.seats)
    siting_map.add_hubs(m, linked)
    return m, choice.note
