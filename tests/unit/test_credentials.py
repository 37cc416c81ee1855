"""Generated credentials: their shape, and which ones the operator generates."""

from __future__ import annotations

import re

import pytest
from pydantic.alias_generators import to_camel

from litemaas_operator import credentials
from litemaas_operator.api import LiteMaaSSpec
from litemaas_operator.api.spec import SecretsSpec

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
PREFIXES = {
    "litellm-master-key": "sk-",
    "litellm-salt-key": "sk-",
    "admin-api-keys": "ltm_admin_",
}


@pytest.mark.parametrize("credential", credentials.EVERY, ids=lambda c: c.key)
def test_generated_values_are_url_safe_long_and_prefixed(credential):
    value = credential.generate()
    prefix = PREFIXES.get(credential.key, "")
    assert value.startswith(prefix)
    assert URL_SAFE.match(value.removeprefix(prefix)), value
    # At least 24 random bytes (32 base64 characters) after the prefix.
    assert len(value) - len(prefix) >= 32


@pytest.mark.parametrize("credential", credentials.EVERY, ids=lambda c: c.key)
def test_generated_values_are_distinct(credential):
    values = {credential.generate() for _ in range(50)}
    assert len(values) == 50


def test_different_credentials_never_share_a_value():
    values = [c.generate() for c in credentials.EVERY]
    assert len(set(values)) == len(values)


def test_keys_are_unique_and_map_to_spec_fields():
    keys = [c.key for c in credentials.EVERY]
    assert len(set(keys)) == len(keys)
    assert {c.spec_field for c in credentials.ALL} == set(SecretsSpec.model_fields)


def test_every_credential_is_generated_by_default():
    assert credentials.generated_keys(LiteMaaSSpec()) == list(credentials.EVERY)


def test_internal_credentials_are_generated_even_when_every_other_is_supplied():
    refs = {to_camel(c.spec_field): {"name": "mine", "key": c.key} for c in credentials.ALL}
    spec = LiteMaaSSpec.model_validate({"secrets": refs})
    assert credentials.generated_keys(spec) == list(credentials.INTERNAL)
    assert credentials.CONFIG_HASH_KEY in credentials.INTERNAL


def test_credentials_from_user_secrets_are_not_generated():
    spec = LiteMaaSSpec.model_validate({"secrets": {"jwtSecret": {"name": "mine", "key": "jwt"}}})
    generated = {c.key for c in credentials.generated_keys(spec)}
    assert "jwt-secret" not in generated
    assert generated == {c.key for c in credentials.EVERY} - {"jwt-secret"}


def test_placeholders_name_the_source():
    ref = {"name": "mine", "key": "master"}
    spec = LiteMaaSSpec.model_validate({"secrets": {"litellmMasterKey": ref}})
    values = credentials.placeholders(spec)
    assert values["litellm-master-key"] == "<secret:mine/master>"
    assert values["jwt-secret"] == "<generated:jwt-secret>"
    assert set(values) == {c.key for c in credentials.EVERY}


def test_missing_lists_absent_and_empty_values():
    values = {c.key: c.generate() for c in credentials.EVERY}
    assert credentials.missing(values) == []
    values["jwt-secret"] = ""
    del values["redis-password"]
    assert credentials.missing(values) == ["jwt-secret", "redis-password"]


@pytest.mark.parametrize("credential", credentials.ALL, ids=lambda c: c.key)
def test_spec_field_is_settable_by_its_camel_case_name(credential):
    ref = {"name": "mine", "key": "k"}
    spec = LiteMaaSSpec.model_validate({"secrets": {to_camel(credential.spec_field): ref}})
    assert credential not in credentials.generated_keys(spec)
