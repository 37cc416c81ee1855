"""Installs shaped like upstream LiteMaaS's, written from reference/litemaas-deployment.md.

``kustomize_install`` is what `preparation.sh` + `oc apply -k` leaves in a namespace (section 1
and 2), ``helm_install`` what the chart renders for a release (section 6), with known credential
values. Both are lists of plain manifests: unit tests read them as found objects, integration
tests create them on the harness cluster. Nothing here is copied from upstream.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Values:
    """The values of a `user-values.env` (or Helm values), all known to the test."""

    namespace: str
    domain: str = "apps.example.com"
    version: str = "0.4.0"
    pg_password: str = "pg-pass_0123456789abcdef"
    jwt_secret: str = "jwt-secret-0123456789abcdefghij"
    oauth_client_id: str = "litemaas-oauth-client"
    oauth_client_secret: str = "oauth-secret-0123456789"
    admin_api_key: str = "ltm_admin_0123456789abcdef"
    litellm_api_key: str = "sk-litellm-master-0123456789"
    litellm_master_key: str = "backend-encryption-0123456789"  # the backend's own key
    ui_username: str = "admin"
    ui_password: str = "ui-pass-0123456789"
    admins: str = "alice,bob"


def _b64(data: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}


def _secret(name: str, labels: dict[str, str], data: dict[str, str]) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": labels},
        "type": "Opaque",
        "data": _b64(data),
    }


def _deployment(
    name: str,
    labels: dict[str, str],
    selector: dict[str, str],
    image: str,
    env: list[Obj],
    volumes: list[Obj] | None = None,
) -> Obj:
    pod: Obj = {"containers": [{"name": name.rsplit("-", 1)[-1], "image": image, "env": env}]}
    if volumes:
        pod["volumes"] = volumes
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": {**selector, **labels}}, "spec": pod},
        },
    }


def _statefulset(
    name: str, labels: dict[str, str], selector: dict[str, str], secret: str, vct: str, size: str
) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": {**selector, **labels}},
                "spec": {
                    "containers": [
                        {
                            "name": "postgres",
                            "image": "postgres:16-alpine",
                            "env": [
                                {"name": "POSTGRES_DB", "value": "litemaas_db"},
                                {
                                    "name": "POSTGRES_USER",
                                    "valueFrom": {
                                        "secretKeyRef": {"name": secret, "key": "username"}
                                    },
                                },
                                {
                                    "name": "POSTGRES_PASSWORD",
                                    "valueFrom": {
                                        "secretKeyRef": {"name": secret, "key": "password"}
                                    },
                                },
                                {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
                            ],
                            "volumeMounts": [
                                {"name": vct, "mountPath": "/var/lib/postgresql/data"}
                            ],
                        }
                    ]
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": vct},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": size}},
                    },
                }
            ],
        },
    }


def _service(
    name: str, labels: dict[str, str], selector: dict[str, str], port: int, named: bool = True
) -> Obj:
    p: Obj = {"port": port, "targetPort": port}
    if named:
        p["name"] = "http"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {"selector": selector, "ports": [p]},
    }


def _pvc(name: str, labels: dict[str, str], size: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }


def _route(name: str, labels: dict[str, str], service: str, host: str | None) -> Obj:
    spec: Obj = {
        "to": {"kind": "Service", "name": service},
        "port": {"targetPort": "http"},
        "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"},
        "wildcardPolicy": "None",
    }
    if host:
        spec["host"] = host
    return {
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def _env(pairs: dict[str, str]) -> list[Obj]:
    return [{"name": k, "value": v} for k, v in pairs.items()]


def _secret_env(secret: str, pairs: dict[str, str]) -> list[Obj]:
    return [
        {"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": v}}}
        for k, v in pairs.items()
    ]


OIDC_ISSUER = "https://sso.example.com/realms/litemaas"

BACKEND_KEYS = {
    "DATABASE_URL": "database-url",
    "CORS_ORIGIN": "cors-origin",
    "JWT_SECRET": "jwt-secret",
    "OAUTH_CLIENT_ID": "oauth-client-id",
    "OAUTH_CLIENT_SECRET": "oauth-client-secret",
    "OAUTH_ISSUER": "oauth-issuer",
    "OAUTH_CALLBACK_URL": "oauth-callback-url",
    "ADMIN_API_KEYS": "admin-api-keys",
    "LITELLM_API_KEY": "litellm-api-key",
    "LITELLM_MASTER_KEY": "litellm-master-key",
    "LITELLM_DATABASE_URL": "litellm-database-url",
}


def _backend_secret_data(v: Values, frontend_host: str, client_id: str) -> dict[str, str]:
    pw = v.pg_password
    return {
        "database-url": f"postgresql://litemaas_admin:{pw}@postgres:5432/litemaas_db?sslmode=disable",
        "cors-origin": f"https://{frontend_host}",
        "jwt-secret": v.jwt_secret,
        "oauth-client-id": client_id,
        "oauth-client-secret": v.oauth_client_secret,
        "oauth-issuer": f"https://oauth-openshift.{v.domain}",
        "oauth-callback-url": f"https://{frontend_host}/api/auth/callback",
        "admin-api-keys": v.admin_api_key,
        "litellm-api-key": v.litellm_api_key,
        "litellm-master-key": v.litellm_master_key,
        "litellm-database-url": f"postgresql://litemaas_admin:{pw}@postgres:5432/litellm_db",
    }


def kustomize_install(v: Values, with_routes: bool = True, oidc: bool = False) -> list[Obj]:
    """What the Kustomize guide creates in ``v.namespace`` (the Namespace itself aside).

    ``oidc``: applied with ``overlays/oidc/`` (the backend's env patched to AUTH_PROVIDER=oidc,
    OIDC_GROUPS_CLAIM, OIDC_SCOPES; the backend Secret's issuer edited by hand to the
    provider's, ``OIDC_ISSUER``) and no OAuthClient.
    """
    ns, dom = v.namespace, v.domain
    front = f"litemaas-{ns}.{dom}"
    llm = f"litellm-{ns}.{dom}"
    backend_data = _backend_secret_data(v, front, v.oauth_client_id)
    backend_env = {
        "NODE_ENV": "production",
        "LITELLM_API_URL": f"https://{llm}",
        "INITIAL_ADMIN_USERS": v.admins,
    }
    if oidc:
        backend_data["oauth-issuer"] = OIDC_ISSUER
        backend_env |= {
            "AUTH_PROVIDER": "oidc",
            "OIDC_GROUPS_CLAIM": "roles",
            "OIDC_SCOPES": "openid profile email",
        }

    def lab(app: str, component: str | None) -> dict[str, str]:
        return {"app": app, **({"component": component} if component else {})}

    objs = [
        _secret(
            "postgres-secret",
            lab("postgres", "database"),
            {"username": "litemaas_admin", "password": v.pg_password},
        ),
        _secret(
            "backend-secret",
            lab("backend", "api"),
            backend_data,
        ),
        _secret(
            "litellm-secret",
            lab("litellm", "ai-proxy"),
            {
                "database-url": f"postgresql://litemaas_admin:{v.pg_password}@postgres:5432/litellm_db",
                "master-key": v.litellm_api_key,
                "ui-username": v.ui_username,
                "ui-password": v.ui_password,
            },
        ),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "postgres-init-script", "labels": lab("postgres", "database")},
            "data": {"init-db.sh": "#!/bin/sh\n"},
        },
        _statefulset(
            "postgres",
            lab("postgres", "database"),
            {"app": "postgres"},
            "postgres-secret",
            "postgres-storage",
            "10Gi",
        ),
        _service("postgres", lab("postgres", "database"), {"app": "postgres"}, 5432, False),
        _deployment(
            "litellm-redis",
            {"app": "litellm-redis"},
            {"app": "litellm-redis"},
            "redis:7-alpine",
            [],
        ),
        _service("litellm-redis", {"app": "litellm-redis"}, {"app": "litellm-redis"}, 6379, False),
        _deployment(
            "litellm",
            lab("litellm", "ai-proxy"),
            {"app": "litellm"},
            "quay.io/rh-aiservices-bu/litellm-non-root:main-v1.81.0-stable-custom",
            _secret_env(
                "litellm-secret",
                {"DATABASE_URL": "database-url", "LITELLM_MASTER_KEY": "master-key"},
            )
            + _env({"REDIS_HOST": "litellm-redis", "REDIS_PORT": "6379"}),
        ),
        _service("litellm", lab("litellm", "ai-proxy"), {"app": "litellm"}, 4000),
        _deployment(
            "backend",
            lab("backend", "api"),
            {"app": "backend"},
            # The guide's `newTag: latest` overrides the version (reference section 7).
            "quay.io/rh-aiservices-bu/litemaas-backend:latest",
            _secret_env("backend-secret", BACKEND_KEYS) + _env(backend_env),
            [{"name": "backup", "persistentVolumeClaim": {"claimName": "backend-backup"}}],
        ),
        _service("backend", lab("backend", "api"), {"app": "backend"}, 8080),
        _pvc("backend-backup", lab("backend", "api"), "5Gi"),
        _deployment(
            "frontend",
            lab("frontend", "web"),
            {"app": "frontend"},
            "quay.io/rh-aiservices-bu/litemaas-frontend:latest",
            _env({"BACKEND_URL": "http://backend:8080"}),
        ),
        _service("frontend", lab("frontend", "web"), {"app": "frontend"}, 8080),
    ]
    if with_routes:
        objs += [
            _route("litemaas", lab("frontend", "web"), "frontend", front),
            _route("litellm", lab("litellm", "ai-proxy"), "litellm", llm),
        ]
    return objs


def kustomize_namespace_labels(v: Values) -> dict[str, str]:
    """The labels the guide's kustomization puts on the Namespace."""
    return {
        "name": v.namespace,
        "app.kubernetes.io/name": "litemaas",
        "app.kubernetes.io/instance": "litemaas",
        "app.kubernetes.io/version": v.version,
        "app.kubernetes.io/component": v.namespace,
        "app.kubernetes.io/part-of": "litemaas",
    }


def oauth_client(v: Values) -> Obj:
    """The OAuthClient the guide has the admin create by hand (reference section 4)."""
    return {
        "apiVersion": "oauth.openshift.io/v1",
        "kind": "OAuthClient",
        "metadata": {"name": v.oauth_client_id},
        "secret": v.oauth_client_secret,
        "redirectURIs": [f"https://litemaas-{v.namespace}.{v.domain}/api/auth/callback"],
        "grantMethod": "auto",
    }


def _ingress(name: str, labels: dict[str, str], service: str, host: str, tls: str | None) -> Obj:
    """The chart's Ingress (``ingress.enabled``): path ``/`` Prefix to the component's Service."""
    spec: Obj = {
        "ingressClassName": "nginx",
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": service, "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ],
    }
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": tls}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def helm_install(
    v: Values,
    release: str = "prod",
    redis: bool = True,
    hosts: tuple[str, str] | None = None,
    platform: str = "openshift",
    redis_password: str | None = None,
    tls_secret: str | None = None,
    network_policy: bool = False,
) -> list[Obj]:
    """What the Helm chart renders for ``release``, with Helm's release Secret beside it.

    On ``platform`` openshift (the chart's default): ServiceAccount OAuth, Routes. On kubernetes
    (``global.platform: kubernetes``, ``ingress.enabled``, ``oauth.authProvider: oidc``):
    Ingresses of class nginx (TLS from ``tls_secret`` when given) and OIDC login against
    ``OIDC_ISSUER`` with client id ``v.oauth_client_id``. ``hosts`` (frontend, LiteLLM) are the
    chart's ``route|ingress.{frontend,litellm}.host``; by default the hosts OpenShift would
    generate. ``redis_password`` is 0.5.0's ``redis.auth.password``, ``network_policy`` its
    ``networkPolicy.enabled`` (a deny-all policy, then one allow per component; two here).
    """
    full = release if "litemaas" in release else f"{release}-litemaas"
    ns, dom = v.namespace, v.domain
    front = f"{full}-{ns}.{dom}"
    llm = f"{full}-litellm-{ns}.{dom}"
    if hosts:
        front, llm = hosts
    openshift = platform == "openshift"

    def lab(component: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": "litemaas",
            "app.kubernetes.io/instance": release,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/managed-by": "Helm",
            "app.kubernetes.io/version": v.version,
            "helm.sh/chart": "litemaas-0.1.0",
        }

    def sel(component: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": "litemaas",
            "app.kubernetes.io/instance": release,
            "app.kubernetes.io/component": component,
        }

    client_id = f"system:serviceaccount:{ns}:{full}" if openshift else v.oauth_client_id
    backend_data = _backend_secret_data(v, front, client_id)
    config = {
        "NODE_ENV": "production",
        "LITELLM_API_URL": f"https://{llm}",
        "INITIAL_ADMIN_USERS": v.admins,
    }
    if not openshift:
        backend_data["oauth-issuer"] = OIDC_ISSUER
        config |= {"AUTH_PROVIDER": "oidc", "OIDC_GROUPS_CLAIM": "groups"}
    objs = [
        {
            # Helm's record of the release (`helm install` writes it; `helm uninstall` deletes).
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": f"sh.helm.release.v1.{release}.v1",
                "labels": {"name": release, "owner": "helm", "status": "deployed", "version": "1"},
            },
            "type": "helm.sh/release.v1",
            "data": _b64({"release": "H4sIAAAAAAAA"}),
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": full, "labels": lab("oauth")},
        },
        _secret(
            f"{full}-postgresql",
            lab("database"),
            {"username": "litemaas_admin", "password": v.pg_password},
        ),
        _secret(f"{full}-backend", lab("api"), backend_data),
        _secret(
            f"{full}-litellm",
            lab("ai-proxy"),
            {
                "database-url": f"postgresql://litemaas_admin:{v.pg_password}@{full}-postgresql:5432/litellm_db",
                "master-key": v.litellm_api_key,
                "ui-username": v.ui_username,
                "ui-password": v.ui_password,
            },
        ),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{full}-backend-config", "labels": lab("api")},
            "data": config,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{full}-postgresql-init", "labels": lab("database")},
            "data": {"init-db.sh": "#!/bin/sh\n"},
        },
        _statefulset(
            f"{full}-postgresql",
            lab("database"),
            sel("database"),
            f"{full}-postgresql",
            "data",
            "20Gi",
        ),
        _service(f"{full}-postgresql", lab("database"), sel("database"), 5432, False),
        _deployment(
            f"{full}-litellm",
            lab("ai-proxy"),
            sel("ai-proxy"),
            "quay.io/rh-aiservices-bu/litellm-non-root:main-v1.81.0-stable-custom",
            [],
        ),
        _service(f"{full}-litellm", lab("ai-proxy"), sel("ai-proxy"), 4000),
        _deployment(
            f"{full}-backend",
            lab("api"),
            sel("api"),
            f"quay.io/rh-aiservices-bu/litemaas-backend:{v.version}",
            _secret_env(f"{full}-backend", BACKEND_KEYS),
            [{"name": "backup", "persistentVolumeClaim": {"claimName": f"{full}-backend-backup"}}],
        ),
        _service(f"{full}-backend", lab("api"), sel("api"), 8080),
        _pvc(f"{full}-backend-backup", lab("api"), "5Gi"),
        _deployment(
            full,
            lab("web"),
            sel("web"),
            f"quay.io/rh-aiservices-bu/litemaas-frontend:{v.version}",
            [],
        ),
        _service(full, lab("web"), sel("web"), 8080),
    ]
    if openshift:
        objs += [
            _route(full, lab("web"), full, front),
            _route(f"{full}-litellm", lab("ai-proxy"), f"{full}-litellm", llm),
            {
                # The ServiceAccount's token: the OAuth client secret in ServiceAccount mode.
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": f"{full}-oauth-token",
                    "labels": lab("oauth"),
                    "annotations": {"kubernetes.io/service-account.name": full},
                },
                "type": "kubernetes.io/service-account-token",
            },
            *_oauth_hook(full, lab("oauth"), ns),
        ]
    else:
        objs += [
            _ingress(full, lab("web"), full, front, tls_secret),
            _ingress(f"{full}-litellm", lab("ai-proxy"), f"{full}-litellm", llm, tls_secret),
        ]
    if redis:
        objs += [
            _deployment(f"{full}-redis", lab("cache"), sel("cache"), "redis:7-alpine", []),
            _service(f"{full}-redis", lab("cache"), sel("cache"), 6379, False),
        ]
        if redis_password:
            objs.append(_secret(f"{full}-redis", lab("cache"), {"password": redis_password}))
    if network_policy:
        objs += [
            _network_policy(f"{full}-default-deny", lab("database"), {}, []),
            _network_policy(
                f"{full}-postgresql",
                lab("database"),
                sel("database"),
                [{"podSelector": {"matchLabels": sel(c)}} for c in ("api", "ai-proxy")],
            ),
        ]
    return objs


def _network_policy(
    name: str, labels: dict[str, str], selector: dict[str, str], sources: list[Obj]
) -> Obj:
    spec: Obj = {"podSelector": {"matchLabels": selector} if selector else {}}
    spec["policyTypes"] = ["Ingress"]
    if sources:
        spec["ingress"] = [{"from": sources}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": labels},
        "spec": spec,
    }


def _oauth_hook(full: str, labels: dict[str, str], ns: str) -> list[Obj]:
    """The chart's post-install hook for ServiceAccount OAuth: a Job with a Role to patch the
    Route host into the backend's settings. Helm keeps hook objects after they ran."""
    hook = {"helm.sh/hook": "post-install,post-upgrade"}
    meta = {"labels": labels, "annotations": hook}
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"{full}-hook", **meta},
            "rules": [
                {
                    "apiGroups": ["", "apps", "route.openshift.io"],
                    "resources": [
                        "routes",
                        "serviceaccounts",
                        "secrets",
                        "configmaps",
                        "deployments",
                    ],
                    "verbs": ["get", "patch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": f"{full}-hook", **meta},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": f"{full}-hook",
            },
            "subjects": [{"kind": "ServiceAccount", "name": full, "namespace": ns}],
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": f"{full}-oauth-setup", **meta},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": full,
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "setup",
                                "image": "bitnami/kubectl:latest",
                                "command": ["/bin/sh", "-c", "true"],
                            }
                        ],
                    },
                },
            },
        },
    ]


def bound(objs: list[Obj], volumes: dict[str, str]) -> list[Obj]:
    """``objs`` with the named PVCs shown Bound to the given PVs (for unit tests)."""
    out = []
    for obj in objs:
        if obj["kind"] == "PersistentVolumeClaim" and obj["metadata"]["name"] in volumes:
            obj = {**obj, "spec": {**obj["spec"], "volumeName": volumes[obj["metadata"]["name"]]}}
        out.append(obj)
    return out


def statefulset_claims(objs: list[Obj]) -> list[Obj]:
    """The PVCs the StatefulSet controller would create for pod 0 (no pods run in unit tests)."""
    out = []
    for obj in objs:
        if obj["kind"] != "StatefulSet":
            continue
        for vct in obj["spec"]["volumeClaimTemplates"]:
            name = f"{vct['metadata']['name']}-{obj['metadata']['name']}-0"
            size = vct["spec"]["resources"]["requests"]["storage"]
            out.append(_pvc(name, obj["spec"]["selector"]["matchLabels"], size))
    return out
