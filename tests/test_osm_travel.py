"""Travel times from an OpenStreetMap extract (podgeo.osm_travel) on the small extract shipped inside pyrosm,
checked against networkx's Dijkstra on the same network, then fed to Coverage."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

pyrosm = pytest.importorskip("pyrosm")
pytest.importorskip("pandana")

from podgeo import osm_travel, travel_times  # noqa: E402

PBF = pyrosm.get_data("test_pbf")  # ships with pyrosm (no download): a few streets near 26.95 E, 60.53 N
ORIGINS = pd.DataFrame({"id": ["a", "b", "far"], "lon": [26.935, 26.95, 27.5], "lat": [60.525, 60.53, 60.53]})
SITES = pd.DataFrame({"id": ["s1", "s2"], "lon": [26.96, 26.94], "lat": [60.535, 60.522]})


@pytest.fixture(scope="module")
def built():
    return osm_travel.build(PBF, ORIGINS, SITES, mode="walking")


def test_minutes_match_dijkstra_on_the_same_network(built):
    osm = pyrosm.OSM(PBF)
    nodes, edges = osm.get_network(network_type="walking", nodes=True)
    graph = nx.Graph()
    graph.add_weighted_edges_from(zip(edges["u"], edges["v"], edges["length"]), weight="length")
    graph = graph.subgraph(max(nx.connected_components(graph), key=len))  # the piece the points snap to
    xy = nodes.set_index("id")[["lon", "lat"]]
    xy = xy[xy.index.isin(graph.nodes)]

    def snap(lon, lat):  # brute force: the nearest graph node by great-circle distance
        d = osm_travel._haversine_m(lon, lat, xy["lon"].to_numpy(), xy["lat"].to_numpy())
        return xy.index[int(np.argmin(d))], float(d.min())

    per_minute = 4.8 * 1000 / 60
    got = built.matrix.set_index(["origin_id", "destination_id"])["minutes"]
    assert len(got) == 4  # "far" (30 km east) is off the network: no pairs, counted
    assert built.origins_off_network == 1 and "1 origins and 0 destinations over 1000 m" in built.note
    for o in ORIGINS.itertuples():
        if o.id == "far":
            continue
        o_node, o_snap = snap(o.lon, o.lat)
        for s in SITES.itertuples():
            s_node, s_snap = snap(s.lon, s.lat)
            metres = nx.shortest_path_length(graph, o_node, s_node, weight="length") + o_snap + s_snap
            assert got[(o.id, s.id)] == pytest.approx(metres / per_minute, rel=1e-4)


def test_built_table_reads_back_and_matches_ids(built, tmp_path):
    built.matrix.to_csv(tmp_path / "walk.csv", index=False)
    table = travel_times.read_matrix(tmp_path / "walk.csv")
    matched = travel_times.match(table, ["a", "b", "far"], ["libraries:s1", "libraries:s2"], max_minutes=30)
    near = travel_times.nearest(matched, 3)
    assert near[0] == pytest.approx(built.matrix.query("origin_id == 'a'")["minutes"].min())
    assert np.isinf(near[2]) and matched.demand_without_pairs == 1  # "far" reaches nothing, and is counted
