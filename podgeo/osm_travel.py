"""Travel times built offline from an OpenStreetMap extract (.osm.pbf) the user provides.

pyrosm reads the extract's walking, cycling or driving network; pandana (contraction hierarchies)
finds shortest network paths between every origin and destination. Minutes = network metres /
a constant speed per mode (`SPEEDS_KMH`: no traffic, no signals, no speed limits), plus the
straight-line walk from each point to its nearest network node (of the largest connected part
of the network). A point farther than `max_snap_m`
from the network gets no pairs, and is counted, never dropped silently. The result has the layout
`podgeo.travel_times.read_matrix` reads (origin_id, destination_id, minutes).
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

#: Assumed constant speeds (km/h); walking matches the 3 mph planners use for children.
SPEEDS_KMH = {"walking": 4.8, "cycling": 16.0, "driving": 40.0}
NETWORK = {"walking": "walking", "cycling": "cycling", "driving": "driving"}


class Built(NamedTuple):
    matrix: pd.DataFrame  # origin_id, destination_id, minutes
    origins_off_network: int
    destinations_off_network: int
    unreachable_pairs: int  # pairs with no network path (different components)
    note: str


def build(pbf: str | Path, origins: pd.DataFrame, destinations: pd.DataFrame, *, mode: str = "walking",
          max_minutes: float | None = None, max_snap_m: float = 1000.0, chunk: int = 2_000_000) -> Built:
    """Network minutes for every origin x destination (id, lon, lat frames), pairs within `max_minutes`."""
    from pyrosm import OSM

    if mode not in SPEEDS_KMH:
        raise ValueError(f"mode {mode!r} is not one of {list(SPEEDS_KMH)}")
    pbf = Path(pbf)
    if not pbf.exists():
        raise FileNotFoundError(f"OpenStreetMap extract {pbf} does not exist")
    for frame, name in ((origins, "origins"), (destinations, "destinations")):
        missing = [c for c in ("id", "lon", "lat") if c not in frame.columns]
        if missing:
            raise ValueError(f"{name}: missing column(s) {missing}")
    osm = OSM(str(pbf))
    nodes, edges = osm.get_network(network_type=NETWORK[mode], nodes=True)
    if nodes is None or len(edges) == 0:
        raise ValueError(f"{pbf.name}: no {mode} network in the extract")
    # every node kept (no simplification), so points snap to the street they are on, not the next
    # junction; only the largest connected piece, so no point snaps to an island it cannot leave
    net = osm.to_graph(nodes, edges, graph_type="pandana", simplify=False, retain_all=False,
                       force_bidirectional=mode != "driving")  # one-way streets bind only cars
    metres_per_minute = SPEEDS_KMH[mode] * 1000.0 / 60.0
    o_node, o_snap = _snap(net, origins)
    d_node, d_snap = _snap(net, destinations)
    o_ok = o_snap <= max_snap_m
    d_ok = d_snap <= max_snap_m
    oi, di = np.nonzero(o_ok[:, None] & d_ok[None, :])
    lengths = np.empty(len(oi))
    for start in range(0, len(oi), chunk):
        part = slice(start, start + chunk)
        lengths[part] = net.shortest_path_lengths(o_node[oi[part]], d_node[di[part]], imp_name="length")
    same = o_node[oi] == d_node[di]
    reachable = (lengths < 4e6) | same  # pandana reports unreachable pairs as a huge length (4294967.295)
    minutes = (np.where(same, 0.0, lengths) + o_snap[oi] + d_snap[di]) / metres_per_minute
    keep = reachable if max_minutes is None else reachable & (minutes <= max_minutes)
    matrix = pd.DataFrame({"origin_id": origins["id"].astype(str).to_numpy()[oi[keep]],
                           "destination_id": destinations["id"].astype(str).to_numpy()[di[keep]],
                           "minutes": minutes[keep]})
    matrix.attrs["source"] = f"{pbf.name} ({mode} network, pyrosm + pandana)"
    note = (f"network {mode} times from {pbf.name} (pyrosm + pandana shortest paths at a constant "
            f"{SPEEDS_KMH[mode]:g} km/h, plus the straight line to the nearest network node); "
            f"{int((~o_ok).sum()):,} origins and {int((~d_ok).sum()):,} destinations over {max_snap_m:g} m from "
            f"the network have no pairs; {int((~reachable).sum()):,} pairs have no network path")
    return Built(matrix, int((~o_ok).sum()), int((~d_ok).sum()), int((~reachable).sum()), note)


def _snap(net, points):
    """Nearest network node of each point and the great-circle metres to it.

    Found in a local equirectangular frame (longitude scaled by cos latitude), not in raw degrees
    as pandana's get_node_ids does: at 60 N a degree of longitude is half a degree of latitude."""
    from scipy.spatial import cKDTree

    lon = points["lon"].to_numpy(dtype=float)
    lat = points["lat"].to_numpy(dtype=float)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise ValueError("a point has no longitude/latitude; every origin and destination needs one")
    nodes = net.nodes_df
    scale = np.cos(np.radians(float(nodes["y"].mean())))
    tree = cKDTree(np.column_stack([nodes["x"].to_numpy() * scale, nodes["y"].to_numpy()]))
    _, pos = tree.query(np.column_stack([lon * scale, lat]), k=1)
    where = nodes.iloc[pos]
    return where.index.to_numpy(), _haversine_m(lon, lat, where["x"].to_numpy(), where["y"].to_numpy())


def _haversine_m(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(a))
