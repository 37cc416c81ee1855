"""Gather the cluster facts one render needs: platform, domain, hosts, credentials.

Credentials are generated here, once: the ``<name>-credentials`` Secret is created with every
missing value and afterwards only ever *added to* (a key a new operator version introduces),
never rewritten, so resyncs, restarts and upgrades keep every password. A value the store
lacks (the Secret deleted by hand) is read back from the derived Secrets before anything is
generated, and a changed database password reaches the role before the pods (``data_keys``).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic.alias_generators import to_camel

from .. import credentials as cred
from ..api.spec import LiteMaaSSpec
from ..facts import ClusterFacts, Instance, Platform
from ..recovery import derived_secret_names, recover_credentials
from ..render.endpoints import Problem
from ..render.names import Names
from ..render.secrets import credentials_store, decode
from .data_keys import credentials_lost, rotate_database_password, volume_exists
from .kube import ApiError, Kube
from .logs import remember_secrets
from .registry import Registry

ROUTE_API = "route.openshift.io/v1"
OAUTH_API = "oauth.openshift.io/v1"
USER_API = "user.openshift.io/v1"
CONFIG_API = "config.openshift.io/v1"

Live = Mapping[tuple[str, str], dict[str, Any]]


@dataclass
class Gathered:
    """Facts plus what went wrong gathering them and which user Secrets were read."""

    facts: ClusterFacts | None
    problems: list[Problem] = field(default_factory=list)
    secrets_read: set[tuple[str, str]] = field(default_factory=set)


def resolve_platform(requested: str, served: set[str]) -> tuple[Platform | None, Problem | None]:
    """The platform to render for, or a problem when the request cannot be met."""
    openshift = ROUTE_API in served
    if requested == "auto":
        return ("openshift" if openshift else "kubernetes"), None
    if requested == "openshift" and not openshift:
        return None, Problem(
            "invalid",
            "routing",
            "PlatformUnavailable",
            "spec.platform is openshift but this cluster does not serve route.openshift.io/v1",
        )
    return requested, None  # type: ignore[return-value]


async def served_groups(kube: Kube, registry: Registry) -> set[str]:
    """Served API group/versions, cached briefly (a CRD installed later is still picked up)."""
    return await registry.cached("served", kube.served_groups)


async def cluster_domain(kube: Kube, served: set[str], registry: Registry) -> str | None:
    """OpenShift's apps domain from ``ingresses.config.openshift.io/cluster``, cached briefly."""
    if CONFIG_API not in served:
        return None

    async def fetch() -> str | None:
        config = await kube.get("IngressConfig", "cluster")
        return ((config or {}).get("spec") or {}).get("domain") or None

    return await registry.cached("domain", fetch)


def published_issuer(metadata: Mapping[str, Any] | None) -> str | None:
    """The ``issuer`` of OAuth authorization-server metadata (RFC 8414), if it is a URL."""
    issuer = (metadata or {}).get("issuer")
    return issuer if isinstance(issuer, str) and issuer.startswith("https://") else None


async def oauth_issuer(kube: Kube, registry: Registry, own_domain: str | None) -> str | None:
    """OpenShift's OAuth issuer: as the API server publishes it, else from the apps domain.

    Clusters with a custom OAuth route or a hosted control plane (ROSA HCP) publish an issuer
    that is not ``oauth-openshift.<apps domain>``; the derived one is only a fallback.
    """

    async def fetch() -> str | None:
        try:
            metadata = await kube.request("GET", "/.well-known/oauth-authorization-server")
        except ApiError:
            metadata = None
        return published_issuer(metadata)

    published = await registry.cached("oauth-issuer", fetch)
    return published or (f"https://oauth-openshift.{own_domain}" if own_domain else None)


async def read_secret_key(
    kube: Kube,
    namespace: str,
    ref: tuple[str, str],
    what: str,
    component: str,
    gathered: Gathered,
) -> str | None:
    """A value from a user's Secret, or None with a problem that says what is missing."""
    name, key = ref
    gathered.secrets_read.add((namespace, name))
    secret = await kube.get("Secret", name, namespace)
    if secret is None:
        gathered.problems.append(
            Problem(
                "invalid",
                component,
                "SecretNotFound",
                f"Secret {name} ({what}) not found in namespace {namespace}",
            )
        )
        return None
    value = decode(secret.get("data")).get(key)
    if not value:
        gathered.problems.append(
            Problem(
                "invalid", component, "SecretKeyMissing", f"Secret {name} ({what}) has no key {key}"
            )
        )
        return None
    return value


async def ensure_credentials(
    kube: Kube,
    spec: LiteMaaSSpec,
    instance: Instance,
    live: Live,
    gathered: Gathered,
) -> dict[str, str] | None:
    """Every credential's value: from user Secrets where named, else from the store.

    Values the store lacks are read back from the derived Secrets, or generated where nothing
    depends on them (``recovery.py``), and written with a create (never an update of existing
    keys) or a patch guarded by resourceVersion. None, with a ``CredentialsLost`` problem, when
    a value the data depends on is held nowhere: then nothing may be applied.
    """
    names = Names(instance)
    wanted = cred.generated_keys(spec)
    store = live.get(("Secret", names.credentials))
    if store is None:
        # The store a person re-created by hand (docs/credentials.md) may lack our labels.
        store = await kube.get("Secret", names.credentials, instance.namespace)
    stored = decode((store or {}).get("data"))
    fresh: dict[str, str] = {}
    if any(not stored.get(c.key) for c in wanted):
        derived = {
            name: decode(obj.get("data"))
            for name in derived_secret_names(names)
            if (obj := live.get(("Secret", name))) is not None
        }
        volume = await volume_exists(kube, names, instance.namespace, live)
        recovery = recover_credentials(
            wanted,
            stored,
            derived,
            names,
            volume_exists=volume,
            oauth_client=spec.auth.oauth_client.name or names.oauth_client,
        )
        if recovery.lost:
            gathered.problems.append(credentials_lost(names, recovery.lost, volume))
            return None
        fresh = {k: recovery.values[k] for k in recovery.recovered}
        fresh |= {c.key: c.generate() for c in recovery.regenerate}
    if store is None and wanted:
        manifest = credentials_store(
            instance, names.credentials, spec.version, {**stored, **fresh}, retain=True
        )
        try:
            await kube.create(manifest)
            stored.update(fresh)
        except ApiError as err:
            if not err.conflict:
                raise
            # Someone (a previous run) created it between our read and create: use theirs.
            existing = await kube.get("Secret", names.credentials, instance.namespace, live=True)
            stored = decode((existing or {}).get("data"))
    elif fresh:
        patch = {
            "metadata": {"resourceVersion": store["metadata"]["resourceVersion"]},  # type: ignore[index]
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in fresh.items()},
        }
        updated = await kube.patch("Secret", names.credentials, instance.namespace, patch)
        stored = decode(updated.get("data"))
    values = {c.key: stored[c.key] for c in wanted if stored.get(c.key)}
    for c in cred.ALL:
        ref = getattr(spec.secrets, c.spec_field)
        if ref is None:
            continue
        value = await read_secret_key(
            kube,
            instance.namespace,
            (ref.name, ref.key),
            f"spec.secrets.{to_camel(c.spec_field)}",
            "backend",
            gathered,
        )
        if value is not None and (wrong := cred.prefix_problem(c, value)) is not None:
            gathered.problems.append(Problem("invalid", "litellm", "InvalidCredential", wrong))
        elif value is not None:
            values[c.key] = value
    return values


async def gather(
    kube: Kube,
    spec: LiteMaaSSpec,
    instance: Instance,
    live: Live,
    served: set[str],
    registry: Registry,
) -> Gathered:
    """Collect the facts for one instance; ``live`` are its children as just listed and
    ``served`` the API groups the cluster serves."""
    names = Names(instance)
    gathered = Gathered(facts=None)
    platform, problem = resolve_platform(spec.platform, served)
    if problem is not None:
        gathered.problems.append(problem)
    if platform is None:
        return gathered
    own_domain = await cluster_domain(kube, served, registry) if platform == "openshift" else None
    domain = spec.domain or own_domain
    issuer = await oauth_issuer(kube, registry, own_domain) if OAUTH_API in served else None
    hosts: dict[str, str | None] = {}
    for field_name, route in (
        ("frontend_host", names.frontend_route),
        ("litellm_host", names.litellm_route),
    ):
        obj = live.get(("Route", route))
        hosts[field_name] = ((obj or {}).get("spec") or {}).get("host") or None
    values = await ensure_credentials(kube, spec, instance, live, gathered)
    if values is None:
        return gathered  # CredentialsLost: no facts, so nothing is applied
    values, rotation = await rotate_database_password(kube, spec, instance, live, values, gathered)
    external = None
    if spec.database.mode == "external" and spec.database.external is not None:
        ext = spec.database.external
        external = {}
        for key in (ext.litemaas_url_key, ext.litellm_url_key):
            value = await read_secret_key(
                kube,
                instance.namespace,
                (ext.secret_name, key),
                "spec.database.external",
                "database",
                gathered,
            )
            if value:
                external[key] = value
    oidc_secret = None
    if spec.auth.oidc is not None:
        ref = spec.auth.oidc.client_secret
        oidc_secret = await read_secret_key(
            kube,
            instance.namespace,
            (ref.name, ref.key),
            "spec.auth.oidc.clientSecret",
            "auth",
            gathered,
        )
    token_secret = live.get(("Secret", names.oauth_token))
    token = decode((token_secret or {}).get("data")).get("token") or None
    remember_secrets([*values.values(), *(external or {}).values(), oidc_secret or "", token or ""])
    gathered.facts = ClusterFacts(
        platform=platform,
        domain=domain,
        credentials=values,
        password_rotation=rotation,
        external_database_urls=external,
        oidc_client_secret=oidc_secret,
        service_account_token=token,
        has_oauth_api=OAUTH_API in served,
        has_user_api=USER_API in served,
        oauth_issuer=issuer,
        **hosts,
    )
    return gathered
