"""Everything Streamlit-aware: cached loaders, the shared sidebar, query-parameter state.

The only podgeo module that imports streamlit. Loaders are thin and keyed on hashable
arguments plus the store's revision, so an upload shows up on the next rerun while panning a
map or changing a widget never re-reads the database. No connection is cached: each loader
opens the store, reads, and closes.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Callable

import geopandas as gpd
import pandas as pd
import streamlit as st

from podgeo import assets, maps, measures, vocab
from podgeo.filters import PodFilter
from podgeo.store import SqliteStore, StoreError, default_path
from podgeo.store import open_store as store_at

ILLUSTRATIVE_NOTE = ("The pods shown are an **illustrative sample written by the podgeo project**, not real "
                     "locations. Real pod lists come in through staff uploads.")


def store_path() -> str:
    return str(default_path())


def open_store() -> SqliteStore:
    """Open the store or stop the page with instructions to build it."""
    try:
        return store_at(store_path())
    except StoreError as exc:
        st.error(f"{exc}")
        st.code("python -m podgeo build", language="bash")
        st.stop()


def _read(db: str, query: Callable):
    """Open the store, run one read, close it: no connection outlives a cached loader."""
    store = store_at(db)
    try:
        return query(store)
    finally:
        store.close()


def revision() -> int:
    store = open_store()
    try:
        return store.revision()
    finally:
        store.close()


@st.cache_data(show_spinner=False, max_entries=4)
def _state_list(db: str, rev: int) -> pd.DataFrame:
    return _read(db, lambda store: store.state_list())


@st.cache_data(show_spinner="Loading districts…", max_entries=16)
def _districts(db: str, rev: int, state_fips: tuple[str, ...] | None, layers: tuple[str, ...] | None) -> gpd.GeoDataFrame:
    return _read(db, lambda store: store.districts(state_fips=state_fips, layers=layers))


@st.cache_data(show_spinner="Loading states…", max_entries=2)
def _states(db: str, rev: int) -> gpd.GeoDataFrame:
    return _read(db, lambda store: store.states())


@st.cache_data(show_spinner="Loading district figures…", max_entries=2)
def _district_table(db: str, rev: int) -> pd.DataFrame:
    return _read(db, lambda store: store.districts(geometry=None))


def states_geo() -> gpd.GeoDataFrame:
    """State outlines (display geometry) for the national view."""
    return _states(store_path(), revision())


def district_table() -> pd.DataFrame:
    """Every district's figures, no geometry (national roll-ups)."""
    return _district_table(store_path(), revision())


@st.cache_data(show_spinner=False, max_entries=8)
def _sites(db: str, rev: int, kinds: tuple[str, ...], states: tuple[str, ...] | None) -> gpd.GeoDataFrame:
    return _read(db, lambda store: store.sites(kinds=kinds, states=states))


@st.cache_data(show_spinner=False, max_entries=4)
def _pods(db: str, rev: int) -> gpd.GeoDataFrame:
    return _read(db, lambda store: store.pods())


@st.cache_data(show_spinner=False, max_entries=4)
def _provenance(db: str, rev: int) -> pd.DataFrame:
    return _read(db, lambda store: store.provenance())


@st.cache_data(show_spinner=False, max_entries=4)
def _pod_links(db: str, rev: int) -> pd.DataFrame:
    return _read(db, lambda store: store.place_districts("pods"))


@st.cache_data(show_spinner=False, max_entries=4)
def _catalog(db: str, rev: int) -> pd.DataFrame:
    return _read(db, lambda store: store.measure_catalog())


def pod_links() -> pd.DataFrame:
    """(pod_id, leaid, layer): the district(s) each pod lies in."""
    return _pod_links(store_path(), revision())


def measure_catalog() -> pd.DataFrame:
    return _catalog(store_path(), revision())


def state_list() -> pd.DataFrame:
    return _state_list(store_path(), revision())


def districts(state_fips: tuple[str, ...] | None = None, layers: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
    return _districts(store_path(), revision(), state_fips, layers)


def sites(kinds: tuple[str, ...], states: tuple[str, ...] | None = None) -> gpd.GeoDataFrame:
    return _sites(store_path(), revision(), kinds, states)


@st.cache_data(show_spinner=False, max_entries=8)
def _site_layer(db: str, rev: int, kind: str, site_kind: str, state: str) -> maps.PreparedLayer:
    return _read(db, lambda store: maps.prepare_sites(store.sites(kinds=[site_kind], states=[state]), kind))


def site_layer(kind: str, site_kind: str, state: str) -> maps.PreparedLayer:
    """A state's candidate-site map layer, built once per store revision."""
    return _site_layer(store_path(), revision(), kind, site_kind, state)


def pods() -> gpd.GeoDataFrame:
    return _pods(store_path(), revision())


def provenance() -> pd.DataFrame:
    return _provenance(store_path(), revision())


def vintages() -> str:
    """The data vintages behind the figures, for download notes and method notes."""
    prov = provenance()
    return "; ".join(f"{r.title} ({r.publisher}, {r.vintage})" for r in prov.itertuples())


def standalone_map_html(m) -> Callable[[], str]:
    """A deferred download of the map as one self-contained HTML file (scripts inlined)."""
    static_dir = Path(__file__).resolve().parents[1] / "static"
    return lambda: assets.standalone_html(m, static_dir)


def query_default(key: str, default: str, allowed: list[str] | None = None) -> str:
    """A widget's starting value from the URL (`?state=CA`), falling back when absent or invalid."""
    value = st.query_params.get(key, default)
    return value if allowed is None or value in allowed else default


NATIONAL = "US"


def sidebar_state(*, allow_national: bool = False) -> str:
    """The shared geography picker ("US" for the national view when allowed), mirrored into `?state=`."""
    states = state_list()
    if states.empty:
        st.sidebar.warning("The store has no districts. Rebuild it with `python -m podgeo build`.")
        st.stop()
    options = ([NATIONAL] if allow_national and len(states) > 1 else []) + states["state"].tolist()
    default = "CA" if "CA" in options else options[0]
    start = query_default("state", default, options)
    names = {NATIONAL: "United States (all states)", **dict(zip(states["state"], states["state_name"]))}
    if st.session_state.get("shared.state") not in (None, *options):
        del st.session_state["shared.state"]  # e.g. "US" chosen on a page without a national view
    choice = st.sidebar.selectbox("Geography", options, index=options.index(start), key="shared.state",
                                  format_func=lambda s: names.get(s, s) if s == NATIONAL else f"{names.get(s, s)} ({s})")
    st.query_params["state"] = choice
    return choice


def set_state(state: str) -> None:
    """Switch the shared geography (e.g. after a click on a state) before the picker is drawn."""
    st.session_state["shared.state"] = state
    st.query_params["state"] = state


def sidebar_choice(label: str, key: str, options: dict[str, str], default: str, *, param: str) -> str:
    """A radio in the sidebar whose value lives in the URL as `?{param}=`; `options` maps code -> label."""
    codes = list(options)
    start = query_default(param, default, codes)
    choice = st.sidebar.radio(label, codes, index=codes.index(start), key=key, format_func=options.get)
    st.query_params[param] = choice
    return choice


def sidebar_multi(label: str, key: str, options: dict[str, str], default: list[str], *, param: str) -> list[str]:
    """A multiselect whose values live in the URL as a comma list (`?sites=libraries,schools`)."""
    raw = st.query_params.get(param)
    start = [v for v in raw.split(",") if v in options] if raw is not None else list(default)
    chosen = st.sidebar.multiselect(label, list(options), default=start, key=key, format_func=options.get)
    st.query_params[param] = ",".join(chosen)
    return chosen


def sidebar_pod_filter() -> PodFilter:
    """Every pod filter (type, mode, cost, status, groups, supports, grades, "as of" date), in the URL."""
    start = PodFilter.from_query(st.query_params.to_dict())
    box = st.sidebar.expander("Filter pods", expanded=not start.is_default)
    chosen = {}
    for name, label, terms in (("operator_types", "Operator type", vocab.OPERATOR_TYPES), ("modes", "Mode", vocab.MODES),
                               ("costs", "Cost", vocab.COSTS), ("statuses", "Status", vocab.STATUSES),
                               ("priority_groups", "Serves (any of)", vocab.PRIORITY_GROUPS),
                               ("supports", "Offers (any of)", vocab.SUPPORTS)):
        names = vocab.labels(terms)
        chosen[name] = tuple(box.multiselect(label, list(names), default=list(getattr(start, name)),
                                             key=f"filters.{name}", format_func=names.get, placeholder="any"))
    grades = [code for code, _ in vocab.GRADES]
    low, high = box.select_slider("Grades served", options=grades, value=(start.grade_low, start.grade_high),
                                  key="filters.grades", format_func=vocab.grade_label)
    use_date = box.checkbox("Only pods open on a date", value=start.as_of is not None, key="filters.use_as_of")
    as_of = box.date_input("Open on", value=start.as_of or date(2020, 11, 1), key="filters.as_of",
                           min_value=date(2019, 1, 1), max_value=date(2030, 12, 31)) if use_date else None
    chosen_filter = PodFilter(**chosen, grade_low=low, grade_high=high, as_of=as_of)
    for param in ("operator_types", "modes", "costs", "statuses", "priority_groups", "supports", "grades", "as_of"):
        st.query_params.pop(param, None)
    st.query_params.update(chosen_filter.to_query())
    return chosen_filter


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


# -- staff access ---------------------------------------------------------------------------------
# Viewing is open; uploading and undoing need staff. The rules (modes, hashes, allow-list) live in
# podgeo.auth; this section only draws the sign-in and remembers who signed in for the session.

import os  # noqa: E402  (kept with the section it serves)

from podgeo import auth  # noqa: E402

STAFF_KEY = "staff.user"
ENABLE_HELP = (
    "To enable it, whoever runs the server either sets a staff password — "
    "`export PODGEO_STAFF_PASSWORD_HASH='…'` with the output of `python -m podgeo hash-password`, or "
    "`staff_password_hash = \"…\"` in `.streamlit/secrets.toml`, or `PODGEO_STAFF_PASSWORD` (hashed at start-up) "
    "— or configures sign-in with an identity provider "
    "(an `[auth]` section in `.streamlit/secrets.toml` for `st.login`, plus `staff_emails = [\"you@example.org\"]`). "
    "The command line `python -m podgeo import FILE` works without any of this.")


def require_staff(action: str = "upload pods") -> str | None:
    """The signed-in staff member's name or email, or None after drawing how to sign in (or why nobody can).

    Identity-provider sign-in when secrets configure one, else the staff password, else a notice
    that writing is disabled. Callers stop (or hide the write path) when this returns None.
    """
    secrets = _staff_secrets()
    mode = auth.staff_mode(secrets, os.environ)
    if mode == "oidc":
        return _oidc_staff(secrets, action)
    if mode == "password":
        return _password_staff(secrets, action)
    st.info(f"Staff access is not configured on this server, so nobody can {action} here. {ENABLE_HELP}")
    return None


def _oidc_staff(secrets: dict, action: str) -> str | None:
    if not st.user.get("is_logged_in"):
        st.info(f"Sign in as staff to {action}.")
        if st.button("Sign in", key="staff.login"):
            provider = auth.oidc_provider(secrets)
            st.login(provider) if provider else st.login()
        return None
    email = st.user.get("email")
    if not auth.allowed_email(email, secrets, os.environ):
        st.error(f"{plain(email or 'This account')} is signed in but is not on the staff list "
                 f"(`staff_emails` in secrets or `PODGEO_STAFF_EMAILS`), so it cannot {action}.")
        if st.button("Sign out", key="staff.logout"):
            st.logout()
        return None
    left, right = st.columns([4, 1])
    left.caption(f"Signed in as staff: {plain(email)}")
    if right.button("Sign out", key="staff.logout"):
        st.logout()
    return email


def _password_staff(secrets: dict, action: str) -> str | None:
    user = st.session_state.get(STAFF_KEY)
    if user:
        left, right = st.columns([4, 1])
        left.caption(f"Signed in as staff: {plain(user)}")
        if right.button("Sign out", key="staff.logout"):
            del st.session_state[STAFF_KEY]
            st.rerun()
        return user
    try:
        stored = auth.password_hash(secrets, os.environ)
        auth.parse_hash(stored)
    except ValueError as exc:
        st.error(f"Staff sign-in is misconfigured, so nobody can {action} here: {exc}")
        return None
    with st.form("staff.signin"):
        st.write(f"Staff sign-in, to {action}.")
        name = st.text_input("Your name (recorded with every upload and undo)", key="staff.name", max_chars=100)
        password = st.text_input("Staff password", type="password", key="staff.password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        if not name.strip():
            st.error("Type your name: it is recorded with every upload and undo.")
        elif auth.verify_password(password, stored):
            st.session_state[STAFF_KEY] = name.strip()
            st.rerun()
        else:
            st.error("Wrong staff password.")
    return None


def _staff_secrets() -> dict:
    """st.secrets as a dict; {} when the server has no secrets file (viewing needs none)."""
    try:
        return st.secrets.to_dict()
    except Exception:  # no or unreadable secrets.toml: same as no staff configuration
        return {}


def plain(text: str) -> str:
    """User- or provider-supplied text made inert in markdown (no links, emphasis or HTML)."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()<>#+-.!|~" else ch for ch in str(text))


# -- Coverage page ---------------------------------------------------------------------------------
# (one block: the cached loader behind the page, a URL-mirrored number, and the what-if hub state)

HUB_KEYS = ("coverage.hub_on", "coverage.hub_lon", "coverage.hub_lat", "coverage.hub_seats")


@st.cache_data(show_spinner="Loading coverage data…", max_entries=4)
def _coverage_frames(db: str, rev: int, state: str):
    from podgeo import access_report

    return _read(db, lambda store: access_report.load_frames(store, state))


def coverage_frames(state: str):
    """Districts, sites, pods, demand points and provenance for one state: what the CLI reads too."""
    return _coverage_frames(store_path(), revision(), state)


def sidebar_number(label: str, key: str, default: float, *, param: str, min_value: float, max_value: float,
                   step: float) -> float:
    """A sidebar slider whose value lives in the URL as `?{param}=` (out-of-range values fall back)."""
    try:
        start = float(st.query_params.get(param, default))
    except ValueError:
        start = default
    start = start if min_value <= start <= max_value else default
    value = st.sidebar.slider(label, min_value=float(min_value), max_value=float(max_value), value=float(start),
                              step=float(step), key=key)
    st.query_params[param] = f"{value:g}"
    return value


def hub_controls(default_lon: float, default_lat: float):
    """The what-if hub: a toggle, a position (typed, or set by a map click) and seats, mirrored in `?hub=`.

    Returns an `access_report.Hub`, or None while the toggle is off.
    """
    from podgeo.access_report import Hub

    start = Hub.from_query(st.query_params.get("hub"))
    for key, value in zip(HUB_KEYS, (start is not None, *(
            (start.lon, start.lat, float(start.seats)) if start else (round(default_lon, 5), round(default_lat, 5), 50.0)))):
        st.session_state.setdefault(key, value)
    with st.expander("What if: add a hypothetical hub", expanded=bool(st.session_state["coverage.hub_on"])):
        on = st.toggle("Add a hypothetical hub (type its position, or click the map)", key="coverage.hub_on")
        c1, c2, c3 = st.columns(3)
        lon = c1.number_input("Longitude", min_value=-180.0, max_value=180.0, step=0.01, format="%.5f",
                              key="coverage.hub_lon")
        lat = c2.number_input("Latitude", min_value=-90.0, max_value=90.0, step=0.01, format="%.5f",
                              key="coverage.hub_lat")
        seats = c3.number_input("Seats", min_value=0.0, max_value=10000.0, step=5.0, format="%.0f",
                                key="coverage.hub_seats")
    hub = Hub(float(lon), float(lat), float(seats)) if on else None
    if hub is None:
        st.query_params.pop("hub", None)
    else:
        st.query_params["hub"] = hub.to_query()
    return hub


def place_hub_from_click() -> None:
    """st_folium on_change callback: a click on the coverage map moves the hub there and turns it on."""
    from podgeo import maps

    point = maps.clicked_point(st.session_state.get("coverage.map"))
    if point is not None:
        st.session_state["coverage.hub_lon"], st.session_state["coverage.hub_lat"] = round(point[0], 5), round(point[1], 5)
        st.session_state["coverage.hub_on"] = True


# -- profiles, cohorts, attribute layers, pods directory ---------------------------------------------
# (cached loaders for the district profile, cohorts, attributes and directory pages, and the explore
# page's attribute picker; one block, so the sections above stay as they were)

from dataclasses import dataclass  # noqa: E402

from podgeo import attributes  # noqa: E402


@st.cache_data(show_spinner=False, max_entries=4)
def _attribute_data(db: str, rev: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    store = store_at(db)
    try:
        layers, values = store.attribute_layers(), store.attribute_values()
    finally:
        store.close()
    return layers, values, attributes.wide(layers, values)


def attribute_layers() -> pd.DataFrame:
    """Every attribute layer with its provenance and column types."""
    return _attribute_data(store_path(), revision())[0]


def attribute_values() -> pd.DataFrame:
    """(layer_id, leaid, column, value) for every layer."""
    return _attribute_data(store_path(), revision())[1]


def attribute_table() -> pd.DataFrame:
    """One row per district with a typed column per attribute (`attributes.wide`)."""
    return _attribute_data(store_path(), revision())[2]


@st.cache_data(show_spinner=False, max_entries=4)
def _cohorts(db: str, rev: int) -> pd.DataFrame:
    return _read(db, lambda store: store.cohorts())


@st.cache_data(show_spinner=False, max_entries=16)
def _cohort_members(db: str, rev: int, cohort_id: int) -> list[str]:
    return _read(db, lambda store: store.cohort_members(cohort_id))


def cohorts() -> pd.DataFrame:
    return _cohorts(store_path(), revision())


def cohort_members(cohort_id: int) -> list[str]:
    return _cohort_members(store_path(), revision(), int(cohort_id))


def states_table() -> pd.DataFrame:
    """state, state_fips, state_name for every state (no geometry), e.g. to read state names in sheets."""
    return pd.DataFrame(states_geo().drop(columns="geometry"))


def districts_in(leaids: list[str]) -> gpd.GeoDataFrame:
    """These districts (any states, any layer) with display geometry, from the per-state cached loader."""
    table = district_table()
    fips = tuple(sorted(table.loc[table["leaid"].isin(set(leaids)), "state_fips"].unique()))
    frame = districts(state_fips=fips, layers=None) if fips else districts(state_fips=(), layers=None)
    return frame[frame["leaid"].isin(set(leaids))]


@dataclass(frozen=True)
class AttributeChoice:
    """The explore page's attribute choices: shade by `shade` (a column id), keep districts whose
    `filter_column` equals `filter_value`. Empty when the store has no attribute layers."""

    shade: str | None = None
    label: str = ""
    type: str = ""
    filter_column: str | None = None
    filter_value: str | None = None
    filter_label: str = ""


def sidebar_attributes(state: str) -> AttributeChoice:
    """Shade-by-attribute and "attribute = value" pickers for a state's map, mirrored into
    `?attr=`, `?attr_filter=`, `?attr_value=`; nothing is drawn when there are no layers."""
    cat = attributes.catalog(attribute_layers())
    if state == NATIONAL or cat.empty:
        return AttributeChoice()
    labels, types = dict(zip(cat["id"], cat["label"])), dict(zip(cat["id"], cat["type"]))
    box = st.sidebar.expander("District attributes", expanded=bool(st.query_params.get("attr")
                                                                    or st.query_params.get("attr_filter")))
    shadable = ["", *cat.loc[cat["shadable"], "id"]]
    shade = box.selectbox("Shade by an attribute instead", shadable, key="explore.attr",
                          index=shadable.index(query_default("attr", "", shadable)),
                          format_func=lambda k: labels.get(k, "— (the measure above)"))
    columns = ["", *cat.loc[cat["type"].isin(("category", "yes_no", "whole")), "id"]]
    column = box.selectbox("Only districts where", columns, key="explore.attr_filter",
                           index=columns.index(query_default("attr_filter", "", columns)),
                           format_func=lambda k: labels.get(k, "— (no filter)"))
    value = None
    if column:
        table = attribute_table()
        in_state = set(district_table().loc[lambda d: d["state"] == state, "leaid"])
        values = attributes.filter_values(table[table["leaid"].isin(in_state)], column)
        if values:
            value = box.selectbox("is", values, key=f"explore.attr_value.{column}",
                                  index=values.index(query_default("attr_value", values[0], values)))
    for param, chosen in (("attr", shade), ("attr_filter", column), ("attr_value", value)):
        if chosen:
            st.query_params[param] = chosen
        else:
            st.query_params.pop(param, None)
    return AttributeChoice(shade or None, labels.get(shade, ""), types.get(shade, ""), column or None, value,
                           labels.get(column, ""))


def apply_attributes(districts: gpd.GeoDataFrame, choice: AttributeChoice) -> gpd.GeoDataFrame:
    """`districts` with the attribute columns joined and the "attribute = value" filter applied
    (when the filter would leave no district it is ignored, with a warning)."""
    if not choice.shade and not choice.filter_column:
        return districts
    joined = gpd.GeoDataFrame(attributes.join(districts, attribute_table()), geometry="geometry", crs=districts.crs)
    if choice.filter_column and choice.filter_value is not None:
        kept = attributes.filter_districts(joined, choice.filter_column, choice.filter_value)
        if len(kept):
            return kept
        st.warning(f"No district on this layer has {plain(choice.filter_label)} = {plain(choice.filter_value)}; "
                   "showing every district.")
    return joined
