"""Coverage: who can reach a hub site, who cannot, which districts fall shortest, and whether a gap is real."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import access_report as ar
from podgeo import charts, disparity, disparity_map, legend_classes, maps, sensitivity, siting_map, travel_times, ui
from podgeo.filters import PodFilter

state = ui.sidebar_state()
frames = ui.coverage_frames(state)
sites = ui.sidebar_multi("Hub sites (pods: filtered as on the map)", "coverage.sites", ar.SITE_KINDS, ["libraries"],
                         param="supply")
pod_filter = ui.sidebar_pod_filter() if "pods" in sites else PodFilter()
kinds = ar.available_demand(frames)
demand = ui.sidebar_choice("Demand: where the children are", "coverage.demand",
                           {k: ar.DEMAND_KINDS[k] for k in kinds}, kinds[0], param="demand")
method = ui.sidebar_choice("Method", "coverage.method", ar.METHODS, "2sfca", param="method")
decay = ui.sidebar_choice("Distance decay", "coverage.decay", ar.DECAYS, "step", param="decay") \
    if method == "e2sfca" else "step"
upload = st.sidebar.file_uploader("Travel times instead of straight lines (CSV or Parquet: origin_id, "
                                  "destination_id, minutes)", type=["csv", "parquet"], key="coverage.travel")
matrix = travel_times.read_matrix(upload.name, upload.getvalue()) if upload is not None else None
radius = ui.sidebar_number("Travel time (minutes)" if matrix is not None else "Radius (miles)", "coverage.radius",
                           10.0, param="radius", min_value=0.5, max_value=90.0 if matrix is not None else 50.0,
                           step=0.5)
groups = {g: ar.group_label(g, demand) for g in ar.NEED_GROUPS[demand]}
group = ui.sidebar_choice("Children in need (ranks the shortfall)", "coverage.group", groups,
                          ar.NEED_GROUPS[demand][0], param="group")
assumed = ui.sidebar_number("Seats to assume where a site's capacity is unknown (0 = count sites)",
                            "coverage.assumed_seats", 0.0, param="assumed_seats", min_value=0.0, max_value=200.0,
                            step=5.0)
level = int(ui.sidebar_choice("Confidence level of the disparity intervals", "coverage.level",
                              {"90": "90 % (ACS convention)", "95": "95 %"}, "90", param="level"))

st.title(f"Coverage — {state}")
st.caption(f"{ar.DEMAND_KINDS[demand]}, counted in {ar.DEMAND_NOUN[demand]}. "
           + (ui.ILLUSTRATIVE_NOTE if "pods" in sites else ""))
centre = frames.districts[["lon", "lat"]].mean()
hub = ui.hub_controls(float(centre["lon"]), float(centre["lat"]))
linked = ar.hubs_from_query(st.query_params.get("hubs"))  # the siting page's picks; a URL is never trusted
if linked.notice:
    st.warning(linked.notice)
if linked.hubs:
    st.caption(f"Includes {len(linked.hubs):,} hypothetical hub(s) from the link (`hubs=` in the URL).")
hubs = [*linked.hubs, *([hub] if hub is not None else [])]
if not sites:
    st.warning("Choose at least one kind of hub site in the sidebar.")
    st.stop()
options = dict(sites=sites, demand=demand, method=method, radius_miles=radius, decay=decay, group=group, state=state,
               pod_filter=pod_filter, hypothetical=hubs, assumed_seats=assumed or None, travel_times=matrix,
               max_minutes=radius if matrix is not None else None)
with st.spinner("Computing access…"):
    result = ar.coverage_table(frames, **options)
    scores = disparity.scores(result, frames, level=level)
table, summary, meta = result
unit = meta["access_unit"]
if meta["no_pods"]:
    st.info(f"{state} has no pods in the store (after the filter), so pods add no supply here. Add library outlets "
            "or schools as candidate sites, or upload pods.")
if meta["hubs_without_times"]:
    st.warning(f"{meta['hubs_without_times']:,} hypothetical hub(s) have no travel times in the table, so they "
               "reach no one (see the method note).")
everyone = summary.set_index("group").loc["total"]
c1, c2, c3, c4 = st.columns(4)
c1.metric(f"Demand ({meta['demand_noun']})", f"{meta['demand_total']:,.0f}", help=meta["demand_label"])
c2.metric("Mean access", ar.format_access(everyone["mean_access"], meta, short=True), help=unit)
c3.metric("With zero access", f"{100 * everyone['share_zero_access']:.1f} %")
c4.metric("Low-access districts ranked", f"{meta['ranked']:,} of {meta['districts']:,}")
st.caption(f"Mean access: {ar.format_access(everyone['mean_access'], meta)}.")

choice = legend_classes.choose(table["access"])
m = maps.district_choropleth(ar.district_shapes(table, frames), "access", label=f"Access ({unit})", unit="",
                             scheme=choice.scheme, k=choice.k)
if demand != "districts" and st.sidebar.checkbox("Show demand points on the map", key="coverage.points"):
    maps.add_access_points(m, result.points, "access", label=f"Access ({unit})", unit="", name=meta["demand_label"],
                           show=True)
for kind in (k for k in sites if k != "pods"):
    maps.add_sites(m, result.sites[result.sites["kind"] == kind], kind)
if "pods" in sites:
    maps.add_pods(m, ar.chosen_pods(frames, state, pod_filter))
if hub is not None:
    maps.add_hypothetical_hub(m, hub.lon, hub.lat, hub.seats)
siting_map.add_hubs(m, linked.hubs)
st_folium(m, key="coverage.map", height=560, use_container_width=True, returned_objects=["last_clicked"],
          on_change=ui.place_hub_from_click)
if choice.note:
    st.caption(choice.note)

left, right = st.columns(2)  # two a row: three cut their axis titles at 1400 px
left.altair_chart(charts.access_by_group(summary, unit), width="stretch")
right.altair_chart(charts.access_by_poverty_quartile(ar.poverty_quartiles(table), unit), width="stretch")
st.altair_chart(charts.need_vs_access(table, unit, meta["group_label"]), width="stretch")

st.subheader(f"Shortfall: low-access districts, ranked by {meta['group_label']}")
st.dataframe(ar.with_units(table, meta), hide_index=True, width="stretch", key="coverage.table")
st.download_button("Download the table (CSV)", ar.to_csv(ar.with_units(table, meta)),
                   file_name=f"coverage_{state}_{method}.csv", mime="text/csv", key="coverage.download")
st.subheader("Equity by group")
st.dataframe(ar.with_units(summary, meta), hide_index=True, width="stretch", key="coverage.summary",
             column_config={"children": st.column_config.NumberColumn("children", format="localized", step=1)})

st.subheader("Is the gap real? Disparity scores with intervals")
st.markdown(scores.sentence)
if len(scores.geographic):
    baselines = dict(zip(scores.geographic["baseline"], scores.geographic["label"]))
    base = st.radio("Districts' share of access against their share of", list(baselines), format_func=baselines.get,
                    key="coverage.baseline", horizontal=True)
    shown = scores.geographic[scores.geographic["baseline"] == base]
    st_folium(disparity_map.finding_map(ar.district_shapes(shown[["leaid", "name", "finding"]], frames),
                                        title=f"Shortfall or surplus at {level} %"),
              key="coverage.disparity_map", height=460, use_container_width=True, returned_objects=[])
st.altair_chart(charts.disparity_by_group(scores.demographic), width="stretch")
st.download_button("Download the disparity scores (CSV)", ar.to_csv(disparity.summary_frame(scores)),
                   file_name=f"disparity_{state}_{method}.csv", mime="text/csv", key="coverage.download_disparity")
st.caption(scores.note)

with st.expander("Sensitivity: every figure across radii", expanded=False):
    if st.toggle("Compute at 1, 2, 5, 10, 15 and 25 " + ("minutes" if matrix is not None else "miles"),
                 key="coverage.sweep"):
        swept = sensitivity.sweep(frames, [1, 2, 5, 10, 15, 25], chosen=radius, level=level, **options)
        a, b = st.columns(2)
        a.altair_chart(charts.sensitivity_access(swept.groups, swept.unit), width="stretch")
        b.altair_chart(charts.sensitivity_gap(swept.groups, swept.unit), width="stretch")
        st.dataframe(swept.stability, hide_index=True, width="stretch", key="coverage.stability")
        st.download_button("Download the sweep (CSV)", ar.to_csv(swept.groups), file_name=f"sweep_{state}.csv",
                           mime="text/csv", key="coverage.download_sweep")
with st.expander("Method, parameters and data vintages", expanded=False):
    st.markdown(ar.method_note(meta))
    st.code(ar.cli_command(meta, level=level), language="bash")
ui.sidebar_footer()
