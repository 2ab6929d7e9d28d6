"""Shared fixtures: where the real public data lives, and small helpers every test file uses."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """The real data mirror: PODGEO_SOURCES if set, else ../shared/data beside the repo."""
    env = os.environ.get("PODGEO_SOURCES")
    return Path(env) if env else (REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = shared_data_dir()
    if not root.is_dir():
        pytest.skip(f"real data folder {root} not present")
    return root


@pytest.fixture(scope="session")
def fixtures_dir(shared_data: Path) -> Path:
    return shared_data / "fixtures_sf_bay"
