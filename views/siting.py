"""Where to add hubs: the new sites that, with the pods kept open, reach the most children in need."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import access_report as ar
from podgeo import siting, siting_map, ui
from podgeo import siting_report as sr

state = ui.sidebar_state()
frames = ui.coverage_frames(state)
pick = ui.sidebar_siting(frames, state)
choices = pick.choices

st.title(f"Where to add hubs — {state}")
if pick.refused is not None:
    st.error("The candidate file was not used:")
    st.dataframe(pick.refused, hide_index=True, key="siting.upload_errors")
if pick.travel.error:
    st.error(f"The travel-time file was not used: {ui.plain(pick.travel.error)}")
if not choices.candidates:
    st.warning("Choose at least one kind of candidate site in the sidebar.")
    st.stop()
try:
    result = ui.site(choices, pick.travel)
except ValueError as exc:
    st.warning(ui.plain(str(exc)))
    st.stop()
m, s = result.meta, result.mclp
ui.metric_row(sr.headline(result))
if s.method != siting.OPTIMAL:
    st.warning(f"These picks are {s.method}: {s.status}.")
st.caption(" · ".join(sr.summary_lines(result)[3:]) + (" · " + ui.ILLUSTRATIVE_NOTE if m["existing_count"] else ""))

fig = siting_map.picks_map(pick.districts, pick.area.leaids, ar.chosen_pods(frames, state, choices.pod_filter),
                           result.picks, pick.clicked)
st_folium(ui.steady_map(fig), key="siting.map", height=540, use_container_width=True,
          returned_objects=["last_clicked"], on_change=ui.add_siting_click)
if "clicked" in choices.candidates:
    st.caption("Click the map to add a candidate point; it is kept in the URL.")
st.dataframe(result.picks.drop(columns="geometry"), hide_index=True, width="stretch", key="siting.table",
             column_config={"newly_covered": st.column_config.NumberColumn("children in need newly covered", format="%d"),
                            "cumulative_share": st.column_config.NumberColumn("cumulative share covered", format="percent")})
ui.siting_downloads(result, state)
with st.expander("Method, solver and parameters", expanded=False):
    st.markdown(sr.method_note({**m, "area": ui.plain(m["area"])}))  # a cohort's name is user text
    st.code(sr.cli_command(m), language="bash")
ui.sidebar_footer()
