"""US states and territories: names, codes and bounding boxes for the "is this point in its state" check."""
from __future__ import annotations

from podgeo.sheets.text import _key

# ---------------------------------------------------------------------------------------------
# states: code -> (name, bounding boxes as (west, south, east, north) in lon/lat degrees)
# Boxes are the Census 2018 cartographic state outlines' extents padded by about 0.15 degrees
# (tests/test_sheets.py checks them against cb_2018_us_state_20m); Alaska has two boxes because
# the Aleutians cross 180 degrees. Territories are included since pods and libraries exist there.
# ---------------------------------------------------------------------------------------------

_STATES: dict[str, tuple[str, tuple[tuple[float, float, float, float], ...]]] = {
    "AK": ("Alaska", ((-179.33, 51.06, -129.83, 71.51), (172.3, 51.18, 180.0, 53.16),)),
    "AL": ("Alabama", ((-88.62, 30.07, -84.74, 35.16),)),
    "AR": ("Arkansas", ((-94.77, 32.85, -89.49, 36.65),)),
    "AZ": ("Arizona", ((-114.97, 31.18, -108.89, 37.16),)),
    "CA": ("California", ((-124.56, 32.38, -113.98, 42.16),)),
    "CO": ("Colorado", ((-109.22, 36.84, -101.89, 41.16),)),
    "CT": ("Connecticut", ((-73.88, 40.83, -71.63, 42.2),)),
    "DC": ("District of Columbia", ((-77.27, 38.64, -76.75, 39.15),)),
    "DE": ("Delaware", ((-75.94, 38.3, -74.89, 39.99),)),
    "FL": ("Florida", ((-87.79, 24.34, -79.88, 31.16),)),
    "GA": ("Georgia", ((-85.76, 30.21, -80.69, 35.16),)),
    "HI": ("Hawaii", ((-160.4, 18.76, -154.66, 22.39),)),
    "IA": ("Iowa", ((-96.78, 40.22, -89.99, 43.66),)),
    "ID": ("Idaho", ((-117.4, 41.83, -110.89, 49.16),)),
    "IL": ("Illinois", ((-91.67, 36.83, -87.34, 42.66),)),
    "IN": ("Indiana", ((-88.22, 37.61, -84.63, 41.92),)),
    "KS": ("Kansas", ((-102.21, 36.84, -94.44, 40.16),)),
    "KY": ("Kentucky", ((-89.73, 36.34, -81.81, 39.3),)),
    "LA": ("Louisiana", ((-94.2, 28.78, -88.86, 33.17),)),
    "MA": ("Massachusetts", ((-73.66, 41.08, -69.77, 43.04),)),
    "MD": ("Maryland", ((-79.64, 37.76, -74.89, 39.88),)),
    "ME": ("Maine", ((-71.24, 42.9, -66.79, 47.61),)),
    "MI": ("Michigan", ((-90.57, 41.54, -82.26, 48.37),)),
    "MN": ("Minnesota", ((-97.38, 43.34, -89.33, 49.54),)),
    "MO": ("Missouri", ((-95.92, 35.84, -88.94, 40.77),)),
    "MS": ("Mississippi", ((-91.8, 30.03, -87.94, 35.15),)),
    "MT": ("Montana", ((-116.2, 44.23, -103.88, 49.16),)),
    "NC": ("North Carolina", ((-84.48, 33.7, -75.3, 36.74),)),
    "ND": ("North Dakota", ((-104.2, 45.78, -96.4, 49.16),)),
    "NE": ("Nebraska", ((-104.21, 39.84, -95.15, 43.16),)),
    "NH": ("New Hampshire", ((-72.71, 42.54, -70.55, 45.46),)),
    "NJ": ("New Jersey", ((-75.71, 38.77, -73.74, 41.51),)),
    "NM": ("New Mexico", ((-109.21, 31.18, -102.85, 37.16),)),
    "NV": ("Nevada", ((-120.16, 34.85, -113.88, 42.16),)),
    "NY": ("New York", ((-79.92, 40.35, -71.7, 45.17),)),
    "OH": ("Ohio", ((-84.98, 38.25, -80.36, 42.13),)),
    "OK": ("Oklahoma", ((-103.16, 33.47, -94.28, 37.16),)),
    "OR": ("Oregon", ((-124.71, 41.84, -116.31, 46.42),)),
    "PA": ("Pennsylvania", ((-80.67, 39.57, -74.54, 42.42),)),
    "PR": ("Puerto Rico", ((-68.11, 17.76, -65.07, 18.67),)),
    "RI": ("Rhode Island", ((-72.02, 40.99, -70.97, 42.17),)),
    "SC": ("South Carolina", ((-83.51, 31.88, -78.39, 35.36),)),
    "SD": ("South Dakota", ((-104.21, 42.33, -96.28, 46.1),)),
    "TN": ("Tennessee", ((-90.46, 34.83, -81.49, 36.83),)),
    "TX": ("Texas", ((-106.79, 25.69, -93.38, 36.66),)),
    "UT": ("Utah", ((-114.21, 36.84, -108.89, 42.16),)),
    "VA": ("Virginia", ((-83.83, 36.39, -75.09, 39.62),)),
    "VT": ("Vermont", ((-73.59, 42.57, -71.34, 45.17),)),
    "WA": ("Washington", ((-124.88, 45.39, -116.76, 49.16),)),
    "WI": ("Wisconsin", ((-93.04, 42.34, -86.65, 47.21),)),
    "WV": ("West Virginia", ((-82.78, 37.05, -77.56, 40.79),)),
    "WY": ("Wyoming", ((-111.21, 40.84, -103.9, 45.16),)),
    "VI": ("U.S. Virgin Islands", ((-65.15, 17.6, -64.5, 18.5),)),
    "GU": ("Guam", ((144.55, 13.15, 145.05, 13.75),)),
    "MP": ("Northern Mariana Islands", ((144.8, 14.05, 146.15, 20.65),)),
    "AS": ("American Samoa", ((-171.15, -14.65, -168.05, -10.95),)),
}
_STATE_NAMES = {code: name for code, (name, _) in _STATES.items()}
_STATE_BOXES = {code: boxes for code, (_, boxes) in _STATES.items()}
_STATE_BY_NAME = {_key(name): code for code, name in _STATE_NAMES.items()}
_STATE_BY_NAME.update({"washington dc": "DC", "washington d c": "DC", "d c": "DC", "virgin islands": "VI",
                       "us virgin islands": "VI", "northern marianas": "MP", "commonwealth of puerto rico": "PR"})
_ALL_BOXES = tuple(box for boxes in _STATE_BOXES.values() for box in boxes)


def _inside(lat: float, lon: float, state: str | None) -> bool:
    boxes = _STATE_BOXES[state] if state else _ALL_BOXES
    return any(w <= lon <= e and s <= lat <= n for w, s, e, n in boxes)


def _state_code(text: str) -> str | None:
    key = _key(text)
    if key.upper() in _STATE_NAMES:
        return key.upper()
    return _STATE_BY_NAME.get(key)
