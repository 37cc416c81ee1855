"""Changing the embedded database's password without locking the applications out. Pure.

The postgres image sets ``POSTGRES_PASSWORD`` only when it initialises an empty data directory;
afterwards the role's password lives on the volume. So when the password the spec asks for
changes (a new value in the user's ``spec.secrets.postgresPassword`` Secret, or that reference
removed) while the volume exists, rolling the pods with it would only make every login fail.
Instead the role gets the new password first, from a Job that logs in with the old one
(``render/password_rotation.py``), and only after that Job succeeded do the Secrets and pods
move to the new password. Until then everything keeps the old one, which ``<name>-postgres``
still holds: that Secret always holds the password the role has.

Every decision here is read from the cluster (the Secret, the volume, the Job), so an operator
killed at any step resumes where the cluster says it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

State = Literal["pending", "running", "succeeded", "failed"]

CONDITION = "DatabasePasswordRotating"
FAILED_REASON = "DatabasePasswordRotationFailed"
DOCS = "docs/credentials.md"


@dataclass(frozen=True)
class PasswordRotation:
    """A password change of the database role: ``job`` sets ``new``, logging in with ``old``."""

    job: str  # the Job, and the Secret that hands it both passwords
    old: str = field(repr=False)
    new: str = field(repr=False)
    state: State = "pending"
    message: str = ""  # why the Job failed, from its status (no secret in it)


def job_state(job: Mapping[str, Any] | None) -> tuple[State, str]:
    """Where a Job is, from its conditions (``Complete``/``Failed``, as ``kubectl wait`` reads)."""
    if job is None:
        return "pending", ""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            return "succeeded", ""
        if cond.get("type") == "Failed":
            reason = cond.get("reason") or "Failed"
            return "failed", f"{reason}: {cond.get('message') or 'the Job failed'}"
    return "running", ""


def plan_password_rotation(
    *,
    wanted: str,
    current: str | None,
    volume_exists: bool,
    job_name: str,
    job: Mapping[str, Any] | None,
) -> PasswordRotation | None:
    """The rotation to run, or None when the role already has (or will be created with) ``wanted``.

    ``current``: the password ``<name>-postgres`` holds, i.e. the role's (None: no such Secret
    yet, so the server has not been initialised by us with anything else). ``job_name``: the
    Job for exactly this (old, new) pair; ``job`` that Job as listed, or None.
    """
    if not current or current == wanted or not volume_exists:
        return None
    state, message = job_state(job)
    return PasswordRotation(job_name, current, wanted, state, message)
