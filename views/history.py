"""Upload history: every batch with its counts and when; for staff who did it, the files, the rejected rows and undo."""
import streamlit as st

from podgeo import pods, ui
from podgeo.store import StoreError

st.title("Upload history")
for kind, message in st.session_state.pop("history.message", []):
    (st.success if kind == "ok" else st.error)(message)
store = ui.open_store()
batches = store.batches()
if batches.empty:
    st.info("No uploads yet. Staff add pods on the Upload page or with `python -m podgeo import FILE`.")
    st.stop()
user = ui.require_staff("see who uploaded, download uploaded files or undo a batch")
st.dataframe(pods.history_display(batches, staff=user is not None), hide_index=True, width="stretch",
             key="history.table")
if user is None:
    st.stop()

st.subheader("Files and undo")
labels = dict(zip(batches["batch_id"], pods.history(batches).apply(pods.batch_label, axis=1)))
batch_id = st.selectbox("Batch", list(labels), key="history.batch", format_func=labels.get)
batch = batches.set_index("batch_id").loc[batch_id]
if batch["kind"] == "upload":
    left, mid, right = st.columns(3)
    name, data = store.batch_file(batch_id)
    left.download_button("Original file", data, name, key="history.original")
    if batch["counts"].get("rejected"):
        for column, fmt in ((mid, "csv"), (right, "xlsx")):
            name, data = pods.rejected_file(store, batch_id, fmt)
            column.download_button(f"Rejected rows ({fmt.upper()})", data, name, key=f"history.rejected_{fmt}")
if st.button(f"Undo batch {batch_id}", key="history.undo", disabled=not pods.can_undo(batches, batch_id),
             help="Returns every pod this batch touched to its state before it; the undo is itself recorded"):
    st.session_state["history.confirm"] = int(batch_id)
if st.session_state.get("history.confirm") == int(batch_id) and pods.can_undo(batches, batch_id):
    st.warning(f"Undo batch {batch_id} ({ui.plain(str(batch['filename']))})? Every pod it added is removed and "
               "every pod it changed goes back to how it was before it.")
    yes, no = st.columns(2)
    if no.button("Cancel", key="history.undo_cancel"):
        st.session_state.pop("history.confirm", None)
        st.rerun()
    if yes.button(f"Yes, undo batch {batch_id}", key="history.undo_confirm", type="primary"):
        st.session_state.pop("history.confirm", None)
        try:
            undo_id = store.undo_batch(int(batch_id), user=user)
            st.session_state["history.message"] = [("ok", f"Batch {batch_id} undone (recorded as batch {undo_id}).")]
        except StoreError as exc:
            st.session_state["history.message"] = [("error", f"Undo refused: {ui.plain(str(exc))}")]
        st.rerun()
store.close()
