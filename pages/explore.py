"""Explore map: a state's districts shaded by a measure, with library outlets, schools and pods."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import maps, measures, ui

state = ui.sidebar_state()
measure = ui.sidebar_measure()

districts = ui.districts(state_fips=(ui.state_fips(state),), layers=("unified", "elementary"))
meta = measures.get(measure)
st.title(f"{meta.label} — {state} school districts")
st.caption(f"Unified and elementary districts (they tile the state). {ui.ILLUSTRATIVE_NOTE}")

m = maps.district_choropleth(districts, measure, label=meta.label, unit=meta.unit)
maps.add_sites(m, ui.sites(("library",), (state,)), "libraries", show=True)
if state == "CA":
    maps.add_sites(m, ui.sites(("school",), (state,)), "schools")
maps.add_pods(m, ui.pods().query("state == @state"))
click = st_folium(m, key="explore.map", height=620, use_container_width=True,
                  returned_objects=["last_active_drawing", "last_object_clicked"])

leaid = maps.district_at(click, districts)
if leaid:
    row = districts.set_index("leaid").loc[leaid]
    st.subheader(f"{row['name']} ({leaid})")
    st.write(f"{meta.label}: {row[measure]:.1f} {meta.unit}" if row[measure] == row[measure] else "No data")
ui.sidebar_footer()
