"""Who may connect to what, computed from the rendered NetworkPolicies, not read off the YAML.

Each test builds a small cluster: this instance, a second instance in the same namespace, a
same-named instance in another namespace (whose pods carry the very same labels), the ingress
router, and a few unrelated pods. ``netpol.Cluster`` then applies Kubernetes' NetworkPolicy
rules to every (source, target, port). The connections the instance itself needs are read
from the rendered pods' env (``netpol.service_calls``), so a new consumer of a data store
cannot be forgotten by the policies without a test failing here.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
from netpol import Cluster, Pod, matches, pods_of, service_calls
from rendering import INSTANCE, KUBERNETES_BASE, VARIATIONS, Variation, render

from litemaas_operator.controller.apply import prunable
from litemaas_operator.facts import Instance
from litemaas_operator.render.names import instance_selector

NS = INSTANCE.namespace
OTHER = Instance("other", NS)
TWIN = Instance(INSTANCE.name, "team-b")
EXTERNAL_DB = {"mode": "external", "external": {"secretName": "pg-urls"}}
POSTGRES, REDIS = 5432, 6379
OPENSHIFT_ROUTER = Pod(
    "openshift-ingress/router", "openshift-ingress", {"ingresscontroller": "default"}
)
NGINX = Pod("ingress-nginx/controller", "ingress-nginx", {"app.kubernetes.io/name": "nginx"})
CUSTOM_ROUTER = Pod("edge/proxy", "edge", {"app": "proxy"})
STRANGERS = (
    Pod("elsewhere/curl", "elsewhere", {"app": "curl"}),
    Pod(f"{NS}/debug", NS, {"run": "debug"}),
)
NAMESPACES = {
    "openshift-ingress": {"policy-group.network.openshift.io/ingress": ""},
    "ingress-nginx": {},
    "edge": {"role": "edge"},
    "elsewhere": {},
    NS: {},
    TWIN.namespace: {},
}
# Variations beyond the shared ones, for the corners of NetworkPolicySpec.
EXTRA = [
    Variation(
        "external-db-redis-off", "openshift", {"database": EXTERNAL_DB, "redis": {"enabled": False}}
    ),
    Variation(
        "lockdown-external-db",
        "openshift",
        {"database": EXTERNAL_DB, "networkPolicy": {"enabled": True}},
    ),
    Variation("data-stores-off", "openshift", {"networkPolicy": {"dataStores": False}}),
    Variation(
        "lockdown-without-data-stores",
        "openshift",
        {"networkPolicy": {"enabled": True, "dataStores": False}},
    ),
    Variation(
        "lockdown-custom-router",
        "kubernetes",
        {
            **KUBERNETES_BASE,
            "networkPolicy": {"enabled": True, "ingressNamespaceSelector": {"role": "edge"}},
        },
    ),
    Variation(
        "lockdown-litellm-private",
        "kubernetes",
        {**KUBERNETES_BASE, "litellm": {"expose": False}, "networkPolicy": {"enabled": True}},
    ),
]
ALL = [*VARIATIONS, *EXTRA]
BY_ID = {v.id: v for v in ALL}


def policies(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == "NetworkPolicy"]


def world(variation: Variation) -> tuple[Cluster, list[dict[str, Any]]]:
    """The cluster around one rendered variation, and that instance's own objects."""
    spec = variation.spec
    states = [
        render(copy.deepcopy(spec), variation.platform, instance)
        for instance in (INSTANCE, OTHER, TWIN)
    ]
    for state in states:
        assert state.problems == [], variation.id
    objects = [o for state in states for o in state.objects]
    pods = (*pods_of(objects), OPENSHIFT_ROUTER, NGINX, CUSTOM_ROUTER, *STRANGERS)
    return Cluster(NAMESPACES, pods, tuple(policies(objects))), states[0].objects


def ours(component: str) -> str:
    """The pod name of one of this instance's components."""
    names = {"database": "postgres", "cache": "redis", "ai-proxy": "litellm"}
    names |= {"api": "backend", "web": "frontend"}
    return f"{NS}/{INSTANCE.name}-{names[component]}"


def router(variation: Variation) -> Pod:
    selector = variation.spec.get("networkPolicy", {}).get("ingressNamespaceSelector")
    if selector:
        return CUSTOM_ROUTER
    return OPENSHIFT_ROUTER if variation.platform == "openshift" else NGINX


def data_store_targets(cluster: Cluster) -> list[tuple[Pod, int]]:
    """This instance's PostgreSQL and Redis pods, where deployed."""
    names = {ours("database"): POSTGRES, ours("cache"): REDIS}
    return [(p, names[p.name]) for p in cluster.pods if p.name in names]


@pytest.mark.parametrize("variation", ALL, ids=lambda v: v.id)
def test_every_connection_the_instance_makes_is_allowed(variation):
    cluster, objects = world(variation)
    calls = service_calls(objects)
    assert calls, "the pods' env names no Service: the call finder is broken"
    for call in calls:
        assert cluster.can_connect(call.client, call.target, call.port), (
            f"{call.client.name} -> {call.service}:{call.port} is blocked"
        )


def test_the_calls_are_read_from_the_rendered_env():
    # Anchors the finder: these are the flows backend.py, litellm.py and frontend.py configure.
    found = {(c.client.name, c.target.name, c.port) for c in service_calls(render({}).objects)}
    assert found == {
        (ours("api"), ours("database"), POSTGRES),
        (ours("ai-proxy"), ours("database"), POSTGRES),
        (ours("api"), ours("cache"), REDIS),
        (ours("ai-proxy"), ours("cache"), REDIS),
        (ours("web"), ours("api"), 8080),
    }
    private = render({**KUBERNETES_BASE, "litellm": {"expose": False}}, "kubernetes").objects
    calls = {(c.client.name, c.target.name) for c in service_calls(private)}
    assert (ours("api"), ours("ai-proxy")) in calls  # LiteLLM by its Service, not the router


@pytest.mark.parametrize(
    "variation", [v for v in ALL if v.id != "data-stores-off"], ids=lambda v: v.id
)
def test_only_the_backend_and_litellm_reach_the_data_stores(variation):
    cluster, _ = world(variation)
    clients = {ours("api"), ours("ai-proxy")}
    for target, port in data_store_targets(cluster):
        for source in cluster.pods:
            for probe in {port, POSTGRES, REDIS, 8080}:
                allowed = cluster.can_connect(source, target, probe)
                expected = source.name in clients and probe == port
                assert allowed == expected, f"{source.name} -> {target.name}:{probe}"


@pytest.mark.parametrize("variation_id", ["openshift-defaults", "kubernetes-sample"])
def test_by_default_the_web_tier_stays_open_to_everyone(variation_id):
    # Only the data stores are fenced: a cluster whose router namespace is not labelled as
    # we guess, or a monitoring scraper, keeps working without any NetworkPolicy setting.
    cluster, _ = world(BY_ID[variation_id])
    for component, port in (("web", 8080), ("api", 8080), ("ai-proxy", 4000)):
        target = cluster.pod(ours(component))
        for source in cluster.pods:
            assert cluster.can_connect(source, target, port), f"{source.name} -> {component}"


@pytest.mark.parametrize(
    "variation_id",
    [
        "network-policy-openshift",
        "network-policy-kubernetes",
        "lockdown-custom-router",
        "lockdown-litellm-private",
        "lockdown-external-db",
        "lockdown-without-data-stores",
    ],
)
def test_the_lockdown_admits_only_the_router_and_the_instance_itself(variation_id):
    variation = BY_ID[variation_id]
    cluster, _ = world(variation)
    entry = router(variation)
    allowed = {
        (entry.name, ours("web"), 8080),
        (entry.name, ours("api"), 8080),
        (entry.name, ours("ai-proxy"), 4000),
        (ours("web"), ours("api"), 8080),
        (ours("api"), ours("ai-proxy"), 4000),
        (ours("api"), ours("database"), POSTGRES),
        (ours("ai-proxy"), ours("database"), POSTGRES),
        (ours("api"), ours("cache"), REDIS),
        (ours("ai-proxy"), ours("cache"), REDIS),
    }
    mine = {ours(c) for c in ("database", "cache", "ai-proxy", "api", "web")}
    targets = [p for p in cluster.pods if p.name in mine]
    assert len(targets) >= 4
    for target in targets:
        for source in cluster.pods:
            if source is target:
                continue
            for port in (8080, 4000, POSTGRES, REDIS):
                want = (source.name, target.name, port) in allowed
                got = cluster.can_connect(source, target, port)
                assert got == want, f"{source.name} -> {target.name}:{port}"


def test_without_data_store_policies_nothing_is_fenced():
    # The documented opt-out (e.g. a CNI without NetworkPolicy, or policies managed elsewhere).
    cluster, objects = world(BY_ID["data-stores-off"])
    assert policies(objects) == []
    for target, port in data_store_targets(cluster):
        assert all(cluster.can_connect(s, target, port) for s in cluster.pods)


@pytest.mark.parametrize("variation", ALL, ids=lambda v: v.id)
def test_every_policy_selects_a_rendered_pod(variation):
    # No policy for a data store that is not deployed (external database, Redis off).
    objects = variation.render().objects
    pods = pods_of(objects)
    for policy in policies(objects):
        selector = policy["spec"]["podSelector"]
        assert any(matches(selector, p.labels) for p in pods), policy["metadata"]["name"]


def test_external_database_and_redis_off_render_no_policy():
    assert policies(BY_ID["external-db-redis-off"].render().objects) == []
    names = {p["metadata"]["name"] for p in policies(BY_ID["external-database"].render().objects)}
    assert names == {f"{INSTANCE.name}-allow-cache"}
    names = {p["metadata"]["name"] for p in policies(BY_ID["redis-off"].render().objects)}
    assert names == {f"{INSTANCE.name}-allow-database"}


@pytest.mark.parametrize("variation", EXTRA, ids=lambda v: v.id)
def test_policies_validate_against_the_kubernetes_schema(variation):
    # test_render_schema covers the shared variations; these are the extra corners.
    for policy in policies(variation.render().objects):
        kubernetes_validate.validate(policy, "1.34", strict=True)


def test_toggling_the_lockdown_keeps_the_data_store_policies_and_prunes_the_rest():
    locked = policies(BY_ID["network-policy-openshift"].render().objects)
    default = policies(BY_ID["openshift-defaults"].render().objects)
    by_name = {p["metadata"]["name"]: p for p in locked}
    # Same name and body in both modes: switching `enabled` never reapplies or drops them.
    assert all(by_name[p["metadata"]["name"]] == p for p in default)
    desired = {("NetworkPolicy", p["metadata"]["name"]) for p in default}
    pruned = {p["metadata"]["name"] for p in prunable(locked, desired, set())}
    assert pruned == {
        f"{INSTANCE.name}-{n}" for n in ("default-deny", "allow-ai-proxy", "allow-api", "allow-web")
    }
    off = prunable(default, set(), set())
    assert {p["metadata"]["name"] for p in off} == {p["metadata"]["name"] for p in default}
    # The reconciler lists (and so prunes) children by this selector.
    wanted = dict(term.split("=") for term in instance_selector(INSTANCE).split(","))
    assert all(wanted.items() <= p["metadata"]["labels"].items() for p in locked)


def test_the_lockdown_applies_its_allows_before_its_deny():
    # Objects are applied in order: the deny last never cuts the router off mid-reconcile.
    names = [
        p["metadata"]["name"] for p in policies(BY_ID["network-policy-openshift"].render().objects)
    ]
    assert names[-1] == f"{INSTANCE.name}-default-deny"


# The evaluator's own rules, pinned on hand-written policies.
def _policy(ns: str, target: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": ns}, "spec": {"podSelector": target, **spec}}


A = Pod("a/x", "a", {"app": "x"}, {"http": 8080})
B = Pod("b/y", "b", {"app": "y"})
A2 = Pod("a/y", "a", {"app": "y"})


def test_evaluator_unselected_pods_admit_everything_and_selected_ones_only_what_is_allowed():
    open_cluster = Cluster({"a": {}, "b": {}}, (A, B, A2), ())
    assert open_cluster.can_connect(B, A, 1234)
    deny = _policy("a", {"matchLabels": {"app": "x"}}, policyTypes=["Ingress"])
    closed = Cluster({"a": {}, "b": {}}, (A, B, A2), (deny,))
    assert not closed.can_connect(B, A, 8080) and not closed.can_connect(A2, A, 8080)
    assert closed.can_connect(A, A2, 8080)  # A2 is not selected


def test_evaluator_peer_scopes_and_ports():
    pod_only = _policy(
        "a",
        {},
        ingress=[
            {"from": [{"podSelector": {"matchLabels": {"app": "y"}}}], "ports": [{"port": "http"}]}
        ],
    )
    cluster = Cluster({"a": {}, "b": {"team": "b"}}, (A, B, A2), (pod_only,))
    assert cluster.can_connect(A2, A, 8080)
    assert not cluster.can_connect(B, A, 8080)  # same labels, other namespace
    assert not cluster.can_connect(A2, A, 8081)  # the named port is 8080
    both = _policy(
        "a",
        {},
        ingress=[
            {
                "from": [
                    {
                        "namespaceSelector": {"matchLabels": {"team": "b"}},
                        "podSelector": {
                            "matchExpressions": [{"key": "app", "operator": "In", "values": ["y"]}]
                        },
                    }
                ]
            }
        ],
    )
    cluster = Cluster({"a": {}, "b": {"team": "b"}}, (A, B, A2), (both,))
    assert cluster.can_connect(B, A, 9999) and not cluster.can_connect(A2, A, 9999)
    egress = _policy("b", {}, egress=[{"to": [{"namespaceSelector": {}}], "ports": [{"port": 80}]}])
    cluster = Cluster({"a": {}, "b": {}}, (A, B), (egress,))
    assert cluster.can_connect(B, A, 80) and not cluster.can_connect(B, A, 8080)
