"""District profile: find a district by name (typos forgiven) or LEAID; its map, figures, measures, pods,
nearby candidate sites, coverage and attribute-layer values. `/district?district=0622710` opens one directly."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import attributes, filters, matching, profile, ui

st.title("District profile")
table = ui.district_table()
leaid = ui.query_default("district", "", list(table["leaid"]))
query = st.text_input("Find a district by name or LEAID", key="profile.query",
                      placeholder="e.g. Los Angeles Unified, Lincoln Elementary, IL, or 0622710")
if query.strip():
    found = matching.search(query, table)
    if found.candidates.empty:
        st.info(f"No district or agency has a name like {ui.plain(query.strip())!r}. Try fewer words, another "
                "spelling, or the 7-digit LEAID.")
    else:
        names = {r.leaid: f"{r.name} — {r.state} ({r.layer}, LEAID {r.leaid}; score {r.score:.0f}: {r.why})"
                 for r in found.candidates.itertuples()}
        label = ("Best match (or choose another)" if found.pick else
                 f"{len(found.candidates)} districts fit: choose one (best first, with their states)")
        chosen = st.selectbox(label, list(names), key=f"profile.pick.{query}", format_func=names.get,
                              index=0 if found.pick else None, placeholder="Choose a district")
        leaid = chosen or leaid
if not leaid:
    st.info("Type a district's name or LEAID above, or open one from the map.")
    ui.sidebar_footer()
    st.stop()
st.query_params["district"] = leaid

row = table.set_index("leaid").loc[leaid]
pod_filter = ui.sidebar_pod_filter()
pods = filters.apply(ui.pods(), pod_filter)
state_districts = profile.with_unbounded(ui.districts(state_fips=(row["state_fips"],), layers=None), table,
                                         state_fips=(row["state_fips"],))
view = profile.district_profile(leaid, state_districts, pods,
                                ui.pod_links(), ui.sites(("library", "school"), (row["state"],)), ui.measure_catalog())
st.header(ui.plain(view.heading))  # h2 under the page's h1; the sections below are h3 (axe heading-order)
left, right = st.columns(2)
with left:
    if view.map is None:
        st.info("No boundary: this agency (a charter LEA, a state or specialised agency) has no boundary polygon, so "
                "it has no map; its enrollment and finance figures are here and it counts in cohort totals.")
    else:
        st_folium(ui.steady_map(view.map), key=f"profile.map.{leaid}", height=460, use_container_width=True,
                  returned_objects=[])
with right:
    st.dataframe(view.figures, hide_index=True, width="stretch", key="profile.figures")
    st.caption(f"Pods counted: {filters.describe(pod_filter)}. {ui.ILLUSTRATIVE_NOTE}")

st.subheader("Demographic measures")
st.dataframe(view.measures, hide_index=True, width="stretch", key="profile.measures")
st.caption("State median: over the districts of the same layer in the state. ± is the 90 % margin of error the "
           "source publishes.")

attrs = attributes.profile_rows(leaid, ui.attribute_layers(), ui.attribute_values())
if len(attrs):
    st.subheader("District attributes")
    st.dataframe(attrs, hide_index=True, width="stretch", key="profile.attributes")

st.subheader(f"Pods ({len(view.pods)})")
if len(view.pods):
    st.dataframe(view.pods, hide_index=True, width="stretch", key="profile.pods")
else:
    st.text("No pod lies in this district (with the filters chosen).")
st.subheader(f"Candidate hub sites inside or within {profile.NEARBY_MILES:g} mile ({len(view.sites)})")
st.dataframe(view.sites, hide_index=True, width="stretch", key="profile.sites")
ui.sidebar_footer()
