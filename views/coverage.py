"""Coverage: who can reach a pod or hub, who cannot, and which districts fall shortest."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import access_report as ar
from podgeo import charts, maps, ui
from podgeo.filters import PodFilter

state = ui.sidebar_state()
frames = ui.coverage_frames(state)
sites = ui.sidebar_multi("Hub sites (pods: filtered as on the map)", "coverage.sites", ar.SITE_KINDS, ["pods"],
                         param="supply")
pod_filter = ui.sidebar_pod_filter() if "pods" in sites else PodFilter()
kinds = ar.available_demand(frames)
demand = ui.sidebar_choice("Demand: where the children are", "coverage.demand",
                           {k: ar.DEMAND_KINDS[k] for k in kinds}, kinds[0], param="demand")
method = ui.sidebar_choice("Method", "coverage.method", ar.METHODS, "2sfca", param="method")
decay = ui.sidebar_choice("Distance decay", "coverage.decay", ar.DECAYS, "step", param="decay") \
    if method == "e2sfca" else "step"
radius = ui.sidebar_number("Radius (miles)", "coverage.radius", 10.0, param="radius", min_value=0.5,
                           max_value=50.0, step=0.5)
groups = {g: ar.group_label(g, demand) for g in ar.NEED_GROUPS[demand]}
group = ui.sidebar_choice("Children in need (ranks the shortfall)", "coverage.group", groups,
                          ar.NEED_GROUPS[demand][0], param="group")
assumed = ui.sidebar_number("Seats to assume where a site's capacity is unknown (0 = count sites)",
                            "coverage.assumed_seats", 0.0, param="assumed_seats", min_value=0.0, max_value=200.0,
                            step=5.0)

st.title(f"Coverage — {state}")
st.caption(f"{ar.DEMAND_KINDS[demand]}, counted in {ar.DEMAND_NOUN[demand]}. "
           + (ui.ILLUSTRATIVE_NOTE if "pods" in sites else ""))
centre = frames.districts[["lon", "lat"]].mean()
hub = ui.hub_controls(float(centre["lon"]), float(centre["lat"]))
if not sites:
    st.warning("Choose at least one kind of hub site in the sidebar.")
    st.stop()
with st.spinner("Computing access…"):
    result = ar.coverage_table(frames, sites=sites, demand=demand, method=method, radius_miles=radius, decay=decay,
                               group=group, state=state, pod_filter=pod_filter, hypothetical=hub,
                               assumed_seats=assumed or None)
table, summary, meta = result
unit = meta["access_unit"]
everyone = summary.set_index("group").loc["total"]
c1, c2, c3, c4 = st.columns(4)
c1.metric(f"Demand ({meta['demand_noun']})", f"{meta['demand_total']:,.0f}", help=meta["demand_label"])
c2.metric("Mean access", f"{everyone['mean_access']:.3g}", help=unit)
c3.metric("With zero access", f"{everyone['share_zero_access']:.1%}")
c4.metric("Low-access districts ranked", f"{meta['ranked']:,} of {meta['districts']:,}")

m = maps.district_choropleth(ar.district_shapes(table, frames), "access", label=f"Access ({unit})", unit="")
if demand != "districts" and st.sidebar.checkbox("Show demand points on the map", key="coverage.points"):
    maps.add_access_points(m, result.points, "access", label=f"Access ({unit})", unit="", name=meta["demand_label"],
                           show=True)
for kind in (k for k in sites if k != "pods"):
    maps.add_sites(m, result.sites[result.sites["kind"] == kind], kind)
if "pods" in sites:
    maps.add_pods(m, ar.chosen_pods(frames, state, pod_filter))
if hub is not None:
    maps.add_hypothetical_hub(m, hub.lon, hub.lat, hub.seats)
st_folium(m, key="coverage.map", height=560, use_container_width=True, returned_objects=["last_clicked"],
          on_change=ui.place_hub_from_click)

left, mid, right = st.columns(3)
left.altair_chart(charts.access_by_group(summary, unit), width="stretch")
mid.altair_chart(charts.access_by_poverty_quartile(ar.poverty_quartiles(table), unit), width="stretch")
right.altair_chart(charts.need_vs_access(table, unit, meta["group_label"]), width="stretch")

st.subheader(f"Shortfall: low-access districts, ranked by {meta['group_label']}")
st.dataframe(table, hide_index=True, width="stretch", key="coverage.table", column_config={
    "access": st.column_config.NumberColumn(f"access ({unit})", format="%.3g"),
    "need_access": st.column_config.NumberColumn(f"access of those in need ({unit})", format="%.3g"),
    "children_in_need": st.column_config.NumberColumn(f"{meta['group_label']} (count)", format="%d")})
st.download_button("Download the table (CSV)", ar.to_csv(table), file_name=f"coverage_{state}_{method}.csv",
                   mime="text/csv", key="coverage.download")
st.subheader("Equity by group")
st.dataframe(summary, hide_index=True, width="stretch", key="coverage.summary")
with st.expander("Method, parameters and data vintages", expanded=False):
    st.markdown(ar.method_note(meta))
    st.code(ar.cli_command(meta), language="bash")
ui.sidebar_footer()
