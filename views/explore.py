"""Explore map: states or a state's districts shaded by a measure, pods by type, candidate hub sites."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import explore, exports, filters, maps, measures, profile, ui

state = ui.sidebar_state(allow_national=True)
shows = ui.sidebar_national_shows(state)  # None on a state's view
layer = ui.sidebar_choice("District layer", "explore.layer", explore.LAYER_LABELS, "base", param="layer",
                          on_change=lambda: st.query_params.pop("district", None))
measure = ui.sidebar_measure()
attr = ui.sidebar_attributes(state)
scheme = ui.sidebar_choice("Classes", "explore.scheme", maps.SCHEMES, "quantiles", param="scheme")
site_kinds = ui.sidebar_multi("Candidate hub sites", "explore.sites",
                              {k: label for k, (_, label) in explore.SITE_KINDS.items()}, ["libraries"], param="sites")
pod_filter = ui.sidebar_pod_filter()
meta = measures.get(measure)
map_key = f"explore.map.{state}.{shows or layer}"

all_pods, links = ui.pods(), ui.pod_links()
pods = filters.apply(all_pods, pod_filter)
if shows == "districts":
    view = ui.national_district_view(measure, scheme, pod_filter)
    shown_pods, districts, leaid = pods, None, None
    st.title(f"{meta.label} — United States school districts")
    st.caption(f"All {len(view.shaded):,} unified and elementary districts (they tile each state), drawn simplified "
               "to 2 km. Click a district to open it in its state.")
elif shows == "states":
    view = ui.national_view(measure, scheme, pod_filter)
    shown_pods, districts, leaid = pods, None, None
    st.title(f"{meta.label} — United States")
    st.caption("States shaded from their districts: percents weighted by children, counts over unified + "
               "elementary districts only. Click a state (or choose one under Geography) to open it.")
else:
    districts = ui.districts(state_fips=(ui.state_fips(state),), layers=explore.LAYERS[layer])
    districts = ui.apply_attributes(districts, attr)
    shown_pods = explore.pods_in_view(pods, links, districts["leaid"])
    view = ui.state_view(state, explore.LAYERS[layer], districts, shown_pods, attr, measure=measure, scheme=scheme,
                         pod_filter=pod_filter, site_kinds=tuple(site_kinds))
    st.title(f"{ui.plain(attr.label) if attr.shade else meta.label} — {state} school districts")
    st.caption(f"{explore.LAYER_LABELS[layer]}. Click a district, or choose one below, for its figures.")
    leaid = ui.district_picker(districts)

st.markdown(f"**{view.pods_shown:,}** of {len(all_pods):,} pods shown ({filters.describe(pod_filter)}), "
            f"**{view.seats_shown:,.0f}** seats. {ui.ILLUSTRATIVE_NOTE}")
highlight = None if districts is None else ui.highlight_layer(districts, leaid)
click = ui.new_click(map_key, st_folium(ui.steady_map(view.map), key=map_key, height=620, use_container_width=True,
                                        returned_objects=["last_object_clicked", "last_active_drawing"],
                                        feature_group_to_add=highlight))
if click and shows and ui.open_national_click(click, view, shows):
    st.rerun()  # the pickers are drawn already: the state (and district) open on the next run
if click and districts is not None and (picked := maps.district_at(click, districts)) and picked != leaid:
    ui.set_district(picked)
    st.rerun()

value_col = attr.shade or measure
value_label = attr.label if attr.shade else f"{meta.label} ({meta.unit})" if meta.unit else meta.label
description = exports.note("pods shown on the explore map", filters.describe(pod_filter), ui.vintages())
if shows == "districts":
    ui.map_table(view.shaded, {"leaid": "LEAID", "name": "District", "state": "State"}, value_col, value_label,
                 key="explore.map_table", file_name=f"podgeo_us_districts_{measure}.csv")
elif shows == "states":
    ui.map_table(view.shaded, {"state": "State", "state_name": "Name"}, value_col, value_label, key="explore.map_table",
                 file_name=f"podgeo_states_{measure}.csv")
else:
    ui.map_table(view.shaded, {"leaid": "LEAID", "name": "District", "layer": "Layer"}, value_col, value_label,
                 key="explore.map_table", file_name=f"podgeo_{state}_{value_col}.csv")
if leaid:
    row = view.shaded.set_index("leaid").loc[leaid]
    rows = profile.measure_rows(row.rename(leaid), view.shaded, ui.measure_catalog())
    rows["value"] = [profile.format_value(v, u, e) for v, u, e in zip(rows["value"], rows["unit"], rows["moe"])]
    rows["state_median"] = [profile.format_value(v, u) for v, u in zip(rows["state_median"], rows["unit"])]
    ui.district_panel(leaid, row, rows)

ui.pod_downloads(shown_pods, description, key="explore", labels={
    "csv": "Pods (CSV)", "zip": "Pods (CSV + notes, zip)", "geojson": "Pods (GeoJSON)"},
    extra=("Map (HTML)", ui.standalone_map_html(view.map), "podgeo_map.html", "text/html"))
ui.sidebar_footer()
