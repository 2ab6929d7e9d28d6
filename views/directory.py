"""Pods directory: search and sort the pods with every map filter, see one pod's fields, and download what is
shown as a plain CSV, or with a note of its filters, data vintages and when it was made (zip, Excel, GeoJSON,
GeoPackage)."""
import streamlit as st

from podgeo import directory, exports, filters, ui

st.title("Pods directory")
state = ui.sidebar_state(allow_national=True)
pod_filter = ui.sidebar_pod_filter()
left, right = st.columns([3, 1])
query = left.text_input("Search names, operators, places and notes", value=st.query_params.get("q", ""),
                        key="directory.query", max_chars=200)
sorts = {k: label for k, (label, _, _) in directory.SORTS.items()}
sort_by = right.selectbox("Sort by", list(sorts), key="directory.sort", format_func=sorts.get,
                          index=list(sorts).index(ui.query_default("sort", "name", list(sorts))))
for param, value in (("q", query.strip()), ("sort", sort_by if sort_by != "name" else "")):
    if value:
        st.query_params[param] = value
    else:
        st.query_params.pop(param, None)

all_pods = ui.pods()
pods = filters.apply(all_pods, pod_filter)
if state != ui.NATIONAL:
    pods = pods[pods["state"] == state]
shown = directory.sort(directory.search(pods, query), sort_by)
where = "all states" if state == ui.NATIONAL else state
st.markdown(f"**{len(shown):,}** of {len(all_pods):,} pods ({filters.describe(pod_filter)}; {where}"
            + (f"; search: {ui.plain(query.strip())}" if query.strip() else "") + f"). {ui.ILLUSTRATIVE_NOTE}")
st.dataframe(directory.table(shown), hide_index=True, width="stretch", key="directory.table")
st.caption("A grey None: the sheet gave no figure (never counted as zero).")

if len(shown):
    names = dict(zip(shown["pod_id"], shown["name"].fillna("") + " · " + shown["city"].fillna("")))
    pod_id = st.selectbox("Details of a pod", list(names), key="directory.pod", format_func=names.get)
    st.dataframe(directory.detail(shown.set_index("pod_id", drop=False).loc[pod_id]), hide_index=True,
                 width="stretch", key="directory.detail")

searched = f"; search '{query.strip()}'" if query.strip() else ""
description = exports.note(f"pods in the directory ({where}{searched})", filters.describe(pod_filter), ui.vintages())
ui.pod_downloads(shown, description, key="directory", labels={
    "csv": "Pods (CSV)", "zip": "CSV + notes (zip)", "xlsx": "Excel (data + notes)", "geojson": "GeoJSON",
    "gpkg": "GeoPackage (EPSG:4326)"})
ui.sidebar_footer()
