"""The embedded PostgreSQL's init script and the database URLs, run on a real server.

The postgres image's entrypoint creates ``POSTGRES_USER`` (a superuser) and ``POSTGRES_DB`` on an
empty data directory, then runs the scripts in ``/docker-entrypoint-initdb.d``. Here a fresh
server plays the image: the role and database are created the same way, then the rendered init
script runs with the same environment, and the rendered URLs must connect with a real client.
"""

from __future__ import annotations

import subprocess
from typing import Any

import psycopg
import pytest

from litemaas_operator import credentials
from litemaas_operator.render.secrets import decode
from support.postgres import Server
from unit.rendering import INSTANCE, NASTY_PASSWORD, find, render

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

# Every character class the generator emits (token_urlsafe), and what a person might choose.
PASSWORDS = {
    "generated": credentials.POSTGRES_PASSWORD.generate(),
    "url-breaking": NASTY_PASSWORD,
    "quotes-and-unicode": 'it\'s "quoted" ü€ & $HOME `x` \\n;--',
}


def _rendered(password: str) -> dict[str, Any]:
    state = render({}, "openshift", credentials={
        **{c.key: c.generate() for c in credentials.EVERY},
        credentials.POSTGRES_PASSWORD.key: password,
    })  # fmt: skip
    objs = state.objects
    return {
        "pg": decode(find(objs, "Secret", f"{INSTANCE.name}-postgres")["data"]),
        "init": find(objs, "ConfigMap", f"{INSTANCE.name}-postgres-init")["data"]["init-db.sh"],
        "backend": decode(find(objs, "Secret", f"{INSTANCE.name}-backend")["data"]),
        "litellm": decode(find(objs, "Secret", f"{INSTANCE.name}-litellm")["data"]),
    }


def _image_entrypoint(pg: Server, user: str, password: str, db: str) -> None:
    """What the postgres image does before running init scripts (psql variables quote safely)."""
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"u={user}", "-v", f"p={password}"],
        input=(
            "CREATE ROLE :\"u\" WITH LOGIN SUPERUSER PASSWORD :'p';\n"
            f'CREATE DATABASE {db} OWNER :"u";\n'
        ),
        env=pg.env(),
        text=True,
        capture_output=True,
        check=True,
    )


def _local(url: str, pg: Server, host: str) -> str:
    """A rendered in-cluster URL pointed at the test server."""
    assert f"@{host}:5432/" in url
    return url.replace(f"@{host}:5432/", f"@127.0.0.1:{pg.port}/")


@pytest.mark.parametrize("kind", sorted(PASSWORDS))
def test_init_script_and_urls_on_a_real_server(fresh_pg: Server, kind: str) -> None:
    pg = fresh_pg
    out = _rendered(PASSWORDS[kind])
    user, password = out["pg"]["username"], out["pg"]["password"]
    assert password == PASSWORDS[kind]
    _image_entrypoint(pg, user, password, "litemaas_db")
    env = {**pg.env(), "POSTGRES_USER": user, "POSTGRES_DB": "litemaas_db", "PGPASSWORD": password}
    env.pop("PGUSER")
    for _ in range(2):  # the script is idempotent (it may run again on a retried first start)
        run = subprocess.run(["sh", "-c", out["init"]], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    dbs = set(pg.psql("SELECT datname FROM pg_database").split())
    assert {"litemaas_db", "litellm_db"} <= dbs

    host = f"{INSTANCE.name}-postgres"
    for url, db in (
        (out["backend"]["database-url"], "litemaas_db"),
        (out["litellm"]["database-url"], "litellm_db"),
    ):
        with psycopg.connect(_local(url, pg, host), connect_timeout=10) as conn:
            row = conn.execute("SELECT current_database(), current_user").fetchone()
            assert row == (db, user)
            conn.execute("CREATE TABLE IF NOT EXISTS probe (id int)")
    # pg_isready with the URL, as the wait-for-database init container runs it.
    ready = subprocess.run(
        ["pg_isready", "-q", "-d", _local(out["backend"]["database-url"], pg, host)],
        env=pg.env(),
        capture_output=True,
    )
    assert ready.returncode == 0


def test_a_wrong_password_is_refused(fresh_pg: Server) -> None:
    """The server really checks passwords: the URL test above could not pass by trust."""
    out = _rendered(PASSWORDS["generated"])
    _image_entrypoint(fresh_pg, out["pg"]["username"], out["pg"]["password"], "litemaas_db")
    wrong = _rendered("not-the-password")["backend"]["database-url"]
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(_local(wrong, fresh_pg, f"{INSTANCE.name}-postgres"), connect_timeout=10)
