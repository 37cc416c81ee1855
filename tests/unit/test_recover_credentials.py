"""Rebuilding a lost credentials store from the derived Secrets (recovery.recover_credentials).

The derived Secrets here are the ones the renderer really produces for a set of credentials, so
a test fails if a builder stops copying a credential where ``recovery.COPIES`` looks for it.
Assertions compare values without printing them: a failure names keys, never secrets.
"""

from __future__ import annotations

from typing import Any

import pytest
from rendering import CREDENTIALS, INSTANCE, NASTY_PASSWORD, find, render

from litemaas_operator import credentials
from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.recovery import COPIES, REGENERABLE, Recovery, recover_credentials
from litemaas_operator.render.names import CONFIG_HASH, Names
from litemaas_operator.render.pods import config_hash
from litemaas_operator.render.secrets import HASH_KEY_COPY, decode

NAMES = Names(INSTANCE)
OAUTHCLIENT = {"auth": {"mode": "oauthclient"}}
EVERY = list(credentials.EVERY)
KEYS = [c.key for c in EVERY]
# What must survive: everything not regenerable.
GUARDED = sorted(set(KEYS) - REGENERABLE)


def derived(spec: dict[str, Any], platform: str = "openshift", **facts: Any) -> dict[str, Any]:
    """The derived Secrets (decoded) the renderer makes for ``spec`` and CREDENTIALS."""
    objects = render(spec, platform, **facts).objects
    wanted = {NAMES.postgres, NAMES.backend, NAMES.litellm, NAMES.redis}
    return {
        o["metadata"]["name"]: decode(o["data"])
        for o in objects
        if o["kind"] == "Secret" and o["metadata"]["name"] in wanted
    }


def recover(
    copies: dict[str, Any], *, volume: bool = True, stored: dict[str, str] | None = None
) -> Recovery:
    return recover_credentials(
        EVERY, stored or {}, copies, NAMES, volume_exists=volume, oauth_client=NAMES.oauth_client
    )


def differing(values: dict[str, str], expected: dict[str, str]) -> list[str]:
    """Keys whose values differ (names only, so a failure prints no secret)."""
    return sorted(k for k in expected if values.get(k) != expected[k])


def test_every_credential_is_read_back_from_the_derived_secrets():
    rec = recover(derived(OAUTHCLIENT))
    assert rec.lost == [] and rec.regenerate == []
    assert differing(rec.values, CREDENTIALS) == []
    assert sorted(rec.recovered) == sorted(KEYS)


def test_stored_values_are_kept_and_only_the_missing_ones_are_read_back():
    stored = {k: v for k, v in CREDENTIALS.items() if k != "litellm-salt-key"}
    rec = recover(derived(OAUTHCLIENT), stored=stored)
    assert rec.recovered == ["litellm-salt-key"]
    assert differing(rec.values, CREDENTIALS) == []


def test_the_store_wins_over_a_copy_that_differs():
    stored = {"jwt-secret": "the-stored-one"}
    rec = recover(derived(OAUTHCLIENT), stored=stored)
    assert rec.values["jwt-secret"] == "the-stored-one"
    assert "jwt-secret" not in rec.recovered


def test_with_every_copy_gone_and_a_volume_only_the_regenerable_may_be_generated():
    rec = recover({}, volume=True)
    assert sorted(rec.lost) == GUARDED
    assert {c.key for c in rec.regenerate} == REGENERABLE
    assert rec.values == {}


def test_the_regenerable_set_is_deliberate():
    # Changing this list changes what a lost store costs users: see the comment in recovery.py.
    assert {"redis-password", "oauth-client-secret", "jwt-secret", "config-hash-key"} == REGENERABLE
    assert "postgres-password" in GUARDED and "backend-encryption-key" in GUARDED
    assert "litellm-salt-key" in GUARDED


def test_a_fresh_instance_generates_everything():
    rec = recover({}, volume=False)
    assert rec.lost == [] and rec.values == {}
    assert [c.key for c in rec.regenerate] == KEYS


def test_each_guarded_credential_alone_missing_everywhere_is_lost():
    copies = derived(OAUTHCLIENT)
    for key in GUARDED:
        # Every copy of this one value gone (URLs holding the password included), all else kept.
        reduced = {
            name: {k: v for k, v in data.items() if CREDENTIALS[key] not in v}
            for name, data in copies.items()
        }
        rec = recover(reduced)
        assert rec.lost == [key], key


def test_the_password_comes_from_the_urls_when_the_postgres_secret_is_gone():
    copies = derived(OAUTHCLIENT, credentials={**CREDENTIALS, "postgres-password": NASTY_PASSWORD})
    del copies[NAMES.postgres]
    rec = recover(copies)
    assert rec.values["postgres-password"] == NASTY_PASSWORD
    assert rec.lost == []


def test_an_external_database_url_is_never_taken_for_our_password():
    external = {"mode": "external", "external": {"secretName": "pg-urls"}}
    copies = derived({**OAUTHCLIENT, "database": external})
    assert NAMES.postgres not in copies
    # No volume: the embedded password guards nothing, so it is simply generated again.
    rec = recover(copies, volume=False)
    assert [c.key for c in rec.regenerate] == ["postgres-password"]
    assert rec.lost == []
    # A volume left from an earlier embedded database: its password is still needed.
    assert recover(copies, volume=True).lost == ["postgres-password"]


def test_an_instance_that_ran_keeps_its_keys_even_without_a_volume():
    """An external database holds data encrypted with the keys too: an instance that ran (its
    derived Secrets exist) loses no guarded key, whatever happened to the volume."""
    copies = derived(OAUTHCLIENT)
    del copies[NAMES.litellm]  # the salt key and UI password were only there
    rec = recover(copies, volume=False)
    assert sorted(rec.lost) == ["litellm-salt-key", "litellm-ui-password"]


@pytest.mark.parametrize("mode", ["serviceaccount", "oidc"])
def test_the_backend_client_secret_of_other_auth_modes_is_not_the_oauthclient_secret(mode):
    spec: dict[str, Any] = {"auth": {"mode": mode}}
    if mode == "oidc":
        spec["auth"]["oidc"] = {
            "issuer": "https://sso.example.com",
            "clientId": "litemaas",
            "clientSecret": {"name": "oidc", "key": "secret"},
        }
    copies = derived(spec)
    assert copies[NAMES.backend]["oauth-client-secret"]  # the SA token or the OIDC secret
    rec = recover(copies)
    assert rec.lost == []
    assert [c.key for c in rec.regenerate] == ["oauth-client-secret"]


def test_redis_off_lets_its_password_be_generated_again():
    rec = recover(derived({**OAUTHCLIENT, "redis": {"enabled": False}}))
    assert rec.lost == []
    assert [c.key for c in rec.regenerate] == ["redis-password"]


def test_credentials_from_user_secrets_are_not_recovered():
    spec = LiteMaaSSpec.model_validate(
        {"secrets": {"postgresPassword": {"name": "mine", "key": "pw"}}}
    )
    wanted = credentials.generated_keys(spec)
    rec = recover_credentials(wanted, {}, {}, NAMES, volume_exists=True)
    assert "postgres-password" not in rec.lost + rec.recovered


def test_every_credential_has_a_copy_or_may_be_regenerated():
    """A new credential must be copied somewhere or declared regenerable (recovery.py)."""
    for key in KEYS:
        assert COPIES.get(key) or key in REGENERABLE, key
    # And each guarded one has a copy in what the renderer makes by default.
    copies = derived(OAUTHCLIENT)
    for key in GUARDED:
        assert any(read(copies, NAMES, NAMES.oauth_client) for read in COPIES[key]), key


def test_the_hash_key_copy_changes_no_pod_template_hash():
    objects = render({}).objects
    key = CREDENTIALS["config-hash-key"]
    pg = find(objects, "Secret", NAMES.postgres)
    assert decode(pg["data"])[HASH_KEY_COPY] == key
    without = {k: v for k, v in pg["data"].items() if k != HASH_KEY_COPY}
    init = find(objects, "ConfigMap", f"{INSTANCE.name}-postgres-init")["data"]
    sts = find(objects, "StatefulSet", NAMES.postgres)
    assert sts["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH] == config_hash(
        key, without, init
    )
    for name in (NAMES.backend, NAMES.litellm):
        assert decode(find(objects, "Secret", name)["data"])[HASH_KEY_COPY] == key
    # No pod reads it: every env var names its own key.
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            assert HASH_KEY_COPY not in str(obj["spec"]["template"]["spec"])
