"""podgeo: learning pods and hubs against school districts and the children who live in them.

Registers the pages, installs the map scripts the app serves itself (no CDN) and runs the chosen
page so that an error shows the viewer an id to quote, never a traceback (it is logged here).
"""
from pathlib import Path

import streamlit as st

from podgeo import ui
from podgeo.assets import install_static

# a local icon: material-symbol page icons are fetched from a font CDN, which breaks offline use
st.set_page_config(page_title="podgeo", page_icon=str(Path(__file__).parent / "static" / "podgeo-icon.png"),
                   layout="wide")
install_static(Path(__file__).parent / "static")

PAGES = [
    # the default page is served at "/", whatever its url_path; the hidden twin answers deep links to /explore
    st.Page("views/explore.py", title="Explore map", icon=":material/map:", url_path="home", default=True),
    st.Page("views/explore.py", title="Explore map", url_path="explore", visibility="hidden"),
    st.Page("views/sources.py", title="Data sources", icon=":material/source:", url_path="sources"),
    st.Page("views/coverage.py", title="Coverage", icon=":material/insights:", url_path="coverage"),
    st.Page("views/upload.py", title="Upload pods", icon=":material/upload_file:", url_path="upload"),
    st.Page("views/history.py", title="Upload history", icon=":material/history:", url_path="history"),
    st.Page("views/district.py", title="District profile", icon=":material/location_city:", url_path="district"),
    st.Page("views/cohorts.py", title="Cohorts", icon=":material/group_work:", url_path="cohorts"),
    st.Page("views/directory.py", title="Pods directory", icon=":material/list_alt:", url_path="directory"),
    st.Page("views/attributes.py", title="District attributes", icon=":material/table_chart:", url_path="attributes"),
    st.Page("views/siting.py", title="Where to add hubs", icon=":material/add_location_alt:", url_path="siting"),
]
ui.run_page(st.navigation(PAGES))
