"""Database URLs, where credential values may appear, and the credentials store."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from rendering import (
    CREDENTIALS,
    EXTERNAL_URLS,
    INSTANCE,
    NASTY_PASSWORD,
    OIDC_SECRET,
    VARIATIONS,
    container,
    env_of,
    find,
    render,
)

from litemaas_operator.render.names import RETAIN_LABEL
from litemaas_operator.render.secrets import credentials_store, database_url, decode

CR = INSTANCE.name


@pytest.mark.parametrize(
    "password",
    [NASTY_PASSWORD, "plain", "a/b", "a+b", "a=b", "a@b", "a:b", "%41", " space", "ünï"],
)
def test_database_url_round_trips_any_password(password):
    url = database_url(password, "db-host", "litemaas_db", sslmode_disable=False)
    parts = urlsplit(url)
    assert parts.scheme == "postgresql"
    assert (parts.hostname, parts.port, parts.path) == ("db-host", 5432, "/litemaas_db")
    assert parts.username == "litemaas_admin"
    assert unquote(parts.password) == password
    # Nothing of the password leaks into the host part, whatever its characters.
    assert "@" not in parts.password and ":" not in parts.password and "/" not in parts.password


def urls_of(password: str) -> dict[str, str]:
    creds = {**CREDENTIALS, "postgres-password": password}
    objects = render({}, credentials=creds).objects
    backend = decode(find(objects, "Secret", f"{CR}-backend")["data"])
    litellm = decode(find(objects, "Secret", f"{CR}-litellm")["data"])
    return {
        "backend": backend["database-url"],
        "backend-litellm": backend["litellm-database-url"],
        "litellm": litellm["database-url"],
    }


def test_rendered_urls_encode_the_password_and_reach_the_right_database():
    urls = urls_of(NASTY_PASSWORD)
    for which, url in urls.items():
        parts = urlsplit(url)
        assert unquote(parts.password) == NASTY_PASSWORD, which
        assert parts.hostname == f"{CR}-postgres", which
    assert urlsplit(urls["backend"]).path == "/litemaas_db"
    assert urlsplit(urls["backend-litellm"]).path == "/litellm_db"
    assert urlsplit(urls["litellm"]).path == "/litellm_db"


def test_only_the_backends_own_pool_disables_ssl():
    # The backend's pg pool turns SSL on with NODE_ENV=production; sslmode=disable in the URL
    # overrides that for the in-cluster server. LiteLLM (Prisma) and the backend's second
    # pool default to no SSL and get the URL unchanged.
    urls = urls_of("pw")
    assert parse_qs(urlsplit(urls["backend"]).query) == {"sslmode": ["disable"]}
    assert urlsplit(urls["litellm"]).query == ""
    assert urlsplit(urls["backend-litellm"]).query == ""


def test_external_database_urls_are_used_verbatim():
    spec = {"database": {"mode": "external", "external": {"secretName": "pg"}}}
    objects = render(spec).objects
    assert not [o for o in objects if o["kind"] == "StatefulSet"]
    backend = decode(find(objects, "Secret", f"{CR}-backend")["data"])
    litellm = decode(find(objects, "Secret", f"{CR}-litellm")["data"])
    assert backend["database-url"] == EXTERNAL_URLS["litemaas-database-url"]
    assert backend["litellm-database-url"] == EXTERNAL_URLS["litellm-database-url"]
    assert litellm["database-url"] == EXTERNAL_URLS["litellm-database-url"]


def test_external_database_with_custom_keys():
    spec = {
        "database": {
            "mode": "external",
            "external": {"secretName": "pg", "litemaasUrlKey": "app", "litellmUrlKey": "llm"},
        }
    }
    state = render(spec, external_database_urls={"app": "postgresql://a", "llm": "postgresql://b"})
    assert state.problems == []
    assert decode(find(state.objects, "Secret", f"{CR}-backend")["data"])["database-url"] == (
        "postgresql://a"
    )


def test_external_database_secret_missing_a_key_is_waited_for():
    spec = {"database": {"mode": "external", "external": {"secretName": "pg"}}}
    state = render(spec, external_database_urls={"litemaas-database-url": "postgresql://a"})
    [problem] = [p for p in state.problems if p.component == "database"]
    assert (problem.kind, problem.reason) == ("waiting", "WaitingForDatabaseSecret")
    assert "pg" in problem.message and "litellm-database-url" in problem.message
    # Nothing that needs the URLs is rendered with a half-known value.
    assert not [
        o
        for o in state.objects
        if o["kind"] in ("Secret", "Deployment") and o["metadata"]["name"] == f"{CR}-litellm"
    ]


@pytest.mark.parametrize("variation", VARIATIONS, ids=lambda v: v.id)
def test_credentials_appear_only_in_secrets_and_the_oauthclient(variation):
    objects = variation.render().objects
    values = [*CREDENTIALS.values(), OIDC_SECRET]
    for obj in objects:
        if obj["kind"] == "Secret":
            continue
        text = json.dumps(obj if obj["kind"] != "OAuthClient" else {**obj, "secret": None})
        leaked = [v for v in values if v in text]
        assert not leaked, f"{obj['kind']} {obj['metadata']['name']} holds a credential"


def test_secret_data_is_base64_and_decodes_back():
    objects = render({}).objects
    secret = find(objects, "Secret", f"{CR}-litellm")
    assert "stringData" not in secret
    raw = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert raw == decode(secret["data"])
    assert raw["master-key"] == CREDENTIALS["litellm-master-key"]
    assert decode(None) == {}


def test_changing_a_credential_rolls_the_pods_that_read_it():
    before = render({}).objects
    after = render({}, credentials={**CREDENTIALS, "jwt-secret": "rotated"}).objects

    def hash_of(objects, name):
        template = find(objects, "Deployment", name)["spec"]["template"]
        return template["metadata"]["annotations"]["litemaas.io/config-hash"]

    assert hash_of(before, f"{CR}-backend") != hash_of(after, f"{CR}-backend")
    assert hash_of(before, f"{CR}-litellm") == hash_of(after, f"{CR}-litellm")


@pytest.mark.parametrize(("retain", "labelled"), [(True, True), (False, False)])
def test_credentials_store_is_retained_with_the_data(retain, labelled):
    store = credentials_store(INSTANCE, f"{CR}-credentials", "0.5.0", {"k": "v"}, retain=retain)
    assert (store["metadata"]["labels"].get(RETAIN_LABEL) == "true") is labelled
    assert decode(store["data"]) == {"k": "v"}


@pytest.mark.parametrize(("delete", "labelled"), [(False, True), (True, False)])
def test_backup_claim_follows_delete_claim_on_delete(delete, labelled):
    objects = render({"database": {"deleteClaimOnDelete": delete}}).objects
    claim = find(objects, "PersistentVolumeClaim", f"{CR}-backend-backup")
    assert (claim["metadata"]["labels"].get(RETAIN_LABEL) == "true") is labelled


def test_user_provided_credentials_reach_the_apps():
    # A credential taken from the user's Secret arrives through facts like a generated one.
    spec = {"secrets": {"litellmMasterKey": {"name": "mine", "key": "master"}}}
    objects = render(spec, credentials={**CREDENTIALS, "litellm-master-key": "sk-mine"}).objects
    assert decode(find(objects, "Secret", f"{CR}-litellm")["data"])["master-key"] == "sk-mine"
    backend = decode(find(objects, "Secret", f"{CR}-backend")["data"])
    assert backend["litellm-api-key"] == "sk-mine"


def test_missing_credentials_are_waited_for_not_invented():
    creds = {k: v for k, v in CREDENTIALS.items() if k != "litellm-salt-key"}
    state = render({}, credentials=creds)
    problem = next(p for p in state.problems if p.component == "litellm")
    assert (problem.kind, problem.reason) == ("waiting", "WaitingForCredentials")
    assert "litellm-salt-key" in problem.message
    assert not [
        o
        for o in state.objects
        if o["kind"] in ("Secret", "Deployment") and o["metadata"]["name"] == f"{CR}-litellm"
    ]
    # Components that do not need it still render.
    assert find(state.objects, "Deployment", f"{CR}-backend")


def test_wait_for_database_needs_no_password_on_the_command_line():
    objects = render({}, credentials={**CREDENTIALS, "postgres-password": NASTY_PASSWORD}).objects
    for name in (f"{CR}-backend", f"{CR}-litellm"):
        wait = container(find(objects, "Deployment", name), "wait-for-database")
        assert NASTY_PASSWORD not in " ".join(wait["command"])
        assert env_of(wait)["DATABASE_URL"] == (name, "database-url")
