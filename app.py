"""podgeo: learning pods and hubs against school districts and the children who live in them.

Registers the pages and installs the map scripts the app serves itself (no CDN).
"""
from pathlib import Path

import streamlit as st

from podgeo.assets import install_static

st.set_page_config(page_title="podgeo", page_icon=":material/map:", layout="wide")
install_static(Path(__file__).parent / "static")

PAGES = [
    st.Page("pages/explore.py", title="Explore map", icon=":material/map:", url_path="explore", default=True),
    st.Page("pages/sources.py", title="Data sources", icon=":material/source:", url_path="sources"),
]
st.navigation(PAGES).run()
