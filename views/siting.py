"""Where to add hubs: the new sites that, with the pods kept open, reach the most children in need."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import access_report as ar
from podgeo import maps, siting, siting_map, ui
from podgeo import siting_report as sr


@st.cache_data(show_spinner="Choosing sites (spopt MCLP and LSCP on CBC)…", max_entries=8)
def _site(db: str, rev: int, choices: sr.Choices) -> sr.SitingResult:
    return sr.site_table(ui.coverage_frames(choices.state), choices)  # frames: ui's cached loader


def _add_click() -> None:
    """A map click adds a candidate point (when clicked points are among the candidates)."""
    point = maps.clicked_point(st.session_state.get("siting.map"))
    chosen = st.session_state["siting.clicked"]
    if point and "clicked" in st.session_state.get("siting.candidates", ()) and len(chosen) < sr.MAX_POINTS:
        chosen.append((f"Clicked point {len(chosen) + 1}", round(point[0], 5), round(point[1], 5)))


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
radius = ui.sidebar_number("Reach (straight-line miles)", "siting.radius", 5.0, param="radius", min_value=0.5,
                           max_value=50.0, step=0.5)
n_new = int(ui.sidebar_number("New hubs to open", "siting.new", 10, param="new", min_value=1, max_value=50, step=1))
limit = ui.sidebar_number("Solver time limit (seconds)", "siting.time_limit", siting.DEFAULT_TIME_LIMIT, param="limit",
                          min_value=5.0, max_value=600.0, step=5.0)
pod_filter = ui.sidebar_pod_filter()
districts = sr.area_districts(frames, state)
names = dict(zip(districts["leaid"], districts["name"]))
area = ui.sidebar_choice("Area", "siting.area", sr.AREAS, "districts" if start.leaids else "state", param="area")
leaids, label = None, ""
if area == "districts":
    leaids = tuple(st.sidebar.multiselect("Districts", sorted(names, key=names.get), key="siting.districts",
                                          default=[v for v in start.leaids or () if v in names], format_func=names.get))
    st.query_params["districts"] = ",".join(leaids)
elif area == "cohort":
    cohorts = ui.cohorts()
    ids = cohorts["cohort_id"].tolist()
    wanted = int(st.query_params["cohort"]) if st.query_params.get("cohort", "").isdigit() else None
    cohort = st.sidebar.selectbox("Cohort", ids, key="siting.cohort", index=ids.index(wanted) if wanted in ids else 0,
                                  format_func=dict(zip(cohorts["cohort_id"], cohorts["name"])).get)
    if cohort is not None:
        st.query_params["cohort"] = str(cohort)
        leaids = tuple(v for v in ui.cohort_members(cohort) if v in names)
        label = f"cohort {cohorts.set_index('cohort_id').loc[cohort, 'name']}"
if area != "state" and not leaids:
    st.info("Choose the districts (or a cohort with members in this state) in the sidebar.")
    st.stop()
clicked = st.session_state.setdefault("siting.clicked", list(start.points))
upload = None
if "upload" in candidates:
    file = st.sidebar.file_uploader("Candidate CSV (name, lat, lon)", type=["csv"], key="siting.upload")
    try:
        upload = siting.read_candidates_csv(file.getvalue()) if file is not None else None
    except siting.CandidateFileError as exc:
        st.error("The candidate file was not used:")
        st.dataframe(sr.error_table(exc), hide_index=True, key="siting.upload_errors")
choices = sr.with_upload(sr.Choices(state=state, demand=demand, group=group, candidates=tuple(candidates),
                                    radius_miles=radius, n_new=n_new, leaids=leaids, area_label=label,
                                    pod_filter=pod_filter, time_limit=limit, points=tuple(map(tuple, clicked)),
                                    points_kind=("clicked",) * len(clicked)), upload)
pts = choices.to_query().get("pts")
st.query_params.update({"pts": pts}) if pts else st.query_params.pop("pts", None)

st.title(f"Where to add hubs — {state}")
if not candidates:
    st.warning("Choose at least one kind of candidate site in the sidebar.")
    st.stop()
try:
    result = _site(ui.store_path(), ui.revision(), choices)
except ValueError as exc:
    st.warning(ui.plain(str(exc)))
    st.stop()
m, s = result.meta, result.mclp
c1, c2, c3, c4 = st.columns(4)
c1.metric(f"{m['group_label']} covered now", f"{m['share_before']:.1%}", help=f"within {radius:g} mi of a pod")
c2.metric(f"With {len(s.chosen)} new hub(s)", f"{m['share_after']:.1%}", f"{m['share_after'] - m['share_before']:+.1%}")
c3.metric("Hubs to reach everyone reachable (LSCP)", "—" if result.lscp.count is None else f"{result.lscp.count:,}")
c4.metric("Solver", "optimal" if s.method == siting.OPTIMAL else "not proven optimal",
          help=f"{s.method}; {s.status}; gap {s.gap}")
if s.method != siting.OPTIMAL:
    st.warning(f"These picks are {s.method}: {s.status}.")
st.caption(" · ".join(sr.summary_lines(result)[3:]) + (" · " + ui.ILLUSTRATIVE_NOTE if m["existing_count"] else ""))

shown = districts if leaids is None else districts[districts["leaid"].isin(leaids)]
fig = maps.district_outlines(districts, chosen=shown["leaid"], label="Area")
maps.add_pods(fig, ar.chosen_pods(frames, state, pod_filter))
siting_map.add_picks(fig, result.picks, clicked=clicked)
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
if right.button("Open these picks in Coverage", key="siting.to_coverage", disabled=result.picks.empty):
    st.switch_page("views/coverage.py", query_params=sr.coverage_query(result))
with st.expander("Method, solver and parameters", expanded=False):
    st.markdown(sr.method_note({**m, "area": ui.plain(m["area"])}))  # a cohort's name is user text
    st.code(sr.cli_command(m), language="bash")
ui.sidebar_footer()
