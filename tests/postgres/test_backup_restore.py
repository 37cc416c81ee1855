"""The backup, restore and prune Jobs' scripts, run on real PostgreSQL servers.

Each rendered Job (``render/backup.py``) is run here as its pod would run it: its own script,
its own environment with the Secret references resolved from the rendered ``<name>-postgres``
Secret, and only the host, port and volume path pointed at the test's server and a temporary
directory. Rows are written first; the backup must dump both databases; a restore into a FRESH
server (and over changed data in place) must bring back exactly those rows.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from litemaas_operator import credentials
from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.render import backup as rb
from litemaas_operator.render.secrets import DB_USER, LITELLM_DB, LITEMAAS_DB
from support.postgres import Server, server
from unit.rendering import CREDENTIALS, INSTANCE, NASTY_PASSWORD, find, render

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

BACKUP = "nightly-20260301"
# Quotes, spaces and psql's own variable syntax on top of the URL-breaking characters.
PASSWORD = NASTY_PASSWORD + " it's \"q\" :'x' $HOME"

LITEMAAS_SCHEMA = """
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, budget numeric(12,2));
CREATE TABLE api_keys (
  id serial PRIMARY KEY,
  user_id int NOT NULL REFERENCES users(id),
  key_hash bytea NOT NULL,
  created timestamptz NOT NULL DEFAULT '2026-01-01T00:00:00Z'
);
CREATE INDEX api_keys_user ON api_keys (user_id);
CREATE VIEW budgets AS SELECT name, budget FROM users;
INSERT INTO users (name, budget)
  SELECT 'user-' || i || ' ü€', i * 1.5 FROM generate_series(1, 200) i;
INSERT INTO api_keys (user_id, key_hash)
  SELECT i, sha256(i::text::bytea) FROM generate_series(1, 200) i;
"""
# LiteLLM's tables are Prisma's: mixed-case names that must be quoted.
LITELLM_SCHEMA = """
CREATE TABLE "LiteLLM_ProxyModelTable" (
  model_id text PRIMARY KEY, model_name text NOT NULL, litellm_params jsonb NOT NULL
);
INSERT INTO "LiteLLM_ProxyModelTable"
  SELECT 'm' || i, 'model-' || i, jsonb_build_object('model', 'openai/gpt-' || i, 'rpm', i)
  FROM generate_series(1, 50) i;
"""
TABLES = {
    LITEMAAS_DB: ["users", "api_keys", "budgets"],
    LITELLM_DB: ['"LiteLLM_ProxyModelTable"'],
}


def pod(job: dict[str, Any], secret: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A Job's script and environment, with its Secret references resolved as the kubelet does."""
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["/bin/sh", "-c"]
    env: dict[str, str] = {}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["name"] == f"{INSTANCE.name}-postgres"
            env[var["name"]] = secret[ref["key"]]
    return container["command"][2], env


def run(
    pg: Server, job: dict[str, Any], secret: dict[str, str], volume: Path, report: Path
) -> subprocess.CompletedProcess[str]:
    """Run a Job's script as its pod would, against ``pg``, with ``volume`` as the volume."""
    script, env = pod(job, secret)
    assert env["PGHOST"] == f"{INSTANCE.name}-postgres" and env["BACKUP_ROOT"] == rb.MOUNT
    local = {
        "PATH": f"{pg.bindir}:{os.environ.get('PATH', '')}",
        **env,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(pg.port),
        "BACKUP_ROOT": str(volume),
        "TERMINATION_LOG": str(report),  # the pod's /dev/termination-log
    }
    return subprocess.run(["sh", "-c", script], env=local, capture_output=True, text=True)


def rendered_secret() -> dict[str, str]:
    """The instance's ``<name>-postgres`` Secret as the operator renders it."""
    state = render(
        {}, "kubernetes", credentials={**CREDENTIALS, credentials.POSTGRES_PASSWORD.key: PASSWORD}
    )
    data = find(state.objects, "Secret", f"{INSTANCE.name}-postgres")["data"]
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def image_entrypoint(pg: Server, password: str, databases: tuple[str, ...]) -> None:
    """What the postgres image and the operator's init script leave on a new data directory."""
    sql = "CREATE ROLE :\"u\" WITH LOGIN SUPERUSER PASSWORD :'p';\n"
    sql += "".join(f'CREATE DATABASE {db} OWNER :"u";\n' for db in databases)
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"u={DB_USER}", "-v", f"p={password}"],
        input=sql,
        env=pg.env(),
        text=True,
        capture_output=True,
        check=True,
    )


def as_app(pg: Server, db: str, sql: str) -> str:
    """Run SQL as the application's role (as the backend and LiteLLM write their data)."""
    env = {**pg.env(), "PGUSER": DB_USER, "PGPASSWORD": PASSWORD}
    out = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def rows(pg: Server) -> dict[str, str]:
    """Every row of every table, ordered, per database."""
    return {
        f"{db}.{table}": pg.psql(f"SELECT * FROM {table} ORDER BY 1", db=db)
        for db, tables in TABLES.items()
        for table in tables
    }


@pytest.fixture
def origin() -> Iterator[Server]:
    """A server of the test's own besides ``fresh_pg`` (the Jobs use fixed database names)."""
    with server() as srv:
        yield srv


@pytest.fixture
def source(origin: Server) -> Server:
    """A server as the embedded PostgreSQL runs: the role, both databases, rows in each."""
    image_entrypoint(origin, PASSWORD, (LITEMAAS_DB, LITELLM_DB))
    as_app(origin, LITEMAAS_DB, LITEMAAS_SCHEMA)
    as_app(origin, LITELLM_DB, LITELLM_SCHEMA)
    return origin


def jobs() -> dict[str, dict[str, Any]]:
    spec = LiteMaaSSpec()
    return {
        "backup": rb.backup_job(spec, INSTANCE, "kubernetes", BACKUP),
        "restore": rb.restore_job(spec, INSTANCE, "kubernetes", "undo", BACKUP),
    }


def test_backup_dumps_both_databases_and_restore_loads_them_into_a_fresh_server(
    source: Server, fresh_pg: Server, tmp_path: Path
) -> None:
    secret = rendered_secret()
    assert secret["password"] == PASSWORD and secret["username"] == DB_USER
    volume, report = tmp_path / "volume", tmp_path / "termination-log"
    volume.mkdir()
    before = rows(source)
    assert before[f"{LITEMAAS_DB}.users"].count("\n") == 199  # 200 rows

    done = run(source, jobs()["backup"], secret, volume, report)
    assert done.returncode == 0, done.stderr
    # Both dumps, complete, under the backup's own directory; nothing partial left behind.
    assert sorted(p.name for p in volume.iterdir()) == [BACKUP]
    files = sorted(p.name for p in (volume / BACKUP).iterdir())
    assert files == ["SHA256SUMS", "litellm_db.dump", "litemaas_db.dump"]
    for dump in ("litemaas_db.dump", "litellm_db.dump"):
        assert (volume / BACKUP / dump).read_bytes()[:5] == b"PGDMP"  # pg_dump -Fc's magic
    sizes = rb.parse_report(report.read_text())
    assert sizes == {
        f: (volume / BACKUP / f).stat().st_size for f in ("litemaas_db.dump", "litellm_db.dump")
    }
    assert [f"{BACKUP}/{f}" for f in sorted(sizes, reverse=True)] == rb.dump_files(BACKUP)

    # Restore into a brand-new server: only the role exists, as on a new data directory.
    image_entrypoint(fresh_pg, PASSWORD, ())
    restored = run(fresh_pg, jobs()["restore"], secret, volume, tmp_path / "log2")
    assert restored.returncode == 0, restored.stderr
    assert rows(fresh_pg) == before
    # Sequences came back too: the application's next insert does not collide.
    next_id = as_app(fresh_pg, LITEMAAS_DB, "INSERT INTO users (name) VALUES ('x') RETURNING id")
    assert next_id.split()[0] == "201"


def test_a_restore_in_place_replaces_what_changed_after_the_backup(
    source: Server, tmp_path: Path
) -> None:
    secret = rendered_secret()
    volume = tmp_path / "volume"
    volume.mkdir()
    before = rows(source)
    assert run(source, jobs()["backup"], secret, volume, tmp_path / "log").returncode == 0
    # Life goes on: rows added, changed, deleted in both databases; a client stays connected.
    as_app(
        source,
        LITEMAAS_DB,
        "DELETE FROM api_keys WHERE id > 100; DELETE FROM users WHERE id > 150;",
    )
    as_app(
        source, LITEMAAS_DB, "UPDATE users SET budget = 0; INSERT INTO users (name) VALUES ('new')"
    )
    as_app(source, LITELLM_DB, "DELETE FROM \"LiteLLM_ProxyModelTable\" WHERE model_id = 'm7'")
    assert rows(source) != before
    lingering = subprocess.Popen(
        ["psql", "-X", "-q", "-d", LITEMAAS_DB, "-c", "SELECT pg_sleep(60)"],
        env={**source.env(), "PGUSER": DB_USER, "PGPASSWORD": PASSWORD},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        restored = run(source, jobs()["restore"], secret, volume, tmp_path / "log2")
        assert restored.returncode == 0, restored.stderr
    finally:
        lingering.kill()
        lingering.wait()
    assert rows(source) == before


def test_a_second_run_of_a_finished_backup_changes_nothing(source: Server, tmp_path: Path) -> None:
    secret = rendered_secret()
    volume, report = tmp_path / "volume", tmp_path / "log"
    volume.mkdir()
    assert run(source, jobs()["backup"], secret, volume, report).returncode == 0
    first = {p.name: p.stat().st_mtime_ns for p in (volume / BACKUP).iterdir()}
    again = run(source, jobs()["backup"], secret, volume, report)
    assert again.returncode == 0 and "already complete" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in (volume / BACKUP).iterdir()} == first
    assert rb.parse_report(report.read_text())  # the sizes are reported again


def test_a_failed_dump_leaves_no_backup_directory(source: Server, tmp_path: Path) -> None:
    secret = {**rendered_secret(), "password": "not-the-password"}
    volume = tmp_path / "volume"
    volume.mkdir()
    failed = run(source, jobs()["backup"], secret, volume, tmp_path / "log")
    assert failed.returncode != 0
    assert "password authentication failed" in failed.stderr
    assert "not-the-password" not in failed.stderr + failed.stdout
    # Only the hidden partial directory: nothing that looks like a complete backup.
    assert not (volume / BACKUP).exists()


def test_a_damaged_backup_is_refused_and_the_databases_are_untouched(
    source: Server, tmp_path: Path
) -> None:
    secret = rendered_secret()
    volume = tmp_path / "volume"
    volume.mkdir()
    assert run(source, jobs()["backup"], secret, volume, tmp_path / "log").returncode == 0
    as_app(source, LITEMAAS_DB, "INSERT INTO users (name) VALUES ('after the backup')")
    changed = rows(source)
    dump = volume / BACKUP / "litemaas_db.dump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    refused = run(source, jobs()["restore"], secret, volume, tmp_path / "log2")
    assert refused.returncode != 0 and "damaged" in refused.stderr
    assert rows(source) == changed
    missing = rb.restore_job(LiteMaaSSpec(), INSTANCE, "kubernetes", "undo", "no-such-backup")
    gone = run(source, missing, secret, volume, tmp_path / "log3")
    assert gone.returncode != 0 and "not complete on the backup volume" in gone.stderr


def test_prune_deletes_exactly_the_named_backups(origin: Server, tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    for name in ("keep-1", "old-1", "old-2"):
        (volume / name).mkdir(parents=True)
        (volume / name / "litemaas_db.dump").write_text("x")
    (volume / ".old-2.partial").mkdir()
    job = rb.prune_job(LiteMaaSSpec(), INSTANCE, "kubernetes", ["old-1", "old-2"])
    done = run(origin, job, rendered_secret(), volume, tmp_path / "log")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in volume.iterdir()) == ["keep-1"]
