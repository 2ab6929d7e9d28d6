"""Store backends for the tests: a throwaway PostGIS cluster, and fresh copies of the fixture store.

`conftest.store_backend` is the one parametrized fixture ("sqlite", "postgis") that store tests
use; this module holds what it needs so conftest stays short. The PostGIS cluster comes from
PODGEO_TEST_PG_URL (CI starts it with scripts/start-postgis.sh), else this session starts one with
the same script; when CI is set and PostGIS cannot be had, the tests fail instead of skipping.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
START_SCRIPT = REPO / "scripts" / "start-postgis.sh"


@dataclass
class Backend:
    """One store to test against: `location` is what PODGEO_DB / --db take (a path or a URL)."""

    name: str
    location: str
    _opened: list = field(default_factory=list, repr=False)

    def open(self):
        from podgeo.store import open_store

        store = open_store(self.location)
        self._opened.append(store)
        return store

    def env(self) -> dict[str, str]:
        """The environment a subprocess (an import, an app replica) needs to use this store."""
        return {**os.environ, "PODGEO_DB": self.location}


def start_cluster() -> tuple[str, str]:
    """Start a cluster with scripts/start-postgis.sh: (url, folder to pass to --stop)."""
    out = subprocess.run(["bash", str(START_SCRIPT)], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"scripts/start-postgis.sh failed ({out.returncode}):\n{out.stderr[-3000:]}")
    values = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return values["PODGEO_TEST_PG_URL"], values["PODGEO_PG_DIR"]


def stop_cluster(folder: str) -> None:
    subprocess.run(["bash", str(START_SCRIPT), "--stop", folder], capture_output=True, timeout=120)


def database_url(url: str, database: str, **query: str) -> str:
    """The same server URL pointing at another database (and podgeo's ?schema= if given)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database, query="&".join(f"{k}={v}" for k, v in query.items())))


def admin(url: str, *statements: str) -> None:
    """Run statements on the server's `postgres` database (CREATE/DROP DATABASE cannot run in a transaction)."""
    import psycopg

    with psycopg.connect(database_url(url, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def build_fixture_database(url: str, fixture_sources: Path) -> str:
    """Build the SF Bay fixture store into a fresh database to copy tests' databases from."""
    from podgeo.build import build
    from podgeo.store_pg import close_pools

    name = f"podgeo_fixture_{secrets.token_hex(3)}"
    admin(url, f"create database {name}")
    admin_db(url, name, "create extension postgis")
    fixture = database_url(url, name)
    build(fixture, sources_root=fixture_sources)
    close_pools()  # a template database must have no connections
    return fixture


def copy_database(url: str, template_url: str) -> str:
    """A new database copied from the fixture database: a fresh store per test, in ~0.1 s."""
    from podgeo.store_pg import close_pools

    close_pools()  # a test may have read the fixture database directly: a template must have no connections
    name = f"podgeo_test_{secrets.token_hex(4)}"
    template = urlsplit(template_url).path.lstrip("/")
    admin(url, f"create database {name} template {template}")
    return database_url(url, name)


def drop_database(url: str, database_url_: str) -> None:
    from podgeo.store_pg import close_pools

    close_pools()
    admin(url, f"drop database if exists {urlsplit(database_url_).path.lstrip('/')} with (force)")


def schema_url(url: str, schema: str) -> str:
    """The server's own database with podgeo's ?schema= set."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=f"schema={schema}"))


def admin_db(url: str, database: str | None, *statements: str) -> None:
    """Run statements in `database` (None: the URL's own database)."""
    import psycopg

    with psycopg.connect(url if database is None else database_url(url, database), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def copy_sqlite(fixture_store: Path, dest: Path) -> str:
    shutil.copy(fixture_store, dest)
    return str(dest)
