"""Rebuilding the credentials store from the copies the derived Secrets still hold. Pure.

The store (``<name>-credentials``) is the one place a generated credential is kept, but every
credential the applications use is also copied into a derived Secret (``<name>-postgres``,
``-backend``, ``-litellm``, ``-redis``; see ``render/``). When the store, or a key of it, is gone
(deleted by hand, a namespace restored without it), the values are read back from those copies
instead of being generated again: a new PostgreSQL password would not open a data volume
initialised with the old one, and a new encryption key would not decrypt what the old one wrote.

What is held nowhere is generated again only if nothing depends on its old value
(``REGENERABLE``); anything else is reported as lost, and the reconciler then changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from . import credentials as cred
from .render.names import Names
from .render.secrets import DB_USER, HASH_KEY_COPY

# Credentials that may be generated again when no copy of them is left, because nothing outside
# the operator's own objects depends on their old value:
# - redis-password: Redis is a cache on an emptyDir (no persistence); only the operator's
#   Secrets hold the password, and they are re-rendered with the new one in the same pass.
# - oauth-client-secret: shared only by the OAuthClient and the backend Secret, both written by
#   the operator; unused outside auth.mode oauthclient.
# - jwt-secret: signs login sessions only (JWT_EXPIRES_IN, 24h by default); a new one costs every
#   user one sign-in, and no stored data is signed or encrypted with it.
# - config-hash-key: keys the pod-template hash annotation; a new one rolls each pod once.
# Never regenerated: postgres-password (the role's password on the data volume),
# backend-encryption-key (encrypts models.encrypted_api_key; upstream has no re-encryption),
# litellm-salt-key (encrypts LiteLLM's stored model credentials), litellm-master-key and
# admin-api-keys (held by API clients and scripts), litellm-ui-password (held by a person).
# A credential added in a later release is missing from every older instance's store and
# Secrets: make it regenerable (as config-hash-key was) or every upgraded instance stalls.
REGENERABLE: frozenset[str] = frozenset(
    {
        cred.REDIS_PASSWORD.key,
        cred.OAUTH_CLIENT_SECRET.key,
        cred.JWT_SECRET.key,
        cred.CONFIG_HASH_KEY.key,
    }
)

Derived = Mapping[str, Mapping[str, str]]  # derived Secret name -> its decoded data
Reader = Callable[[Derived, Names, str | None], str | None]


def _key(secret: Callable[[Names], str], key: str) -> Reader:
    """Read ``key`` of one derived Secret."""

    def read(derived: Derived, names: Names, _client: str | None) -> str | None:
        return (derived.get(secret(names)) or {}).get(key) or None

    return read


def _url_password(secret: Callable[[Names], str], key: str) -> Reader:
    """The password inside a database URL of a derived Secret, if it points at our server.

    An external database's URL (``database.mode: external``) holds someone else's password, not
    ours: only a URL for ``DB_USER`` at this instance's PostgreSQL Service counts.
    """

    def read(derived: Derived, names: Names, _client: str | None) -> str | None:
        url = (derived.get(secret(names)) or {}).get(key)
        if not url:
            return None
        parts = urlsplit(url)
        if parts.hostname != names.postgres or parts.username != DB_USER:
            return None
        return unquote(parts.password) if parts.password else None

    return read


def _oauth_client_secret(derived: Derived, names: Names, client: str | None) -> str | None:
    """The backend's client secret, only when it is the OAuthClient's (auth.mode oauthclient).

    In the other modes the same key holds the ServiceAccount's token or the user's OIDC client
    secret, which must never become the generated credential.
    """
    backend = derived.get(names.backend) or {}
    if client is None or backend.get("oauth-client-id") != client:
        return None
    return backend.get("oauth-client-secret") or None


def _postgres(n: Names) -> str:
    return n.postgres


def _backend(n: Names) -> str:
    return n.backend


def _litellm(n: Names) -> str:
    return n.litellm


def _redis(n: Names) -> str:
    return n.redis


# Where each credential is copied to, best source first (render/database.py, backend.py,
# litellm.py, redis.py). <name>-postgres comes first for the password: it is what the role was
# initialised or last rotated with.
COPIES: dict[str, tuple[Reader, ...]] = {
    cred.POSTGRES_PASSWORD.key: (
        _key(_postgres, "password"),
        _url_password(_backend, "database-url"),
        _url_password(_backend, "litellm-database-url"),
        _url_password(_litellm, "database-url"),
    ),
    cred.JWT_SECRET.key: (_key(_backend, "jwt-secret"),),
    cred.OAUTH_CLIENT_SECRET.key: (_oauth_client_secret,),
    cred.ADMIN_API_KEYS.key: (_key(_backend, "admin-api-keys"),),
    cred.LITELLM_MASTER_KEY.key: (
        _key(_litellm, "master-key"),
        _key(_backend, "litellm-api-key"),
    ),
    # The backend's LITELLM_MASTER_KEY env is its encryption key, not LiteLLM's master key.
    cred.BACKEND_ENCRYPTION_KEY.key: (_key(_backend, "litellm-master-key"),),
    cred.LITELLM_UI_PASSWORD.key: (_key(_litellm, "ui-password"),),
    cred.LITELLM_SALT_KEY.key: (_key(_litellm, "salt-key"),),
    cred.REDIS_PASSWORD.key: (
        _key(_redis, "password"),
        _key(_backend, "redis-password"),
        _key(_litellm, "redis-password"),
    ),
    cred.CONFIG_HASH_KEY.key: (
        _key(_postgres, HASH_KEY_COPY),
        _key(_backend, HASH_KEY_COPY),
        _key(_litellm, HASH_KEY_COPY),
    ),
}


def derived_secret_names(names: Names) -> tuple[str, ...]:
    """The Secrets ``COPIES`` reads."""
    return (names.postgres, names.backend, names.litellm, names.redis)


@dataclass(frozen=True)
class Recovery:
    """What to do about the credentials the store lacks.

    ``values``: every wanted credential that has a value, from the store or read back from a
    copy. ``recovered``: the keys of those read back. ``regenerate``: credentials held nowhere
    that may be generated again. ``lost``: keys held nowhere that must not be.
    """

    values: dict[str, str]
    recovered: list[str] = field(default_factory=list)
    regenerate: list[cred.Credential] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)


def recover_credentials(
    wanted: Sequence[cred.Credential],
    stored: Mapping[str, str],
    derived: Derived,
    names: Names,
    *,
    volume_exists: bool,
    oauth_client: str | None = None,
) -> Recovery:
    """Fill what ``stored`` lacks of ``wanted`` from the copies in ``derived``.

    ``volume_exists``: the PostgreSQL data volume (``data-<name>-postgres-0``) exists, so the
    database holds data opened and encrypted with the old values. Without it, the instance
    still has data if it ever ran (any derived Secret exists: an external database, or one
    whose claim is not bound yet), except that the PostgreSQL password then guards nothing.
    ``oauth_client``: the OAuthClient's name, whose secret the backend Secret may hold.
    """
    ran = any(derived.get(name) for name in derived_secret_names(names))
    values: dict[str, str] = {}
    out = Recovery(values)
    for credential in wanted:
        if stored.get(credential.key):
            values[credential.key] = stored[credential.key]
            continue
        value = next(
            (
                v
                for read in COPIES.get(credential.key, ())
                if (v := read(derived, names, oauth_client))
            ),
            None,
        )
        if value is not None:
            values[credential.key] = value
            out.recovered.append(credential.key)
            continue
        guarded = volume_exists or (ran and credential != cred.POSTGRES_PASSWORD)
        if guarded and credential.key not in REGENERABLE:
            out.lost.append(credential.key)
        else:
            out.regenerate.append(credential)
    return out
