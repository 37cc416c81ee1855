"""Recognise an upstream LiteMaaS install from the objects found in one namespace. Pure.

``Found`` is what a read of the namespace gave (objects by kind and name, plus the cluster-scoped
OAuthClients and Groups); ``detect`` says which install it is (Kustomize guide or Helm release),
which of its objects are there, and the settings they hold. A half or unknown install raises
``RefusedError`` naming what is missing; nothing here talks to the API server.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

Obj = dict[str, Any]
Flavour = Literal["kustomize", "helm"]

# Namespaced kinds read from the install's namespace.
NAMESPACED_KINDS = (
    "Secret",
    "ConfigMap",
    "Deployment",
    "StatefulSet",
    "Service",
    "PersistentVolumeClaim",
    "ServiceAccount",
    "Route",
    "Ingress",
    # The Helm chart's: NetworkPolicies (0.5.0 networkPolicy.enabled), and its ServiceAccount
    # OAuth hook (Job, Role, RoleBinding), which Helm leaves behind after install.
    "NetworkPolicy",
    "Job",
    "Role",
    "RoleBinding",
)
GROUP_NAMES = ("litemaas-admins", "litemaas-readonly", "litemaas-users")


class RefusedError(Exception):
    """The namespace holds no install we can adopt; the message says what is missing."""


@dataclass
class Found:
    """Objects read from a namespace: ``objects[kind][name]``, and cluster-scoped ones."""

    namespace: str
    objects: dict[str, dict[str, Obj]] = field(default_factory=dict)
    oauth_clients: dict[str, Obj] = field(default_factory=dict)
    groups: dict[str, Obj] = field(default_factory=dict)
    namespace_labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_items(
        cls,
        namespace: str,
        items: list[Obj],
        oauth_clients: list[Obj] = (),  # type: ignore[assignment]
        groups: list[Obj] = (),  # type: ignore[assignment]
        namespace_labels: dict[str, str] | None = None,
    ) -> Found:
        found = cls(namespace, namespace_labels=dict(namespace_labels or {}))
        for item in items:
            found.objects.setdefault(item["kind"], {})[item["metadata"]["name"]] = item
        found.oauth_clients = {o["metadata"]["name"]: o for o in oauth_clients}
        found.groups = {g["metadata"]["name"]: g for g in groups}
        return found

    def get(self, kind: str, name: str) -> Obj | None:
        return self.objects.get(kind, {}).get(name)

    def all(self, kind: str) -> list[Obj]:
        return list(self.objects.get(kind, {}).values())


@dataclass(frozen=True)
class Ref:
    """One object of the old install."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class Layout:
    """Where each part of one flavour of install lives (names only)."""

    flavour: Flavour
    release: str | None
    postgres: str  # StatefulSet and Service
    postgres_secret: str
    postgres_init: str  # ConfigMap
    redis: str
    redis_secrets: tuple[str, ...]
    litellm: str
    litellm_secret: str
    backend: str
    backend_secret: str
    backend_config: str | None  # Helm's ConfigMap of non-secret env
    backend_backup: str  # PVC
    frontend: str
    service_account: str | None
    oauth_token: str | None
    frontend_routes: tuple[str, ...]
    litellm_routes: tuple[str, ...]

    def required(self) -> list[Ref]:
        """Objects without which this is a half install."""
        return [
            Ref("Secret", self.postgres_secret),
            Ref("Secret", self.backend_secret),
            Ref("Secret", self.litellm_secret),
            Ref("StatefulSet", self.postgres),
            Ref("Deployment", self.litellm),
            Ref("Deployment", self.backend),
            Ref("Deployment", self.frontend),
        ]


def kustomize_layout() -> Layout:
    """The names the upstream Kustomize guide creates (reference section 1)."""
    return Layout(
        flavour="kustomize",
        release=None,
        postgres="postgres",
        postgres_secret="postgres-secret",
        postgres_init="postgres-init-script",
        redis="litellm-redis",
        redis_secrets=("redis-auth",),
        litellm="litellm",
        litellm_secret="litellm-secret",
        backend="backend",
        backend_secret="backend-secret",
        backend_config=None,
        backend_backup="backend-backup",
        frontend="frontend",
        service_account=None,
        oauth_token=None,
        frontend_routes=("litemaas",),
        litellm_routes=("litellm",),
    )


def helm_fullname(release: str) -> str:
    """The chart's ``<fullname>``: the release name if it contains "litemaas"."""
    return release if "litemaas" in release else f"{release}-litemaas"


def helm_layout(release: str) -> Layout:
    """The names the upstream Helm chart gives a release (reference section 6)."""
    full = helm_fullname(release)
    return Layout(
        flavour="helm",
        release=release,
        postgres=f"{full}-postgresql",
        postgres_secret=f"{full}-postgresql",
        postgres_init=f"{full}-postgresql-init",
        redis=f"{full}-redis",
        redis_secrets=(f"{full}-redis",),
        litellm=f"{full}-litellm",
        litellm_secret=f"{full}-litellm",
        backend=f"{full}-backend",
        backend_secret=f"{full}-backend",
        backend_config=f"{full}-backend-config",
        backend_backup=f"{full}-backend-backup",
        frontend=full,
        service_account=full,
        oauth_token=f"{full}-oauth-token",
        frontend_routes=(full, f"{full}-frontend"),
        litellm_routes=(f"{full}-litellm",),
    )


def helm_releases(found: Found) -> list[str]:
    """Releases of the chart in the namespace, from the chart's labels (not our own objects)."""
    releases = set()
    for kind in ("Deployment", "StatefulSet"):
        for obj in found.all(kind):
            lab = obj["metadata"].get("labels") or {}
            if lab.get("app.kubernetes.io/name") != "litemaas":
                continue
            if lab.get("app.kubernetes.io/managed-by") == "litemaas-operator":
                continue
            if "app.kubernetes.io/instance" in lab:
                releases.add(lab["app.kubernetes.io/instance"])
    return sorted(releases)


def looks_like_kustomize(found: Found) -> bool:
    """Any of the Kustomize guide's workloads, by name and ``app`` label."""
    for kind, name in (
        ("StatefulSet", "postgres"),
        ("Deployment", "backend"),
        ("Deployment", "litellm"),
        ("Deployment", "frontend"),
    ):
        obj = found.get(kind, name)
        if obj and (obj["metadata"].get("labels") or {}).get("app") == name:
            return True
    return False


@dataclass
class Settings:
    """What the old install was configured with, as far as the operator's CR cares."""

    version: str | None
    version_source: str
    frontend_host: str | None
    litellm_host: str | None
    routing: Literal["route", "ingress", "none"]
    auth_mode: Literal["oauthclient", "serviceaccount", "oidc"]
    oauth_client_id: str | None
    oauth_issuer: str | None
    initial_admin_users: list[str]
    redis: bool
    litellm_ui_username: str | None
    database_size: str | None
    database_storage_class: str | None
    backup_size: str | None
    backup_storage_class: str | None
    groups: dict[str, list[str]]
    # Ingress installs (the Helm chart on plain Kubernetes): what the operator's Ingresses keep.
    ingress_class: str | None = None
    ingress_tls: bool = True
    ingress_tls_secret: str | None = None
    ingresses: dict[str, str] = field(default_factory=dict)  # name -> component (web, ai-proxy)
    # The old Route's or Ingress's own annotations per endpoint (cert-manager's issuer, router
    # timeouts), without the bookkeeping of kubectl, Helm and OpenShift.
    frontend_annotations: dict[str, str] = field(default_factory=dict)
    litellm_annotations: dict[str, str] = field(default_factory=dict)
    # OIDC (AUTH_PROVIDER=oidc): the backend's OIDC_GROUPS_CLAIM and OIDC_SCOPES when set.
    oidc_groups_claim: str | None = None
    oidc_scopes: str | None = None


@dataclass
class Detected:
    """An adoptable install: its layout, the objects present, settings and credentials."""

    layout: Layout
    namespace: str
    present: list[Ref]
    settings: Settings
    # Store key -> (value, "Secret/name key") of every credential read; values never printed.
    credentials: dict[str, tuple[str, str]]
    postgres_claim: str
    postgres_volume: str | None
    backup_claim: str | None
    backup_volume: str | None
    oauth_client: str | None  # the hand-made OAuthClient found, if any
    notes: list[str]


def _secret_values(obj: Obj | None) -> dict[str, str]:
    if not obj:
        return {}
    out = {k: base64.b64decode(v).decode() for k, v in (obj.get("data") or {}).items()}
    out.update(obj.get("stringData") or {})
    return out


def _container(obj: Obj | None) -> Obj:
    if not obj:
        return {}
    containers = obj["spec"]["template"]["spec"].get("containers") or [{}]
    return containers[0]


def _env(obj: Obj | None) -> dict[str, str]:
    """Literal env values of a workload's first container."""
    return {e["name"]: e["value"] for e in (_container(obj).get("env") or []) if "value" in e}


def _image_tag(obj: Obj | None) -> str | None:
    image = _container(obj).get("image") or ""
    last = image.rsplit("/", 1)[-1]
    if "@" in last or ":" not in last:
        return None
    return last.rsplit(":", 1)[1]


def _host_of(url: str | None) -> str | None:
    if not url or "://" not in url:
        return None
    return urlparse(url).hostname


def _claim_for(found: Found, sts: Obj) -> str:
    templates = sts["spec"].get("volumeClaimTemplates") or []
    vct = templates[0]["metadata"]["name"] if templates else "data"
    return f"{vct}-{sts['metadata']['name']}-0"


def _size(pvc: Obj | None) -> str | None:
    if not pvc:
        return None
    return ((pvc["spec"].get("resources") or {}).get("requests") or {}).get("storage")


def _routes(
    found: Found, names: tuple[str, ...], release: str | None, component: str
) -> Obj | None:
    for name in names:
        if obj := found.get("Route", name):
            return obj
    if release:
        for obj in found.all("Route"):
            lab = obj["metadata"].get("labels") or {}
            if lab.get("app.kubernetes.io/instance") == release and (
                lab.get("app.kubernetes.io/component") == component
            ):
                return obj
    return None


# Annotations that record who wrote an object, not how it should be served.
BOOKKEEPING_PREFIXES = (
    "kubectl.kubernetes.io/",
    "meta.helm.sh/",
    "openshift.io/host.generated",
    "deployment.kubernetes.io/",
)


def user_annotations(obj: Obj | None) -> dict[str, str]:
    """``obj``'s annotations a person set, for the operator's Route or Ingress to keep."""
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    return {
        k: v
        for k, v in sorted(annotations.items())
        if not k.startswith(BOOKKEEPING_PREFIXES) and isinstance(v, str)
    }


def _ingress(found: Found, release: str | None, component: str) -> Obj | None:
    """The install's Ingress for ``component`` (web, ai-proxy), with a host."""
    for obj in found.all("Ingress"):
        lab = obj["metadata"].get("labels") or {}
        if release and lab.get("app.kubernetes.io/instance") != release:
            continue
        if lab.get("app.kubernetes.io/component", lab.get("component")) != component:
            continue
        if _ingress_host(obj):
            return obj
    return None


def _ingress_host(obj: Obj | None) -> str | None:
    for rule in (obj or {}).get("spec", {}).get("rules") or []:
        if rule.get("host"):
            return str(rule["host"])
    return None


def choose_layout(found: Found, flavour: Flavour | None, release: str | None) -> Layout:
    """Which install to adopt: the one asked for, or the only one there."""
    releases = helm_releases(found)
    kustomize = looks_like_kustomize(found)
    if flavour == "kustomize":
        if not kustomize:
            raise RefusedError(
                f"no Kustomize-guide install in namespace {found.namespace}: none of "
                "StatefulSet/postgres, Deployment/backend, Deployment/litellm, "
                "Deployment/frontend (with their app labels) is there"
            )
        return kustomize_layout()
    if flavour == "helm" or release:
        if release is None:
            if len(releases) != 1:
                raise RefusedError(
                    f"{len(releases)} Helm releases of the litemaas chart in namespace "
                    f"{found.namespace} ({', '.join(releases) or 'none'}): name one with --release"
                )
            release = releases[0]
        return helm_layout(release)
    candidates = (["kustomize"] if kustomize else []) + [f"helm release {r}" for r in releases]
    if not candidates:
        raise RefusedError(
            f"no LiteMaaS install recognised in namespace {found.namespace}: looked for the "
            "Kustomize guide's StatefulSet/postgres and Deployments backend, litellm, frontend, "
            "and for workloads labelled app.kubernetes.io/name=litemaas by the Helm chart"
        )
    if len(candidates) > 1:
        raise RefusedError(
            f"more than one install in namespace {found.namespace} ({', '.join(candidates)}): "
            "choose one with --from kustomize|helm [--release NAME]"
        )
    return kustomize_layout() if kustomize else helm_layout(releases[0])


def detect(found: Found, flavour: Flavour | None = None, release: str | None = None) -> Detected:
    """Recognise the install in ``found``; raise ``RefusedError`` naming what is missing."""
    layout = choose_layout(found, flavour, release)
    what = (
        "Kustomize-guide install"
        if layout.flavour == "kustomize"
        else (f"Helm release {layout.release}")
    )
    missing = [r for r in layout.required() if found.get(r.kind, r.name) is None]
    sts = found.get("StatefulSet", layout.postgres)
    postgres_claim = _claim_for(found, sts) if sts else None
    if postgres_claim and found.get("PersistentVolumeClaim", postgres_claim) is None:
        missing.append(Ref("PersistentVolumeClaim", postgres_claim))
    if missing:
        raise RefusedError(
            f"half {what} in namespace {found.namespace}: missing "
            + ", ".join(str(m) for m in missing)
            + "; nothing was changed"
        )
    assert sts is not None and postgres_claim is not None
    pg = _secret_values(found.get("Secret", layout.postgres_secret))
    backend = _secret_values(found.get("Secret", layout.backend_secret))
    litellm = _secret_values(found.get("Secret", layout.litellm_secret))
    redis_values: dict[str, str] = {}
    redis_source = ""
    for name in layout.redis_secrets:
        if values := _secret_values(found.get("Secret", name)):
            redis_values, redis_source = values, name
            break
    problems = [
        f"Secret/{secret} has no key {key!r}"
        for secret, values, key in (
            (layout.postgres_secret, pg, "password"),
            (layout.backend_secret, backend, "jwt-secret"),
            (layout.litellm_secret, litellm, "master-key"),
        )
        if not values.get(key)
    ]
    if problems:
        raise RefusedError(f"half {what} in namespace {found.namespace}: " + "; ".join(problems))

    notes: list[str] = []
    credentials: dict[str, tuple[str, str]] = {}

    def take(key: str, values: dict[str, str], secret: str, source_key: str) -> None:
        if values.get(source_key):
            credentials[key] = (values[source_key], f"Secret/{secret} {source_key}")

    take("postgres-password", pg, layout.postgres_secret, "password")
    take("jwt-secret", backend, layout.backend_secret, "jwt-secret")
    take("admin-api-keys", backend, layout.backend_secret, "admin-api-keys")
    take("litellm-master-key", litellm, layout.litellm_secret, "master-key")
    take("litellm-ui-password", litellm, layout.litellm_secret, "ui-password")
    take("backend-encryption-key", backend, layout.backend_secret, "litellm-master-key")
    if "backend-encryption-key" not in credentials:
        # The backend falls back to LITELLM_API_KEY as its encryption key.
        take("backend-encryption-key", backend, layout.backend_secret, "litellm-api-key")
    for key in ("salt-key", "litellm-salt-key"):
        take("litellm-salt-key", litellm, layout.litellm_secret, key)
    if "litellm-salt-key" not in credentials:
        # Without a salt key LiteLLM encrypted stored model credentials with its master key; the
        # operator always sets LITELLM_SALT_KEY, so it must be that same value to read them.
        credentials["litellm-salt-key"] = (
            credentials["litellm-master-key"][0],
            f"Secret/{layout.litellm_secret} master-key (no salt key was set: LiteLLM encrypted "
            "with its master key)",
        )
    if redis_values:
        take("redis-password", redis_values, redis_source, "password")
    if backend.get("litellm-api-key") and backend["litellm-api-key"] != litellm["master-key"]:
        notes.append(
            f"Secret/{layout.backend_secret} litellm-api-key differs from LiteLLM's master key; "
            "the operator gives the backend LiteLLM's master key"
        )

    backend_dep = found.get("Deployment", layout.backend)
    env = _env(backend_dep)
    if layout.backend_config:
        cm = found.get("ConfigMap", layout.backend_config)
        env = {**((cm or {}).get("data") or {}), **env}
    client_id = backend.get("oauth-client-id") or None
    if env.get("AUTH_PROVIDER") == "oidc":
        auth_mode: Literal["oauthclient", "serviceaccount", "oidc"] = "oidc"
    elif client_id and client_id.startswith("system:serviceaccount:"):
        auth_mode = "serviceaccount"
    else:
        auth_mode = "oauthclient"
    if auth_mode != "serviceaccount":
        take("oauth-client-secret", backend, layout.backend_secret, "oauth-client-secret")
    else:
        notes.append(
            "ServiceAccount login: its secret is the ServiceAccount's token; the operator's own "
            "ServiceAccount and token replace it (nothing to import)"
        )
    oauth_client = (
        client_id if auth_mode == "oauthclient" and client_id in found.oauth_clients else None
    )
    if auth_mode == "oauthclient" and client_id and oauth_client is None:
        notes.append(f"OAuthClient {client_id} named by the backend was not found")

    # Version: the backend image's tag, unless it is `latest` (the Kustomize guide's defect).
    tag = _image_tag(backend_dep)
    version, source = None, "unknown"
    if tag and tag != "latest":
        version, source = tag.removeprefix("v"), f"Deployment/{layout.backend} image tag"
    else:
        for labels, where in (
            (found.namespace_labels, f"Namespace/{found.namespace} label"),
            (
                (backend_dep or {})["metadata"].get("labels") or {},
                f"Deployment/{layout.backend} label",
            ),
        ):
            if labels.get("app.kubernetes.io/version"):
                version, source = labels["app.kubernetes.io/version"], where
                break
        if tag == "latest":
            notes.append(
                f"the backend runs the image tag `latest`; version taken from the {source}"
            )

    front_route = _routes(found, layout.frontend_routes, layout.release, "web")
    llm_route = _routes(found, layout.litellm_routes, layout.release, "ai-proxy")
    frontend_host = ((front_route or {}).get("spec") or {}).get("host")
    litellm_host = ((llm_route or {}).get("spec") or {}).get("host")
    routing: Literal["route", "ingress", "none"] = "route" if front_route else "none"
    front_ingress = llm_ingress = None
    if not frontend_host:
        front_ingress = _ingress(found, layout.release, "web")
        if front_ingress:
            frontend_host, routing = _ingress_host(front_ingress), "ingress"
            llm_ingress = _ingress(found, layout.release, "ai-proxy")
            litellm_host = litellm_host or _ingress_host(llm_ingress)
    ingress_spec = (front_ingress or {}).get("spec") or {}
    tls_secrets = [t.get("secretName") for t in ingress_spec.get("tls") or []]
    llm_secrets = [
        t.get("secretName") for t in ((llm_ingress or {}).get("spec") or {}).get("tls") or []
    ]
    if tls_secrets and llm_secrets and llm_secrets[:1] != tls_secrets[:1]:
        notes.append(
            f"the LiteLLM Ingress's TLS Secret {llm_secrets[0]} differs from the frontend's "
            f"{tls_secrets[0]}: the operator serves both hosts with {tls_secrets[0]}; make it "
            "cover both hosts, or set spec.routing.ingress.tlsSecretName"
        )
    frontend_host = (
        frontend_host
        or _host_of(backend.get("cors-origin"))
        or _host_of(backend.get("oauth-callback-url"))
    )
    litellm_host = litellm_host or _host_of(env.get("LITELLM_API_URL"))

    admins = [u.strip() for u in (env.get("INITIAL_ADMIN_USERS") or "").split(",") if u.strip()]
    pg_pvc = found.get("PersistentVolumeClaim", postgres_claim)
    backup_pvc = found.get("PersistentVolumeClaim", layout.backend_backup)
    groups = {
        name: list(found.groups[name].get("users") or [])
        for name in GROUP_NAMES
        if name in found.groups
    }
    settings = Settings(
        version=version,
        version_source=source,
        frontend_host=frontend_host,
        litellm_host=litellm_host,
        routing=routing,
        auth_mode=auth_mode,
        oauth_client_id=client_id,
        oauth_issuer=backend.get("oauth-issuer") or None,
        oidc_groups_claim=env.get("OIDC_GROUPS_CLAIM") or None,
        oidc_scopes=env.get("OIDC_SCOPES") or None,
        initial_admin_users=admins,
        redis=found.get("Deployment", layout.redis) is not None,
        litellm_ui_username=litellm.get("ui-username") or None,
        database_size=_size(pg_pvc),
        database_storage_class=(pg_pvc or {}).get("spec", {}).get("storageClassName"),
        backup_size=_size(backup_pvc),
        backup_storage_class=(backup_pvc or {}).get("spec", {}).get("storageClassName"),
        groups=groups,
        ingress_class=ingress_spec.get("ingressClassName"),
        # Served over https only when the old Ingress had a tls block: the URLs stay as they were.
        ingress_tls=bool(tls_secrets) or front_ingress is None,
        ingress_tls_secret=tls_secrets[0] if tls_secrets and tls_secrets[0] else None,
        frontend_annotations=user_annotations(front_route or front_ingress),
        litellm_annotations=user_annotations(llm_route or llm_ingress),
        ingresses={
            o["metadata"]["name"]: c
            for o, c in ((front_ingress, "web"), (llm_ingress, "ai-proxy"))
            if o is not None
        },
    )
    present = [
        Ref(kind, name)
        for kind in NAMESPACED_KINDS
        for name in sorted(found.objects.get(kind, {}))
        if _belongs(layout, kind, name, found.objects[kind][name], postgres_claim)
    ]
    return Detected(
        layout=layout,
        namespace=found.namespace,
        present=present,
        settings=settings,
        credentials=credentials,
        postgres_claim=postgres_claim,
        postgres_volume=(pg_pvc or {}).get("spec", {}).get("volumeName"),
        backup_claim=layout.backend_backup if backup_pvc else None,
        backup_volume=(backup_pvc or {}).get("spec", {}).get("volumeName"),
        oauth_client=oauth_client,
        notes=notes,
    )


def _belongs(layout: Layout, kind: str, name: str, obj: Obj, postgres_claim: str) -> bool:
    """Whether an object found in the namespace is part of the install being adopted."""
    lab = obj["metadata"].get("labels") or {}
    if lab.get("app.kubernetes.io/managed-by") == "litemaas-operator":
        return False
    if layout.flavour == "helm":
        if name.startswith("sh.helm.release.v1.") and name.split(".")[4:5] == [layout.release]:
            return True
        return lab.get("app.kubernetes.io/instance") == layout.release or name in (
            postgres_claim,
            layout.backend_backup,
            layout.oauth_token,
        )
    names = {
        layout.postgres,
        layout.postgres_secret,
        layout.postgres_init,
        layout.redis,
        *layout.redis_secrets,
        layout.litellm,
        layout.litellm_secret,
        layout.backend,
        layout.backend_secret,
        layout.backend_backup,
        layout.frontend,
        *layout.frontend_routes,
        *layout.litellm_routes,
        postgres_claim,
    }
    return name in names
