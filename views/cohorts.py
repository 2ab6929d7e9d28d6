"""Cohorts: districts across states (picked one at a time, read from a sheet, or a charter network as one
group), side by side, in total and on one map. A viewer's cohort lives in the link (`?members=`); only staff
save a named cohort for everyone."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import cohorts, filters, profile, ui

st.title("Cohorts")
ui.flash("cohorts.message")
saved, table = ui.cohorts(), ui.district_table()
pick, names = ui.cohort_pick(saved)
if pick == "new":
    chosen, groups = ui.link_cohort(table, cohorts.labels(table))
else:
    st.query_params["cohort"] = pick
    chosen, groups = ui.cohort_members(int(pick)), {}

if not chosen:
    st.info("Add districts above (any states), open a saved cohort, or open a link that lists them.")
    st.stop()
pod_filter = ui.sidebar_pod_filter()
members = profile.with_unbounded(ui.districts_in(chosen), table, chosen)
pods, links = filters.apply(ui.pods(), pod_filter), ui.pod_links()
st.header(ui.plain(names[pick]) if pick != "new" else "Side by side and in total")
st.dataframe(cohorts.display(cohorts.summary(members, pods, links, groups)), hide_index=True, width="stretch",
             key="cohorts.table")  # the map's table alternative too: one row per member
for line in cohorts.notes(members):
    st.caption(line)
m = cohorts.members_map(members, ui.states_geo(), cohorts.member_pods(pods, links, chosen))
if m is None:
    st.info("No member has a boundary polygon, so there is no map.")
else:
    st_folium(ui.steady_map(m), key=f"cohorts.map.{pick}", height=520, use_container_width=True, returned_objects=[])
st.caption(f"Pods: {filters.describe(pod_filter)}. {ui.ILLUSTRATIVE_NOTE}")
if pick != "new":
    ui.delete_cohort(pick, names[pick])
ui.sidebar_footer()
