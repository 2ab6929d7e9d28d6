"""Cohorts: pick districts across states (or read them from a sheet), name and save the set, and see the
members side by side, in total and on one map."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import cohorts, filters, maps, sheets, ui
from podgeo.store import StoreError

st.title("Cohorts")
for kind, message in st.session_state.pop("cohorts.message", []):
    (st.success if kind == "ok" else st.error)(message)
if "cohorts.open" in st.session_state:  # a cohort just saved: open it (before the picker is drawn)
    st.session_state["cohorts.pick"] = st.session_state.pop("cohorts.open")
saved, table = ui.cohorts(), ui.district_table()
names = {"new": "New cohort…", **{str(r.cohort_id): f"{r.name} ({r.members} districts)" for r in saved.itertuples()}}
pick = st.selectbox("Cohort", list(names), key="cohorts.pick", format_func=names.get,
                    index=list(names).index(ui.query_default("cohort", "new", list(names))))
labels = dict(zip(table["leaid"], table["name"] + " (" + table["state"] + ", " + table["leaid"] + ")"))

if pick == "new":
    st.query_params.pop("cohort", None)
    chosen = st.multiselect("Districts (type to search; any states)", list(labels), key="cohorts.members",
                            format_func=labels.get, placeholder="e.g. Oakland Unified")
    upload = st.file_uploader("…or add the districts a sheet lists: a LEAID column, or district names with a state "
                              "column (CSV or Excel)", type=["csv", "xlsx"], key="cohorts.file")
    if upload is not None:
        try:
            found = cohorts.from_sheet(sheets.read_sheet(upload.getvalue(), upload.name), table,
                                       states=ui.states_table())
        except (sheets.SheetError, ValueError) as exc:
            st.error(ui.plain(str(exc)))
            st.stop()
        chosen = list(dict.fromkeys([*chosen, *found.leaids]))
        st.write(f"{len(found.leaids)} district(s) found in {ui.plain(upload.name)}.")
        if found.errors:
            st.dataframe({"not found": list(found.errors)}, hide_index=True, key="cohorts.unmatched")
        if len(found.ambiguous):
            st.warning(f"{len(found.ambiguous)} name(s) fit more than one district: choose one, or leave it out.")
        for r in found.ambiguous.itertuples():
            options = {"": "— leave out", **{c.leaid: f"{c.name} ({c.state}, {c.layer}, LEAID {c.leaid})"
                                             for c in r.candidates.itertuples()}}
            settled = st.selectbox(f"Row {r.row}: {ui.plain(r.name)} {ui.plain(r.state)}", list(options),
                                   key=f"cohorts.settle.{r.row}", format_func=options.get)
            chosen += [settled] if settled and settled not in chosen else []
    name = st.text_input("Cohort name", key="cohorts.name", max_chars=100)
    if st.button(f"Save cohort of {len(chosen)} district(s)", key="cohorts.save", type="primary",
                 disabled=not (chosen and name.strip())):
        store = ui.open_store()
        try:
            cohort_id = store.create_cohort(name, chosen, source=upload.name if upload is not None else "picked")
            st.session_state["cohorts.message"] = [("ok", f"Saved cohort {ui.plain(name)} ({len(chosen)} districts).")]
            st.session_state["cohorts.open"] = str(cohort_id)
            st.rerun()
        except StoreError as exc:
            st.error(ui.plain(str(exc)))
        finally:
            store.close()
else:
    st.query_params["cohort"] = pick
    chosen = ui.cohort_members(int(pick))

if not chosen:
    st.info("Choose districts above (any states), or open a saved cohort.")
    st.stop()
pod_filter = ui.sidebar_pod_filter()
members = ui.districts_in(chosen)
pods, links = filters.apply(ui.pods(), pod_filter), ui.pod_links()
st.subheader("Side by side and in total")
st.dataframe(cohorts.summary(members, pods, links).rename(columns=cohorts.COLUMNS), hide_index=True, width="stretch",
             key="cohorts.table")
for line in cohorts.notes(members):
    st.caption(line)
m = maps.district_outlines(members, label=names.get(pick) if pick != "new" else "Cohort (not saved)")
maps.add_pods(m, pods[pods["pod_id"].isin(set(links.loc[links["leaid"].isin(set(chosen)), "pod_id"]))])
st_folium(m, key=f"cohorts.map.{pick}", height=520, use_container_width=True, returned_objects=[])
st.caption(f"Pods: {filters.describe(pod_filter)}. {ui.ILLUSTRATIVE_NOTE}")

if pick != "new":
    with st.expander("Delete this cohort (staff)"):
        user = ui.require_staff("delete cohorts")
        if user and st.button(f"Delete {ui.plain(names[pick])}", key="cohorts.delete"):
            store = ui.open_store()
            try:
                store.delete_cohort(int(pick))
            finally:
                store.close()
            st.session_state["cohorts.message"] = [("ok", f"Deleted {ui.plain(names[pick])}.")]
            st.session_state["cohorts.open"] = "new"
            st.rerun()
ui.sidebar_footer()
