"""Cohorts: districts across states (picked one at a time, read from a sheet, or a charter network as one
group), side by side, in total and on one map. A viewer's cohort lives in the link (`?members=`); only staff
save a named cohort for everyone."""
import streamlit as st
from streamlit_folium import st_folium

from podgeo import cohorts, filters, matching, profile, sheets, ui
from podgeo.store import StoreError

st.title("Cohorts")
for kind, message in st.session_state.pop("cohorts.message", []):
    (st.success if kind == "ok" else st.error)(message)
if "cohorts.open" in st.session_state:  # a cohort just saved or deleted: open it (before the picker is drawn)
    st.session_state["cohorts.pick"] = st.session_state.pop("cohorts.open")
saved, table = ui.cohorts(), ui.district_table()
names = {"new": "This link's cohort…",
         **{str(r.cohort_id): f"{r.name} ({r.members} districts)" for r in saved.itertuples()}}
pick = st.selectbox("Cohort", list(names), key="cohorts.pick", format_func=names.get,
                    index=list(names).index(ui.query_default("cohort", "new", list(names))))
labels = dict(zip(table["leaid"], table["name"] + " — " + table["state"] + " (LEAID " + table["leaid"] + ")"))


def _go(cohort: cohorts.LinkCohort) -> None:
    """Put the cohort in the link and draw the page again (the link is the viewer's cohort)."""
    for param in ("members", "groups"):
        st.query_params.pop(param, None)
    st.query_params.update(cohort.query())
    st.rerun()


if pick == "new":
    st.query_params.pop("cohort", None)
    link = cohorts.from_link(st.query_params.get("members"), st.query_params.get("groups"), table["leaid"])
    for notice in link.notices:
        st.warning(ui.plain(notice))
    n = len(link.members)
    add, network = st.columns(2)
    query = add.text_input("Add a district or agency: type its name or LEAID", key=f"cohorts.query.{n}")
    found = matching.search(query, table).candidates if query.strip() else None
    if found is not None and found.empty:
        add.info("No district or agency has a name like that.")
    elif found is not None:
        one = add.selectbox("Best first, with their states", list(found["leaid"]), index=None, format_func=labels.get,
                            key=f"cohorts.candidate.{n}", placeholder="Choose one")
        if add.button("Add to the cohort", key="cohorts.add", disabled=one is None):
            _go(link.add([one]))
    group = network.text_input("…or a charter network as one group: its name", key=f"cohorts.network.{n}")
    if group.strip():
        leas = matching.members_named(group, table)
        keep = network.data_editor(leas.assign(keep=True)[["keep", "name", "state", "leaid"]], hide_index=True,
                                   disabled=["name", "state", "leaid"], key=f"cohorts.network_pick.{n}")
        chosen_ids = list(keep.loc[keep["keep"], "leaid"])
        if network.button(f"Add group of {len(chosen_ids)} LEA(s)", key="cohorts.add_group", disabled=not chosen_ids):
            _go(link.add(chosen_ids, group=group))
    upload = st.file_uploader("…or add the districts a sheet lists: a LEAID column, or district names with a state "
                              "column (CSV or Excel)", type=["csv", "xlsx"], key="cohorts.file")
    if upload is not None:
        try:
            read = cohorts.from_sheet(sheets.read_sheet(upload.getvalue(), upload.name), table,
                                      states=ui.states_table())
        except (sheets.SheetError, ValueError) as exc:
            st.error(ui.plain(str(exc)))
            st.stop()
        st.write(f"{len(read.leaids)} district(s) found in {ui.plain(upload.name)}.")
        if read.matches is not None and len(read.matches.matched):
            st.dataframe(read.matches.matched, hide_index=True, key="cohorts.matched")  # with score and why
        if read.errors:
            st.dataframe({"not found": list(read.errors)}, hide_index=True, key="cohorts.unmatched")
        settled = []
        if len(read.ambiguous):
            st.warning(f"{len(read.ambiguous)} name(s) fit more than one district: choose one, or leave it out.")
        for r in read.ambiguous.itertuples():
            options = {"": "— leave out", **{c.leaid: f"{c.name} ({c.state}, {c.layer}, LEAID {c.leaid}): {c.why}"
                                             for c in r.candidates.itertuples()}}
            settled.append(st.selectbox(f"Row {r.row}: {ui.plain(r.name)} {ui.plain(r.state)} fits several",
                                        list(options), key=f"cohorts.settle.{r.row}", format_func=options.get))
        if st.button("Add these districts", key="cohorts.add_sheet"):
            _go(link.add([*read.leaids, *(v for v in settled if v)]))
    chosen, groups = list(link.members), link.groups
    if chosen:
        gone = st.selectbox("Remove a member", [""] + chosen, format_func=lambda v: labels.get(v, "—"),
                            key=f"cohorts.remove_pick.{n}")
        if gone and st.button("Remove", key="cohorts.remove"):
            _go(link.remove(gone))
        st.caption("This cohort lives in the page's link: copy the address to share it.")
        with st.expander("Save this cohort for everyone (staff)"):
            user = ui.require_staff("save cohorts")
            name = st.text_input("Cohort name", key="cohorts.name", max_chars=100) if user else ""
            if user and st.button(f"Save cohort of {len(chosen)} district(s)", key="cohorts.save", type="primary",
                                  disabled=not name.strip()):
                store = ui.open_store()
                try:
                    cohort_id = store.create_cohort(name, chosen, created_by=user, source="picked")
                    saved_text = f"Saved cohort {ui.plain(name)} ({len(chosen)} districts)."
                    st.session_state["cohorts.message"] = [("ok", saved_text)]
                    st.session_state["cohorts.open"] = str(cohort_id)
                    st.rerun()
                except StoreError as exc:
                    st.error(ui.plain(str(exc)))
                finally:
                    store.close()
else:
    st.query_params["cohort"] = pick
    chosen, groups = ui.cohort_members(int(pick)), {}

if not chosen:
    st.info("Add districts above (any states), open a saved cohort, or open a link that lists them.")
    st.stop()
pod_filter = ui.sidebar_pod_filter()
members = profile.with_unbounded(ui.districts_in(chosen), table, chosen)
pods, links = filters.apply(ui.pods(), pod_filter), ui.pod_links()
st.subheader(ui.plain(names[pick]) if pick != "new" else "Side by side and in total")
st.dataframe(cohorts.display(cohorts.summary(members, pods, links, groups)), hide_index=True, width="stretch",
             key="cohorts.table")
for line in cohorts.notes(members):
    st.caption(line)
m = cohorts.members_map(members, ui.states_geo(),
                        pods[pods["pod_id"].isin(set(links.loc[links["leaid"].isin(set(chosen)), "pod_id"]))])
if m is None:
    st.info("No member has a boundary polygon, so there is no map.")
else:
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
