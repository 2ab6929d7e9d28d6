"""Where to add hubs: the new sites that, with the pods kept open, reach the most children in need."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import access_report as ar
from podgeo import maps, siting, siting_map, ui
from podgeo import siting_report as sr


@st.cache_data(show_spinner="Choosing sites (spopt MCLP and LSCP on CBC)…", max_entries=8)
def _site(db: str, rev: int, choices: sr.Choices, travel_id: str | None, _matrix, minutes) -> sr.SitingResult:
    """Frames from ui's cached loader; the travel-time table keys the cache by its upload's id (not rehashed)."""
    return sr.site_table(ui.coverage_frames(choices.state), choices, travel_times=_matrix, max_minutes=minutes)


def _add_click() -> None:
    """A map click adds a candidate point (when clicked points are among the candidates)."""
    sr.add_clicked(st.session_state["siting.clicked"], maps.clicked_point(st.session_state.get("siting.map")),
                   st.session_state.get("siting.candidates", ()))


state = ui.sidebar_state()
frames = ui.coverage_frames(state)
start = sr.choices_from_query(st.query_params.to_dict(), state=state)
kinds = ar.available_demand(frames)
demand = ui.sidebar_choice("Demand: where the children are", "siting.demand", {k: ar.DEMAND_KINDS[k] for k in kinds},
                           start.demand if start.demand in kinds else kinds[0], param="demand")
group = ui.sidebar_choice("Children in need (the weight)", "siting.group",
                          {g: ar.group_label(g, demand) for g in sr.GROUPS[demand]}, sr.GROUPS[demand][0], param="group")
candidates = ui.sidebar_multi("Candidate sites", "siting.candidates", sr.CANDIDATE_KINDS, ["libraries"],
                              param="candidates")
travel = st.sidebar.file_uploader("Travel times instead of straight lines (CSV or Parquet: origin_id, "
                                  "destination_id, minutes)", type=["csv", "parquet"], key="siting.travel")
matrix, travel_error = sr.read_travel(travel.name, travel.getvalue()) if travel is not None else (None, "")
radius = ui.sidebar_number("Reach (travel minutes)" if matrix is not None else "Reach (straight-line miles)",
                           "siting.radius", 5.0, param="radius", min_value=0.5,
                           max_value=90.0 if matrix is not None else 50.0, step=0.5)
n_new = int(ui.sidebar_number("New hubs to open", "siting.new", 10, param="new", min_value=1, max_value=50, step=1))
limit = ui.sidebar_number("Solver time limit (seconds)", "siting.time_limit", siting.DEFAULT_TIME_LIMIT, param="limit",
                          min_value=5.0, max_value=600.0, step=5.0)
pod_filter = ui.sidebar_pod_filter()
districts = sr.area_districts(frames, state)
names = dict(zip(districts["leaid"], districts["name"]))
area = ui.sidebar_choice("Area", "siting.area", sr.AREAS, "districts" if start.leaids else "state", param="area")
picked, cohort, cohort_names = (), None, {}
if area == "districts":
    picked = st.sidebar.multiselect("Districts", sorted(names, key=names.get), key="siting.districts",
                                    default=[v for v in start.leaids or () if v in names], format_func=names.get)
elif area == "cohort":
    cohort_names = dict(ui.cohorts()[["cohort_id", "name"]].itertuples(index=False))
    cohort = st.sidebar.selectbox("Cohort", list(cohort_names), key="siting.cohort", format_func=cohort_names.get,
                                  index=sr.query_index(list(cohort_names), st.query_params.get("cohort")))
chosen = sr.choose_area(area, names, picked=picked, cohort=cohort, cohort_name=cohort_names.get(cohort, ""),
                        members=ui.cohort_members(cohort) if cohort is not None else ())
st.query_params.update(chosen.query)
if chosen.missing:
    st.info("Choose the districts (or a cohort with members in this state) in the sidebar.")
    st.stop()
clicked = st.session_state.setdefault("siting.clicked", list(start.points))
file = st.sidebar.file_uploader("Candidate CSV (name, lat, lon)", type=["csv"], key="siting.upload") \
    if "upload" in candidates else None
upload, refused = sr.read_upload(file.getvalue() if file is not None else None)
choices = sr.with_upload(sr.Choices(state=state, demand=demand, group=group, candidates=tuple(candidates),
                                    radius_miles=radius if matrix is None else start.radius_miles, n_new=n_new,
                                    leaids=chosen.leaids, area_label=chosen.label, pod_filter=pod_filter,
                                    time_limit=limit, points=tuple(map(tuple, clicked)),
                                    points_kind=("clicked",) * len(clicked)), upload)
pts = choices.to_query().get("pts")
st.query_params.update({"pts": pts}) if pts else st.query_params.pop("pts", None)

st.title(f"Where to add hubs — {state}")
if refused is not None:
    st.error("The candidate file was not used:")
    st.dataframe(refused, hide_index=True, key="siting.upload_errors")
if travel_error:
    st.error(f"The travel-time file was not used: {ui.plain(travel_error)}")
if not candidates:
    st.warning("Choose at least one kind of candidate site in the sidebar.")
    st.stop()
try:
    result = _site(ui.store_path(), ui.revision(), choices, travel.file_id if matrix is not None else None, matrix,
                   radius if matrix is not None else None)
except ValueError as exc:
    st.warning(ui.plain(str(exc)))
    st.stop()
m, s = result.meta, result.mclp
for column, (label, value, delta, tip) in zip(st.columns(4), sr.headline(result)):
    column.metric(label, value, delta, help=tip)
if s.method != siting.OPTIMAL:
    st.warning(f"These picks are {s.method}: {s.status}.")
st.caption(" · ".join(sr.summary_lines(result)[3:]) + (" · " + ui.ILLUSTRATIVE_NOTE if m["existing_count"] else ""))

fig = siting_map.picks_map(districts, chosen.leaids, ar.chosen_pods(frames, state, pod_filter), result.picks, clicked)
st_folium(fig, key="siting.map", height=540, use_container_width=True, returned_objects=["last_clicked"],
          on_change=_add_click)
if "clicked" in candidates:
    st.caption("Click the map to add a candidate point; it is kept in the URL.")
st.dataframe(result.picks.drop(columns="geometry"), hide_index=True, width="stretch", key="siting.table",
             column_config={"newly_covered": st.column_config.NumberColumn("children in need newly covered", format="%d"),
                            "cumulative_share": st.column_config.NumberColumn("cumulative share covered", format="percent")})
left, mid, right = st.columns(3)
left.download_button("Picks (CSV)", sr.picks_csv(result), file_name=f"siting_{state}.csv", mime="text/csv",
                     key="siting.csv")
mid.download_button("Picks (GeoJSON)", sr.picks_geojson(result), file_name=f"siting_{state}.geojson",
                    mime="application/geo+json", key="siting.geojson")
if right.button("Open these picks in Coverage", key="siting.to_coverage", disabled=result.picks.empty,
                help="Coverage measures straight lines until the same travel-time table is uploaded there"
                if m["max_minutes"] else None):
    st.switch_page("views/coverage.py", query_params=sr.coverage_query(result))
with st.expander("Method, solver and parameters", expanded=False):
    st.markdown(sr.method_note({**m, "area": ui.plain(m["area"])}))  # a cohort's name is user text
    st.code(sr.cli_command(m), language="bash")
ui.sidebar_footer()
