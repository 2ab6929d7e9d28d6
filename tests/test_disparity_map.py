"""The disparity map (podgeo.disparity_map): colours fixed by finding, counts in the legend, names escaped."""
import geopandas as gpd
from shapely.geometry import box

from podgeo import charts, disparity_map


def test_findings_keep_their_colours_and_names_are_escaped():
    gdf = gpd.GeoDataFrame({"leaid": ["1", "2", "3", "4"], "name": ["A", "<b>B</b>", "C", "D"],
                            "finding": ["shortfall", "surplus", "not significant", "not significant"]},
                           geometry=[box(i, 0, i + 1, 1) for i in range(4)], crs=4326)
    html = disparity_map.finding_map(gdf, title="Shortfall or surplus at 90 %", tiles=None).get_root().render()
    assert charts.LOW_ACCESS_COLOUR in html and charts.OTHER_COLOUR in html
    assert "Not significant (2)" in html and "Significant shortfall (1)" in html
    assert "<b>B</b>" not in html and "\\u0026lt;b\\u0026gt;B" in html  # escaped, then JSON-encoded
