"""podgeo.geo: display simplification and point-in-district joins, on hand-built shapes."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from podgeo.geo import (INSETS, assign_points_to_districts, display_geometry, inset_composite, inset_points,
                        round_geojson)


def _districts(rows, crs=4326):
    return gpd.GeoDataFrame([{"leaid": leaid, "layer": layer} for leaid, layer, _ in rows],
                            geometry=[geom for *_, geom in rows], crs=crs)


def _wiggly_pair():
    """Two neighbours in California sharing one zig-zag edge at lon -120 (many tiny vertices)."""
    ys = np.linspace(36.0, 37.0, 401)
    edge = [(-120.0 + (0.0005 if i % 2 else 0.0), y) for i, y in enumerate(ys)]
    west = Polygon([(-121.0, 36.0), *edge, (-121.0, 37.0)])
    east = Polygon([*edge, (-119.0, 37.0), (-119.0, 36.0)])
    return _districts([("0600001", "unified", west), ("0600002", "elementary", east)])


def test_display_geometry_simplifies_rounds_and_returns_wgs84():
    src = _wiggly_pair()
    out = display_geometry(src, tolerance_m=300, decimals=5)

    assert out.crs.to_epsg() == 4326
    assert list(out["leaid"]) == ["0600001", "0600002"]  # attributes kept, order kept
    assert out.is_valid.all() and not out.is_empty.any()
    assert shapely.get_num_coordinates(out.geometry.values).sum() < shapely.get_num_coordinates(src.geometry.values).sum() / 10
    coords = shapely.get_coordinates(out.geometry.values)
    assert np.allclose(coords * 1e5, np.round(coords * 1e5), atol=1e-6)  # 5 decimals
    assert src.geometry.equals(_wiggly_pair().geometry)  # input not modified


def test_coverage_method_keeps_shared_edges_shared():
    out = display_geometry(_wiggly_pair(), tolerance_m=300, method="coverage")
    west, east = out.geometry
    assert west.intersection(east).area == pytest.approx(0, abs=1e-12)  # no overlap
    assert west.union(east).area == pytest.approx(west.area + east.area)
    assert shapely.coverage_is_valid(out.geometry.values)  # no gap either: still edge-matched


def test_coverage_method_falls_back_when_polygons_overlap():
    overlapping = _districts([("0600001", "unified", box(-121, 36, -119.9, 37)),
                              ("0600002", "unified", box(-120.1, 36, -119, 37))])
    out = display_geometry(overlapping, tolerance_m=300, method="coverage")
    assert out.is_valid.all() and len(out) == 2


def test_secondary_layer_is_simplified_separately_from_the_base_tiling():
    pair = _wiggly_pair()
    secondary = _districts([("0600003", "secondary", pair.geometry.union_all())])
    out = display_geometry(pd.concat([pair, secondary], ignore_index=True), tolerance_m=300)
    assert out.is_valid.all() and list(out["layer"]) == ["unified", "elementary", "secondary"]


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "magic"}, "method"), ({"tolerance_m": -1}, "tolerance_m"), ({"decimals": 12}, "decimals")])
def test_display_geometry_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        display_geometry(_wiggly_pair(), **kwargs)


def test_display_geometry_needs_a_crs():
    with pytest.raises(ValueError, match="CRS"):
        display_geometry(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]))


def test_round_geojson():
    gj = {"type": "Feature", "properties": {"v": 1.234567}, "geometry": {"type": "Point", "coordinates": (1.234567, 2.0)}}
    assert round_geojson(gj, 4) == {"type": "Feature", "properties": {"v": 1.234567},
                                    "geometry": {"type": "Point", "coordinates": [1.2346, 2.0]}}


def test_assign_points_one_district_per_tiling_boundary_points_included():
    districts = _districts([
        ("0600002", "unified", box(1, 0, 2, 1)),
        ("0600001", "elementary", box(0, 0, 1, 1)),
        ("0600009", "secondary", box(0, 0, 2, 1)),
        ("0699997", "unified", box(0, 5, 1, 6)),  # filler area: not a district
    ])
    points = gpd.GeoDataFrame({"pod_id": ["in_a", "edge_ab", "corner", "filler", "away"]},
                              geometry=[Point(0.5, 0.5), Point(1, 0.5), Point(2, 1), Point(0.5, 5.5), Point(9, 9)],
                              crs=4326)

    got = assign_points_to_districts(points, districts, id_col="pod_id")

    assert got.to_dict("records") == [
        {"point_id": "in_a", "leaid": "0600001", "layer": "elementary"},
        {"point_id": "in_a", "leaid": "0600009", "layer": "secondary"},
        {"point_id": "edge_ab", "leaid": "0600001", "layer": "elementary"},  # neither interior: lowest LEAID
        {"point_id": "edge_ab", "leaid": "0600009", "layer": "secondary"},  # interior of the secondary
        {"point_id": "corner", "leaid": "0600002", "layer": "unified"},  # on the outer corner: still assigned
        {"point_id": "corner", "leaid": "0600009", "layer": "secondary"},
    ]


def test_assign_points_prefers_the_district_whose_interior_holds_the_point():
    districts = _districts([("0600001", "unified", box(0, 0, 1, 1)), ("0600002", "unified", box(0.5, 0, 2, 1))])
    points = gpd.GeoDataFrame(geometry=[Point(1, 0.5)], crs=4326)  # on A's edge, inside B
    assert assign_points_to_districts(points, districts).to_dict("records") == [
        {"point_id": 0, "leaid": "0600002", "layer": "unified"}]


def test_assign_points_keep_unmatched_and_reprojects():
    districts = _districts([("0600001", "unified", box(0, 0, 1, 1))]).to_crs(5070)
    points = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[Point(0.5, 0.5), Point(3, 3)], crs=4326)
    got = assign_points_to_districts(points, districts, id_col="id", keep_unmatched=True)
    assert got.to_dict("records") == [{"point_id": "a", "leaid": "0600001", "layer": "unified"},
                                      {"point_id": "b", "leaid": None, "layer": None}]


def test_assign_points_names_the_missing_column():
    districts = _districts([("0600001", "unified", box(0, 0, 1, 1))]).rename(columns={"layer": "SDTYPE"})
    with pytest.raises(ValueError, match="'layer'"):
        assign_points_to_districts(gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=4326), districts)


def test_real_fixture_libraries_fall_in_one_base_district_each(fixtures_dir):
    districts = gpd.read_file(fixtures_dir / "districts_2021.geojson").rename(columns={"GEOID": "leaid", "SDTYPE": "layer"})
    libs = pd.read_csv(fixtures_dir / "imls_library_outlets.csv", dtype=str)
    points = gpd.GeoDataFrame(libs[["FSCSKEY", "FSCS_SEQ"]],
                              geometry=gpd.points_from_xy(libs.LONGITUD.astype(float), libs.LATITUDE.astype(float)),
                              crs=4326)
    points["id"] = points.FSCSKEY + "-" + points.FSCS_SEQ
    got = assign_points_to_districts(points, districts, id_col="id")
    base = got[got.layer != "secondary"]
    assert base.point_id.is_unique
    assert set(got.leaid) <= set(districts.leaid)
    assert len(base) >= 60  # the 68 outlets are cut to the SF box; a few sit outside district polygons (bay, islands)


def test_california_display_geojson_is_small_enough(shared_data):
    """All 979 CA districts, with the properties a map needs, must fit in about 1.5 MB."""
    path = shared_data / "school_districts" / "ca_2021" / "ca_school_districts_2021.geojson"
    if not path.exists():
        pytest.skip(f"{path} not present")
    raw = gpd.read_file(path).rename(columns={"GEOID": "leaid", "NAME": "name", "SDTYPE": "layer"})
    out = display_geometry(raw, tolerance_m=300, decimals=5)
    text = out[["leaid", "name", "layer", "geometry"]].to_json(drop_id=True, separators=(",", ":"))
    size = len(text.encode())
    print(f"CA display GeoJSON: {size:,} bytes for {len(out)} districts")
    assert len(out) == 979 and out.is_valid.all() and not out.is_empty.any()
    assert size <= 1_500_000
    assert json.loads(text)["features"][0]["properties"].keys() == {"leaid", "name", "layer"}


# ------------------------------------------------------------------ national insets (issue 11 item 2)

LOWER_48 = (-124.8, 24.4, -66.9, 49.4)  # minx, miny, maxx, maxy of the conterminous states


def test_each_inset_state_centre_lands_on_its_inset_spot_and_others_stay():
    rows = gpd.GeoDataFrame({"state_fips": ["02", "15", "72", "06"]},
                            geometry=[Point(-152, 63), Point(-157, 20.5), Point(-66.4, 18.2), Point(-120, 37)], crs=4326)
    out = inset_composite(rows)
    got = [(round(p.x, 6), round(p.y, 6)) for p in out.geometry]
    assert got == [(-115.0, 24.0), (-105.5, 24.5), (-75.5, 24.6), (-120.0, 37.0)]
    assert list(rows.geometry.x) == [-152, -157, -66.4, -120]  # input not changed


def test_inset_scale_is_the_stated_fraction_of_true_size_in_web_mercator():
    """100 km east of Alaska's centre is drawn 0.35 x 100 km (in Mercator metres at the inset's
    latitude, i.e. x 1/cos(24 deg)) east of the inset's centre; Hawaii at full size."""
    from pyproj import Transformer

    merc = Transformer.from_crs(4326, 3857, always_xy=True)
    for fips, scale in (("02", 0.35), ("15", 1.0)):
        spec = INSETS[fips]
        local = Transformer.from_crs(f"+proj=laea +lat_0={spec['lat_0']} +lon_0={spec['lon_0']} +datum=WGS84",
                                     4326, always_xy=True)
        lon, lat = local.transform(100_000, 0)
        x, y = inset_points([spec["lon_0"], lon], [spec["lat_0"], lat], [fips, fips])
        (x0, y0), (x1, y1) = merc.transform(x[0], y[0]), merc.transform(x[1], y[1])
        assert x1 - x0 == pytest.approx(scale * 100_000 / np.cos(np.radians(spec["lat"])), rel=1e-6)
        assert y1 - y0 == pytest.approx(0, abs=0.01)


def test_aleutians_across_the_antimeridian_stay_with_alaska():
    out = inset_composite(gpd.GeoDataFrame({"state_fips": ["02", "02"]},
                                           geometry=[Point(179.5, 51.9), Point(-179.5, 51.9)], crs=4326))
    xs = sorted(out.geometry.x)
    assert -125 < xs[0] < xs[1] < -115 and xs[1] - xs[0] < 0.5  # neighbours, west of the inset centre


def test_real_states_insets_sit_beside_the_lower_48_without_touching_it(shared_data):
    states = gpd.read_file(shared_data / "states" / "cb_2018_us_state_20m.shp").rename(columns={"STATEFP": "state_fips"})
    out = inset_composite(states)
    lower = out[~out["state_fips"].isin(list(INSETS))]
    minx, miny, maxx, maxy = out.total_bounds
    assert minx >= LOWER_48[0] - 1 and maxx <= LOWER_48[2] + 1  # no wider than the lower 48
    assert miny > 19 and maxy == pytest.approx(LOWER_48[3], abs=0.1)  # a little taller, to the south
    for fips in INSETS:
        inset = out[out["state_fips"] == fips].geometry.union_all()
        assert not lower.intersects(inset.buffer(0.2)).any(), fips
        assert -125 < inset.bounds[0] and inset.bounds[2] < -66 and inset.bounds[3] < 27.5
    # at 0.35 Alaska is drawn smaller than Texas and larger than a quarter of California, as on NCES maps
    area = out.to_crs(3857).set_index("STUSPS").area
    assert area["TX"] > area["AK"] > area["CA"] / 4


def test_national_geometry_keeps_every_district_and_shared_edges(fixtures_dir):
    from podgeo.geo import NATIONAL_DECIMALS, national_geometry

    real = gpd.read_file(fixtures_dir / "districts_2021.geojson").rename(
        columns={"GEOID": "leaid", "STATEFP": "state_fips", "SDTYPE": "layer"})
    shown = display_geometry(real)
    nat = national_geometry(shown)
    assert list(nat["leaid"]) == list(real["leaid"]) and not nat.geometry.is_empty.any()
    assert nat.geometry.is_valid.all()
    coords = shapely.get_coordinates(nat.geometry.values)
    assert np.array_equal(coords, np.round(coords, NATIONAL_DECIMALS))
    before = int(shapely.get_num_coordinates(shown.geometry.values).sum())
    after = int(shapely.get_num_coordinates(nat.geometry.values).sum())
    assert after < 0.6 * before
    # neighbours still share their edge: the base tiling's union has no more area of gaps than before
    base = nat[nat["layer"].isin(["unified", "elementary"])].to_crs(3310)
    parts = base.geometry.area.sum()
    union = base.geometry.union_all().area
    assert abs(parts - union) / union < 0.002  # overlaps from the coarse grid stay under 0.2 %


def test_national_geometry_drops_an_islet_that_rounding_collapses_to_a_point():
    """A filler area of New York (3699997) has an islet ~50 m across: at 3 decimals it became one
    repeated point and make_valid refused the whole multipolygon ("mixed-dimension")."""
    from shapely.geometry import MultiPolygon

    from podgeo.geo import national_geometry

    islet = box(-72.18810, 41.03410, -72.18790, 41.03430)
    land = box(-75.7, 44.0, -75.5, 44.2)
    frame = gpd.GeoDataFrame({"leaid": ["3699997"], "state_fips": ["36"], "layer": ["unified"]},
                             geometry=[MultiPolygon([islet, land])], crs=4326)
    out = national_geometry(frame).geometry.iloc[0]
    assert out.is_valid and out.geom_type == "Polygon"
    assert out.area == pytest.approx(land.area, rel=0.02)
