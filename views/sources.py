"""Data sources: every file the store was built from, with its publisher, vintage, checksum and join rate."""
import streamlit as st

from podgeo import ui

st.title("Data sources")
st.write("Every figure in podgeo comes from these files. Rows that did not join to a district are counted "
         "with the reason, never silently dropped.")
prov = ui.provenance()
table = prov.assign(
    not_joined=prov["unjoined_reasons"].map(lambda r: "; ".join(f"{v:,} {k}" for k, v in r.items()) or "—"),
    sha256=prov["sha256"].str[:12],
)[["title", "publisher", "vintage", "rows_read", "rows_loaded", "not_joined", "sha256", "loaded_at"]]
st.dataframe(table, hide_index=True, width="stretch", key="sources.table",
             column_config={"rows_read": st.column_config.NumberColumn("rows read", format="%d"),
                            "rows_loaded": st.column_config.NumberColumn("rows loaded", format="%d"),
                            "not_joined": "not loaded, and why", "sha256": "sha256 (first 12)"})
st.caption("Illustrative pods: " + ui.ILLUSTRATIVE_NOTE)
ui.sidebar_footer()
