"""The credentials LiteMaaS needs: their names, how each is generated, and where it comes from.

Pure: no I/O. The reconciler (``controller/credentials.py``) stores generated values in the
``<name>-credentials`` Secret once and never regenerates them; ``render`` prints placeholders.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from .api.spec import LiteMaaSSpec


@dataclass(frozen=True)
class Credential:
    """One credential: its key in the credentials Secret and how a fresh value looks."""

    key: str
    # Attribute of SecretsSpec that may point at an existing Secret instead; "" for INTERNAL.
    spec_field: str
    prefix: str = ""
    nbytes: int = 32
    # The application refuses a value without the prefix, so a user-supplied one must have it.
    prefix_required: bool = False

    def generate(self) -> str:
        """Return a new cryptographically random, URL-safe value with the expected prefix."""
        return self.prefix + secrets.token_urlsafe(self.nbytes)

    def placeholder(self) -> str:
        """What ``render`` prints instead of a value the operator would generate."""
        return f"<generated:{self.key}>"


POSTGRES_PASSWORD = Credential("postgres-password", "postgres_password")
JWT_SECRET = Credential("jwt-secret", "jwt_secret", nbytes=48)
OAUTH_CLIENT_SECRET = Credential("oauth-client-secret", "oauth_client_secret")
ADMIN_API_KEYS = Credential("admin-api-keys", "admin_api_keys", prefix="ltm_admin_")
LITELLM_MASTER_KEY = Credential(
    "litellm-master-key", "litellm_master_key", prefix="sk-", prefix_required=True
)
BACKEND_ENCRYPTION_KEY = Credential("backend-encryption-key", "backend_encryption_key")
LITELLM_UI_PASSWORD = Credential("litellm-ui-password", "litellm_ui_password", nbytes=24)
LITELLM_SALT_KEY = Credential("litellm-salt-key", "litellm_salt_key", prefix="sk-")
REDIS_PASSWORD = Credential("redis-password", "redis_password")
# The HMAC key of the pod-template config hash: without it the annotation, readable by anyone who
# may read Deployments, would be an offline-crackable digest of the passwords it covers. Never
# taken from the user (a weak key would defeat it), so it has no field in spec.secrets.
CONFIG_HASH_KEY = Credential("config-hash-key", "")

ALL: tuple[Credential, ...] = (
    POSTGRES_PASSWORD,
    JWT_SECRET,
    OAUTH_CLIENT_SECRET,
    ADMIN_API_KEYS,
    LITELLM_MASTER_KEY,
    BACKEND_ENCRYPTION_KEY,
    LITELLM_UI_PASSWORD,
    LITELLM_SALT_KEY,
    REDIS_PASSWORD,
)
# Credentials always generated, never read from a user Secret (not in ALL, which maps spec fields).
INTERNAL: tuple[Credential, ...] = (CONFIG_HASH_KEY,)
# Every key the credentials store may hold.
EVERY: tuple[Credential, ...] = (*ALL, *INTERNAL)


def generated_keys(spec: LiteMaaSSpec) -> list[Credential]:
    """Credentials the operator must generate: every one the spec does not take from a Secret.

    All are generated, even those the current spec does not use (say the OAuth client secret in
    oidc mode), so that switching modes later never mints a second value for the same thing.
    """
    return [c for c in ALL if getattr(spec.secrets, c.spec_field) is None] + list(INTERNAL)


def placeholders(spec: LiteMaaSSpec) -> dict[str, str]:
    """Placeholder values for every credential, for ``render``."""
    values = {c.key: c.placeholder() for c in EVERY}
    for c in ALL:
        ref = getattr(spec.secrets, c.spec_field)
        if ref is not None:
            values[c.key] = f"<secret:{ref.name}/{ref.key}>"
    return values


def missing(values: Mapping[str, str]) -> list[str]:
    """Keys of ``EVERY`` that ``values`` lacks or holds empty."""
    return [c.key for c in EVERY if not values.get(c.key)]


def prefix_problem(credential: Credential, value: str) -> str | None:
    """Why a user-supplied ``value`` cannot serve as ``credential``, or None when it can.

    The message names the spec field and never the value.
    """
    if credential.prefix_required and not value.startswith(credential.prefix):
        field = "".join(
            w if i == 0 else w.capitalize() for i, w in enumerate(credential.spec_field.split("_"))
        )
        return (
            f"spec.secrets.{field}: the value must start with {credential.prefix!r} (the "
            f"application refuses other keys); put a key like {credential.prefix}<random> into "
            "that Secret"
        )
    return None
