"""The ``LiteMaaS`` spec: what a user may set, with the defaults the operator applies.

Every field is optional. Defaults live here, in the operator, and are *not* written into the CRD
schema: the API server would otherwise persist today's default image and version into every CR,
and an operator upgrade could never move them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from .backup import BackupSpec
from .base import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    SECRET_KEY,
    EnvVar,
    Quantity,
    ResourceName,
    SecretKeyRef,
    SpecModel,
    Workload,
)
from .monitoring import MonitoringSpec

DEFAULT_VERSION = "0.5.0"
# The version is an image tag and the app.kubernetes.io/version label value: no '+' build
# metadata (neither allows it), and it ends with a letter or digit (labels must).
VERSION = r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z]([-0-9A-Za-z.]*[0-9A-Za-z])?)?$"
HTTP_URL = r"^https?://[^\s/$.?#][^\s]*$"
DURATION = r"^[0-9]+(ms|s|m|h|d)$"
USERNAME = r"^[^\s,]+$"


# Every source of a core/v1 Volume (Kubernetes 1.37; a unit test compares with the client).
VOLUME_SOURCES = frozenset(
    {
        "awsElasticBlockStore",
        "azureDisk",
        "azureFile",
        "cephfs",
        "cinder",
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "fc",
        "flexVolume",
        "flocker",
        "gcePersistentDisk",
        "gitRepo",
        "glusterfs",
        "hostPath",
        "image",
        "iscsi",
        "nfs",
        "persistentVolumeClaim",
        "photonPersistentDisk",
        "portworxVolume",
        "projected",
        "quobyte",
        "rbd",
        "scaleIO",
        "secret",
        "storageos",
        "vsphereVolume",
    }
)
# Volume sources the ``restricted`` Pod Security Standard admits.
RESTRICTED_VOLUME_SOURCES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)

Members = list[Annotated[str, Field(min_length=1, max_length=256, pattern=USERNAME)]]


def _restricted_volume_schema() -> dict[str, Any]:
    """The CRD schema of one ``litellm.extraVolumes`` entry: a name and one restricted source.

    The API server then refuses other sources at admission, instead of the reconciler reporting
    Stalled later. CEL cannot see fields a schema leaves unknown, so every source of core/v1
    Volume is declared (its content stays free-form) and the rules test which are set.
    """
    sources = sorted(VOLUME_SOURCES)
    refused = sorted(VOLUME_SOURCES - RESTRICTED_VOLUME_SOURCES)
    present = ", ".join(f"has(self.{s})" for s in sources)
    return {
        "type": "object",
        "required": ["name"],
        # Each source's content stays free-form (the Pod's own validation checks it).
        "properties": {"name": {"type": "string", "minLength": 1, "description": "Volume name."}}
        | {
            s: {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
                "description": f"core/v1 {s} volume source"
                + ("." if s in RESTRICTED_VOLUME_SOURCES else " (refused: not restricted)."),
            }
            for s in sources
        },
        "x-kubernetes-validations": [
            {
                "rule": " && ".join(f"!has(self.{s})" for s in refused),
                "message": "volume sources are limited to "
                f"{', '.join(sorted(RESTRICTED_VOLUME_SOURCES))} (the restricted Pod Security "
                "Standard): no hostPath and no other source",
            },
            {
                "rule": f"[{present}].filter(x, x).size() == 1",
                "message": "a volume has exactly one source",
            },
        ],
    }


RestrictedVolume = Annotated[dict[str, Any], WithJsonSchema(_restricted_volume_schema())]


def _rule(rule: str, message: str) -> dict[str, Any]:
    return {"x-kubernetes-validations": [{"rule": rule, "message": message}]}


class Storage(SpecModel):
    """A PersistentVolumeClaim's size and class."""

    size: Quantity | None = Field(default=None, description="Requested size, e.g. 10Gi.")
    storage_class_name: ResourceName | None = Field(
        default=None, description="StorageClass; the cluster default when empty."
    )


class ExternalDatabase(SpecModel):
    """An existing PostgreSQL server, reached through URLs kept in a Secret.

    Both databases (``litemaas_db`` for the backend, ``litellm_db`` for LiteLLM) must exist.
    """

    secret_name: ResourceName = Field(description="Secret holding the two database URLs.")
    litemaas_url_key: str = Field(
        default="litemaas-database-url",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key of the backend's database URL.",
    )
    litellm_url_key: str = Field(
        default="litellm-database-url",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key of LiteLLM's database URL.",
    )


class DatabaseSpec(Workload):
    """PostgreSQL: an embedded StatefulSet (default) or an external server."""

    model_config = Workload.model_config | {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.mode) || self.mode != 'external' || has(self.external)",
                    "message": "database.external (a Secret with the database URLs) is "
                    "required when database.mode is external",
                },
                {
                    "rule": "!has(self.replicas) || self.replicas <= 1",
                    "message": "the embedded PostgreSQL runs one instance: database.replicas "
                    "must be 0 or 1",
                },
            ]
        }
    }

    mode: Literal["embedded", "external"] = Field(
        default="embedded",
        description="embedded (default): a PostgreSQL StatefulSet run by the operator; external: "
        "your own server, reached through the URLs in database.external.",
    )
    storage: Storage = Field(default_factory=Storage)
    delete_claim_on_delete: bool = Field(
        default=False,
        description="Delete the PostgreSQL volume (and the generated credentials it needs) "
        "when the LiteMaaS resource is deleted. Off by default: data outlives the resource.",
    )
    external: ExternalDatabase | None = None

    @model_validator(mode="after")
    def _check(self) -> DatabaseSpec:
        if self.mode == "external" and self.external is None:
            raise ValueError(
                "database.external (a Secret with the database URLs) is required when "
                "database.mode is external"
            )
        if self.replicas is not None and self.replicas > 1:
            raise ValueError("the embedded PostgreSQL runs one instance: replicas must be 0 or 1")
        return self


class RedisSpec(Workload):
    """Redis, LiteLLM's cache. Password-protected unless ``auth`` is turned off."""

    enabled: bool = Field(default=True, description="Run Redis as LiteLLM's cache (default true).")
    auth: bool = Field(default=True, description="Require a generated password (REDIS_PASSWORD).")


class LiteLLMSpec(Workload):
    """The LiteLLM proxy."""

    ui_username: str = Field(
        default="admin",
        min_length=1,
        max_length=128,
        pattern=USERNAME,
        description="User of LiteLLM's admin UI (<LiteLLM URL>/ui); its password is the key "
        "litellm-ui-password of <name>-credentials. Default admin.",
    )
    ssl_verify: bool | None = Field(
        default=None, description="Sets LiteLLM's SSL_VERIFY; false for self-signed model servers."
    )
    expose: bool = Field(
        default=True,
        description="Publish LiteLLM on its own Route/Ingress so API-key holders can reach it.",
    )
    extra_volumes: list[RestrictedVolume] | None = Field(
        default=None,
        max_length=32,
        description="core/v1 Volumes, e.g. a CA bundle ConfigMap; only the sources the "
        "restricted Pod Security Standard admits.",
    )
    extra_volume_mounts: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=32,
        description="core/v1 VolumeMounts of extraVolumes in the LiteLLM container.",
    )

    @field_validator("extra_volumes")
    @classmethod
    def _restricted_volumes(
        cls, volumes: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]] | None:
        for index, volume in enumerate(volumes or []):
            sources = set(volume) - {"name"}
            if not volume.get("name"):
                raise ValueError(f"volume {index} needs a name")
            if len(sources) != 1 or not sources <= RESTRICTED_VOLUME_SOURCES:
                raise ValueError(
                    f"volume {volume.get('name')!r} must have exactly one source of "
                    f"{', '.join(sorted(RESTRICTED_VOLUME_SOURCES))} (the restricted Pod "
                    f"Security Standard); got {', '.join(sorted(sources)) or 'none'}"
                )
        return volumes


class RateLimit(SpecModel):
    """Backend API rate limiting (not applied to LiteLLM)."""

    max: int = Field(
        default=1000, ge=1, le=10_000_000, description="Requests per client per time window."
    )
    time_window: str = Field(
        default="5m", pattern=DURATION, description="The window, e.g. 5m, 1h (default 5m)."
    )


class DefaultUserLimits(SpecModel):
    """Budget and limits given to each new user."""

    max_budget: float = Field(
        default=100, ge=0, description="Spending budget of a new user, in LiteLLM's currency."
    )
    tpm_limit: int = Field(default=100_000, ge=0, description="Tokens per minute (default 100000).")
    rpm_limit: int = Field(default=120, ge=0, description="Requests per minute (default 120).")


class CABundle(SpecModel):
    """A ConfigMap key holding PEM certificates to trust in addition to the public ones."""

    config_map_name: ResourceName = Field(
        description="ConfigMap in this namespace, e.g. one labelled "
        "config.openshift.io/inject-trusted-cabundle=true on OpenShift.",
    )
    key: str = Field(
        default="ca-bundle.crt",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key of the PEM bundle in the ConfigMap; default ca-bundle.crt.",
    )


class BackendSpec(Workload):
    """The Fastify backend."""

    model_config = Workload.model_config | {
        "json_schema_extra": _rule(
            "!has(self.replicas) || self.replicas <= 1",
            "backend.replicas must be 0 or 1: the backend keeps OAuth login state in memory and "
            "its backup volume is ReadWriteOnce, so a second replica breaks logins",
        )
    }

    log_level: Literal["fatal", "error", "warn", "info", "debug", "trace"] = Field(
        default="info", description="The backend's LOG_LEVEL (default info)."
    )
    jwt_expires_in: str = Field(
        default="24h",
        pattern=DURATION,
        description="How long a login session lasts, e.g. 8h or 7d (default 24h).",
    )
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    default_user: DefaultUserLimits = Field(default_factory=DefaultUserLimits)
    litellm_api_url: str | None = Field(
        default=None,
        pattern=HTTP_URL,
        description="URL the backend uses for LiteLLM and shows users. Defaults to LiteLLM's "
        "public URL, or its Service when LiteLLM is not exposed.",
    )
    node_tls_reject_unauthorized: bool = Field(
        default=True,
        description="false sets NODE_TLS_REJECT_UNAUTHORIZED=0: no TLS verification at all "
        "for the backend's outbound calls. Only for self-signed test clusters.",
    )
    backup_storage: Storage = Field(
        default_factory=Storage,
        description="The backend's own backup volume (ReadWriteOnce); size defaults to 5Gi.",
    )
    ca_bundle: CABundle | None = Field(
        default=None,
        description="Extra CAs the backend trusts for its outbound TLS (LiteLLM, the OpenShift "
        "API, OIDC providers), mounted and passed as NODE_EXTRA_CA_CERTS. Prefer this to "
        "nodeTlsRejectUnauthorized: false.",
    )
    fs_group: int | None = Field(
        default=None,
        ge=1,
        le=2147483647,
        description="fsGroup of the backend pod on plain Kubernetes, so its backup volume is "
        "writable; default 1001 (the image's user). Ignored on OpenShift, which assigns one.",
    )

    @model_validator(mode="after")
    def _one_replica(self) -> BackendSpec:
        if self.replicas is not None and self.replicas > 1:
            raise ValueError(
                "backend.replicas must be 0 or 1: the backend keeps OAuth login state in memory "
                "and its backup volume is ReadWriteOnce, so a second replica breaks logins"
            )
        return self


class FrontendSpec(Workload):
    """The React frontend (nginx)."""


class OAuthClientAuth(SpecModel):
    """Options for ``auth.mode: oauthclient``."""

    name: ResourceName | None = Field(
        default=None,
        description="OAuthClient name; defaults to litemaas-<namespace>-<name>-<hash>, unique "
        "per instance. The operator creates it only if no object of that name exists, and "
        "never changes or deletes an OAuthClient it did not create for this resource. Setting "
        "it needs the right to create OAuthClients (admission policy).",
    )
    grant_method: Literal["auto", "prompt"] = Field(
        default="auto",
        description="auto: no consent page; prompt: users approve the scopes at first login. "
        "Either way the client is limited to the user:info and user:check-access scopes.",
    )


class OIDCAuth(SpecModel):
    """A standard OpenID Connect provider (Keycloak, Entra ID, ...)."""

    issuer: str = Field(
        pattern=r"^https?://[^\s]+$",
        max_length=2048,
        description="The provider's issuer URL; its /.well-known/openid-configuration must be "
        "reachable from the backend.",
    )
    client_id: str = Field(
        min_length=1,
        max_length=512,
        description="Client ID registered with the provider, with redirect URI "
        "<frontend URL>/api/auth/callback.",
    )
    client_secret: SecretKeyRef = Field(description="Secret key holding the client secret.")
    groups_claim: str = Field(
        default="groups",
        min_length=1,
        max_length=128,
        description="Userinfo claim with the user's groups (litemaas-admins -> admin role).",
    )
    scopes: str = Field(
        default="openid profile email",
        min_length=1,
        max_length=1024,
        description="Scopes requested at login, space-separated.",
    )


class AuthSpec(SpecModel):
    """How users log in."""

    model_config = SpecModel.model_config | {
        "json_schema_extra": _rule(
            "!has(self.mode) || self.mode != 'oidc' || has(self.oidc)",
            "auth.oidc (issuer, clientId, clientSecret) is required when auth.mode is oidc",
        )
    }

    mode: Literal["oauthclient", "serviceaccount", "oidc"] | None = Field(
        default=None,
        description="serviceaccount (a ServiceAccount of the instance as OAuth client, "
        "OpenShift, needs no cluster-scoped object), oauthclient (a cluster-scoped OAuthClient, "
        "OpenShift; its author must be allowed to create OAuthClients), or oidc. Defaults to "
        "serviceaccount on OpenShift and oidc elsewhere.",
    )
    oauth_client: OAuthClientAuth = Field(default_factory=OAuthClientAuth)
    oidc: OIDCAuth | None = None
    initial_admin_users: Members | None = Field(
        default=None, max_length=256, description="Usernames granted the admin role at login."
    )
    oauth_issuer: str | None = Field(
        default=None,
        pattern=HTTP_URL,
        description="OpenShift's OAuth server URL. Default: the issuer the cluster publishes "
        "at its API server's /.well-known/oauth-authorization-server. Set it only for a custom "
        "OAuth route the cluster does not publish. (spec.domain never moves it.)",
    )
    openshift_api_url: str | None = Field(
        default=None,
        pattern=HTTP_URL,
        description="API server URL for user lookups; derived from the issuer when empty.",
    )
    skip_api_tls_verify: bool = Field(default=False, description="K8S_API_SKIP_TLS_VERIFY.")

    @model_validator(mode="after")
    def _oidc_needs_settings(self) -> AuthSpec:
        if self.mode == "oidc" and self.oidc is None:
            raise ValueError("auth.oidc (issuer, clientId, clientSecret) is required for oidc")
        return self


class GroupsSpec(SpecModel):
    """OpenShift Groups that map to LiteMaaS roles. Members are added, never taken from others.

    The groups are cluster-wide: litemaas-admins makes its members administrators of every
    LiteMaaS instance on the cluster. Managing them needs the right to update the three Groups
    (admission policy).
    """

    manage: bool = Field(
        default=False,
        description="Create litemaas-admins, litemaas-readonly and litemaas-users if missing and "
        "add the members below. The operator records the members it added and removes only "
        "those (on a change, or when the resource is deleted); members added by hand stay.",
    )
    admins: Members = Field(
        default_factory=list,
        max_length=1000,
        description="User names added to litemaas-admins (LiteMaaS admin role).",
    )
    readonly: Members = Field(
        default_factory=list,
        max_length=1000,
        description="User names added to litemaas-readonly (read-only admin views).",
    )
    users: Members = Field(
        default_factory=list,
        max_length=1000,
        description="User names added to litemaas-users (every logged-in user has this role "
        "anyway; the group is for platform bookkeeping).",
    )


class RouteTLS(SpecModel):
    """TLS of an OpenShift Route."""

    model_config = SpecModel.model_config | {
        "json_schema_extra": {
            "x-kubernetes-validations": _rule(
                "!has(self.termination) || self.termination != 'passthrough' || "
                "!has(self.insecureEdgeTerminationPolicy) || "
                "self.insecureEdgeTerminationPolicy != 'Allow'",
                "passthrough Routes cannot Allow plain HTTP: use Redirect or None",
            )["x-kubernetes-validations"]
            + _rule(
                "!has(self.termination) || self.termination != 'passthrough' || "
                "!has(self.certificateSecretName)",
                "passthrough Routes carry no certificate: the pods serve TLS themselves",
            )["x-kubernetes-validations"]
        }
    }

    termination: Literal["edge", "reencrypt", "passthrough"] = Field(
        default="edge",
        description="edge (default): the router terminates TLS and speaks HTTP to the pods. "
        "reencrypt and passthrough need pods that serve TLS themselves (e.g. behind a service "
        "mesh); LiteMaaS's own pods serve plain HTTP.",
    )
    insecure_edge_termination_policy: Literal["Redirect", "Allow", "None"] = Field(
        default="Redirect",
        description="What the router does with plain-HTTP requests: Redirect (default) to https, "
        "Allow them (not with passthrough), or None (refuse).",
    )

    certificate_secret_name: ResourceName | None = Field(
        default=None,
        description="A kubernetes.io/tls Secret in this namespace with the certificate for a "
        "custom host (routing.*.host), served by the router (Route spec.tls.externalCertificate, "
        "OpenShift 4.16+). The router's ServiceAccount needs read access to it: see "
        "docs/getting-started.md. Empty: the router's default certificate (the apps domain's "
        "wildcard). Not with passthrough.",
    )

    @model_validator(mode="after")
    def _passthrough_cannot_allow_http(self) -> RouteTLS:
        if self.termination == "passthrough" and self.insecure_edge_termination_policy == "Allow":
            raise ValueError("passthrough Routes cannot Allow plain HTTP: use Redirect or None")
        if self.termination == "passthrough" and self.certificate_secret_name:
            raise ValueError(
                "passthrough Routes carry no certificate: the pods serve TLS themselves"
            )
        return self


class HostSpec(SpecModel):
    """Public host for one endpoint."""

    host: str | None = Field(
        default=None,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="Host name; OpenShift's router assigns one when empty.",
    )
    annotations: dict[str, str] | None = Field(
        default=None,
        description="Annotations of this endpoint's Route or Ingress, added to (and overriding) "
        "routing.ingress.annotations and the operator's defaults.",
    )
    timeout: str | None = Field(
        default=None,
        pattern=r"^[0-9]+(s|m|h)$",
        description="How long the router waits for a response, e.g. 600s. LiteLLM defaults to "
        "10m (model calls often exceed the routers' default of 30-60 s, ending in 504s); the "
        "frontend to the router's own default. Sets haproxy.router.openshift.io/timeout on "
        "Routes and nginx.ingress.kubernetes.io/proxy-read-timeout and -send-timeout on "
        "Ingresses.",
    )
    tls: RouteTLS = Field(default_factory=RouteTLS, description="Route TLS (OpenShift).")


class IngressSpec(SpecModel):
    """Ingress settings, used on plain Kubernetes."""

    class_name: ResourceName | None = Field(
        default=None,
        description="IngressClass (spec.ingressClassName); the cluster's default class when empty.",
    )
    annotations: dict[str, str] | None = Field(
        default=None,
        description="Annotations of both Ingresses, e.g. cert-manager.io/cluster-issuer.",
    )
    tls_secret_name: ResourceName | None = Field(
        default=None,
        description="One TLS Secret for both hosts. When empty (and tls is on), each Ingress "
        "names its own Secret <ingress name>-tls, which cert-manager can fill.",
    )
    tls: bool = Field(
        default=True,
        description="Serve https (the URLs the operator derives use https). Turn off only for "
        "local clusters without TLS.",
    )


class RoutingSpec(SpecModel):
    """How the frontend and LiteLLM are published."""

    type: Literal["auto", "route", "ingress"] = Field(
        default="auto", description="auto: Route on OpenShift, Ingress elsewhere."
    )
    frontend: HostSpec = Field(default_factory=HostSpec)
    litellm: HostSpec = Field(default_factory=HostSpec)
    ingress: IngressSpec = Field(default_factory=IngressSpec)


class SecretsSpec(SpecModel):
    """Credentials to take from existing Secrets instead of generating them.

    Anything not named here is generated once, stored in the Secret ``<name>-credentials``,
    and never regenerated.
    """

    postgres_password: SecretKeyRef | None = None
    jwt_secret: SecretKeyRef | None = None
    oauth_client_secret: SecretKeyRef | None = None
    admin_api_keys: SecretKeyRef | None = Field(
        default=None, description="Comma-separated admin API keys (ltm_admin_...)."
    )
    litellm_master_key: SecretKeyRef | None = Field(
        default=None, description="LiteLLM's master key (sk-...), also the backend's API key."
    )
    backend_encryption_key: SecretKeyRef | None = Field(
        default=None,
        description="The backend's LITELLM_MASTER_KEY, which encrypts stored model API keys.",
    )
    litellm_ui_password: SecretKeyRef | None = None
    litellm_salt_key: SecretKeyRef | None = None
    redis_password: SecretKeyRef | None = None


class NetworkPolicySpec(SpecModel):
    """NetworkPolicies: the data stores are fenced off by default; enabled locks down the rest."""

    # Policies add up: to let another pod reach a data store (a backup tool, an exporter), a
    # user adds their own NetworkPolicy beside these; docs/network-policy.md says how.
    data_stores: bool = Field(
        default=True,
        description="Admit to the embedded PostgreSQL (port 5432) only this instance's backend "
        "and LiteLLM, and to Redis (port 6379) only the same two; all other traffic to those "
        "pods is denied. The frontend, backend and LiteLLM stay open. No policy is rendered "
        "for a data store that is not deployed (external database, Redis disabled). Implied "
        "by enabled.",
    )
    enabled: bool = Field(
        default=False,
        description="Full lockdown: deny all ingress to the instance's pods except the flows "
        "LiteMaaS needs: the ingress controller's namespace to the frontend, backend and "
        "LiteLLM, the frontend to the backend, the backend to LiteLLM, plus the data-store "
        "rules above. Pods elsewhere (monitoring, other namespaces) can no longer connect.",
    )
    ingress_namespace_selector: dict[str, str] | None = Field(
        default=None,
        description="With enabled: labels of the ingress controller's namespace, the only "
        "namespace admitted to the frontend, backend and LiteLLM. Defaults to OpenShift's "
        "policy-group.network.openshift.io/ingress label, or kubernetes.io/metadata.name="
        "ingress-nginx elsewhere.",
    )


class UpgradeSpec(SpecModel):
    """How a change of ``version`` (or of a component image) is rolled out.

    The operator backs up both databases, rolls the backend and frontend, and rolls LiteLLM
    once the backend runs the new version (docs/upgrade.md).
    """

    backup_before_upgrade: bool = Field(
        default=True,
        description="Take a LiteMaaSBackup (<name>-pre-upgrade-<version>-<hash>) before rolling "
        "anything, and roll nothing until it completes. Skipped when the database is external.",
    )
    allow_downgrade: bool = Field(
        default=False,
        description="Allow a version lower than the one running. The backend migrates its "
        "schema forward at start-up and an older backend may not read a newer schema: restore "
        "the pre-upgrade backup instead where you can.",
    )


class LiteMaaSSpec(SpecModel):
    """Desired state of one LiteMaaS installation."""

    version: str = Field(
        default=DEFAULT_VERSION,
        pattern=VERSION,
        max_length=63,
        description="LiteMaaS release, e.g. 0.5.0; selects the backend and frontend images.",
    )
    platform: Literal["auto", "openshift", "kubernetes"] = Field(
        default="auto", description="auto detects the OpenShift APIs."
    )
    domain: str | None = Field(
        default=None,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="Apps domain; read from the cluster's ingress config on OpenShift.",
    )
    database: DatabaseSpec = Field(default_factory=DatabaseSpec)
    redis: RedisSpec = Field(default_factory=RedisSpec)
    litellm: LiteLLMSpec = Field(default_factory=LiteLLMSpec)
    backend: BackendSpec = Field(default_factory=BackendSpec)
    frontend: FrontendSpec = Field(default_factory=FrontendSpec)
    auth: AuthSpec = Field(default_factory=AuthSpec)
    groups: GroupsSpec = Field(default_factory=GroupsSpec)
    routing: RoutingSpec = Field(default_factory=RoutingSpec)
    secrets: SecretsSpec = Field(default_factory=SecretsSpec)
    network_policy: NetworkPolicySpec = Field(default_factory=NetworkPolicySpec)
    upgrade: UpgradeSpec = Field(default_factory=UpgradeSpec)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    backup: BackupSpec = Field(default_factory=BackupSpec)
    image_pull_secrets: list[ResourceName] | None = Field(
        default=None,
        max_length=16,
        description="Secrets (kubernetes.io/dockerconfigjson, in this namespace) used to pull "
        "every image of this instance, e.g. from a mirror registry.",
    )


__all__ = [
    "DNS_LABEL",
    "AuthSpec",
    "BackendSpec",
    "DatabaseSpec",
    "EnvVar",
    "ExternalDatabase",
    "FrontendSpec",
    "GroupsSpec",
    "LiteLLMSpec",
    "LiteMaaSSpec",
    "NetworkPolicySpec",
    "RedisSpec",
    "RoutingSpec",
    "SecretsSpec",
    "UpgradeSpec",
]
