"""Explore map: states or a state's districts shaded by a measure, pods by type, candidate hub sites."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import explore, exports, filters, maps, measures, profile, ui

state = ui.sidebar_state(allow_national=True)
layer = ui.sidebar_choice("District layer", "explore.layer", explore.LAYER_LABELS, "base", param="layer")
measure = ui.sidebar_measure()
attr = ui.sidebar_attributes(state)
scheme = ui.sidebar_choice("Classes", "explore.scheme", maps.SCHEMES, "quantiles", param="scheme")
site_kinds = ui.sidebar_multi("Candidate hub sites", "explore.sites",
                              {k: label for k, (_, label) in explore.SITE_KINDS.items()}, ["libraries"], param="sites")
pod_filter = ui.sidebar_pod_filter()
meta = measures.get(measure)

all_pods, links = ui.pods(), ui.pod_links()
pods = filters.apply(all_pods, pod_filter)
if state == ui.NATIONAL:
    view = explore.national_view(ui.states_geo(), ui.district_table(), pods, links, measure=measure, scheme=scheme)
    shown_pods, districts = pods, None
    st.title(f"{meta.label} — United States")
    st.caption("States shaded from their districts: percents weighted by children, counts over unified + "
               "elementary districts only. Click a state to open it.")
else:
    districts = ui.districts(state_fips=(ui.state_fips(state),), layers=explore.LAYERS[layer])
    districts = ui.apply_attributes(districts, attr)
    shown_pods = explore.pods_in_view(pods, links, districts["leaid"])
    sites = {k: ui.site_layer(k, explore.SITE_KINDS[k][0], state) for k in site_kinds}
    view = (explore.attribute_state_view(districts, shown_pods, links, sites, column=attr.shade, label=attr.label,
                                         kind=attr.type, scheme=scheme) if attr.shade
            else explore.state_view(districts, shown_pods, links, sites, measure=measure, scheme=scheme))
    st.title(f"{ui.plain(attr.label) if attr.shade else meta.label} — {state} school districts")
    st.caption(f"{explore.LAYER_LABELS[layer]}. Click a district for its profile.")

st.markdown(f"**{view.pods_shown:,}** of {len(all_pods):,} pods shown ({filters.describe(pod_filter)}), "
            f"**{view.seats_shown:,.0f}** seats. {ui.ILLUSTRATIVE_NOTE}")
click = st_folium(view.map, key=f"explore.map.{state}.{layer}", height=620, use_container_width=True,
                  returned_objects=["last_object_clicked", "last_active_drawing"])

if state == ui.NATIONAL:
    picked = maps.district_at(click, ui.states_geo(), leaid_col="state")
    if picked and picked != state:
        ui.set_state(picked)
        st.rerun()
else:
    leaid = maps.district_at(click, districts) or ui.query_default("district", "", list(districts["leaid"]))
    if leaid:
        st.query_params["district"] = leaid
        row = view.shaded.set_index("leaid").loc[leaid]
        st.subheader(f"{row['name']} · LEAID {leaid} · {row['layer']} · boundaries {row['vintage']}")
        table = profile.measure_rows(row.rename(leaid), view.shaded, ui.measure_catalog())
        table["value"] = [profile.format_value(v, u, e) for v, u, e in zip(table["value"], table["unit"], table["moe"])]
        table["state_median"] = [profile.format_value(v, u) for v, u in zip(table["state_median"], table["unit"])]
        st.dataframe(table[["measure", "value", "state_median", "vs_state", "source", "vintage"]], hide_index=True,
                     width="stretch", key="explore.profile")

description = exports.note("pods shown on the explore map", filters.describe(pod_filter), ui.vintages())
cols = st.columns(3)
cols[0].download_button("Pods (CSV)", lambda: exports.pods_csv(shown_pods, description), "podgeo_pods.csv",
                        "text/csv", key="explore.dl_csv", on_click="ignore")
cols[1].download_button("Pods (GeoJSON)", lambda: exports.pods_geojson(shown_pods, description),
                        "podgeo_pods.geojson", "application/geo+json", key="explore.dl_geojson", on_click="ignore")
cols[2].download_button("Map (HTML)", ui.standalone_map_html(view.map), "podgeo_map.html", "text/html",
                        key="explore.dl_html", on_click="ignore")
ui.sidebar_footer()
