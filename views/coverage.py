"""Coverage: who can reach a hub site, who cannot, which districts fall shortest, and whether a gap is real."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import access_report as ar
from podgeo import charts, coverage_map, disparity, ui

state = ui.sidebar_state()
frames = ui.coverage_frames(state)
choice = ui.sidebar_coverage(frames)

st.title(f"Coverage — {state}")
st.caption(f"{ar.DEMAND_KINDS[choice.demand]}, counted in {ar.DEMAND_NOUN[choice.demand]}. "
           + (ui.ILLUSTRATIVE_NOTE if "pods" in choice.sites else ""))
hub, linked = ui.coverage_hubs(frames)
if choice.travel.error:
    st.error(f"The travel-time file was not used: {ui.plain(choice.travel.error)}")
if not choice.sites:
    st.warning("Choose at least one kind of hub site in the sidebar.")
    st.stop()
options = choice.options(state, [*linked, *([hub] if hub is not None else [])])
with st.spinner("Computing access…"):
    result = ar.coverage_table(frames, **options)
    scores = disparity.scores(result, frames, level=choice.level)
table, summary, meta = result
unit = meta["access_unit"]
ui.coverage_notices(meta, state)
ui.metric_row(ar.headline(summary, meta))
st.caption(f"Mean access: {ar.format_access(summary.set_index('group').loc['total', 'mean_access'], meta)}.")

m, legend_note = coverage_map.access_map(result, frames, sites=choice.sites, state=state, pod_filter=choice.pod_filter,
                                         hub=hub, linked=linked, points=choice.points)
st_folium(ui.steady_map(m), key="coverage.map", height=560, use_container_width=True,
          returned_objects=["last_clicked"], on_change=ui.place_hub_from_click)
if legend_note:
    st.caption(legend_note)

left, right = st.columns(2)  # two a row: three cut their axis titles at 1400 px
left.altair_chart(charts.access_by_group(summary, unit), width="stretch")
right.altair_chart(charts.access_by_poverty_quartile(ar.poverty_quartiles(table), unit), width="stretch")
st.altair_chart(charts.need_vs_access(table, unit, meta["group_label"]), width="stretch")

name = f"{state}_{choice.method}"
ui.coverage_tables(table, summary, meta, name)
ui.disparity_section(scores, frames, choice.level, name)
ui.sensitivity_section(frames, options, choice, state)
with st.expander("Method, parameters and data vintages", expanded=False):
    st.markdown(ar.method_note(meta))
    st.code(ar.cli_command(meta, level=choice.level), language="bash")
ui.sidebar_footer()
