"""A small, pure evaluator of Kubernetes NetworkPolicy semantics, for tests.

It answers one question: may pod A open a TCP connection to port P of pod B? The rules are
those of ``networking.k8s.io/v1`` (https://kubernetes.io/docs/concepts/services-networking/
network-policies/):

- a pod selected by no policy of a direction (Ingress/Egress) is not isolated in it: it
  admits (or sends) everything;
- a pod selected by at least one policy of a direction allows only what the union of those
  policies' rules allows; a connection needs the source's egress and the target's ingress;
- a peer with only ``podSelector`` means pods of the policy's own namespace; only
  ``namespaceSelector`` means every pod of the matching namespaces; both mean matching pods in
  matching namespaces; a missing ``from``/``to`` or ``ports`` means all;
- ``policyTypes`` defaults to Ingress, plus Egress when the policy has egress rules.

``ipBlock`` peers never match a pod here (pod IPs are not modelled), which can only make the
evaluator stricter than a cluster, never more permissive.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    """A pod as a policy sees it: namespace, labels, and named container ports."""

    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Cluster:
    """Namespaces (name -> labels), pods and NetworkPolicies."""

    namespaces: Mapping[str, Mapping[str, str]]
    pods: tuple[Pod, ...]
    policies: tuple[dict[str, Any], ...]

    def namespace_labels(self, name: str) -> dict[str, str]:
        # The API server labels every namespace with its own name (since Kubernetes 1.22).
        return {**self.namespaces.get(name, {}), "kubernetes.io/metadata.name": name}

    def pod(self, name: str) -> Pod:
        """The one pod called ``name``."""
        (match,) = (p for p in self.pods if p.name == name)
        return match

    def can_connect(self, source: Pod, target: Pod, port: int) -> bool:
        """Whether ``source`` may open a TCP connection to ``port`` of ``target``."""
        return self._allowed("Egress", source, target, target, port) and self._allowed(
            "Ingress", target, source, target, port
        )

    def _allowed(self, direction: str, subject: Pod, other: Pod, target: Pod, port: int) -> bool:
        applying = [
            p
            for p in self.policies
            if p["metadata"]["namespace"] == subject.namespace
            and direction in policy_types(p)
            and matches(p["spec"].get("podSelector") or {}, subject.labels)
        ]
        if not applying:
            return True  # not isolated in this direction
        rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for policy in applying:
            for rule in policy["spec"].get(rules_key) or []:
                peers = rule.get(peers_key)
                ports = rule.get("ports")
                peer_ok = not peers or any(
                    self._peer_matches(peer, policy["metadata"]["namespace"], other)
                    for peer in peers
                )
                port_ok = not ports or any(port_matches(p, target, port) for p in ports)
                if peer_ok and port_ok:
                    return True
        return False

    def _peer_matches(self, peer: Mapping[str, Any], policy_ns: str, pod: Pod) -> bool:
        if "ipBlock" in peer:
            return False
        ns_selector = peer.get("namespaceSelector")
        pod_selector = peer.get("podSelector")
        if ns_selector is None:
            in_namespace = pod.namespace == policy_ns
        else:
            in_namespace = matches(ns_selector, self.namespace_labels(pod.namespace))
        return in_namespace and (pod_selector is None or matches(pod_selector, pod.labels))


def policy_types(policy: Mapping[str, Any]) -> list[str]:
    """The directions a policy isolates, with the API server's default."""
    spec = policy["spec"]
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]


def port_matches(rule_port: Mapping[str, Any], target: Pod, port: int) -> bool:
    """A NetworkPolicyPort against a TCP connection to ``port`` of ``target``."""
    if rule_port.get("protocol", "TCP") != "TCP":
        return False
    wanted = rule_port.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str):  # a named port resolves against the target's containers
        return target.ports.get(wanted) == port
    return wanted <= port <= rule_port.get("endPort", wanted)


def matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector; the empty selector matches everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[op]
        if not ok:
            return False
    return True


def pods_of(objects: Iterable[dict[str, Any]]) -> list[Pod]:
    """One pod per rendered Deployment/StatefulSet, labelled from its template."""
    pods = []
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        template = obj["spec"]["template"]
        containers = template["spec"].get("containers", [])
        ports = {
            p["name"]: p["containerPort"]
            for c in containers
            for p in c.get("ports", [])
            if "name" in p
        }
        meta = obj["metadata"]
        pods.append(
            Pod(
                f"{meta['namespace']}/{meta['name']}",
                meta["namespace"],
                dict(template["metadata"]["labels"]),
                ports,
            )
        )
    return pods


@dataclass(frozen=True)
class Call:
    """A connection a rendered pod makes to a Service of the instance."""

    client: Pod
    service: str
    target: Pod
    port: int


def service_calls(objects: list[dict[str, Any]]) -> list[Call]:
    """The in-cluster connections each rendered pod makes, read from its env and commands.

    A container that names a Service (a literal env value, a value in a referenced Secret such
    as a database URL, or its command) is taken to call every port of it. Reading the values
    rather than listing the expected flows means a new consumer of a Service is seen here.
    """
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    secrets = {
        o["metadata"]["name"]: {
            k: base64.b64decode(v).decode() for k, v in (o.get("data") or {}).items()
        }
        for o in objects
        if o["kind"] == "Secret"
    }
    pods = pods_of(objects)
    calls = []
    for obj in objects:
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        (client,) = (
            p for p in pods if p.name == f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"
        )
        text = "\n".join(_strings(obj["spec"]["template"]["spec"], secrets))
        for name, svc in services.items():
            if not re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text):
                continue
            for target in pods:
                if target.namespace != svc["metadata"]["namespace"] or not matches(
                    {"matchLabels": svc["spec"]["selector"]}, target.labels
                ):
                    continue
                for port in svc["spec"]["ports"]:
                    number = port.get("targetPort", port["port"])
                    if isinstance(number, str):
                        number = target.ports[number]
                    calls.append(Call(client, name, target, number))
    return calls


def _strings(pod_spec: Mapping[str, Any], secrets: Mapping[str, Mapping[str, str]]) -> list[str]:
    out = []
    for c in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
        out += [*c.get("command", []), *c.get("args", [])]
        for item in c.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                out.append(secrets.get(ref["name"], {}).get(ref["key"], ""))
            elif "value" in item:
                out.append(item["value"])
    return out
