"""The password-rotation Job's script, run on a real server: the role's password really changes.

The rendered Job (``render/password_rotation.py``) is run here as its pod would run it: its own
script with its own environment, the Secret references resolved to the two passwords, and only
the host and port pointed at the throwaway server. Afterwards the rendered database URL with the
old password must be refused and the one with the new password accepted, for passwords that
break naive quoting (quotes, backslashes, spaces, newlines, psql's own ``:'var'`` syntax), URLs
(``@ : / ? # %``) and ASCII.
"""

from __future__ import annotations

import base64
import os
import subprocess

import psycopg
import pytest

from litemaas_operator.render.secrets import DB_USER, LITEMAAS_DB, database_url
from litemaas_operator.rotation import PasswordRotation
from support.postgres import Server
from unit.rendering import INSTANCE, NASTY_PASSWORD, find, render

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

JOB = f"{INSTANCE.name}-pg-password-0123abcd"
PASSWORDS = {
    "url-special": NASTY_PASSWORD,
    "quotes-and-backslashes": "it's \"quoted\" \\' \\\\ ''",
    "spaces": "  leading and trailing  ",
    "unicode": "pässwörd-€-日本語-🔑",
    "psql-syntax": ":'new_password' :\"x\" \\getenv ; -- $HOME `id`",
    "newline": "two\nlines",
}


def job_pod(old: str, new: str) -> tuple[str, dict[str, str]]:
    """The rendered Job's script and environment, with its Secret references resolved."""
    rotation = PasswordRotation(JOB, old, new, "pending")
    objects = render({}, "kubernetes", password_rotation=rotation).objects
    job = find(objects, "Job", JOB)
    handed = find(objects, "Secret", JOB)
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:2] == ["sh", "-c"]
    data = {k: base64.b64decode(v).decode() for k, v in handed["data"].items()}
    env: dict[str, str] = {}
    for var in container["env"]:
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["name"] == JOB
            env[var["name"]] = data[ref["key"]]
    return container["command"][2], env


def run(pg: Server, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the script as the pod would, against the test server."""
    local = {
        "PATH": f"{pg.bindir}:{os.environ.get('PATH', '')}",
        **env,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(pg.port),
    }
    return subprocess.run(["sh", "-c", script], env=local, capture_output=True, text=True)


def create_role(pg: Server, password: str) -> None:
    """What the postgres image's entrypoint does on an empty data directory."""
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"u={DB_USER}", "-v", f"p={password}"],
        input=(
            "CREATE ROLE :\"u\" WITH LOGIN SUPERUSER PASSWORD :'p';\n"
            f'CREATE DATABASE {LITEMAAS_DB} OWNER :"u";\n'
        ),
        env=pg.env(),
        text=True,
        capture_output=True,
        check=True,
    )


def url(pg: Server, password: str) -> str:
    """The rendered kind of URL (password URL-encoded), pointed at the test server."""
    rendered = database_url(password, "pg", LITEMAAS_DB, sslmode_disable=True)
    return rendered.replace("@pg:5432/", f"@127.0.0.1:{pg.port}/")


def logs_in(pg: Server, password: str) -> bool:
    """Whether the role accepts ``password`` (and only an authentication failure is False)."""
    try:
        with psycopg.connect(url(pg, password), connect_timeout=10) as conn:
            return conn.execute("SELECT current_user").fetchone() == (DB_USER,)
    except psycopg.OperationalError as err:
        assert "password authentication failed" in str(err)
        return False


@pytest.mark.parametrize("kind", sorted(PASSWORDS))
def test_the_job_changes_the_role_password(fresh_pg: Server, kind: str) -> None:
    old, new = "old-" + PASSWORDS[kind], PASSWORDS[kind]
    create_role(fresh_pg, old)
    assert logs_in(fresh_pg, old)
    script, env = job_pod(old, new)

    done = run(fresh_pg, script, env)
    assert done.returncode == 0, done.stderr
    assert "has its new password" in done.stdout
    assert not logs_in(fresh_pg, old), "the old password still works"
    assert logs_in(fresh_pg, new), "the new password does not work"
    # Neither password reached the output a person reads in `kubectl logs`.
    for value in (old, new):
        assert value not in done.stdout + done.stderr


def test_a_retried_pod_after_the_change_succeeds(fresh_pg: Server) -> None:
    """A pod that changed the password and died before reporting is retried by the Job."""
    old, new = "old-password-1", PASSWORDS["quotes-and-backslashes"]
    create_role(fresh_pg, old)
    script, env = job_pod(old, new)
    assert run(fresh_pg, script, env).returncode == 0
    again = run(fresh_pg, script, env)
    assert again.returncode == 0, again.stderr
    assert "already had its new password" in again.stdout
    assert logs_in(fresh_pg, new) and not logs_in(fresh_pg, old)


def test_neither_password_working_fails_and_changes_nothing(fresh_pg: Server) -> None:
    create_role(fresh_pg, "the-real-one")
    script, env = job_pod("a-wrong-old-one", "a-new-one")
    failed = run(fresh_pg, script, env)
    assert failed.returncode == 1
    assert "could not log in" in failed.stderr
    assert logs_in(fresh_pg, "the-real-one") and not logs_in(fresh_pg, "a-new-one")
