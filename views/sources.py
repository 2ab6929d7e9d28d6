"""Data sources: every source the store was built from, one row per source (the 99 boundary zips are
one row naming their states), what it did not load and why, and which layers the build went without."""
import streamlit as st

from podgeo import sources, ui

st.title("Data sources")
st.write("Every figure in podgeo comes from these files. Rows that did not join to a district are counted "
         "with the reason, never silently dropped.")
states = ui.state_list()
groups = sources.provenance_groups(ui.provenance(), dict(zip(states["state_fips"], states["state_name"])))
missing = groups[groups["status"] != "loaded"]
if len(missing):
    st.warning("This store was built without some sources, so these layers are absent or replaced:\n\n"
               + "\n".join(f"- **{ui.plain(r.source)}** ({r.status}): {ui.plain(r.note)}" for r in missing.itertuples()))

# the reason comes second so it stays on screen on a phone; the table scrolls for the rest
table = groups[["source", "not_loaded", "rows_read", "rows_loaded", "states", "publisher", "vintage", "files",
                "status", "sha256"]]
st.dataframe(table, hide_index=True, width="stretch", key="sources.table", height=35 * (len(table) + 1) + 3,
             column_config={"source": st.column_config.TextColumn("source", pinned=True, width="medium"),
                            "not_loaded": st.column_config.TextColumn("not loaded, and why", width="large"),
                            "rows_read": st.column_config.NumberColumn("rows read", format="localized"),
                            "rows_loaded": st.column_config.NumberColumn("rows loaded", format="localized"),
                            "files": st.column_config.NumberColumn("files", format="localized"),
                            "sha256": "sha256 (first 12)"})

st.subheader("Not loaded, and why")
for r in groups.itertuples():
    st.markdown(f"**{ui.plain(r.source)}** · {ui.plain(r.publisher)}, {ui.plain(r.vintage)}: "
                f"{r.rows_loaded:,} of {r.rows_read:,} rows loaded"
                + (f" ({r.files:,} files)" if r.files > 1 else "") + ". "
                + (f"Not loaded: {ui.plain(r.not_loaded)}." if r.not_loaded != "—" else "Every row loaded.")
                + (f"  \nStates: {ui.plain(r.states)}." if r.states else ""))
st.caption("Illustrative pods: " + ui.ILLUSTRATIVE_NOTE)
ui.sidebar_footer()
