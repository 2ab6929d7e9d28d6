"""The pods directory: search, sort, a readable table and one pod's every field.

Pure functions over the pods frame the store returns (after `filters.apply`), so the page only
draws and the downloads hold exactly the rows the table shows, in the same order.
"""
from __future__ import annotations

import pandas as pd

from podgeo import vocab

#: sort key -> (label, column, ascending)
SORTS = {"name": ("Name", "name", True), "city": ("City", "city", True),
         "seats": ("Seats, most first", "capacity", False),
         "opened": ("Opened, newest first", "opened_on", False), "status": ("Status", "status", True),
         "type": ("Operator type", "operator_type", True)}
#: columns searched (every word of the query must appear in one of them)
SEARCHED = ("name", "operator_name", "address", "city", "state", "zip", "notes", "pod_id", "source")
_FIELDS = (("pod_id", "Pod id"), ("name", "Name"), ("operator_type", "Operator type"), ("operator_name", "Operator"),
           ("partner_leaid", "Partner district (LEAID)"), ("mode", "Mode"), ("grade_low", "Lowest grade"),
           ("grade_high", "Highest grade"), ("capacity", "Seats"), ("cost", "Cost"), ("fee_usd", "Fee (US$ a month)"),
           ("priority_groups", "Serves first"), ("supports", "Supports"), ("languages", "Languages"),
           ("status", "Status"), ("opened_on", "Opened"), ("closed_on", "Closed"), ("address", "Address"),
           ("city", "City"), ("state", "State"), ("zip", "ZIP"), ("lat", "Latitude"), ("lon", "Longitude"),
           ("leaids", "In districts (LEAIDs)"), ("geocode_status", "Geocoding"), ("source", "Source"),
           ("last_verified", "Last verified"), ("notes", "Notes"), ("illustrative", "Illustrative sample"),
           ("batch_id", "Upload batch"))
_VOCAB = {"operator_type": vocab.OPERATOR_TYPES, "mode": vocab.MODES, "cost": vocab.COSTS, "status": vocab.STATUSES,
          "priority_groups": vocab.PRIORITY_GROUPS, "supports": vocab.SUPPORTS}


def search(pods: pd.DataFrame, query: str) -> pd.DataFrame:
    """The pods where every word of `query` appears (any case) in a searched column."""
    words = str(query or "").lower().split()
    if not words:
        return pods.copy()
    text = pd.Series("", index=pods.index)
    for col in SEARCHED:
        if col in pods.columns:
            text = text + " " + pods[col].fillna("").astype(str).str.lower()
    keep = pd.Series(True, index=pods.index)
    for word in words:
        keep &= text.str.contains(word, regex=False)
    return pods[keep].copy()


def sort(pods: pd.DataFrame, by: str) -> pd.DataFrame:
    """Pods in the chosen order (ties by name, then id); missing values last. ValueError for an unknown key."""
    if by not in SORTS:
        raise ValueError(f"sort {by!r} is not one of {list(SORTS)}")
    _, column, ascending = SORTS[by]
    key = pd.to_numeric(pods[column], errors="coerce") if column == "capacity" else pods[column].fillna("").astype(str)
    if column != "capacity":
        key = key.where(key != "", None)
    order = pd.DataFrame({"k": key, "n": pods["name"].fillna("").astype(str).str.lower(), "i": pods["pod_id"]},
                         index=pods.index)
    order = order.sort_values(["k", "n", "i"], ascending=[ascending, True, True], na_position="last", kind="stable")
    return pods.loc[order.index]


def table(pods: pd.DataFrame) -> pd.DataFrame:
    """The directory table: readable labels instead of codes, grades as PK-12, seats as numbers."""
    return pd.DataFrame({
        "pod": pods["name"].fillna("").astype(str).to_numpy(),
        "type": _labels(pods["operator_type"], "operator_type"),
        "operator": pods["operator_name"].fillna("").astype(str).to_numpy(),
        "mode": _labels(pods["mode"], "mode"),
        "grades": [_grades(lo, hi) for lo, hi in zip(pods["grade_low"], pods["grade_high"])],
        "seats": pd.to_numeric(pods["capacity"], errors="coerce").to_numpy(),
        "cost": _labels(pods["cost"], "cost"),
        "status": _labels(pods["status"], "status"),
        "city": pods["city"].fillna("").astype(str).to_numpy(),
        "state": pods["state"].fillna("").astype(str).to_numpy(),
        "opened": pods["opened_on"].fillna("").astype(str).to_numpy(),
        "pod id": pods["pod_id"].astype(str).to_numpy(),
    })


def detail(pod: pd.Series) -> pd.DataFrame:
    """Every field of one pod as (field, value) text rows, codes spelt out; shown as data, never markup."""
    rows = []
    for column, label in _FIELDS:
        if column not in pod.index:
            continue
        value = pod[column]
        if column in _VOCAB:
            names = vocab.labels(_VOCAB[column])
            items = value if isinstance(value, (list, tuple)) else [value]
            text = ", ".join(names.get(v, str(v)) for v in items if _filled(v))
        elif column in ("grade_low", "grade_high"):
            text = vocab.grade_label(int(value)) if _filled(value) else ""
        elif isinstance(value, (list, tuple)):
            text = ", ".join(str(v) for v in value)
        elif column == "illustrative":
            text = "yes" if _filled(value) and int(value) else "no"
        else:
            text = _text(value)
        rows.append({"field": label, "value": text})
    return pd.DataFrame(rows, columns=["field", "value"])


def _labels(series: pd.Series, column: str) -> list[str]:
    names = vocab.labels(_VOCAB[column])
    return [names.get(v, str(v)) if _filled(v) else "" for v in series]


def _grades(low, high) -> str:
    parts = [vocab.grade_label(int(v)) for v in (low, high) if _filled(v)]
    return "-".join(dict.fromkeys(parts))


def _filled(value) -> bool:
    if value is None or isinstance(value, (list, tuple)):
        return value is not None
    try:
        return not pd.isna(value) and value != ""
    except (TypeError, ValueError):
        return True


def _text(value) -> str:
    if not _filled(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
