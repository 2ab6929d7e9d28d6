"""A district's profile: every measure with its margin of error, source, vintage and state median.

Pure functions over the frames the store returns, shared by the map's click panel and the
district profile page so both say the same thing about a district.
"""
from __future__ import annotations

import math

import pandas as pd

from podgeo import measures


def measure_rows(district: pd.Series, state_districts: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """One row per measure: value, ±MOE, unit, source, vintage, the state median and where the
    district stands against it. The median is over districts of the same layer in the state."""
    same_layer = state_districts[state_districts["layer"] == district["layer"]]
    info = catalog.set_index("key") if len(catalog) else pd.DataFrame()
    rows = []
    for m in measures.MEASURES:
        if m.key not in district.index:
            continue
        value = _num(district.get(m.key))
        moe = _num(district.get(m.moe)) if m.moe else None
        median = _num(pd.to_numeric(same_layer[m.key], errors="coerce").median()) if m.key in same_layer else None
        meta = info.loc[m.key] if m.key in info.index else {}
        rows.append({
            "measure": m.label, "key": m.key, "value": value, "moe": moe, "unit": m.unit,
            "state_median": median, "vs_state": _compare(value, median),
            "source": meta.get("publisher", "") if len(meta) else "", "vintage": meta.get("vintage", "") if len(meta) else "",
        })
    return pd.DataFrame(rows)


def format_value(value: float | None, unit: str, moe: float | None = None) -> str:
    """'22.4 % ± 0.5', '724,446 children', 'no data'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    if unit == "%":
        text = f"{value:.1f} %"
        return text + (f" ± {moe:.1f}" if moe is not None and not math.isnan(moe) else "")
    if unit in {"per 1,000 children"}:
        return f"{value:.2f} {unit}"
    text = f"{value:,.0f} {unit}"
    return text + (f" ± {moe:,.0f}" if moe is not None and not math.isnan(moe) else "")


def _compare(value: float | None, median: float | None) -> str:
    if value is None or median is None:
        return ""
    if math.isclose(value, median, rel_tol=0.005, abs_tol=1e-9):
        return "at the state median"
    return "above the state median" if value > median else "below the state median"


def _num(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out
