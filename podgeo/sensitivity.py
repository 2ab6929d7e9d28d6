"""How much the figures depend on the radius: every group's access and gap at each radius, and
whether the shortfall ranking holds.

`sweep` re-runs the one Coverage computation (`access_report.coverage_table`) at each radius (miles,
or minutes with a travel-time table) and stacks, per group, mean access, the ratio to its pair and
the demographic disparity score with its interval (`podgeo.disparity`). `ranking_stability` asks,
of the top districts at the chosen radius, how many stay in the top at each other radius.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from podgeo import access_report, disparity

TOP = 20


class Sweep(NamedTuple):
    groups: pd.DataFrame  # one row per radius and group
    stability: pd.DataFrame  # one row per radius: how many of the chosen radius' top districts stay top
    unit: str  # "mi" or "min"


def parse_radii(text: str) -> list[float]:
    """'1,2,5,10' -> [1.0, 2.0, 5.0, 10.0]; ValueError naming the bad item."""
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"--sweep item {item!r} is not a number (expected e.g. 1,2,5,10,15,25)") from None
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"--sweep item {item!r} must be a positive radius")
        out.append(value)
    if not out:
        raise ValueError("--sweep is empty; give radii such as 1,2,5,10,15,25")
    return sorted(set(out))


def sweep(frames: access_report.Frames, radii: Sequence[float], *, chosen: float, level: int = 90,
          top: int = TOP, **kwargs) -> Sweep:
    """Group figures at every radius in `radii` (and `chosen`), with `coverage_table`'s other arguments.

    With `travel_times=` in kwargs the radii are minutes (`max_minutes`); otherwise miles.
    """
    minutes = kwargs.get("travel_times") is not None
    kwargs = {k: v for k, v in kwargs.items() if k not in ("radius_miles", "max_minutes")}
    rows, tops = [], {}
    for r in sorted(set(radii) | {chosen}):
        result = access_report.coverage_table(frames, **kwargs, **({"max_minutes": r} if minutes else
                                                                   {"radius_miles": r}))
        scores = disparity.scores(result, frames, level=level).demographic.set_index("group")
        summary = result.summary
        for row in summary.itertuples():
            score = scores.loc[row.group] if row.group in scores.index else None
            rows.append({"radius": r, "group": row.group, "label": row.label, "children": row.children,
                         "mean_access": row.mean_access, "share_zero_access": row.share_zero_access,
                         "compared_with": row.compared_with, "ratio": row.ratio,
                         "disparity_score": np.nan if score is None else score["score"],
                         "disparity_lower": np.nan if score is None else score["lower"],
                         "disparity_upper": np.nan if score is None else score["upper"],
                         "finding": None if score is None else score["finding"],
                         "access_unit": result.meta["access_unit"]})
        ranked = result.table[result.table["rank"].notna()].sort_values("rank")
        tops[r] = list(ranked["leaid"].head(top))
    groups = pd.DataFrame(rows)
    return Sweep(groups, ranking_stability(tops, chosen, top=top), "min" if minutes else "mi")


def ranking_stability(tops: dict[float, list[str]], chosen: float, *, top: int = TOP) -> pd.DataFrame:
    """Of the top districts at `chosen`, how many are also in the top at each radius (and which left)."""
    base = tops[chosen]
    rows = []
    for r, ids in sorted(tops.items()):
        kept = [x for x in base if x in set(ids)]
        rows.append({"radius": r, "top_at_chosen": len(base), "still_top": len(kept),
                     "share_kept": len(kept) / len(base) if base else np.nan,
                     "left_the_top": " ".join(x for x in base if x not in set(ids))})
    return pd.DataFrame(rows)
