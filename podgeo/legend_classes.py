"""Pick map classes a legend can show: distinct limits, fewer classes when the data allow no more.

Access figures pile up at zero (no site in reach) or 100 %, so quantiles often merge into one or two
classes ("Quantiles, 1 classes", "0.00 / 0.00-0.01"). `choose` tries quantiles, falls back to
natural breaks, then to as many classes as there are distinct values, and returns a sentence that
says what was done, so the page never shows a degenerate legend without saying why.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from podgeo import maps


class Choice(NamedTuple):
    scheme: str  # a key of maps.SCHEMES
    k: int
    note: str  # empty when five quantile classes were possible


def choose(values, *, k: int = 5) -> Choice:
    """The scheme and class count for `maps.district_choropleth`, and a note when it is not `k` quantiles."""
    y = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    y = y[np.isfinite(y)]
    distinct = np.unique(y)
    if len(distinct) <= 1:
        what = f"{distinct[0]:.3g}" if len(distinct) else "no value"
        return Choice("quantiles", 2, f"Every district shown has the same value ({what}): the map has one class.")
    for scheme in ("quantiles", "natural_breaks"):
        classes = maps.classify(y, scheme=scheme, k=min(k, len(distinct)))
        if len(classes.bins) == min(k, len(distinct)) and len(set(classes.labels)) == len(classes.labels):
            break
    shown = len(classes.bins)
    if scheme == "quantiles" and shown == k:
        return Choice(scheme, k, "")
    zeros = int((y == 0).sum())
    why = (f"{zeros:,} of {len(y):,} districts are at 0" if zeros > len(y) / 5
           else f"only {len(distinct):,} distinct values" if len(distinct) < k else "values pile up")
    name = maps.SCHEMES[scheme].lower()
    return Choice(scheme, max(2, min(k, len(distinct))),
                  f"Quantiles would not give {k} distinct classes ({why}), so the map uses {shown} {name} classes.")
