"""Everything Streamlit-aware: cached loaders, the shared sidebar, query-parameter state.

The only podgeo module that imports streamlit. Loaders are thin and keyed on hashable
arguments plus the store's revision, so an upload shows up on the next rerun while panning a
map or changing a widget never re-reads the database. No connection is cached: each loader
opens the store, reads, and closes.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from podgeo import measures
from podgeo.store import SqliteStore, StoreError, default_path

ILLUSTRATIVE_NOTE = ("The pods shown are an **illustrative sample written by the podgeo project**, not real "
                     "locations. Real pod lists come in through staff uploads.")


def store_path() -> str:
    return str(default_path())


def open_store() -> SqliteStore:
    """Open the store or stop the page with instructions to build it."""
    try:
        return SqliteStore(store_path())
    except StoreError as exc:
        st.error(f"{exc}")
        st.code("python -m podgeo build", language="bash")
        st.stop()


def revision() -> int:
    store = open_store()
    try:
        return store.revision()
    finally:
        store.close()


@st.cache_data(show_spinner=False, max_entries=4)
def _state_list(db: str, rev: int) -> pd.DataFrame:
    store = SqliteStore(db)
    try:
        return store.state_list()
    finally:
        store.close()


@st.cache_data(show_spinner="Loading districts…", max_entries=16)
def _districts(db: str, rev: int, state_fips: tuple[str, ...] | None, layers: tuple[str, ...] | None) -> gpd.GeoDataFrame:
    store = SqliteStore(db)
    try:
        return store.districts(state_fips=state_fips, layers=layers)
    finally:
        store.close()


@st.cache_data(show_spinner=False, max_entries=8)
def _sites(db: str, rev: int, kinds: tuple[str, ...], states: tuple[str, ...] | None) -> gpd.GeoDataFrame:
    store = SqliteStore(db)
    try:
        return store.sites(kinds=kinds, states=states)
    finally:
        store.close()


@st.cache_data(show_spinner=False, max_entries=4)
def _pods(db: str, rev: int) -> gpd.GeoDataFrame:
    store = SqliteStore(db)
    try:
        return store.pods()
    finally:
        store.close()


@st.cache_data(show_spinner=False, max_entries=4)
def _provenance(db: str, rev: int) -> pd.DataFrame:
    store = SqliteStore(db)
    try:
        return store.provenance()
    finally:
        store.close()


def state_list() -> pd.DataFrame:
    return _state_list(store_path(), revision())


def districts(state_fips: tuple[str, ...] | None = None, layers: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
    return _districts(store_path(), revision(), state_fips, layers)


def sites(kinds: tuple[str, ...], states: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
    return _sites(store_path(), revision(), kinds, states)


def pods() -> gpd.GeoDataFrame:
    return _pods(store_path(), revision())


def provenance() -> pd.DataFrame:
    return _provenance(store_path(), revision())


def query_default(key: str, default: str, allowed: list[str] | None = None) -> str:
    """A widget's starting value from the URL (`?state=CA`), falling back when absent or invalid."""
    value = st.query_params.get(key, default)
    return value if allowed is None or value in allowed else default


def sidebar_state() -> str:
    """The shared state picker, mirrored into `?state=` so links reopen the same view."""
    states = state_list()
    if states.empty:
        st.sidebar.warning("The store has no districts. Rebuild it with `python -m podgeo build`.")
        st.stop()
    options = states["state"].tolist()
    default = "CA" if "CA" in options else options[0]
    start = query_default("state", default, options)
    names = dict(zip(states["state"], states["state_name"]))
    choice = st.sidebar.selectbox("State", options, index=options.index(start), key="shared.state",
                                  format_func=lambda s: f"{names.get(s, s)} ({s})")
    st.query_params["state"] = choice
    return choice


def state_fips(state: str) -> str:
    """Postal code -> FIPS code, from the store's state table."""
    states = state_list()
    return dict(zip(states["state"], states["state_fips"]))[state]


def sidebar_measure(default: str = "pct_poverty") -> str:
    """The shading measure picker, mirrored into `?measure=`."""
    options = list(measures.SHADING)
    start = query_default("measure", default, options)
    choice = st.sidebar.selectbox("Shade districts by", options, index=options.index(start), key="shared.measure",
                                  format_func=lambda k: measures.get(k).label)
    st.query_params["measure"] = choice
    return choice


def sidebar_footer() -> None:
    """Where the data came from, on every page."""
    with st.sidebar.expander("Data sources"):
        prov = provenance()
        for row in prov.itertuples():
            st.markdown(f"- **{row.title}** — {row.publisher}, {row.vintage}")
        st.caption(f"Store: `{Path(store_path()).name}`, revision {revision()}")
