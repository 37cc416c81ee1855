"""Throwaway PostgreSQL servers from Debian's packages, for running what the operator renders.

The SQL and shell the operator renders for PostgreSQL (init scripts, database URLs, backup and
restore commands) are run here against a real server, not inspected. Each server is a fresh
``initdb`` cluster in a temporary directory on a free loopback port, owned by the ``postgres``
system user (the server refuses to run as root, and CI runs as root), with scram-sha-256 for TCP
connections so that passwords in URLs are really checked. Installed by ``.ci/postgres.sh``.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.operator import free_port

SYSTEM_USER = "postgres"


def bindir() -> Path:
    """The newest installed server's bin directory (Debian: /usr/lib/postgresql/<v>/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run .ci/postgres.sh (make setup does)")
    return found[-1].parent


@dataclass
class Server:
    """A running server: connect as ``superuser`` with ``password`` on 127.0.0.1:``port``."""

    port: int
    superuser: str
    password: str
    data: Path
    bindir: Path

    def url(
        self, user: str | None = None, password: str | None = None, db: str = "postgres"
    ) -> str:
        """A ``postgresql://`` URL (the password is not URL-encoded here: pass it encoded)."""
        return (
            f"postgresql://{user or self.superuser}:{password or self.password}"
            f"@127.0.0.1:{self.port}/{db}"
        )

    def env(self) -> dict[str, str]:
        """Environment for psql and friends, connecting as the superuser."""
        return {
            **os.environ,
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": self.superuser,
            "PGPASSWORD": self.password,
            "PGDATABASE": "postgres",
            "PATH": f"{self.bindir}:{os.environ.get('PATH', '')}",
        }

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run ``sql`` as the superuser; returns the unaligned, tuples-only output."""
        out = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", sql],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()


def _as_postgres(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run as the postgres system user when we are root (the server refuses root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", SYSTEM_USER, "--", *args]
    return subprocess.run(args, text=True, capture_output=True, check=True, **kwargs)  # type: ignore[call-overload]


@contextmanager
def server() -> Iterator[Server]:
    """Start a fresh PostgreSQL cluster; stop it and remove its files afterwards."""
    bins = bindir()
    root = Path(tempfile.mkdtemp(prefix="litemaas-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    password = secrets.token_urlsafe(16)
    pwfile = root / "pw"
    pwfile.write_text(password)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SYSTEM_USER)
        for path in (root, sockets, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = free_port()
    _as_postgres(
        [
            str(bins / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
        ]
    )  # fmt: skip
    _as_postgres(
        [
            str(bins / "pg_ctl"), "-D", str(data), "-w", "-t", "60", "-l", str(root / "log"),
            "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ]
    )  # fmt: skip
    try:
        srv = Server(port, "postgres", password, data, bins)
        deadline = time.monotonic() + 30
        while True:
            try:
                srv.psql("SELECT 1")
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield srv
    finally:
        subprocess.run(
            (["runuser", "-u", SYSTEM_USER, "--"] if os.geteuid() == 0 else [])
            + [str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)
