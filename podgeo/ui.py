"""Everything Streamlit-aware: cached loaders, the shared sidebar, query-parameter state.

The only podgeo module that imports streamlit. Loaders are thin and keyed on hashable
arguments plus the store's revision, so an upload shows up on the next rerun while panning a
map or changing a widget never re-reads the database. No connection is cached: each loader
opens the store, reads, and closes.
"""
from __future__ import annotations

import logging
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Callable

import geopandas as gpd
import pandas as pd
import streamlit as st

from podgeo import assets, filters, maps, measures, vocab
from podgeo.filters import PodFilter
from podgeo.store import SqliteStore, StoreError, default_path
from podgeo.store import open_store as store_at

ILLUSTRATIVE_NOTE = ("The pods shown are an **illustrative sample written by the podgeo project**, not real "
                     "locations. Real pod lists come in through staff uploads.")


log = logging.getLogger("podgeo.app")


def run_page(page) -> None:
    """Run a page; an exception is logged with its traceback and an id, and the viewer sees only the id.

    Staff (signed in with the password) also see the traceback. st.stop/st.rerun are BaseExceptions
    and pass through."""
    try:
        page.run()
    except Exception as exc:  # noqa: BLE001 - any failure of a page ends here, by design
        ref = uuid.uuid4().hex[:10]
        log.exception("page %r failed (error id %s)", getattr(page, "url_path", page), ref)
        st.error(f"Something went wrong on this page, sorry. It has been logged: quote error id **{ref}** "
                 "when you report it. Changing a choice in the sidebar, or opening the page afresh, may help.")
        if st.session_state.get(STAFF_KEY):
            st.exception(exc)


def store_path() -> str:
    return str(default_path())


def open_store() -> SqliteStore:
    """Open the store or stop the page with instructions to build it."""
    try:
        return store_at(store_path())
    except StoreError as exc:  # the message names a server path: logged, not shown
        ref = uuid.uuid4().hex[:10]
        log.error("store cannot be opened (error id %s): %s", ref, exc)
        st.error(f"The data store cannot be opened: it is not built yet, or was built by another podgeo version "
                 f"(error id **{ref}**). Whoever runs the server builds it with:")
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


@st.cache_data(show_spinner="Rolling the states up…", max_entries=16)
def _national_view(db: str, rev: int, measure: str, scheme: str, pod_filter: PodFilter):
    from podgeo import explore

    return explore.national_view(_states(db, rev), _district_table(db, rev), filters.apply(_pods(db, rev), pod_filter),
                                 _pod_links(db, rev), measure=measure, scheme=scheme)


def national_view(measure: str, scheme: str, pod_filter: PodFilter):
    """The explore page's national view (`explore.national_view`), built once per store revision and
    choice: the roll-up over every district is the slowest step of the page."""
    return _national_view(store_path(), revision(), measure, scheme, pod_filter)


def sidebar_national_shows(state: str) -> str | None:
    """"States / Every district" on the national view, mirrored in `?national=`; None on a state's view,
    where the parameter stays in the URL so that going back to the United States shows the same map."""
    if state != NATIONAL:
        return None
    from podgeo import explore

    return sidebar_choice("National map", "explore.national", explore.NATIONAL_SHADES, "states", param="national")


def open_national_click(click: dict, view, shows: str) -> bool:
    """Open what a click on the national map hit, on the next run (True if it hit something).

    Resolved from `view.shapes`, the shapes as drawn (Alaska, Hawaii and Puerto Rico are insets
    there, not where `states_geo()` has them). A district opens in its state, on the layer it is on."""
    if shows == "states":
        picked = maps.district_at(click, view.shapes, leaid_col="state")
        if picked:
            set_state(picked)
        return bool(picked)
    from podgeo import explore

    picked = explore.national_district_click(view, click)
    if picked is None:
        return False
    state, leaid = picked
    set_state(state)
    set_choice("explore.layer", "layer", "base")
    set_district(leaid)
    return True


@st.cache_data(show_spinner="Drawing every district of the nation…", max_entries=2)
def _national_districts(db: str, rev: int) -> gpd.GeoDataFrame:
    return _read(db, lambda store: store.national_districts())


def national_districts() -> gpd.GeoDataFrame:
    """Every unified + elementary district with national display geometry (2 km): the build's column, or
    made from the display geometry for a store built before it (seconds; once per revision)."""
    return _national_districts(store_path(), revision())


@st.cache_data(show_spinner="Shading every district…", max_entries=4)  # ~28 MB each
def _national_district_view(db: str, rev: int, measure: str, scheme: str, pod_filter: PodFilter):
    from podgeo import explore

    return explore.national_district_view(_national_districts(db, rev), _states(db, rev),
                                          filters.apply(_pods(db, rev), pod_filter), _pod_links(db, rev),
                                          measure=measure, scheme=scheme)


def national_district_view(measure: str, scheme: str, pod_filter: PodFilter):
    """The national view of every district (`explore.national_district_view`), built once per revision and
    choice: shading ~12,800 districts takes about a second, a rerun (a click, a pan) should not pay it."""
    return _national_district_view(store_path(), revision(), measure, scheme, pod_filter)


@st.cache_data(show_spinner=False, max_entries=8)
def _state_view(db: str, rev: int, fips: str, state: str, layers: tuple[str, ...], measure: str, scheme: str,
                pod_filter: PodFilter, site_kinds: tuple[str, ...]):
    from podgeo import explore

    districts, links = _districts(db, rev, (fips,), layers), _pod_links(db, rev)
    shown = explore.pods_in_view(filters.apply(_pods(db, rev), pod_filter), links, districts["leaid"])
    sites = {k: _site_layer(db, rev, k, explore.SITE_KINDS[k][0], state) for k in site_kinds}
    return explore.state_view(districts, shown, links, sites, measure=measure, scheme=scheme)


def state_view(state: str, layers: tuple[str, ...], districts: gpd.GeoDataFrame, shown_pods: gpd.GeoDataFrame,
               attr: "AttributeChoice", *, measure: str, scheme: str, pod_filter: PodFilter,
               site_kinds: tuple[str, ...]):
    """A state's map (`explore.state_view`, or `attribute_state_view` when an attribute shades it).
    Shaded by a measure with no attribute filter, it is built once per revision and choice: a rerun
    (a click, a pick of the state) unpickles it in ~2 ms instead of building it in ~55 ms. With an
    attribute, `districts` (joined, filtered) and `shown_pods` are drawn as they are."""
    from podgeo import explore

    if not attr.shade and not attr.filter_column:
        return _state_view(store_path(), revision(), state_fips(state), state, tuple(layers), measure, scheme,
                           pod_filter, tuple(site_kinds))
    links = pod_links()
    sites = {k: site_layer(k, explore.SITE_KINDS[k][0], state) for k in site_kinds}
    if attr.shade:
        return explore.attribute_state_view(districts, shown_pods, links, sites, column=attr.shade, label=attr.label,
                                            kind=attr.type, scheme=scheme)
    return explore.state_view(districts, shown_pods, links, sites, measure=measure, scheme=scheme)


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
    return _vintages(store_path(), revision())


@st.cache_data(show_spinner=False, max_entries=4)
def _vintages(db: str, rev: int) -> str:
    from podgeo import exports

    return exports.vintages(_provenance(db, rev))


def standalone_map_html(m) -> Callable[[], str]:
    """A deferred download of the map as one self-contained HTML file (scripts inlined)."""
    static_dir = Path(__file__).resolve().parents[1] / "static"
    return lambda: assets.standalone_html(m, static_dir)


def query_default(key: str, default: str, allowed: list[str] | None = None) -> str:
    """A widget's starting value from the URL (`?state=CA`), falling back (with a notice) when invalid."""
    value = st.query_params.get(key)
    if value is None:
        return default
    if allowed is None or value in allowed:
        return value
    url_notice(key, value, f"“{default}”" if default else "nothing chosen")
    return default


def url_notice(param: str, raw, instead: str) -> None:
    """Say that a link's `?param=` value could not be used and what is shown instead (never raise).

    One place for every page, so a garbage, hostile or stale link reads the same everywhere; the
    value is echoed shortened and made inert (`plain`)."""
    text = str(raw)
    text = text if len(text) <= 80 else text[:80] + "…"
    st.warning(f"The link's `{param}` value “{plain(text)}” cannot be used here; showing {plain(instead)} instead.",
               icon=None)


NATIONAL = "US"


def sidebar_state(*, allow_national: bool = False) -> str:
    """The shared geography picker ("US" for the national view when allowed), mirrored into `?state=`."""
    states = state_list()
    if states.empty:
        st.sidebar.warning("The store has no districts. Rebuild it with `python -m podgeo build`.")
        st.stop()
    options = ([NATIONAL] if allow_national and len(states) > 1 else []) + states["state"].tolist()
    # the national view first where a page has one (what a policymaker expects); else California, else the first
    default = NATIONAL if NATIONAL in options else "CA" if "CA" in options else options[0]
    start = query_default("state", default, options)
    names = {NATIONAL: "United States (all states)", **dict(zip(states["state"], states["state_name"]))}
    pending = st.session_state.pop(PENDING_STATE, None)
    if pending in options:  # set_state() during the last run: applied before the picker exists
        st.session_state["shared.state"] = pending
    if st.session_state.get("shared.state") not in (None, *options):
        del st.session_state["shared.state"]  # e.g. "US" chosen on a page without a national view
    choice = st.sidebar.selectbox("Geography", options, index=options.index(start), key="shared.state",
                                  on_change=_forget_district,
                                  format_func=lambda s: names.get(s, s) if s == NATIONAL else f"{names.get(s, s)} ({s})")
    st.query_params["state"] = choice
    return choice


PENDING_STATE = "shared.state.pending"


def set_state(state: str) -> None:
    """Switch the shared geography on the next run (call `st.rerun()` after it).

    The picker's widget may already be drawn in this run, and Streamlit forbids writing a drawn
    widget's value, so the choice waits in a pending key that `sidebar_state` applies first."""
    st.session_state[PENDING_STATE] = state
    st.query_params["state"] = state
    _forget_district()


def _forget_district() -> None:
    """A district chosen in one state or layer means nothing in another: drop it from the URL."""
    st.query_params.pop("district", None)


def sidebar_choice(label: str, key: str, options: dict[str, str], default: str, *, param: str,
                   on_change: Callable | None = None) -> str:
    """A radio in the sidebar whose value lives in the URL as `?{param}=`; `options` maps code -> label."""
    codes = list(options)
    pending = st.session_state.pop(f"{key}.pending", None)
    if pending in codes:  # set_choice() during the last run: applied before the widget exists
        st.session_state[key] = pending
    start = query_default(param, default, codes)
    choice = st.sidebar.radio(label, codes, index=codes.index(start), key=key, format_func=options.get,
                              on_change=on_change)
    st.query_params[param] = choice
    return choice


def set_choice(key: str, param: str, value: str) -> None:
    """Set a `sidebar_choice` on the next run (call `st.rerun()`): its widget may be drawn in this one."""
    st.session_state[f"{key}.pending"] = value
    st.query_params[param] = value


def sidebar_multi(label: str, key: str, options: dict[str, str], default: list[str], *, param: str) -> list[str]:
    """A multiselect whose values live in the URL as a comma list (`?sites=libraries,schools`)."""
    raw = st.query_params.get(param)
    start = list(dict.fromkeys(v for v in raw.split(",") if v in options)) if raw is not None else list(default)
    unknown = [v for v in (raw or "").split(",") if v and v not in options]
    if unknown:
        url_notice(param, ",".join(unknown), "only the known choices" if start else "none")
    chosen = st.sidebar.multiselect(label, list(options), default=start, key=key, format_func=options.get)
    st.query_params[param] = ",".join(chosen)
    return chosen


def sidebar_pod_filter() -> PodFilter:
    """Every pod filter (type, mode, cost, status, groups, supports, grades, "as of" date), in the URL."""
    start, problems = PodFilter.from_query_checked(st.query_params.to_dict())
    for param, why in problems.items():
        url_notice(param, st.query_params.get(param), f"no {param.replace('_', ' ')} filter ({why})")
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
                           min_value=filters.AS_OF_MIN, max_value=filters.AS_OF_MAX) if use_date else None
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
        st.markdown("\n".join(f"- {plain(entry)}" for entry in vintages().split("; ")))
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
        who = _client_key()
        wait = auth.THROTTLE.wait(who)
        if not name.strip():
            st.error("Type your name: it is recorded with every upload and undo.")
        elif wait > 0:  # not even checked: a guess during the wait costs the guesser nothing but time
            st.error(f"Too many wrong passwords from here. Try again in {wait:,.0f} s.")
        elif auth.verify_password(password, stored):
            auth.THROTTLE.succeeded(who)
            st.session_state[STAFF_KEY] = name.strip()
            st.rerun()
        else:
            auth.THROTTLE.failed(who, name=name.strip())
            later = auth.THROTTLE.wait(who)
            st.error("Wrong staff password." + (f" The next try is possible in {later:,.0f} s." if later else ""))
    return None


def _client_key() -> str:
    """Who is signing in, for the guessing throttle: the client's address (every tab of it alike)."""
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - no request context: one shared key
        ip = None
    return ip if isinstance(ip, str) and ip else "unknown address"


def _staff_secrets() -> dict:
    """st.secrets as a dict; {} when the server has no secrets file (viewing needs none)."""
    try:
        return st.secrets.to_dict()
    except Exception:  # no or unreadable secrets.toml: same as no staff configuration
        return {}


def plain(text) -> str:
    """User-, URL- or provider-supplied text made inert in Streamlit markdown.

    Every mark markdown acts on is backslash-escaped (emphasis, links, headings, tables, HTML,
    entities, `$…$` KaTeX); line breaks become spaces (no new blocks). A colon before a word or a
    slash could start a `:small` directive, a `:material/x:` icon, a `:smile:` shortcode or an
    `http://` autolink; Streamlit swaps icons and shortcodes in the *parsed* text, after escapes are
    undone, so such a colon is escaped and followed by a word joiner (U+2060, invisible) as well.
    """
    flat = " ".join(str(text).split())
    escaped = "".join("\\" + ch if ch in _MD_PUNCT else ch for ch in flat)
    return _WORD_COLON.sub("\\:" + WORD_JOINER, escaped)


WORD_JOINER = "\u2060"
_MD_PUNCT = frozenset("\\`*_{}[]()<>#+-.!|~$&")
_WORD_COLON = re.compile(r":(?=[\w+/-])")


def unplain(markdown: str) -> str:
    """What a reader sees of `plain(text)` (tests compare it with the text that went in)."""
    return re.sub(r"\\(.)", r"\1", markdown.replace(WORD_JOINER, ""))


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
    raw = st.query_params.get(param)
    try:
        start = float(raw) if raw is not None else default
    except ValueError:
        start = None
    if start is None or not min_value <= start <= max_value:  # also NaN and inf
        url_notice(param, raw, f"{default:g} (allowed: {min_value:g} to {max_value:g})")
        start = default
    value = st.sidebar.slider(label, min_value=float(min_value), max_value=float(max_value), value=float(start),
                              step=float(step), key=key)
    st.query_params[param] = f"{value:g}"
    return value


def hub_controls(default_lon: float, default_lat: float):
    """The what-if hub: a toggle, a position (typed, or set by a map click) and seats, mirrored in `?hub=`.

    Returns an `access_report.Hub`, or None while the toggle is off.
    """
    from podgeo.access_report import Hub

    raw = st.query_params.get("hub")
    start = Hub.from_query(raw)
    if start is not None and not (-180 <= start.lon <= 180 and -90 <= start.lat <= 90 and 0 <= start.seats <= 10000):
        start = None  # also NaN: every comparison with it is False
    if raw is not None and start is None:
        url_notice("hub", raw, "no hypothetical hub (expected longitude,latitude,seats)")
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


# -- explore page: the chosen district, its panel and the map's table alternative --------------------

def district_picker(districts: pd.DataFrame) -> str | None:
    """"Choose a district" (a selectbox, usable by keyboard), mirrored in `?district=`; a click on the
    map arrives through `set_district` and shows here on the next run."""
    leaids = districts["leaid"].astype(str).tolist()
    names = dict(zip(leaids, [f"{n} (LEAID {k})" for n, k in zip(districts["name"].fillna("").astype(str), leaids)]))
    options = ["", *sorted(leaids, key=lambda k: names[k].lower())]
    pending = st.session_state.pop(PENDING_DISTRICT, None)
    if pending in options:
        st.session_state[DISTRICT_KEY] = pending
    if st.session_state.get(DISTRICT_KEY) not in (None, *options):
        del st.session_state[DISTRICT_KEY]  # chosen on another state or layer
    start = query_default("district", "", options)
    chosen = st.selectbox("Choose a district (type to search), or click one on the map", options, key=DISTRICT_KEY,
                          index=options.index(start), format_func=lambda k: names.get(k, "—"))
    if chosen:
        st.query_params["district"] = chosen
    else:
        st.query_params.pop("district", None)
    return chosen or None


DISTRICT_KEY, PENDING_DISTRICT = "explore.district", "explore.district.pending"


def set_district(leaid: str) -> None:
    """Choose a district on the next run (call `st.rerun()`): the picker is already drawn in this one."""
    st.session_state[PENDING_DISTRICT] = leaid
    st.query_params["district"] = leaid


def new_click(map_key: str, click: dict | None) -> dict | None:
    """What st_folium returned, if it is a click this session has not acted on yet (else None).

    st_folium keeps returning the last click on every rerun; acting on it again would undo a
    choice made since with the keyboard."""
    if not click or not any(click.values()) or st.session_state.get(f"{map_key}.seen") == click:
        return None
    st.session_state[f"{map_key}.seen"] = click
    return click


#: the district panel's column headers, as a reader says them
PANEL_COLUMNS = {"measure": "Measure", "value": "Value (± 90 % margin of error)", "state_median": "State median",
                 "vs_state": "Against the state median", "source": "Source", "vintage": "Vintage"}


def district_panel(leaid: str, row: pd.Series, rows: pd.DataFrame) -> None:
    """The chosen district under the map: every measure with human headers, and a link to its profile."""
    st.subheader(f"{plain(row['name'])} · LEAID {leaid} · {row['layer']} · boundaries {row['vintage']}")
    st.page_link("views/district.py", label="Open the full district profile", icon=None,
                 query_params={"district": leaid})
    st.dataframe(rows[list(PANEL_COLUMNS)].rename(columns=PANEL_COLUMNS), hide_index=True, width="stretch",
                 key="explore.profile")


def highlight_layer(districts: gpd.GeoDataFrame, leaid: str | None):
    """A feature group outlining the chosen district, for st_folium's `feature_group_to_add` (which
    updates the drawn map without reloading it). Geometry only: no text reaches the template."""
    import folium

    group = folium.FeatureGroup(name="Chosen district", control=False)
    chosen = districts[districts["leaid"] == leaid] if leaid else districts.iloc[0:0]
    if len(chosen):
        shape = gpd.GeoDataFrame(geometry=chosen.geometry.values, crs=chosen.crs).to_crs("EPSG:4326")
        folium.GeoJson(shape.__geo_interface__, interactive=False,
                       style_function=lambda _: {"color": "#d7301f", "weight": 4, "fill": False}).add_to(group)
    return group


def map_table(frame: pd.DataFrame, columns: dict[str, str], value: str, value_label: str, *, key: str,
              file_name: str) -> None:
    """The map's table alternative: what it shades, one row per area, sortable and downloadable
    (a plain CSV). `columns` maps the frame's id/name columns to their headers."""
    with st.expander("The map as a table (sortable; download as CSV)"):
        table = pd.DataFrame(frame[[*columns, value]]).rename(columns={**columns, value: value_label})
        table = table.sort_values(value_label, ascending=False, na_position="last")
        st.dataframe(table, hide_index=True, width="stretch", key=f"{key}.table")
        st.caption("Blank: no data (never counted as zero).")
        from podgeo import exports

        st.download_button("The table (CSV)", lambda: exports.frame_csv(table), file_name, "text/csv",
                           key=f"{key}.download", on_click="ignore")


#: the pods' download formats: file name, MIME type, and how to make it from (pods, description)
POD_DOWNLOADS = {
    "csv": ("podgeo_pods.csv", "text/csv", lambda pods, _: _exports().pods_csv(pods)),
    "zip": ("podgeo_pods.zip", "application/zip", lambda pods, note: _exports().pods_zip(pods, note)),
    "xlsx": ("podgeo_pods.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             lambda pods, note: _exports().pods_xlsx(pods, note)),
    "geojson": ("podgeo_pods.geojson", "application/geo+json", lambda pods, note: _exports().pods_geojson(pods, note)),
    "gpkg": ("podgeo_pods.gpkg", "application/geopackage+sqlite3", lambda pods, note: _exports().pods_gpkg(pods, note)),
}


def pod_downloads(pods: pd.DataFrame, description: str, *, key: str, labels: dict[str, str],
                  extra: tuple[str, str | bytes, str, str] | None = None) -> None:
    """One row of download buttons for the pods a page shows (`labels`: format -> button text, in
    order), each file made only when clicked, with `description` in its notes; `extra` (label,
    data, file name, MIME) is one more button at the end, such as the map's HTML."""
    cols = st.columns(len(labels) + (extra is not None))
    for col, (fmt, label) in zip(cols, labels.items()):
        name, mime, make = POD_DOWNLOADS[fmt]
        col.download_button(label, lambda make=make: make(pods, description), name, mime, key=f"{key}.dl_{fmt}",
                            on_click="ignore")
    if extra is not None:
        label, data, name, mime = extra
        cols[-1].download_button(label, data, name, mime, key=f"{key}.dl_{name.rsplit('.', 1)[1]}", on_click="ignore")


def _exports():
    from podgeo import exports  # heavy writers (GeoPackage, Excel), only when a file is asked for

    return exports


_STEADY_JS = """{% macro script(this, kwargs) %}
(function (map) {
    /* Leaflet's keyboard handler focuses the map on every first mouse press. Inside st_folium's iframe a
       focus() scrolls the page until the whole iframe is in view, while the button is still down: the map
       slides under the pointer and Leaflet takes the click for a drag, so the first click on a map that
       reaches below the fold was lost (1400x900). The same focus, without the scroll, keeps arrow keys. */
    var keys = map.keyboard;  /* Leaflet focuses the map on a press (for its arrow keys): without scrolling */
    if (keys && !keys._podgeoSteady) {
        var on = keys.enabled();
        if (on) { keys.disable(); }
        keys._podgeoSteady = true;
        keys._onMouseDown = function () { if (!this._focused) { this._map._container.focus({preventScroll: true}); } };
        if (on) { keys.enable(); }
    }
})({{ this._parent.get_name() }});
{% endmacro %}"""


def steady_map(m):
    """`m` with the focus-scroll fix above (keyboard panning kept); the template holds no data."""
    import branca
    import folium

    element = folium.MacroElement()
    element._template = branca.element.Template(_STEADY_JS)
    element.add_to(m)
    return m


# -- Coverage and siting pages: the sidebar controls they share -----------------------------------

def sidebar_demand(frames, key: str, default: str | None = None) -> str:
    """"Where the children are", among the demand kinds this state's frames hold, mirrored in `?demand=`."""
    from podgeo import access_report as ar

    kinds = ar.available_demand(frames)
    return sidebar_choice("Demand: where the children are", key, {k: ar.DEMAND_KINDS[k] for k in kinds},
                          default if default in kinds else kinds[0], param="demand")


def sidebar_group(label: str, key: str, demand: str, groups) -> str:
    """The need group (`?group=`), named as the chosen demand source counts it; the first is the default."""
    from podgeo import access_report as ar

    return sidebar_choice(label, key, {g: ar.group_label(g, demand) for g in groups}, groups[0], param="group")


@dataclass(frozen=True, eq=False)
class Travel:
    """A travel-time upload (None without one, or when it could not be read: `error` says why) and the
    reach slider it relabels: minutes with a table, straight-line miles without."""

    matrix: pd.DataFrame | None
    error: str
    file_id: str | None
    radius: float

    @property
    def minutes(self) -> float | None:
        return self.radius if self.matrix is not None else None


def sidebar_travel(key: str, radius_key: str, default: float, *, minutes_label: str, miles_label: str) -> Travel:
    """The travel-time file uploader and the reach slider (`?radius=`); a bad file is named, never raised."""
    from podgeo import siting_report

    upload = st.sidebar.file_uploader("Travel times instead of straight lines (CSV or Parquet: origin_id, "
                                      "destination_id, minutes)", type=["csv", "parquet"], key=key)
    matrix, error = siting_report.read_travel(upload.name, upload.getvalue()) if upload is not None else (None, "")
    radius = sidebar_number(minutes_label if matrix is not None else miles_label, radius_key, default, param="radius",
                            min_value=0.5, max_value=90.0 if matrix is not None else 50.0, step=0.5)
    return Travel(matrix, error, upload.file_id if matrix is not None else None, radius)


#: a metric label longer than this is cut ("…") in a quarter of the 1400 px page: two figures a row then
METRIC_LABEL_FITS = 30


def metric_row(figures) -> None:
    """Headline figures side by side: (label, value, delta, help) each, as the report modules give them;
    two a row when a label would be cut at four (Streamlit truncates metric labels to one line)."""
    per_row = len(figures) if max(len(f[0]) for f in figures) <= METRIC_LABEL_FITS else 2
    for start in range(0, len(figures), per_row):
        row = figures[start:start + per_row]
        for column, (label, value, delta, tip) in zip(st.columns(per_row), row):
            column.metric(label, value, delta, help=tip)


# -- Coverage page ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class CoverageChoice:
    """Everything the Coverage sidebar chose; `options` turns it into `access_report.coverage_table`'s arguments."""

    sites: list
    pod_filter: PodFilter
    demand: str
    method: str
    decay: str
    travel: Travel
    group: str
    assumed: float
    level: int
    points: bool

    def options(self, state: str, hubs) -> dict:
        return dict(sites=self.sites, demand=self.demand, method=self.method, radius_miles=self.travel.radius,
                    decay=self.decay, group=self.group, state=state, pod_filter=self.pod_filter, hypothetical=hubs,
                    assumed_seats=self.assumed or None, travel_times=self.travel.matrix,
                    max_minutes=self.travel.minutes)


def sidebar_coverage(frames) -> CoverageChoice:
    """The Coverage sidebar, top to bottom: sites, pod filter, demand, method, decay, travel times and radius,
    need group, assumed seats, confidence level, demand points; every choice in the URL."""
    from podgeo import access_report as ar

    sites = sidebar_multi("Hub sites (pods: filtered as on the map)", "coverage.sites", ar.SITE_KINDS, ["libraries"],
                          param="supply")
    pod_filter = sidebar_pod_filter() if "pods" in sites else PodFilter()
    demand = sidebar_demand(frames, "coverage.demand")
    method = sidebar_choice("Method", "coverage.method", ar.METHODS, "2sfca", param="method")
    decay = sidebar_choice("Distance decay", "coverage.decay", ar.DECAYS, "step", param="decay") \
        if method == "e2sfca" else "step"
    travel = sidebar_travel("coverage.travel", "coverage.radius", 10.0, minutes_label="Travel time (minutes)",
                            miles_label="Radius (miles)")
    group = sidebar_group("Children in need (ranks the shortfall)", "coverage.group", demand, ar.NEED_GROUPS[demand])
    assumed = sidebar_number("Seats to assume where a site's capacity is unknown (0 = count sites)",
                             "coverage.assumed_seats", 0.0, param="assumed_seats", min_value=0.0, max_value=200.0,
                             step=5.0)
    level = int(sidebar_choice("Confidence level of the disparity intervals", "coverage.level",
                               {"90": "90 % (ACS convention)", "95": "95 %"}, "90", param="level"))
    points = demand != "districts" and st.sidebar.checkbox("Show demand points on the map", key="coverage.points")
    return CoverageChoice(sites, pod_filter, demand, method, decay, travel, group, assumed, level, points)


def coverage_hubs(frames):
    """The what-if hub (None when off) and the link's `?hubs=` (the siting picks; a URL is never trusted,
    so what cannot be used is named in a notice)."""
    from podgeo import access_report as ar

    centre = frames.districts[["lon", "lat"]].mean()
    hub = hub_controls(float(centre["lon"]), float(centre["lat"]))
    linked = ar.hubs_from_query(st.query_params.get("hubs"))
    if linked.notice:
        st.warning(linked.notice)
    if linked.hubs:
        st.caption(f"Includes {len(linked.hubs):,} hypothetical hub(s) from the link (`hubs=` in the URL).")
    return hub, linked.hubs


def coverage_notices(meta: dict, state: str) -> None:
    """What the figures cannot show: a state without pods, hypothetical hubs the travel-time table lacks."""
    if meta["no_pods"]:
        st.info(f"{state} has no pods in the store (after the filter), so pods add no supply here. Add library "
                "outlets or schools as candidate sites, or upload pods.")
    if meta["hubs_without_times"]:
        st.warning(f"{meta['hubs_without_times']:,} hypothetical hub(s) have no travel times in the table, so they "
                   "reach no one (see the method note).")


def coverage_tables(table: pd.DataFrame, summary: pd.DataFrame, meta: dict, name: str) -> None:
    """The ranked district table (the access map's table alternative: every district, downloadable) and the
    equity-by-group table, both with units in their headers."""
    from podgeo import access_report as ar

    st.header(f"Shortfall: low-access districts, ranked by {meta['group_label']}")
    st.dataframe(ar.with_units(table, meta), hide_index=True, width="stretch", key="coverage.table")
    st.download_button("Download the table (CSV)", ar.to_csv(ar.with_units(table, meta)), file_name=f"coverage_{name}.csv",
                       mime="text/csv", key="coverage.download")
    st.header("Equity by group")
    st.dataframe(ar.text_blanks(ar.with_units(summary, meta)), hide_index=True, width="stretch", key="coverage.summary",
                 column_config={"children": st.column_config.NumberColumn("children", format="localized", step=1)})


def disparity_section(scores, frames, level: int, name: str) -> None:
    """"Is the gap real?": the sentence, the finding map with its table, the group chart and the download."""
    from streamlit_folium import st_folium

    from podgeo import access_report as ar
    from podgeo import charts, disparity, disparity_map

    st.header("Is the gap real? Disparity scores with intervals")
    st.markdown(scores.sentence)
    if len(scores.geographic):
        baselines = dict(zip(scores.geographic["baseline"], scores.geographic["label"]))
        base = st.radio("Districts' share of access against their share of", list(baselines),
                        format_func=baselines.get, key="coverage.baseline", horizontal=True)
        shown = ar.district_shapes(scores.geographic.loc[scores.geographic["baseline"] == base,
                                                         ["leaid", "name", "finding"]], frames)
        st_folium(steady_map(disparity_map.finding_map(shown, title=f"Shortfall or surplus at {level} %")),
                  key="coverage.disparity_map", height=460, use_container_width=True, returned_objects=[])
        map_table(shown, {"leaid": "LEAID", "name": "District"}, "finding", f"Finding at {level} %",
                  key="coverage.disparity_table", file_name=f"findings_{name}.csv")
    st.altair_chart(charts.disparity_by_group(scores.demographic), width="stretch")
    st.download_button("Download the disparity scores (CSV)", ar.to_csv(disparity.summary_frame(scores)),
                       file_name=f"disparity_{name}.csv", mime="text/csv", key="coverage.download_disparity")
    st.caption(scores.note)


def sensitivity_section(frames, options: dict, choice: CoverageChoice, state: str) -> None:
    """The opt-in sweep: access and every group gap across radii, and how stable the shortfall ranking is."""
    from podgeo import access_report as ar
    from podgeo import charts, sensitivity

    with st.expander("Sensitivity: every figure across radii", expanded=False):
        if st.toggle("Compute at 1, 2, 5, 10, 15 and 25 " + ("minutes" if choice.travel.matrix is not None else "miles"),
                     key="coverage.sweep"):
            swept = sensitivity.sweep(frames, [1, 2, 5, 10, 15, 25], chosen=choice.travel.radius, level=choice.level,
                                      **options)
            a, b = st.columns(2)
            a.altair_chart(charts.sensitivity_access(swept.groups, swept.unit), width="stretch")
            b.altair_chart(charts.sensitivity_gap(swept.groups, swept.unit), width="stretch")
            st.dataframe(swept.stability, hide_index=True, width="stretch", key="coverage.stability")
            st.download_button("Download the sweep (CSV)", ar.to_csv(swept.groups), file_name=f"sweep_{state}.csv",
                               mime="text/csv", key="coverage.download_sweep")


# -- Siting page ("Where to add hubs") -------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SitingChoice:
    """What the siting sidebar chose: the solver's `choices`, the travel-time upload, a refused candidate
    file (its error table), the clicked points, and the area's districts."""

    choices: object
    travel: Travel
    refused: pd.DataFrame | None
    clicked: list
    districts: gpd.GeoDataFrame
    area: object


def sidebar_siting(frames, state: str) -> SitingChoice:
    """The siting sidebar, top to bottom (demand, group, candidates, travel times and reach, new hubs, time
    limit, pod filter, area, candidate file); every choice and every clicked point in the URL."""
    from podgeo import siting
    from podgeo import siting_report as sr

    start = sr.choices_from_query(st.query_params.to_dict(), state=state)
    demand = sidebar_demand(frames, "siting.demand", start.demand)
    group = sidebar_group("Children in need (the weight)", "siting.group", demand, sr.GROUPS[demand])
    candidates = sidebar_multi("Candidate sites", "siting.candidates", sr.CANDIDATE_KINDS, ["libraries"],
                               param="candidates")
    travel = sidebar_travel("siting.travel", "siting.radius", 5.0, minutes_label="Reach (travel minutes)",
                            miles_label="Reach (straight-line miles)")
    n_new = int(sidebar_number("New hubs to open", "siting.new", 10, param="new", min_value=1, max_value=50, step=1))
    limit = sidebar_number("Solver time limit (seconds)", "siting.time_limit", siting.DEFAULT_TIME_LIMIT,
                           param="limit", min_value=5.0, max_value=600.0, step=5.0)
    pod_filter = sidebar_pod_filter()
    districts = sr.area_districts(frames, state)
    area = sidebar_area(districts, start)
    clicked = st.session_state.setdefault("siting.clicked", list(start.points))
    file = st.sidebar.file_uploader("Candidate CSV (name, lat, lon)", type=["csv"], key="siting.upload") \
        if "upload" in candidates else None
    upload, refused = sr.read_upload(file.getvalue() if file is not None else None)
    choices = sr.with_upload(sr.Choices(
        state=state, demand=demand, group=group, candidates=tuple(candidates),
        radius_miles=travel.radius if travel.matrix is None else start.radius_miles, n_new=n_new,
        leaids=area.leaids, area_label=area.label, pod_filter=pod_filter, time_limit=limit,
        points=tuple(map(tuple, clicked)), points_kind=("clicked",) * len(clicked)), upload)
    pts = choices.to_query().get("pts")
    st.query_params.update({"pts": pts}) if pts else st.query_params.pop("pts", None)
    return SitingChoice(choices, travel, refused, clicked, districts, area)


def sidebar_area(districts: pd.DataFrame, start) -> object:
    """The area to site in (`?area=`): the whole state, districts picked in it, or a saved cohort's members
    in it; returns `siting_report.Area`, or stops the page with a hint while the area is empty."""
    from podgeo import siting_report as sr

    names = dict(zip(districts["leaid"], districts["name"]))
    area = sidebar_choice("Area", "siting.area", sr.AREAS, "districts" if start.leaids else "state", param="area")
    picked, cohort, cohort_names = (), None, {}
    if area == "districts":
        picked = st.sidebar.multiselect("Districts", sorted(names, key=names.get), key="siting.districts",
                                        default=[v for v in start.leaids or () if v in names], format_func=names.get)
    elif area == "cohort":
        cohort_names = dict(cohorts()[["cohort_id", "name"]].itertuples(index=False))
        cohort = st.sidebar.selectbox("Cohort", list(cohort_names), key="siting.cohort", format_func=cohort_names.get,
                                      index=sr.query_index(list(cohort_names), st.query_params.get("cohort")))
    chosen = sr.choose_area(area, names, picked=picked, cohort=cohort, cohort_name=cohort_names.get(cohort, ""),
                            members=cohort_members(cohort) if cohort is not None else ())
    st.query_params.update(chosen.query)
    if chosen.missing:
        st.info("Choose the districts (or a cohort with members in this state) in the sidebar.")
        st.stop()
    return chosen


@st.cache_data(show_spinner="Choosing sites (spopt MCLP and LSCP on CBC)…", max_entries=8)
def _site(db: str, rev: int, choices, travel_id: str | None, _matrix, minutes):
    """Frames from the cached loader; the travel-time table keys the cache by its upload's id (not rehashed)."""
    from podgeo import siting_report as sr

    return sr.site_table(coverage_frames(choices.state), choices, travel_times=_matrix, max_minutes=minutes)


def site(choices, travel: Travel):
    """`siting_report.site_table` for these choices, cached per store revision and travel-time upload."""
    return _site(store_path(), revision(), choices, travel.file_id, travel.matrix, travel.minutes)


def add_siting_click() -> None:
    """st_folium on_change callback: a map click adds a candidate point (when clicked points are candidates)."""
    from podgeo import siting_report as sr

    sr.add_clicked(st.session_state["siting.clicked"], maps.clicked_point(st.session_state.get("siting.map")),
                   st.session_state.get("siting.candidates", ()))


def siting_downloads(result, state: str) -> None:
    """The picks as CSV and GeoJSON, and the button that opens them in Coverage as hypothetical hubs."""
    from podgeo import siting_report as sr

    left, mid, right = st.columns(3)
    left.download_button("Picks (CSV)", sr.picks_csv(result), file_name=f"siting_{state}.csv", mime="text/csv",
                         key="siting.csv")
    mid.download_button("Picks (GeoJSON)", sr.picks_geojson(result), file_name=f"siting_{state}.geojson",
                        mime="application/geo+json", key="siting.geojson")
    if right.button("Open these picks in Coverage", key="siting.to_coverage", disabled=result.picks.empty,
                    help="Coverage measures straight lines until the same travel-time table is uploaded there"
                    if result.meta["max_minutes"] else None):
        st.switch_page("views/coverage.py", query_params=sr.coverage_query(result))


# -- Cohorts page ----------------------------------------------------------------------------------

def flash(key: str) -> None:
    """Show (once) the messages a previous run left under `key` before it reran: [(kind, text)]."""
    for kind, message in st.session_state.pop(key, []):
        (st.success if kind == "ok" else st.error)(message)


def cohort_pick(saved: pd.DataFrame) -> tuple[str, dict[str, str]]:
    """The cohort picker ("new" = the link's cohort, else a saved cohort's id), mirrored in `?cohort=`; a
    cohort just saved or deleted opens (set before the picker is drawn). Returns (pick, id -> label)."""
    if "cohorts.open" in st.session_state:
        st.session_state["cohorts.pick"] = st.session_state.pop("cohorts.open")
    names = {"new": "This link's cohort…",
             **{str(r.cohort_id): f"{r.name} ({r.members} districts)" for r in saved.itertuples()}}
    pick = st.selectbox("Cohort", list(names), key="cohorts.pick", format_func=names.get,
                        index=list(names).index(query_default("cohort", "new", list(names))))
    return pick, names


def _open_link_cohort(cohort) -> None:
    """Put the cohort in the link and draw the page again (the link is the viewer's cohort)."""
    for param in ("members", "groups"):
        st.query_params.pop(param, None)
    st.query_params.update(cohort.query())
    st.rerun()


def link_cohort(table: pd.DataFrame, labels: dict[str, str]) -> tuple[list[str], dict]:
    """The link's cohort (`?members=`, `?groups=`) and every way to change it: add a district by name, a charter
    network as one group, the districts a sheet lists; remove one; save it for everyone (staff)."""
    from podgeo import cohorts

    st.query_params.pop("cohort", None)
    link = cohorts.from_link(st.query_params.get("members"), st.query_params.get("groups"), table["leaid"])
    for notice in link.notices:
        st.warning(plain(notice))
    n = len(link.members)
    add, network = st.columns(2)
    _cohort_by_name(add, link, table, labels, n)
    _cohort_network(network, link, table, n)
    _cohort_sheet(link, table)
    chosen = list(link.members)
    if chosen:
        gone = st.selectbox("Remove a member", [""] + chosen, format_func=lambda v: labels.get(v, "—"),
                            key=f"cohorts.remove_pick.{n}")
        if gone and st.button("Remove", key="cohorts.remove"):
            _open_link_cohort(link.remove(gone))
        st.caption("This cohort lives in the page's link: copy the address to share it.")
        _save_cohort(chosen)
    return chosen, link.groups


def _cohort_by_name(box, link, table: pd.DataFrame, labels: dict[str, str], n: int) -> None:
    """Type a name or LEAID, choose among the ranked candidates (never Enter's "select all matches")."""
    from podgeo import matching

    query = box.text_input("Add a district or agency: type its name or LEAID", key=f"cohorts.query.{n}")
    found = matching.search(query, table).candidates if query.strip() else None
    if found is not None and found.empty:
        box.info("No district or agency has a name like that.")
    elif found is not None:
        one = box.selectbox("Best first, with their states", list(found["leaid"]), index=None, format_func=labels.get,
                            key=f"cohorts.candidate.{n}", placeholder="Choose one")
        if box.button("Add to the cohort", key="cohorts.add", disabled=one is None):
            _open_link_cohort(link.add([one]))


def _cohort_network(box, link, table: pd.DataFrame, n: int) -> None:
    """A charter network's LEAs by name, each kept or dropped, added as one group."""
    from podgeo import matching

    group = box.text_input("…or a charter network as one group: its name", key=f"cohorts.network.{n}")
    if group.strip():
        leas = matching.members_named(group, table)
        keep = box.data_editor(leas.assign(keep=True)[["keep", "name", "state", "leaid"]], hide_index=True,
                               disabled=["name", "state", "leaid"], key=f"cohorts.network_pick.{n}")
        chosen_ids = list(keep.loc[keep["keep"], "leaid"])
        if box.button(f"Add group of {len(chosen_ids)} LEA(s)", key="cohorts.add_group", disabled=not chosen_ids):
            _open_link_cohort(link.add(chosen_ids, group=group))


def _cohort_sheet(link, table: pd.DataFrame) -> None:
    """The districts a sheet lists: matched ones shown with why, unmatched listed, ambiguous ones settled."""
    from podgeo import cohorts, sheets

    upload = st.file_uploader("…or add the districts a sheet lists: a LEAID column, or district names with a state "
                              "column (CSV or Excel)", type=["csv", "xlsx"], key="cohorts.file")
    if upload is None:
        return
    try:
        read = cohorts.from_sheet(sheets.read_sheet(upload.getvalue(), upload.name), table, states=states_table())
    except (sheets.SheetError, ValueError) as exc:
        st.error(plain(str(exc)))
        st.stop()
    st.write(f"{len(read.leaids)} district(s) found in {plain(upload.name)}.")
    if read.matches is not None and len(read.matches.matched):
        st.dataframe(read.matches.matched, hide_index=True, key="cohorts.matched")  # with score and why
    if read.errors:
        st.dataframe({"not found": list(read.errors)}, hide_index=True, key="cohorts.unmatched")
    settled = []
    if len(read.ambiguous):
        st.warning(f"{len(read.ambiguous)} name(s) fit more than one district: choose one, or leave it out.")
    for r in read.ambiguous.itertuples():
        options = {"": "— leave out", **{c.leaid: f"{c.name} ({c.state}, {c.layer}, LEAID {c.leaid}): {c.why}"
                                         for c in r.candidates.itertuples()}}
        settled.append(st.selectbox(f"Row {r.row}: {plain(r.name)} {plain(r.state)} fits several",
                                    list(options), key=f"cohorts.settle.{r.row}", format_func=options.get))
    if st.button("Add these districts", key="cohorts.add_sheet"):
        _open_link_cohort(link.add([*read.leaids, *(v for v in settled if v)]))


def _save_cohort(chosen: list[str]) -> None:
    """Staff save the link's cohort under a name for everyone; it opens once saved."""
    with st.expander("Save this cohort for everyone (staff)"):
        user = require_staff("save cohorts")
        name = st.text_input("Cohort name", key="cohorts.name", max_chars=100) if user else ""
        if user and st.button(f"Save cohort of {len(chosen)} district(s)", key="cohorts.save", type="primary",
                              disabled=not name.strip()):
            store = open_store()
            try:
                cohort_id = store.create_cohort(name, chosen, created_by=user, source="picked")
                st.session_state["cohorts.message"] = [("ok", f"Saved cohort {plain(name)} ({len(chosen)} districts).")]
                st.session_state["cohorts.open"] = str(cohort_id)
                st.rerun()
            except StoreError as exc:
                st.error(plain(str(exc)))
            finally:
                store.close()


def delete_cohort(pick: str, label: str) -> None:
    """Staff delete a saved cohort; the page then opens the link's (empty) cohort."""
    with st.expander("Delete this cohort (staff)"):
        user = require_staff("delete cohorts")
        if user and st.button(f"Delete {plain(label)}", key="cohorts.delete"):
            store = open_store()
            try:
                store.delete_cohort(int(pick))
            finally:
                store.close()
            st.session_state["cohorts.message"] = [("ok", f"Deleted {plain(label)}.")]
            st.session_state["cohorts.open"] = "new"
            st.rerun()


# -- Upload page -----------------------------------------------------------------------------------

def upload_templates() -> None:
    """The CSV and Excel templates side by side: every column and its allowed values."""
    from podgeo import pods

    for column, fmt in zip(st.columns(2), ("csv", "xlsx")):
        name, data = pods.template_file(fmt)
        column.download_button(f"Template ({fmt.upper()}, every column and its allowed values)", data, name,
                               key=f"upload.template_{fmt}")


def upload_sheet(data: bytes, filename: str):
    """The uploaded file read as a sheet: the worksheet chosen when it has several, the text encoding asked
    (each choice shown reading the names) when the guess is unsure; a file that cannot be read stops the page."""
    from podgeo import pods, sheets

    try:
        raw = sheets.read_sheet(data, filename)
        if len(raw.sheet_names) > 1:
            sheet = st.selectbox("Worksheet", raw.sheet_names, index=raw.sheet_names.index(raw.sheet),
                                 key="upload.sheet")
            raw = sheets.read_sheet(data, filename, sheet=sheet)
        if raw.encoding_choices:
            st.warning("The file's text encoding is not certain. Choose the one under which its names read right:")
            st.dataframe(pods.encoding_table(data, raw), hide_index=True, key="upload.encodings")
            encoding = st.selectbox("Text encoding", raw.encoding_choices, key=f"upload.encoding.{pods.file_key(data)}")
            raw = sheets.read_sheet(data, filename, encoding=encoding)
    except sheets.SheetError as exc:
        st.error(plain(str(exc)))
        st.stop()
    return raw


def upload_plan(store, data: bytes, filename: str, raw):
    """Step 1: the column mapping (a saved one for these headers first), the state for rows naming none, the
    automatic fixes and the value choices to accept; returns the `pods.plan_upload` plan, or stops the page
    naming why the mapping or the state cannot be used."""
    from podgeo import pods, sheets

    st.header("1. Check the column mapping")
    first, source = pods.choose_mapping(store, raw)  # a mapping saved for these headers maps the sheet itself
    st.caption(plain(f"Mapping {source}."))  # a saved mapping's name is user text
    edited = st.data_editor(pods.mapping_table(raw, first), key=f"upload.mapping.{pods.file_key(data, raw.sheet)}",
                            hide_index=True, width="stretch", disabled=["column", "example"],
                            column_config={"pod field": st.column_config.SelectboxColumn(
                                "pod field", options=list(sheets.TARGETS), required=False,
                                format_func=pods.field_label,
                                help="Which pod field this column fills; empty means not imported")})
    state = st.selectbox("State for rows that name none", ["", *state_list()["state"]], key="upload.state",
                         format_func=lambda s: s or "—") or None
    try:
        plan = pods.plan_upload(store, data, filename, raw=raw, mapping=pods.mapping_from_table(edited), state=state)
        if plan.validation.fixes:
            st.warning(f"{len(plan.validation.fixes):,} row(s) can be fixed automatically:")
            st.dataframe(pods.fixes_table(plan.validation.fixes), hide_index=True, key="upload.fix_list")
            if st.checkbox("Accept these fixes", key="upload.fixes"):
                plan = pods.plan_upload(store, data, filename, raw=raw, mapping=plan.validation.mapping, state=state,
                                        accept_fixes=True)
        if plan.values:  # each value that fits no term once; one choice applies to every row with it
            st.warning(f"{len(plan.values):,} value(s) fit no allowed term; choose a term for each (blank leaves it "
                       "out):")
            choices = st.data_editor(pods.value_table(plan), key=f"upload.values.{pods.file_key(data, raw.sheet)}",
                                     hide_index=True, disabled=["field", "column", "value", "rows", "suggestion"])
            if st.checkbox("Apply these choices", key="upload.apply_values"):
                plan = pods.plan_upload(store, data, filename, raw=plan.raw, mapping=plan.validation.mapping | {
                    j.column: j.field for j in plan.validation.judged}, state=state,
                    values=pods.values_from_table(choices))
    except ValueError as exc:  # SheetError too: the mapping or the state cannot be used
        st.error(plain(str(exc)))
        st.stop()
    return plan


def upload_preview(plan, filename: str, rows: int) -> None:
    """Step 2: the counts, the notes, the valid and rejected rows (the first `rows` of each), and the rejected
    rows as CSV and Excel to fix and upload again."""
    from podgeo import sheets

    c = plan.counts
    st.header("2. Preview")
    st.write(f"{c['rows']:,} rows: **{c['valid']:,} valid** ({c['inserts']:,} new, {c['updates']:,} updates, "
             f"{c['needs_geocode']:,} to geocode), **{c['rejected']:,} rejected**.")
    for note in plan.validation.notes:
        st.text(note)
    if c["valid"] > rows or c["rejected"] > rows:
        st.caption(f"The tables show the first {rows:,} rows of each; the commit and the downloads hold them all.")
    st.dataframe(plan.preview(rows), hide_index=True, key="upload.valid")
    if c["rejected"]:
        st.dataframe(plan.rejected(rows), hide_index=True, key="upload.rejected")
        left, right = st.columns(2)
        stem = filename.rsplit(".", 1)[0]
        left.download_button("Rejected rows (CSV)", sheets.rejected_to_csv(plan.validation), f"{stem}.rejected.csv",
                             key="upload.rejected_csv")
        right.download_button("Rejected rows (Excel)", sheets.rejected_to_xlsx(plan.validation),
                              f"{stem}.rejected.xlsx", key="upload.rejected_xlsx")
