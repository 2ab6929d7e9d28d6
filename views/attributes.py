"""District attribute layers: staff add a sheet of district facts (keyed by LEAID, or name + state), confirm
each column's type, and save it as one layer that shades the map, filters districts and shows in profiles."""
import streamlit as st

from podgeo import attributes, exports, matching, sheets, ui
from podgeo.store import StoreError

st.title("District attribute layers")
for kind, message in st.session_state.pop("attributes.message", []):
    (st.success if kind == "ok" else st.error)(message)
layers = ui.attribute_layers()
if layers.empty:
    st.info("No attribute layers yet. Staff add one below; it then shades the map, filters districts and appears "
            "in district profiles.")
else:
    st.dataframe(attributes.layer_table(layers), hide_index=True, width="stretch", key="attributes.layers")

st.subheader("Add or replace a layer")
user = ui.require_staff("add, replace or remove attribute layers")
if user is None:
    st.stop()
names = dict(zip(layers["layer_id"].astype(str), layers["name"]))
target = st.selectbox("Layer", ["new", *names], key="attributes.target",
                      format_func=lambda k: "New layer" if k == "new" else f"Replace: {names[k]}")
upload = st.file_uploader("Sheet keyed by LEAID, or by district name and state (CSV or Excel .xlsx)",
                          type=["csv", "xlsx"], key="attributes.file")
if upload is not None:
    data, table = upload.getvalue(), ui.district_table()
    try:
        raw = sheets.read_sheet(data, upload.name)
        keys = matching.key_columns(raw.columns)
        inferred = attributes.infer_types(raw, [c for c in raw.columns if c not in set(keys.values())])
    except sheets.SheetError as exc:
        st.error(ui.plain(str(exc)))
        st.stop()
    name = st.text_input("Layer name", value=names.get(target, upload.name.rsplit(".", 1)[0]), key="attributes.name",
                         max_chars=100)
    st.caption("District key: " + (f"LEAID column '{ui.plain(keys['leaid'])}'" if keys["leaid"] else f"name "
                                   f"'{ui.plain(keys['name'] or '?')}' + state '{ui.plain(keys['state'] or '—')}'"))
    st.write("Confirm each column's type (skip leaves it out):")
    options = [*attributes.TYPES, "skip"]
    types = {}
    for i, (column, kind) in enumerate(inferred.items()):
        types[column] = st.selectbox(ui.plain(column), options, index=options.index(kind), key=f"attributes.type.{i}",
                                     format_func=lambda k: attributes.TYPES.get(k, "Skip"))
    try:
        plan = attributes.plan_layer(raw, table, name=name, data=data, types=types, keys=keys,
                                     states=ui.states_table())
    except (sheets.SheetError, ValueError) as exc:
        st.error(ui.plain(str(exc)))
        st.stop()
    settled = {}
    for r in plan.ambiguous.itertuples():
        choices = {"": "— reject the row", **{c.leaid: f"{c.name} ({c.state}, LEAID {c.leaid}): {c.why}"
                                               for c in r.candidates.itertuples()}}
        settled[r.row] = st.selectbox(f"Row {r.row}: {ui.plain(r.name)} fits several districts", list(choices),
                                      key=f"attributes.settle.{r.row}", format_func=choices.get)
    if any(settled.values()):
        plan = attributes.plan_layer(raw, table, name=name, data=data, types=types, keys=keys,
                                     states=ui.states_table(), settled=settled)
    c = plan.counts
    st.write(f"{c['rows']:,} rows: **{c['districts']:,} districts** with {c['values']:,} values in "
             f"{c['columns']} columns; **{c['rejected']:,} rows rejected**.")
    st.dataframe(plan.preview(table), hide_index=True, width="stretch", key="attributes.preview")
    if len(plan.matched):
        st.caption("Rows found by district name (check them): score and why")
        st.dataframe(plan.matched, hide_index=True, width="stretch", key="attributes.matched")
    if c["rejected"]:
        st.dataframe(plan.rejected_table(), hide_index=True, width="stretch", key="attributes.rejected")
        st.download_button("Rejected rows (CSV)", exports.frame_csv(plan.rejected_table(), exports.note(
            f"rows rejected from {upload.name}", "none", "the uploaded sheet")), "rejected_rows.csv", "text/csv",
            key="attributes.rejected_csv")
    verb = "Replace" if target != "new" else "Save"
    if st.button(f"{verb} layer with {c['districts']:,} districts", key="attributes.save", type="primary",
                 disabled=not plan.committable):
        store = ui.open_store()
        try:
            layer_id = store.save_attribute_layer(plan.record(user), plan.values,
                                                  replaces=None if target == "new" else int(target))
            st.session_state["attributes.message"] = [("ok", f"Saved layer {layer_id}: {ui.plain(plan.name)}.")]
            st.rerun()
        except StoreError as exc:
            st.error(ui.plain(str(exc)))
        finally:
            store.close()

if names:
    st.subheader("Remove a layer")
    gone = st.selectbox("Layer to remove", list(names), key="attributes.remove_pick", format_func=names.get)
    if st.button("Remove layer and all its values", key="attributes.remove"):
        store = ui.open_store()
        try:
            store.delete_attribute_layer(int(gone))
        finally:
            store.close()
        st.session_state["attributes.message"] = [("ok", f"Removed layer {ui.plain(names[gone])}.")]
        st.rerun()
ui.sidebar_footer()
