"""Staff upload in a real browser: sign in, upload through Streamlit's file endpoint, commit; user text stays text."""
from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from podgeo import auth

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
EVIL = "<img src=x onerror=alert(1)>"
REPO = Path(__file__).resolve().parents[2]


def test_staff_upload_in_the_browser(fixture_store, tmp_path, streamlit_server, offline_page):
    db = tmp_path / "s.db"
    shutil.copy(fixture_store, db)
    base = streamlit_server(REPO / "app.py", env={"PODGEO_DB": str(db), "PODGEO_TILES": "",
                                                  auth.HASH_ENV: auth.hash_password(PASSWORD, n=2**12)})
    page = offline_page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{base}/upload", wait_until="domcontentloaded")
    page.get_by_label("Your name (recorded with every upload and undo)").fill("Ana")
    page.get_by_label("Staff password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as staff: Ana").wait_for(timeout=60_000)

    sheet = (f"pod_id,Site Name,Seats,State,Latitude,Longitude,{EVIL}\n"
             f"t-oak,\"{EVIL}\",12,CA,37.803328,-122.258736,x\n"
             f"t-bad,,4,CA,37.8,-122.2,\n").encode()
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "pods.csv", "mimeType": "text/csv", "buffer": sheet}])
    page.get_by_text(f"not imported (no pod column chosen): {EVIL}").wait_for(timeout=60_000)
    page.get_by_role("button", name=re.compile("Commit 1 valid rows")).click()
    page.get_by_text("Committed batch 1").wait_for(timeout=60_000)

    conn = sqlite3.connect(db)
    assert conn.execute("select pod_id, name, capacity from pods where batch_id = 1").fetchall() == [
        ("t-oak", EVIL, 12)]
    assert conn.execute("select uploaded_by, filename from upload_batches").fetchall() == [("Ana", "pods.csv")]
    conn.close()
    assert page.locator("img[src='x']").count() == 0
    assert dialogs == []
    assert page.outside == [], f"requests left this machine: {page.outside}"
