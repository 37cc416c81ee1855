"""Reading the OAuth issuer an OpenShift API server publishes (RFC 8414 metadata)."""

from __future__ import annotations

from litemaas_operator.controller.gather import published_issuer


def test_the_published_issuer_is_used_as_it_is():
    metadata = {
        "issuer": "https://oauth-openshift.apps.rosa.example.com",
        "authorization_endpoint": "https://oauth-openshift.apps.rosa.example.com/oauth/authorize",
    }
    assert published_issuer(metadata) == "https://oauth-openshift.apps.rosa.example.com"


def test_no_or_odd_metadata_gives_no_issuer():
    assert published_issuer(None) is None
    assert published_issuer({}) is None
    assert published_issuer({"issuer": 42}) is None
    assert published_issuer({"issuer": "http://insecure.example.com"}) is None
