"""The Job that gives the database role a new password before any pod uses it (see rotation.py).

It logs in with the old password and runs ``ALTER ROLE CURRENT_USER PASSWORD :'new_password'``.
Neither password is ever on a command line or in the script: both come from a Secret through
the environment, psql reads the new one with ``\\getenv`` (psql 15 or later) and quotes it as a
literal itself, so quotes, backslashes, spaces and any Unicode reach the server intact.

The Job and its Secret are named after a keyed hash of the (old, new) pair and the image, so a
Job is never changed in place (its pod template is immutable): a different pair is another Job.
The Secret carries its own copy of both passwords, so a retried pod sets exactly the password
the Job's name stands for even if the user's Secret changed again meanwhile.
"""

from __future__ import annotations

from typing import Any

from ..api.spec import LiteMaaSSpec
from .context import RenderContext
from .names import MANAGED_BY, Names, labels, selector
from .pods import (
    CONTAINER_SECURITY,
    POSTGRES_IMAGE,
    POSTGRES_UID,
    config_hash,
    env,
    pod_security,
    secret_env,
)
from .secrets import DB_USER, LITEMAAS_DB, secret

COMPONENT = "db-admin"  # the label the database's NetworkPolicy admits (networkpolicy.py)
BACKOFF_LIMIT = 4
OLD_KEY, NEW_KEY = "old-password", "new-password"

# Success is "the role now takes the new password": if logging in with the old one fails, a
# previous pod of this Job may have set the new one and died before reporting, so the new one
# working counts as done. Anything else fails the pod, and the Job retries it.
SCRIPT = """set -eu
if PGPASSWORD="$OLD_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 <<'EOSQL'
\\getenv new_password NEW_PASSWORD
ALTER ROLE CURRENT_USER PASSWORD :'new_password';
EOSQL
then
  echo "the database role has its new password"
  exit 0
fi
if PGPASSWORD="$NEW_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -c 'SELECT 1' >/dev/null; then
  echo "the database role already had its new password"
  exit 0
fi
echo "could not log in to the database with the old or the new password" >&2
exit 1
"""


def rotation_image(spec: LiteMaaSSpec) -> str:
    """The image whose psql runs the change: the database's own (psql 15+ for ``\\getenv``)."""
    return spec.database.image or POSTGRES_IMAGE


def rotation_job_name(names: Names, hash_key: str, old: str, new: str, image: str) -> str:
    """``<name>-pg-password-<hash>``: at most 61 characters for a 40-character CR name.

    Keyed (HMAC under the config-hash key) so the name, readable by anyone who may list Jobs,
    cannot be used to test guesses of either password.
    """
    digest = config_hash(hash_key, "postgres-password-rotation", old, new, image)[:8]
    return f"{names.instance.name}-pg-password-{digest}"


def build(ctx: RenderContext) -> list[dict[str, Any]]:
    """The Secret and Job of a pending, running or failed rotation; nothing otherwise.

    A failed Job stays (it is where a person reads why); deleting it makes a new one.
    """
    rotation = ctx.facts.password_rotation
    if rotation is None or rotation.state == "succeeded":
        return []
    if ctx.spec.database.mode != "embedded":
        return []
    inst, names, version = ctx.instance, ctx.names, ctx.spec.version
    handed = secret(
        inst, rotation.job, COMPONENT, version, {OLD_KEY: rotation.old, NEW_KEY: rotation.new}
    )
    main = {
        "name": "set-password",
        "image": rotation_image(ctx.spec),
        "command": ["sh", "-c", SCRIPT],
        "env": [
            env("PGHOST", names.postgres),
            env("PGPORT", "5432"),
            env("PGDATABASE", LITEMAAS_DB),
            env("PGUSER", DB_USER),
            env("PGCONNECT_TIMEOUT", "10"),
            secret_env("OLD_PASSWORD", rotation.job, OLD_KEY),
            secret_env("NEW_PASSWORD", rotation.job, NEW_KEY),
        ],
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "100m", "memory": "64Mi"},
        },
        "securityContext": CONTAINER_SECURITY,
    }
    # The template is immutable: nothing in it may follow a spec field that can change while
    # the Job exists (no version label, no scheduling knobs); the image is part of the name.
    template_labels = {
        **selector(inst, COMPONENT),
        "app.kubernetes.io/part-of": "litemaas",
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": rotation.job,
            "namespace": inst.namespace,
            "labels": labels(inst, COMPONENT, version),
        },
        "spec": {
            "backoffLimit": BACKOFF_LIMIT,
            # No ttlSecondsAfterFinished: the operator must see the Job succeed before it rolls
            # the pods; it deletes the Job itself afterwards.
            "template": {
                "metadata": {"labels": template_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": names.service_account,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security(ctx.facts.platform, POSTGRES_UID),
                    "containers": [main],
                },
            },
        },
    }
    return [handed, job]
