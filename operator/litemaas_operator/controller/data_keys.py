"""Never lose the key to the data: the reconciler's side of ``recovery.py`` and ``rotation.py``.

- A credential the store lacks is read back from the derived Secrets, or generated only when
  nothing depends on it; otherwise the instance is Stalled with ``CredentialsLost`` and nothing
  is applied (``gather`` returns no facts), so no Secret or pod is re-created with a new value.
- A changed PostgreSQL password is given to the database role by a Job before any pod gets it;
  the status shows ``DatabasePasswordRotating`` meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .. import credentials as cred
from ..api.spec import LiteMaaSSpec
from ..facts import ClusterFacts, Instance
from ..render.endpoints import Problem
from ..render.names import Names
from ..render.password_rotation import rotation_image, rotation_job_name
from ..render.secrets import decode
from ..rotation import CONDITION, DOCS, FAILED_REASON, PasswordRotation, plan_password_rotation
from .conditions import ComponentState, condition
from .kube import Kube
from .logs import remember_secrets

if TYPE_CHECKING:
    from .gather import Gathered

Live = Mapping[tuple[str, str], dict[str, Any]]

LOST_REASON = "CredentialsLost"


async def volume_exists(kube: Kube, names: Names, namespace: str, live: Live) -> bool:
    """Whether PostgreSQL's data volume exists (listed, or found by name: a claim made by an
    older release may lack the labels the listing selects on)."""
    if live.get(("PersistentVolumeClaim", names.postgres_pvc)) is not None:
        return True
    return await kube.get("PersistentVolumeClaim", names.postgres_pvc, namespace) is not None


def credentials_lost(names: Names, lost: list[str], volume: bool) -> Problem:
    """The Stalled problem for credentials held nowhere (key names only, never values)."""
    guarded = (
        f"PersistentVolumeClaim {names.postgres_pvc} still holds data opened or encrypted with them"
        if volume
        else "this instance has run, and its data depends on them"
    )
    return Problem(
        "invalid",
        "database",
        LOST_REASON,
        f"Secret {names.credentials} lacks {', '.join(lost)} and no other Secret holds "
        f"{'it' if len(lost) == 1 else 'them'}, while {guarded}; the operator changed nothing "
        f"and will not generate new values. Restore the Secret: see {DOCS}#credentialslost",
    )


def rotation_failed(rotation: PasswordRotation) -> Problem:
    """The Stalled problem of a failed password-rotation Job."""
    return Problem(
        "invalid",
        "database",
        FAILED_REASON,
        f"Job {rotation.job} could not set the new database password ({rotation.message}); "
        "the role and every pod keep the old one. Read `kubectl logs job/"
        f"{rotation.job}`, fix the cause, then delete the Job to retry: see "
        f"{DOCS}#databasepasswordrotationfailed",
    )


def fold_rotation(
    components: dict[str, ComponentState], facts: ClusterFacts | None
) -> dict[str, ComponentState]:
    """The database is not ready while its role's password is being changed."""
    rotation = facts.password_rotation if facts else None
    state = components.get("database")
    if rotation is None or rotation.state == "failed" or state is None:
        return components
    return {
        **components,
        "database": replace(
            state, ready=False, reason=CONDITION, message=rotating_message(rotation)
        ),
    }


def rotating_message(rotation: PasswordRotation) -> str:
    """What a rotation in progress is doing."""
    return (
        f"Job {rotation.job} is setting the database role's new password; every pod keeps "
        "the old one until it succeeds"
    )


def report_rotation(
    status: dict[str, Any],
    facts: ClusterFacts | None,
    generation: int,
    previous: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """``status`` with the ``DatabasePasswordRotating`` condition, while a rotation is pending,
    running or failed (True: in progress; False with reason ``Failed``: see ``Stalled``)."""
    rotation = facts.password_rotation if facts else None
    if rotation is None:
        return status
    prev = {c.get("type"): c for c in (previous or {}).get("conditions") or []}
    if rotation.state == "failed":
        cond = condition(
            CONDITION, False, "Failed", rotation_failed(rotation).message, generation, prev
        )
    else:
        cond = condition(CONDITION, True, "Rotating", rotating_message(rotation), generation, prev)
    return {**status, "conditions": [*status["conditions"], cond]}


async def rotate_database_password(
    kube: Kube,
    spec: LiteMaaSSpec,
    instance: Instance,
    live: Live,
    values: dict[str, str],
    gathered: Gathered,
) -> tuple[dict[str, str], PasswordRotation | None]:
    """The credentials the pods may use now, and the password rotation in progress, if any.

    While the role does not have the password the spec asks for, ``values`` keep the one it has
    (``<name>-postgres``'s), so no Secret and no pod changes; the Job is rendered from the
    returned rotation. Steady state costs nothing: no request unless the two passwords differ.
    """
    wanted = values.get(cred.POSTGRES_PASSWORD.key)
    hash_key = values.get(cred.CONFIG_HASH_KEY.key)
    if spec.database.mode != "embedded" or not wanted or not hash_key:
        return values, None
    names = Names(instance)
    current = decode((live.get(("Secret", names.postgres)) or {}).get("data")).get("password")
    if not current or current == wanted:
        return values, None
    remember_secrets([wanted, current])
    job = rotation_job_name(names, hash_key, current, wanted, rotation_image(spec))
    rotation = plan_password_rotation(
        wanted=wanted,
        current=current,
        volume_exists=await volume_exists(kube, names, instance.namespace, live),
        job_name=job,
        job=live.get(("Job", job)),
    )
    if rotation is None or rotation.state == "succeeded":
        return values, None  # the role has the new password (or no data yet): roll to it
    if rotation.state == "failed":
        gathered.problems.append(rotation_failed(rotation))
    return {**values, cred.POSTGRES_PASSWORD.key: current}, rotation
