"""Upload pods (staff): a CSV or Excel sheet in, checked row by row and previewed, then one undoable batch."""
import streamlit as st

from podgeo import pods, sheets, ui

PREVIEW = 1_000  # rows drawn per table: a 100,000-row sheet previews without drawing every row

st.title("Upload pods")
st.caption("Nothing is written until you commit. Rejected rows are kept with their errors: download them, fix "
           "them and upload again. Every upload can be undone on the History page.")
user = ui.require_staff("upload pods")
if user is None:
    st.stop()

left, right = st.columns(2)
for column, fmt in ((left, "csv"), (right, "xlsx")):
    name, data = pods.template_file(fmt)
    column.download_button(f"Template ({fmt.upper()}, every column and its allowed values)", data, name,
                           key=f"upload.template_{fmt}")
upload = st.file_uploader("Pods sheet (CSV or Excel .xlsx)", type=["csv", "xlsx"], key="upload.file")
if upload is None:
    st.stop()
data, filename = upload.getvalue(), upload.name
try:
    raw = sheets.read_sheet(data, filename)
    if len(raw.sheet_names) > 1:
        sheet = st.selectbox("Worksheet", raw.sheet_names, index=raw.sheet_names.index(raw.sheet), key="upload.sheet")
        raw = sheets.read_sheet(data, filename, sheet=sheet)
    if raw.encoding_choices:  # the guess is unsure: show how each choice reads the text, and ask
        st.warning("The file's text encoding is not certain. Choose the one under which its names read right:")
        st.dataframe(pods.encoding_table(data, raw), hide_index=True, key="upload.encodings")
        encoding = st.selectbox("Text encoding", raw.encoding_choices, key=f"upload.encoding.{pods.file_key(data)}")
        raw = sheets.read_sheet(data, filename, encoding=encoding)
except sheets.SheetError as exc:
    st.error(ui.plain(str(exc)))
    st.stop()

st.subheader("1. Check the column mapping")
store = ui.open_store()
first, source = pods.choose_mapping(store, raw)  # a mapping saved for these headers maps the sheet itself
st.caption(ui.plain(f"Mapping {source}."))  # a saved mapping's name is user text
edited = st.data_editor(pods.mapping_table(raw, first), key=f"upload.mapping.{pods.file_key(data, raw.sheet)}",
                        hide_index=True, width="stretch", disabled=["column", "example"],
                        column_config={"pod field": st.column_config.SelectboxColumn(
                            "pod field", options=list(sheets.TARGETS), required=False, format_func=pods.field_label,
                            help="Which pod field this column fills; empty means not imported")})
states = ["", *ui.state_list()["state"]]
state = st.selectbox("State for rows that name none", states, key="upload.state", format_func=lambda s: s or "—")
try:
    plan = pods.plan_upload(store, data, filename, raw=raw, mapping=pods.mapping_from_table(edited), state=state or None)
    if plan.validation.fixes:
        st.warning(f"{len(plan.validation.fixes):,} row(s) can be fixed automatically:")
        st.dataframe(pods.fixes_table(plan.validation.fixes), hide_index=True, key="upload.fix_list")
        if st.checkbox("Accept these fixes", key="upload.fixes"):
            plan = pods.plan_upload(store, data, filename, raw=raw, mapping=plan.validation.mapping,
                                    state=state or None, accept_fixes=True)
    # -- the value table: each value that fits no term once; one choice applies to every row with it
    if plan.values:
        st.warning(f"{len(plan.values):,} value(s) fit no allowed term; choose a term for each (blank leaves it out):")
        choices = st.data_editor(pods.value_table(plan), key=f"upload.values.{pods.file_key(data, raw.sheet)}",
                                 hide_index=True, disabled=["field", "column", "value", "rows", "suggestion"])
        if st.checkbox("Apply these choices", key="upload.apply_values"):
            plan = pods.plan_upload(store, data, filename, raw=plan.raw, mapping=plan.validation.mapping | {
                j.column: j.field for j in plan.validation.judged}, state=state or None,
                values=pods.values_from_table(choices))
except ValueError as exc:  # SheetError too: the mapping or the state cannot be used
    st.error(ui.plain(str(exc)))
    st.stop()

c = plan.counts
st.subheader("2. Preview")
st.write(f"{c['rows']:,} rows: **{c['valid']:,} valid** ({c['inserts']:,} new, {c['updates']:,} updates, "
         f"{c['needs_geocode']:,} to geocode), **{c['rejected']:,} rejected**.")
for note in plan.validation.notes:
    st.text(note)
if c["valid"] > PREVIEW or c["rejected"] > PREVIEW:
    st.caption(f"The tables show the first {PREVIEW:,} rows of each; the commit and the downloads hold them all.")
st.dataframe(plan.preview(PREVIEW), hide_index=True, key="upload.valid")
if c["rejected"]:
    st.dataframe(plan.rejected(PREVIEW), hide_index=True, key="upload.rejected")
    left, right = st.columns(2)
    stem = filename.rsplit(".", 1)[0]
    left.download_button("Rejected rows (CSV)", sheets.rejected_to_csv(plan.validation), f"{stem}.rejected.csv",
                         key="upload.rejected_csv")
    right.download_button("Rejected rows (Excel)", sheets.rejected_to_xlsx(plan.validation), f"{stem}.rejected.xlsx",
                          key="upload.rejected_xlsx")

st.subheader("3. Commit")
geocode = c["needs_geocode"] > 0 and st.checkbox(
    f"Geocode the {c['needs_geocode']:,} address-only rows with the US Census Geocoder (otherwise they are kept "
    "as not geocoded)", value=True, key="upload.geocode")
remember = st.checkbox("Remember this mapping for sheets with these headers", value=True, key="upload.remember")
if st.button(f"Commit {c['valid']:,} valid rows as one batch", key="upload.commit", type="primary",
             disabled=not plan.committable):
    bar = st.progress(0.0, text="Geocoding…") if geocode else None
    batch_id = pods.commit_upload(store, plan, user=user, use_geocoder=geocode, progress=bar and (
        lambda done, total: bar.progress(done / max(total, 1), text=f"Geocoded {done:,} of {total:,}")))
    st.success(pods.batch_summary(store, batch_id))
    if remember:
        pods.remember_mapping(store, plan, user=user)
store.close()
