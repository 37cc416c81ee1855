"""What the upstream deployment sets up (reference sections 1, 2 and 5) is all in the output.

The expected tables are copied from ../shared/reference/litemaas-deployment.md. Where the
operator deliberately differs from upstream, the table holds the new behaviour and says why:
- object names carry the CR's name (``<cr>-backend`` instead of ``backend``), so two instances
  can share a namespace; the frontend Route keeps the CR's own name;
- LiteLLM gets a ``LITELLM_SALT_KEY`` from day one, and Redis a password (upstream 0.5.0);
- the backend's and LiteLLM's database URLs URL-encode the password, and the backend's has
  ``sslmode=disable``;
- ``wait-for-backend`` uses the frontend image, not an OpenShift-internal-registry image;
- the database wait uses ``pg_isready`` with the URL from the Secret (no inlined password).
"""

from __future__ import annotations

from typing import Any

import pytest
from rendering import (
    CREDENTIALS,
    DOMAIN,
    INSTANCE,
    KUBERNETES_BASE,
    OPENSHIFT_SAMPLE,
    container,
    env_of,
    find,
    quantity,
    render,
    sample_spec,
)

from litemaas_operator.render.names import Names
from litemaas_operator.render.secrets import decode

NS = INSTANCE.namespace
CR = INSTANCE.name  # "litemaas", so the frontend host is upstream's litemaas-<ns>.<domain>
FRONTEND_URL = f"https://litemaas-{NS}.{DOMAIN}"
LITELLM_URL = f"https://litemaas-litellm-{NS}.{DOMAIN}"


@pytest.fixture(scope="module")
def openshift() -> list[dict[str, Any]]:
    # Upstream's Kustomize install logs in through an OAuthClient (the operator's default on
    # OpenShift is a ServiceAccount, which needs no cluster-scoped object).
    spec = sample_spec(OPENSHIFT_SAMPLE)
    spec["auth"] = {**spec.get("auth", {}), "mode": "oauthclient"}
    state = render(spec, "openshift")
    assert state.problems == []
    return state.objects


@pytest.fixture(scope="module")
def kubernetes() -> list[dict[str, Any]]:
    state = render(KUBERNETES_BASE, "kubernetes")
    assert state.problems == []
    return state.objects


# §1.1: upstream object name -> the operator's name for it.
OBJECTS = [
    ("Secret", "postgres-secret", f"{CR}-postgres"),
    ("Secret", "backend-secret", f"{CR}-backend"),
    ("Secret", "litellm-secret", f"{CR}-litellm"),
    ("ConfigMap", "postgres-init-script", f"{CR}-postgres-init"),
    ("StatefulSet", "postgres", f"{CR}-postgres"),
    ("Service", "postgres", f"{CR}-postgres"),
    ("Deployment", "litellm-redis", f"{CR}-redis"),
    ("Service", "litellm-redis", f"{CR}-redis"),
    ("Deployment", "litellm", f"{CR}-litellm"),
    ("Service", "litellm", f"{CR}-litellm"),
    ("Deployment", "backend", f"{CR}-backend"),
    ("Service", "backend", f"{CR}-backend"),
    ("Deployment", "frontend", f"{CR}-frontend"),
    ("Service", "frontend", f"{CR}-frontend"),
    ("PersistentVolumeClaim", "backend-backup", f"{CR}-backend-backup"),
    ("Route", "litemaas", CR),
    ("Route", "litellm", f"{CR}-litellm"),
    # Added by the operator: Redis auth (upstream 0.5.0), and the pods' own ServiceAccount.
    ("Secret", "redis-auth", f"{CR}-redis"),
    ("ServiceAccount", "(default)", f"{CR}-litemaas"),
]


@pytest.mark.parametrize(("kind", "upstream", "name"), OBJECTS)
def test_every_upstream_object_exists(openshift, kind, upstream, name):
    obj = find(openshift, kind, name)
    assert obj["metadata"]["namespace"] == NS
    labels = obj["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "litemaas"
    assert labels["app.kubernetes.io/instance"] == CR
    assert labels["app.kubernetes.io/part-of"] == "litemaas"
    assert labels["app.kubernetes.io/managed-by"] == "litemaas-operator"
    assert labels["app.kubernetes.io/version"] == "0.5.0"


# §1.2-1.6 and §2: secret-backed env: (workload, container, env var, secret, key).
SECRET_ENV = [
    ("StatefulSet", "postgres", "POSTGRES_USER", "postgres", "username"),
    ("StatefulSet", "postgres", "POSTGRES_PASSWORD", "postgres", "password"),
    ("Deployment", "litellm", "DATABASE_URL", "litellm", "database-url"),
    ("Deployment", "litellm", "LITELLM_MASTER_KEY", "litellm", "master-key"),
    ("Deployment", "litellm", "UI_USERNAME", "litellm", "ui-username"),
    ("Deployment", "litellm", "UI_PASSWORD", "litellm", "ui-password"),
    ("Deployment", "litellm", "LITELLM_SALT_KEY", "litellm", "salt-key"),  # added
    ("Deployment", "litellm", "REDIS_PASSWORD", "litellm", "redis-password"),  # added
    ("Deployment", "backend", "DATABASE_URL", "backend", "database-url"),
    ("Deployment", "backend", "CORS_ORIGIN", "backend", "cors-origin"),
    ("Deployment", "backend", "JWT_SECRET", "backend", "jwt-secret"),
    ("Deployment", "backend", "OAUTH_CLIENT_ID", "backend", "oauth-client-id"),
    ("Deployment", "backend", "OAUTH_CLIENT_SECRET", "backend", "oauth-client-secret"),
    ("Deployment", "backend", "OAUTH_ISSUER", "backend", "oauth-issuer"),
    ("Deployment", "backend", "OAUTH_CALLBACK_URL", "backend", "oauth-callback-url"),
    ("Deployment", "backend", "ADMIN_API_KEYS", "backend", "admin-api-keys"),
    ("Deployment", "backend", "LITELLM_API_KEY", "backend", "litellm-api-key"),
    ("Deployment", "backend", "LITELLM_MASTER_KEY", "backend", "litellm-master-key"),
    ("Deployment", "backend", "LITELLM_DATABASE_URL", "backend", "litellm-database-url"),
    ("Deployment", "backend", "REDIS_PASSWORD", "backend", "redis-password"),  # 0.5.0
    ("Deployment", "redis", "REDIS_PASSWORD", "redis", "password"),  # 0.5.0
]


@pytest.mark.parametrize(("kind", "component", "var", "secret", "key"), SECRET_ENV)
def test_secret_env_vars_point_at_existing_keys(openshift, kind, component, var, secret, key):
    workload = find(openshift, kind, f"{CR}-{component}")
    assert env_of(container(workload, component))[var] == (f"{CR}-{secret}", key)
    data = decode(find(openshift, "Secret", f"{CR}-{secret}")["data"])
    assert data.get(key), f"Secret {CR}-{secret} has no value for {key}"


# Literal env: (component, env var, value).
LITERAL_ENV = [
    ("postgres", "POSTGRES_DB", "litemaas_db"),
    ("postgres", "PGDATA", "/var/lib/postgresql/data/pgdata"),
    ("litellm", "LITELLM_MODE", "PRODUCTION"),
    ("litellm", "STORE_MODEL_IN_DB", "True"),
    ("litellm", "DISABLE_SCHEMA_UPDATE", "false"),
    ("litellm", "REDIS_HOST", f"{CR}-redis"),
    ("litellm", "REDIS_PORT", "6379"),
    ("backend", "HOST", "0.0.0.0"),
    ("backend", "PORT", "8080"),
    ("backend", "NODE_ENV", "production"),
    ("backend", "LOG_LEVEL", "info"),
    ("backend", "JWT_EXPIRES_IN", "24h"),
    ("backend", "LITELLM_API_URL", LITELLM_URL),
    ("backend", "BACKUP_STORAGE_PATH", "/data/backups"),
    ("backend", "REDIS_HOST", f"{CR}-redis"),
    ("backend", "REDIS_PORT", "6379"),
    ("backend", "RATE_LIMIT_MAX", "1000"),
    ("backend", "RATE_LIMIT_TIME_WINDOW", "5m"),
    ("backend", "DEFAULT_USER_MAX_BUDGET", "100"),
    ("backend", "DEFAULT_USER_TPM_LIMIT", "100000"),
    ("backend", "DEFAULT_USER_RPM_LIMIT", "120"),
    ("backend", "INITIAL_ADMIN_USERS", "admin"),  # from the sample's auth.initialAdminUsers
    ("frontend", "BACKEND_URL", f"http://{CR}-backend:8080"),
]


@pytest.mark.parametrize(("component", "var", "value"), LITERAL_ENV)
def test_literal_env_vars(openshift, component, var, value):
    kind = "StatefulSet" if component == "postgres" else "Deployment"
    workload = find(openshift, kind, f"{CR}-{component}")
    assert env_of(container(workload, component))[var] == value


def test_backend_never_runs_in_a_mode_that_enables_mock_auth(openshift, kubernetes):
    for objects in (openshift, kubernetes):
        backend = env_of(container(find(objects, "Deployment", f"{CR}-backend"), "backend"))
        assert backend["NODE_ENV"] == "production"
        assert "OAUTH_MOCK_ENABLED" not in backend
        assert "NODE_TLS_REJECT_UNAUTHORIZED" not in backend


# Secret contents (§1.1, §4, §9), with the values derived from the hosts and credentials.
SECRET_DATA = [
    ("postgres", "username", "litemaas_admin"),
    ("postgres", "password", CREDENTIALS["postgres-password"]),
    ("litellm", "master-key", CREDENTIALS["litellm-master-key"]),
    ("litellm", "ui-username", "admin"),
    ("litellm", "ui-password", CREDENTIALS["litellm-ui-password"]),
    ("litellm", "salt-key", CREDENTIALS["litellm-salt-key"]),
    ("redis", "password", CREDENTIALS["redis-password"]),
    ("backend", "cors-origin", FRONTEND_URL),
    ("backend", "jwt-secret", CREDENTIALS["jwt-secret"]),
    ("backend", "oauth-client-id", Names(INSTANCE).oauth_client),
    ("backend", "oauth-client-secret", CREDENTIALS["oauth-client-secret"]),
    ("backend", "oauth-issuer", f"https://oauth-openshift.{DOMAIN}"),
    ("backend", "oauth-callback-url", f"{FRONTEND_URL}/api/auth/callback"),
    ("backend", "admin-api-keys", CREDENTIALS["admin-api-keys"]),
    # §9: the backend's LITELLM_API_KEY is LiteLLM's master key ...
    ("backend", "litellm-api-key", CREDENTIALS["litellm-master-key"]),
    # ... and its LITELLM_MASTER_KEY is a different thing, the model-key encryption key.
    ("backend", "litellm-master-key", CREDENTIALS["backend-encryption-key"]),
]


@pytest.mark.parametrize(("component", "key", "value"), SECRET_DATA)
def test_secret_values(openshift, component, key, value):
    assert decode(find(openshift, "Secret", f"{CR}-{component}")["data"])[key] == value


def test_backend_starts_with_every_required_variable_and_a_valid_issuer(openshift):
    # §5 "Required": startup fails without these; OAUTH_ISSUER must match ^https?://.
    backend = container(find(openshift, "Deployment", f"{CR}-backend"), "backend")
    data = decode(find(openshift, "Secret", f"{CR}-backend")["data"])
    env = env_of(backend)
    for var in ("DATABASE_URL", "JWT_SECRET", "OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET"):
        _, key = env[var]
        assert data[key]
    assert data[env["OAUTH_ISSUER"][1]].startswith(("http://", "https://"))


# Ports: (kind of workload, component, container port, port name, Service port).
PORTS = [
    ("StatefulSet", "postgres", 5432, "postgres"),
    ("Deployment", "redis", 6379, "redis"),
    ("Deployment", "litellm", 4000, "http"),
    ("Deployment", "backend", 8080, "http"),
    ("Deployment", "frontend", 8080, "http"),
]


@pytest.mark.parametrize(("kind", "component", "port", "name"), PORTS)
def test_ports_and_services(openshift, kind, component, port, name):
    workload = find(openshift, kind, f"{CR}-{component}")
    ports = container(workload, component)["ports"]
    assert ports == [{"name": name, "containerPort": port, "protocol": "TCP"}]
    service = find(openshift, "Service", f"{CR}-{component}")
    assert service["spec"]["type"] == "ClusterIP"
    [service_port] = service["spec"]["ports"]
    assert service_port["port"] == port
    assert service_port["targetPort"] in (port, name)
    # The Service selects exactly this workload's pods.
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert workload["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]


# Probes: (component, probe, HTTP path or exec command fragment, port, timings d/p/t/f).
PROBES = [
    ("postgres", "livenessProbe", "pg_isready", None, (30, 10, 5, 3)),
    ("postgres", "readinessProbe", "pg_isready", None, (5, 5, 3, 3)),
    ("redis", "livenessProbe", "redis-cli ping", None, (10, 10, 3, 3)),
    ("redis", "readinessProbe", "redis-cli ping", None, (5, 5, 3, 3)),
    ("litellm", "livenessProbe", "/health/liveness", 4000, (60, 30, 10, 3)),
    ("litellm", "readinessProbe", "/health/readiness", 4000, (30, 10, 5, 3)),
    ("backend", "livenessProbe", "/api/v1/health/live", 8080, (30, 10, 5, 3)),
    ("backend", "readinessProbe", "/api/v1/health/ready", 8080, (5, 5, 3, 3)),
    ("frontend", "livenessProbe", "/", 8080, (30, 10, 5, 3)),
    ("frontend", "readinessProbe", "/", 8080, (5, 5, 3, 3)),
]


@pytest.mark.parametrize(("component", "probe", "target", "port", "timing"), PROBES)
def test_probes(openshift, component, probe, target, port, timing):
    kind = "StatefulSet" if component == "postgres" else "Deployment"
    main = container(find(openshift, kind, f"{CR}-{component}"), component)
    spec = main[probe]
    if port is None:
        assert target in " ".join(spec["exec"]["command"])
    else:
        assert spec["httpGet"]["path"] == target
        named = {p["name"]: p["containerPort"] for p in main["ports"]}
        assert named.get(spec["httpGet"]["port"], spec["httpGet"]["port"]) == port
    assert (
        spec["initialDelaySeconds"],
        spec["periodSeconds"],
        spec["timeoutSeconds"],
        spec["failureThreshold"],
    ) == timing


# Resources (§1.2-1.6): (component, container, requests cpu/mem, limits cpu/mem).
RESOURCES = [
    ("postgres", "postgres", ("100m", "256Mi"), ("500m", "512Mi")),
    ("redis", "redis", ("50m", "64Mi"), ("200m", "128Mi")),
    ("litellm", "litellm", ("200m", "512Mi"), ("1000m", "1Gi")),
    ("backend", "backend", ("100m", "256Mi"), ("500m", "512Mi")),
    ("frontend", "frontend", ("50m", "128Mi"), ("200m", "256Mi")),
    ("frontend", "wait-for-backend", ("25m", "64Mi"), ("100m", "128Mi")),
]


@pytest.mark.parametrize(("component", "name", "requests", "limits"), RESOURCES)
def test_default_resources(openshift, component, name, requests, limits):
    kind = "StatefulSet" if component == "postgres" else "Deployment"
    res = container(find(openshift, kind, f"{CR}-{component}"), name)["resources"]
    for given, expected in ((res["requests"], requests), (res["limits"], limits)):
        # Compared by value: 1000m and 1 are the same quantity.
        assert quantity(given["cpu"]) == quantity(expected[0])
        assert quantity(given["memory"]) == quantity(expected[1])


def test_postgres_statefulset_storage_and_init_script(openshift):
    sts = find(openshift, "StatefulSet", f"{CR}-postgres")
    assert sts["spec"]["serviceName"] == f"{CR}-postgres"
    [claim] = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    mounts = {m["mountPath"]: m for m in container(sts, "postgres")["volumeMounts"]}
    assert mounts["/var/lib/postgresql/data"]["name"] == claim["metadata"]["name"]
    assert mounts["/docker-entrypoint-initdb.d"]["readOnly"] is True
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    init = volumes[mounts["/docker-entrypoint-initdb.d"]["name"]]["configMap"]
    assert init["defaultMode"] == 0o755
    script = find(openshift, "ConfigMap", init["name"])["data"]["init-db.sh"]
    # litemaas_db is POSTGRES_DB; the script adds litellm_db and grants it to the user.
    assert "CREATE DATABASE litellm_db" in script
    assert "GRANT ALL PRIVILEGES ON DATABASE litellm_db" in script
    # The volume must outlive the StatefulSet without relying on the API default.
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"


def test_backend_backup_volume(openshift):
    backend = find(openshift, "Deployment", f"{CR}-backend")
    claim = find(openshift, "PersistentVolumeClaim", f"{CR}-backend-backup")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    mount = {m["name"]: m["mountPath"] for m in container(backend, "backend")["volumeMounts"]}
    volumes = backend["spec"]["template"]["spec"]["volumes"]
    [backup] = [v for v in volumes if "persistentVolumeClaim" in v]
    assert backup["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert mount[backup["name"]] == "/data/backups"
    # RWO volume and in-memory OAuth state: never two backend pods at once.
    assert backend["spec"]["strategy"]["type"] == "Recreate"


def test_startup_ordering_with_init_containers(openshift):
    # §1.7: backend and LiteLLM wait for PostgreSQL; the frontend waits for the backend.
    for component in ("backend", "litellm"):
        workload = find(openshift, "Deployment", f"{CR}-{component}")
        [wait] = workload["spec"]["template"]["spec"]["initContainers"]
        assert wait["name"] == "wait-for-database"
        assert "pg_isready" in " ".join(wait["command"])
        # The URL comes from the component's Secret, not inlined into the command.
        assert env_of(wait)["DATABASE_URL"] == (f"{CR}-{component}", "database-url")
        assert CREDENTIALS["postgres-password"] not in " ".join(wait["command"])
    frontend = find(openshift, "Deployment", f"{CR}-frontend")
    [wait] = frontend["spec"]["template"]["spec"]["initContainers"]
    assert wait["name"] == "wait-for-backend"
    assert f"{CR}-backend/8080" in " ".join(wait["command"])
    # Deliberate difference: the frontend's own image instead of an internal-registry image.
    assert wait["image"] == container(frontend, "frontend")["image"]


@pytest.mark.parametrize(
    ("name", "service"), [(CR, f"{CR}-frontend"), (f"{CR}-litellm", f"{CR}-litellm")]
)
def test_routes_match_upstream(openshift, name, service):
    route = find(openshift, "Route", name)
    assert route["spec"]["to"] == {"kind": "Service", "name": service, "weight": 100}
    assert route["spec"]["port"] == {"targetPort": "http"}
    assert route["spec"]["tls"] == {
        "termination": "edge",
        "insecureEdgeTerminationPolicy": "Redirect",
    }
    assert route["spec"]["wildcardPolicy"] == "None"
    assert "host" not in route["spec"]  # the router assigns <route>-<ns>.<domain>


def test_oauthclient_matches_the_callback(openshift):
    [client] = [o for o in openshift if o["kind"] == "OAuthClient"]
    data = decode(find(openshift, "Secret", f"{CR}-backend")["data"])
    assert client["metadata"]["name"] == data["oauth-client-id"]
    assert client["secret"] == data["oauth-client-secret"]
    # §4: OAUTH_CALLBACK_URL is used verbatim and must equal the redirect URI.
    assert client["redirectURIs"] == [data["oauth-callback-url"]]
    assert client["grantMethod"] == "auto"
    assert "namespace" not in client["metadata"]


def test_images_follow_the_version():
    objects = render({"version": "v0.6.1"}, "openshift").objects
    images = {
        c["name"]: c["image"]
        for o in objects
        if o["kind"] in ("Deployment", "StatefulSet")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    # Image tags have no "v" (§7), whatever the spec's spelling.
    assert images["backend"] == "quay.io/rh-aiservices-bu/litemaas-backend:0.6.1"
    assert images["frontend"] == "quay.io/rh-aiservices-bu/litemaas-frontend:0.6.1"
    assert images["litellm"] == (
        "quay.io/rh-aiservices-bu/litellm-non-root:main-v1.81.0-stable-custom"
    )
    assert images["postgres"].endswith("postgres:16-alpine")
    assert images["redis"].endswith("redis:7-alpine")


OPTIONAL_BACKEND_ENV = [
    # (spec, platform, env var, expected value)
    ({"backend": {"logLevel": "debug"}}, "openshift", "LOG_LEVEL", "debug"),
    ({"backend": {"jwtExpiresIn": "1h"}}, "openshift", "JWT_EXPIRES_IN", "1h"),
    ({"backend": {"rateLimit": {"max": 7}}}, "openshift", "RATE_LIMIT_MAX", "7"),
    (
        {"backend": {"defaultUser": {"maxBudget": 2.5}}},
        "openshift",
        "DEFAULT_USER_MAX_BUDGET",
        "2.5",
    ),
    (
        {"backend": {"nodeTlsRejectUnauthorized": False}},
        "openshift",
        "NODE_TLS_REJECT_UNAUTHORIZED",
        "0",
    ),
    ({"auth": {"skipApiTlsVerify": True}}, "openshift", "K8S_API_SKIP_TLS_VERIFY", "true"),
    (
        {"auth": {"openshiftApiUrl": "https://api.example.com:6443"}},
        "openshift",
        "OPENSHIFT_API_URL",
        "https://api.example.com:6443",
    ),
    ({"auth": {"initialAdminUsers": ["a", "b"]}}, "openshift", "INITIAL_ADMIN_USERS", "a,b"),
    (KUBERNETES_BASE, "kubernetes", "AUTH_PROVIDER", "oidc"),
    (KUBERNETES_BASE, "kubernetes", "OIDC_GROUPS_CLAIM", "groups"),
    (KUBERNETES_BASE, "kubernetes", "OIDC_SCOPES", "openid profile email"),
    (
        {"backend": {"litellmApiUrl": "http://litellm.internal:4000"}},
        "openshift",
        "LITELLM_API_URL",
        "http://litellm.internal:4000",
    ),
    (
        {"litellm": {"expose": False}},
        "openshift",
        "LITELLM_API_URL",
        f"http://{CR}-litellm:4000",
    ),
]


@pytest.mark.parametrize(("spec", "platform", "var", "value"), OPTIONAL_BACKEND_ENV)
def test_optional_backend_env(spec, platform, var, value):
    state = render(spec, platform)
    assert state.problems == []
    backend = container(find(state.objects, "Deployment", f"{CR}-backend"), "backend")
    assert env_of(backend)[var] == value


def test_litellm_ssl_verify_and_ca_bundle():
    spec = {
        "litellm": {
            "sslVerify": False,
            "extraVolumes": [{"name": "ca", "configMap": {"name": "trusted-ca"}}],
            "extraVolumeMounts": [{"name": "ca", "mountPath": "/etc/ssl/custom"}],
        }
    }
    litellm = find(render(spec).objects, "Deployment", f"{CR}-litellm")
    main = container(litellm, "litellm")
    assert env_of(main)["SSL_VERIFY"] == "false"
    assert {"name": "ca", "mountPath": "/etc/ssl/custom"} in main["volumeMounts"]
    assert {"name": "ca", "configMap": {"name": "trusted-ca"}} in litellm["spec"]["template"][
        "spec"
    ]["volumes"]


def test_without_redis_nobody_is_pointed_at_it():
    objects = render({"redis": {"enabled": False}}).objects
    assert not [o for o in objects if o["metadata"]["name"] == f"{CR}-redis"]
    for component in ("backend", "litellm"):
        env = env_of(container(find(objects, "Deployment", f"{CR}-{component}"), component))
        assert not {"REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"} & env.keys()


def test_redis_without_auth_has_no_password_anywhere():
    objects = render({"redis": {"auth": False}}).objects
    redis = container(find(objects, "Deployment", f"{CR}-redis"), "redis")
    assert "requirepass" not in " ".join(redis["command"])
    for component in ("backend", "litellm"):
        env = env_of(container(find(objects, "Deployment", f"{CR}-{component}"), component))
        assert env["REDIS_HOST"] == f"{CR}-redis"
        assert "REDIS_PASSWORD" not in env
    assert "redis-password" not in decode(find(objects, "Secret", f"{CR}-backend")["data"])
