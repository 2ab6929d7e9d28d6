"""Upload pods (staff): a CSV or Excel sheet in, checked row by row and previewed, then one undoable batch."""
import streamlit as st

from podgeo import pods, ui

PREVIEW = 1_000  # rows drawn per table: a 100,000-row sheet previews without drawing every row

st.title("Upload pods")
st.caption("Nothing is written until you commit. Rejected rows are kept with their errors: download them, fix "
           "them and upload again. Every upload can be undone on the History page.")
user = ui.require_staff("upload pods")
if user is None:
    st.stop()

ui.upload_templates()
upload = st.file_uploader("Pods sheet (CSV or Excel .xlsx)", type=["csv", "xlsx"], key="upload.file")
if upload is None:
    st.stop()
data, filename = upload.getvalue(), upload.name
raw = ui.upload_sheet(data, filename)
store = ui.open_store()
plan = ui.upload_plan(store, data, filename, raw)
ui.upload_preview(plan, filename, PREVIEW)

c = plan.counts
st.header("3. Commit")
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
